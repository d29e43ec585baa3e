//! The webhook form's fields (docs/ADMIN.md, Create and edit): what the page posts, how it
//! becomes the agent's `WebhookInput`, how a webhook fills the form, and which field an agent
//! message names. Text only: every rule on the values is the agent's (`domain/webhook.rs`).

use serde::Deserialize;

use crate::agent::WebhookCarrier;
use crate::domain::{DeliveryOrder, NotifyVia, NotifyWhen, TypedValue, WebhookInput, WebhookState};

/// What the form posts; a missing field (an unticked checkbox) is empty.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct WebhookForm {
    /// The webhook the form edits (empty or 0: a new one), for Send test, which has no path
    /// of its own per webhook; a save takes it from its path instead.
    pub id: String,
    pub name: String,
    pub description: String,
    /// Event names and patterns, separated by commas or spaces.
    pub events: String,
    pub target_url: String,
    pub active: Option<String>,
    /// The state the form was shown with, so that an untouched toggle keeps a Disabled
    /// webhook Disabled instead of stopping it.
    pub state_was: String,
    /// E-mail addresses, separated by commas, spaces or lines.
    pub error_emails: String,
    pub notify_email: Option<String>,
    pub notify_in_app: Option<String>,
    pub when_first_failure: Option<String>,
    pub when_disabled: Option<String>,
    /// User (associate) ids, separated by commas or spaces.
    pub error_associates: String,
    /// `Name: value`, one a line.
    pub headers: String,
    /// `key=value`, one a line.
    pub properties: String,
    /// `Any` or `PerRecord` (the select's values); empty (a form without the field) keeps the
    /// stored order, or the default on a new webhook.
    pub delivery_order: String,
}

/// The Delivery order select's choices: the wire value and what it means to an operator.
pub const DELIVERY_ORDERS: [(&str, &str); 2] = [
    ("Any", "Any order (fastest)"),
    ("PerRecord", "One record at a time, in order"),
];

/// What `order` means, as the form's select says it.
pub fn delivery_order_words(order: DeliveryOrder) -> &'static str {
    DELIVERY_ORDERS
        .iter()
        .find(|(wire, _)| *wire == order.to_wire())
        .map_or("", |(_, words)| words)
}

/// A form field, as the page names it (its `id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Name,
    Events,
    TargetUrl,
    ErrorEmails,
    ErrorAssociates,
    Headers,
    Properties,
    DeliveryOrder,
}

impl Field {
    pub fn id(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::Events => "events",
            Field::TargetUrl => "target_url",
            Field::ErrorEmails => "error_emails",
            Field::ErrorAssociates => "error_associates",
            Field::Headers => "headers",
            Field::Properties => "properties",
            Field::DeliveryOrder => "delivery_order",
        }
    }

    /// The field an agent message is about: its messages start with the member they name
    /// (`Name is required ...`, `TargetUrl '...' must use https ...`, `Headers: ...`).
    pub fn named_in(message: &str) -> Option<Field> {
        [
            ("Name ", Field::Name),
            ("Events", Field::Events),
            ("TargetUrl", Field::TargetUrl),
            ("ErrorEmails", Field::ErrorEmails),
            ("ErrorAssociates", Field::ErrorAssociates),
            ("Headers", Field::Headers),
            ("Properties", Field::Properties),
            ("DeliveryOrder", Field::DeliveryOrder),
        ]
        .into_iter()
        .find(|(prefix, _)| message.starts_with(prefix))
        .map(|(_, field)| field)
    }
}

/// Why the form's text could not even be read as values (before the agent sees it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: Field,
    pub message: String,
}

/// Words separated by commas or white space.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// The non-blank lines of a text area, each split at the first `separator`, both sides
/// trimmed; a line without it is an error naming its number.
fn pairs(
    text: &str,
    separator: char,
    field: Field,
    what: &str,
) -> Result<Vec<(String, String)>, FieldError> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| {
            line.split_once(separator)
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .ok_or_else(|| FieldError {
                    field,
                    message: format!(
                        "{}: line {} ('{}') is not {what}",
                        match field {
                            Field::Headers => "Headers",
                            _ => "Properties",
                        },
                        n + 1,
                        line.trim()
                    ),
                })
        })
        .collect()
}

fn flag(checkbox: &Option<String>, bit: u8) -> u8 {
    if checkbox.is_some() { bit } else { 0 }
}

impl WebhookForm {
    /// The agent's input for webhook `id` (0: a new one). `stored` is the webhook as saved,
    /// on edit: a property whose text is unchanged keeps its stored type (a number stays a
    /// number). The Secret, which the form never shows, is not part of it (a save keeps it).
    pub fn to_input(
        &self,
        id: i32,
        stored: Option<&WebhookCarrier>,
    ) -> Result<WebhookInput, FieldError> {
        let headers = pairs(&self.headers, ':', Field::Headers, "'Name: value'")?;
        let properties = pairs(&self.properties, '=', Field::Properties, "'key=value'")?
            .into_iter()
            .map(|(key, text)| {
                let kept = stored
                    .and_then(|w| w.properties.iter().find(|(k, _)| *k == key))
                    .map(|(_, v)| v)
                    .filter(|v| v.lexical() == text)
                    .cloned();
                (key, kept.unwrap_or(TypedValue::String(text)))
            })
            .collect();
        let error_associates = words(&self.error_associates)
            .iter()
            .map(|w| {
                w.parse::<i32>().map_err(|_| FieldError {
                    field: Field::ErrorAssociates,
                    message: format!("ErrorAssociates: '{w}' is not a user id (a number)"),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let state = if self.active.is_some() {
            Some(WebhookState::Active)
        } else if WebhookState::parse(&self.state_was) == Some(WebhookState::TooManyErrors) {
            None
        } else {
            Some(WebhookState::Stopped)
        };
        let delivery_order = match self.delivery_order.trim() {
            "" => None,
            typed => Some(DeliveryOrder::parse(typed).ok_or_else(|| FieldError {
                field: Field::DeliveryOrder,
                message: format!(
                    "DeliveryOrder '{typed}' is not one of {}",
                    DeliveryOrder::NAMES.join(", ")
                ),
            })?),
        };
        let description = self.description.trim();
        Ok(WebhookInput {
            webhook_id: id,
            name: Some(Some(self.name.clone())),
            events: Some(words(&self.events)),
            target_url: Some(Some(self.target_url.trim().to_string())),
            secret: None,
            state,
            kind: None,
            headers: Some(headers),
            properties: Some(properties),
            errors_email: None,
            delivery_order,
            error_emails: Some(words(&self.error_emails)),
            error_associates: Some(error_associates),
            description: Some((!description.is_empty()).then(|| description.to_string())),
            notify_via: Some(NotifyVia(
                flag(&self.notify_email, NotifyVia::EMAIL)
                    | flag(&self.notify_in_app, NotifyVia::IN_APP),
            )),
            notify_when: Some(NotifyWhen(
                flag(&self.when_first_failure, NotifyWhen::FIRST_FAILURE)
                    | flag(&self.when_disabled, NotifyWhen::DISABLING),
            )),
        })
    }

    /// The form filled with `webhook` (its Secret left out: the page never shows it).
    pub fn of(webhook: &WebhookCarrier) -> WebhookForm {
        let checked = |on: bool| on.then(|| "on".to_string());
        let lines = |pairs: Vec<String>| pairs.into_iter().map(|l| l + "\n").collect();
        WebhookForm {
            id: webhook.id.to_string(),
            name: webhook.name.clone().unwrap_or_default(),
            description: webhook.description.clone().unwrap_or_default(),
            events: webhook.events.join(", "),
            target_url: webhook.target_url.clone().unwrap_or_default(),
            active: checked(webhook.state == WebhookState::Active),
            state_was: webhook.state.as_str().to_string(),
            error_emails: webhook.error_emails.join(", "),
            notify_email: checked(webhook.notify_via.email()),
            notify_in_app: checked(webhook.notify_via.in_app()),
            when_first_failure: checked(webhook.notify_when.0 & NotifyWhen::FIRST_FAILURE != 0),
            when_disabled: checked(webhook.notify_when.0 & NotifyWhen::DISABLING != 0),
            error_associates: webhook
                .error_associates
                .iter()
                .map(|(id, _)| id.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            headers: lines(
                webhook
                    .headers
                    .iter()
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect(),
            ),
            properties: lines(
                webhook
                    .properties
                    .iter()
                    .map(|(k, v)| format!("{k}={}", v.lexical()))
                    .collect(),
            ),
            delivery_order: webhook.delivery_order.to_wire().to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_round_trips_a_webhook() {
        let mut webhook = WebhookCarrier::default_new();
        webhook.id = 7;
        webhook.name = Some("hook".into());
        webhook.target_url = Some("https://example.com/in".into());
        webhook.events = vec!["contact.*".into(), "sale.created".into()];
        webhook.secret = Some("kept".into());
        webhook.headers = vec![("X-Team".into(), "ops: night".into())];
        webhook.properties = vec![
            ("n".into(), TypedValue::Int(3)),
            ("s".into(), TypedValue::String("a=b".into())),
        ];
        webhook.notify_via = NotifyVia(NotifyVia::IN_APP);
        webhook.notify_when = NotifyWhen(NotifyWhen::DISABLING);
        webhook.error_associates = vec![(2, None)];
        webhook.delivery_order = DeliveryOrder::PerRecord;
        let input = WebhookForm::of(&webhook)
            .to_input(7, Some(&webhook))
            .unwrap();
        assert_eq!(input.events.as_deref(), Some(&webhook.events[..]));
        assert_eq!(input.headers, Some(webhook.headers.clone()));
        assert_eq!(input.properties, Some(webhook.properties.clone()));
        assert_eq!(input.secret, None, "a save keeps the stored Secret");
        assert_eq!(input.notify_via, Some(webhook.notify_via));
        assert_eq!(input.notify_when, Some(webhook.notify_when));
        assert_eq!(input.error_associates, Some(vec![2]));
        assert_eq!(input.state, Some(WebhookState::Active));
        assert_eq!(input.delivery_order, Some(DeliveryOrder::PerRecord));
    }

    #[test]
    fn an_untouched_toggle_keeps_a_disabled_webhook_disabled() {
        let form = |state_was: &str| WebhookForm {
            state_was: state_was.into(),
            ..WebhookForm::default()
        };
        assert_eq!(form("TooManyErrors").to_input(1, None).unwrap().state, None);
        assert_eq!(
            form("Active").to_input(1, None).unwrap().state,
            Some(WebhookState::Stopped)
        );
    }

    #[test]
    fn unreadable_text_names_its_field_and_line() {
        let form = WebhookForm {
            headers: "X-A: 1\n\nno colon here".into(),
            ..WebhookForm::default()
        };
        let e = form.to_input(0, None).unwrap_err();
        assert_eq!(e.field, Field::Headers);
        assert!(e.message.contains("line 3"), "{}", e.message);
        let form = WebhookForm {
            error_associates: "1, bob".into(),
            ..WebhookForm::default()
        };
        assert_eq!(
            form.to_input(0, None).unwrap_err().field,
            Field::ErrorAssociates
        );
        assert_eq!(
            Field::named_in("TargetUrl 'x' has no host"),
            Some(Field::TargetUrl)
        );
        assert_eq!(Field::named_in("The test ping to x failed"), None);
        let form = WebhookForm {
            delivery_order: "Sideways".into(),
            ..WebhookForm::default()
        };
        let e = form.to_input(0, None).unwrap_err();
        assert_eq!(e.field, Field::DeliveryOrder);
        assert_eq!(
            e.message,
            "DeliveryOrder 'Sideways' is not one of Any, PerRecord"
        );
        assert_eq!(
            WebhookForm::default()
                .to_input(1, None)
                .unwrap()
                .delivery_order,
            None,
            "a form without the field keeps the stored order"
        );
    }
}
