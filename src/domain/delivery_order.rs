//! `DeliveryOrder`: whether a webhook's deliveries of one record go one after another
//! (docs/DELIVERY.md, "Ordered delivery"). A hookwire extension, carried by REST only.

use super::Event;

/// How a webhook's deliveries are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeliveryOrder {
    /// No order: up to the per-webhook cap at once, whatever their records (NetServer's).
    #[default]
    Any = 0,
    /// One record's deliveries in the order their events were accepted: a later one waits
    /// until the one before succeeded or was set aside.
    PerRecord = 1,
}

impl DeliveryOrder {
    pub const NAMES: [&'static str; 2] = ["Any", "PerRecord"];

    /// The wire name (`Any`, `PerRecord`), any case, or its number.
    pub fn parse(text: &str) -> Option<DeliveryOrder> {
        match text.trim() {
            t if t.eq_ignore_ascii_case("Any") || t == "0" => Some(DeliveryOrder::Any),
            t if t.eq_ignore_ascii_case("PerRecord") || t == "1" => Some(DeliveryOrder::PerRecord),
            _ => None,
        }
    }

    pub fn to_wire(self) -> &'static str {
        match self {
            DeliveryOrder::Any => "Any",
            DeliveryOrder::PerRecord => "PerRecord",
        }
    }

    /// As stored; an unknown number reads as `Any` (never a value the code cannot decode).
    pub fn from_number(n: i64) -> DeliveryOrder {
        if n == DeliveryOrder::PerRecord as i64 {
            DeliveryOrder::PerRecord
        } else {
            DeliveryOrder::Any
        }
    }

    /// The key that orders `event`'s delivery under this option: its record, the text before
    /// the first `.` of its name and its `PrimaryKey`, e.g. `contact:42`. None: not ordered
    /// (`Any`, or `PrimaryKey` 0, which names no record).
    pub fn record_key(self, event: &Event) -> Option<String> {
        if self == DeliveryOrder::Any || event.primary_key == 0 {
            return None;
        }
        let entity = event.name.split('.').next().unwrap_or_default();
        Some(format!("{entity}:{}", event.primary_key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: &str, primary_key: i32) -> Event {
        Event::signalled(name.into(), primary_key, Vec::new(), 0, 0)
    }

    #[test]
    fn a_record_is_the_entity_and_primary_key() {
        let order = DeliveryOrder::PerRecord;
        let changed = order.record_key(&event("contact.changed", 42));
        assert_eq!(changed.as_deref(), Some("contact:42"));
        assert_eq!(changed, order.record_key(&event("contact.created", 42)));
        assert_ne!(changed, order.record_key(&event("person.changed", 42)));
        assert_eq!(order.record_key(&event("contact.changed", 0)), None);
        assert_eq!(
            DeliveryOrder::Any.record_key(&event("contact.changed", 42)),
            None
        );
    }

    #[test]
    fn state_changes_are_one_record_per_webhook() {
        use crate::domain::{WebhookInput, WebhookRecord, WebhookSpec, WebhookState};
        let input = WebhookInput {
            name: Some(Some("hook".into())),
            events: Some(vec!["contact.created".into()]),
            target_url: Some(Some("https://example.com/h".into())),
            ..Default::default()
        };
        let spec = WebhookSpec::from_input(&input, None, false).expect("a valid webhook");
        let mut webhook = WebhookRecord::from_spec(spec, 7, 0, 0, None, None);
        webhook.state = WebhookState::TooManyErrors;
        let errors = Event::state_change(&webhook, 0).expect("an event");
        webhook.state = WebhookState::Active;
        let started = Event::state_change(&webhook, 1).expect("an event");
        let order = DeliveryOrder::PerRecord;
        assert_eq!(order.record_key(&errors).as_deref(), Some("webhook7:7"));
        assert_eq!(order.record_key(&errors), order.record_key(&started));
    }

    #[test]
    fn wire_names_round_trip() {
        for order in [DeliveryOrder::Any, DeliveryOrder::PerRecord] {
            assert_eq!(DeliveryOrder::parse(order.to_wire()), Some(order));
            assert_eq!(DeliveryOrder::from_number(order as i64), order);
        }
        assert_eq!(
            DeliveryOrder::parse("perrecord"),
            Some(DeliveryOrder::PerRecord)
        );
        assert_eq!(DeliveryOrder::parse("Sorted"), None);
        assert_eq!(DeliveryOrder::from_number(9), DeliveryOrder::Any);
    }
}
