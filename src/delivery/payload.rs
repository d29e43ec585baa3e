//! The JSON body receivers get (docs/DELIVERY.md, "The request"), serialised once: those exact
//! bytes are signed and sent.

use serde_json::{Map, Value};

use crate::domain::{Event, Millis, TypedValue};

/// The standard members, in NetServer's order. A webhook Property never replaces one of them.
const STANDARD_MEMBERS: [&str; 10] = [
    "EventId",
    "Timestamp",
    "Changes",
    "Event",
    "PrimaryKey",
    "Entity",
    "ContextIdentifier",
    "ChangedByAssociateId",
    "WebhookName",
    "FieldValues",
];

/// `Timestamp`: UTC with 7 fractional digits and `Z`, as .NET's round-trip format.
pub fn timestamp(millis: Millis) -> String {
    let t = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(millis).unwrap_or_default();
    format!(
        "{}.{:07}Z",
        t.format("%Y-%m-%dT%H:%M:%S"),
        t.timestamp_subsec_nanos() / 100
    )
}

/// What differs between receivers of the same event.
pub struct PayloadContext<'a> {
    pub webhook_name: &'a str,
    pub properties: &'a [(String, TypedValue)],
    /// `ContextIdentifier`: the tenant (on-site: `Default`).
    pub context_identifier: &'a str,
    /// Test pings carry no `FieldValues`, as NetServer's (docs/DELIVERY.md, "Test pings").
    pub include_field_values: bool,
}

/// Serialises the payload of `event` for one webhook.
pub fn build(event: &Event, ctx: &PayloadContext) -> Vec<u8> {
    let mut body = Map::new();
    body.insert("EventId".into(), Value::String(event.event_id.clone()));
    body.insert(
        "Timestamp".into(),
        Value::String(timestamp(event.occurred_at)),
    );
    body.insert(
        "Changes".into(),
        Value::Array(event.changes.iter().cloned().map(Value::String).collect()),
    );
    body.insert("Event".into(), Value::String(event.name.clone()));
    body.insert("PrimaryKey".into(), Value::from(event.primary_key));
    body.insert("Entity".into(), Value::String(event.entity.clone()));
    body.insert(
        "ContextIdentifier".into(),
        Value::String(ctx.context_identifier.to_string()),
    );
    body.insert(
        "ChangedByAssociateId".into(),
        Value::from(event.associate_id),
    );
    body.insert(
        "WebhookName".into(),
        Value::String(ctx.webhook_name.to_string()),
    );
    if ctx.include_field_values {
        let values: Map<String, Value> = event
            .field_values
            .iter()
            .map(|(k, v)| (k.clone(), v.to_json()))
            .collect();
        body.insert("FieldValues".into(), Value::Object(values));
    }
    for (key, value) in ctx.properties {
        let reserved = STANDARD_MEMBERS.iter().any(|m| m.eq_ignore_ascii_case(key));
        if !reserved && !body.contains_key(key) {
            body.insert(key.clone(), value.to_json());
        }
    }
    // A map of strings, numbers and booleans always serialises.
    serde_json::to_vec(&Value::Object(body)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> Event {
        Event {
            event_id: "3f2504e0-4f89-11d3-9a0c-0305e82c3301".into(),
            name: "contact.changed".into(),
            primary_key: 12,
            entity: "contact".into(),
            changes: vec!["name".into(), "count".into()],
            field_values: vec![
                ("name".into(), TypedValue::String("Acme".into())),
                ("count".into(), TypedValue::Int(3)),
            ],
            associate_id: 5,
            occurred_at: 1_524_556_250_681,
        }
    }

    #[test]
    fn members_come_in_netserver_order_and_properties_last() {
        let props = vec![
            ("tenant".into(), TypedValue::Int(9)),
            ("Event".into(), TypedValue::String("hijack".into())),
        ];
        let body = build(
            &event(),
            &PayloadContext {
                webhook_name: "hook",
                properties: &props,
                context_identifier: "Default",
                include_field_values: true,
            },
        );
        let text = String::from_utf8(body).unwrap();
        assert_eq!(
            text,
            r#"{"EventId":"3f2504e0-4f89-11d3-9a0c-0305e82c3301","Timestamp":"2018-04-24T07:50:50.6810000Z","Changes":["name","count"],"Event":"contact.changed","PrimaryKey":12,"Entity":"contact","ContextIdentifier":"Default","ChangedByAssociateId":5,"WebhookName":"hook","FieldValues":{"name":"Acme","count":3},"tenant":9}"#
        );
    }
}
