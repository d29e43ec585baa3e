//! The text of an alert e-mail: what happened to which webhook, the event and the error, and
//! how to restart it. Plain text; built from the stored alert alone.

use crate::domain::alerts::AlertKind;
use crate::store::AlertEntry;

/// Most characters of a webhook name in a Subject line.
const MAX_SUBJECT_NAME_CHARS: usize = 100;

/// `(subject, body)` of the mail for `alert`.
pub fn compose(alert: &AlertEntry) -> (String, String) {
    let id = alert.webhook_id;
    let name: String = alert
        .webhook_name
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_SUBJECT_NAME_CHARS)
        .collect();
    let (what, headline) = match AlertKind::parse(&alert.kind) {
        Some(AlertKind::FirstFailure) => (
            "first failure",
            format!(
                "Webhook {id} \"{name}\" failed to deliver an event after earlier successes.\n\
                 hookwire keeps retrying; the webhook is disabled (TooManyErrors) if the\n\
                 failures go on."
            ),
        ),
        _ => (
            "disabled (TooManyErrors)",
            format!(
                "Webhook {id} \"{name}\" was disabled: its State is now TooManyErrors.\n\
                 Its deliveries are kept, parked until it is restarted."
            ),
        ),
    };
    let subject = format!("[hookwire] Webhook {id} \"{name}\": {what}");
    let when = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(alert.created)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default();
    let body = format!(
        "{headline}\n\n\
         Webhook:  {id} \"{name}\"\n\
         Event:    {event}\n\
         EventId:  {event_id}\n\
         When:     {when}\n\n\
         Last error:\n{error}\n\n\
         To restart the webhook once its receiver works again (State Active):\n  \
         hookwire webhook restart {id}\n  \
         or REST: PATCH /api/v1/Webhook/{id} with {{\"State\": \"Active\"}}\n  \
         or SOAP: SaveWebhook with State Active\n",
        event = alert.event,
        event_id = alert.event_id,
        error = alert.last_error,
    );
    (subject, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mail_names_webhook_event_error_and_restart() {
        let alert = AlertEntry {
            id: 1,
            webhook_id: 7,
            webhook_name: "crm\r\nBcc: x@y".into(),
            kind: "disabled".into(),
            event: "contact.created".into(),
            event_id: "e-1".into(),
            last_error: "HTTP/1.1 500".into(),
            created: 0,
            read: None,
            app_id: None,
        };
        let (subject, body) = compose(&alert);
        assert!(
            !subject.contains('\n') && subject.contains("TooManyErrors"),
            "{subject}"
        );
        for part in [
            "contact.created",
            "e-1",
            "HTTP/1.1 500",
            "hookwire webhook restart 7",
        ] {
            assert!(body.contains(part), "{part} in {body}");
        }
    }
}
