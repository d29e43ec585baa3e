//! Events: what SignalEvent and state changes produce, and what receivers get.

use super::{Millis, TypedValue, WebhookRecord, WebhookState};

/// An event to deliver. Stored once; each subscribed webhook gets a delivery of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The GUID receivers see as `EventId`, stable across every attempt.
    pub event_id: String,
    /// `Event`: the name webhooks subscribe to.
    pub name: String,
    pub primary_key: i32,
    /// `Entity`: the text before the first `.` of the name for SignalEvent.
    pub entity: String,
    /// `Changes`: the names of the fields involved.
    pub changes: Vec<String>,
    /// `FieldValues`, typed.
    pub field_values: Vec<(String, TypedValue)>,
    /// `ChangedByAssociateId`.
    pub associate_id: i32,
    pub occurred_at: Millis,
}

fn new_event_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl Event {
    /// SignalEvent's mapping (docs/DELIVERY.md, "The request"): `Changes` = the keys of Data
    /// in order, `FieldValues` = Data, `Entity` = the text before the first `.`.
    pub fn signalled(
        name: String,
        primary_key: i32,
        data: Vec<(String, TypedValue)>,
        associate_id: i32,
        now: Millis,
    ) -> Event {
        let entity = name.split('.').next().unwrap_or_default().to_string();
        let mut changes: Vec<String> = Vec::with_capacity(data.len());
        for (key, _) in &data {
            if !changes.contains(key) {
                changes.push(key.clone());
            }
        }
        Event {
            event_id: new_event_id(),
            name,
            primary_key,
            entity,
            changes,
            field_values: data,
            associate_id,
            occurred_at: now,
        }
    }

    /// The `test` event of registration and TestWebhook pings, with NetServer's fixed members
    /// (`PrimaryKey` 0, `Entity` `test`, no `Changes`; docs/DELIVERY.md, "Test pings").
    pub fn test(associate_id: i32, now: Millis) -> Event {
        Event {
            event_id: new_event_id(),
            name: "test".to_string(),
            primary_key: 0,
            entity: "test".to_string(),
            changes: Vec::new(),
            field_values: Vec::new(),
            associate_id,
            occurred_at: now,
        }
    }

    /// `webhook{id}.started|stopped|errors`, fired when a webhook's state changes
    /// (docs/DELIVERY.md, "Retries and states"). `None` for states that have no event.
    pub fn state_change(webhook: &WebhookRecord, now: Millis) -> Option<Event> {
        let verb = match webhook.state {
            WebhookState::Active => "started",
            WebhookState::Stopped => "stopped",
            WebhookState::TooManyErrors => "errors",
            WebhookState::Unknown => return None,
        };
        let date = |ms: Millis| super::wire_date(Some(ms));
        Some(Event {
            event_id: new_event_id(),
            name: format!("webhook{}.{verb}", webhook.id),
            primary_key: webhook.id,
            entity: "webhook".to_string(),
            changes: Vec::new(),
            field_values: vec![
                (
                    "events".into(),
                    TypedValue::Int(i32::try_from(webhook.events.len()).unwrap_or(i32::MAX)),
                ),
                ("state".into(), TypedValue::Int(webhook.state as i32)),
                (
                    "registered".into(),
                    TypedValue::DateTime(date(webhook.registered)),
                ),
                (
                    "registered_associate_id".into(),
                    TypedValue::Int(webhook.registered_associate_id),
                ),
                (
                    "updated".into(),
                    TypedValue::DateTime(date(webhook.updated)),
                ),
                (
                    "updated_associate_id".into(),
                    TypedValue::Int(webhook.updated_associate_id),
                ),
            ],
            associate_id: 0,
            occurred_at: now,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signalled_events_map_data_to_changes_and_entity() {
        let e = Event::signalled(
            "contact.changed".into(),
            7,
            vec![
                ("name".into(), TypedValue::String("A".into())),
                ("id".into(), TypedValue::Int(7)),
            ],
            5,
            0,
        );
        assert_eq!(e.entity, "contact");
        assert_eq!(e.changes, vec!["name", "id"]);
        assert_eq!(e.event_id.len(), 36);
    }
}
