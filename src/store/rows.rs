//! Row → record mapping shared by both backends. Each backend's row type implements
//! [`StoreRow`]; the mapping is written once against it. Column types are chosen per backend so
//! the same Rust type decodes on both (`INTEGER` ↔ i32 on PostgreSQL, any integer on SQLite).

use std::collections::HashMap;

use sqlx::Row;

use super::secret_box::SecretBox;
use super::subscriptions::Subscriber;
use super::{ClaimedDelivery, StoreError, StoreResult, UserRecord};
use crate::domain::outbox::DeliveryStatus;
use crate::domain::{
    DeliveryOrder, Event, NotifyVia, NotifyWhen, PreviousSecret, TypedValue, WebhookRecord,
    WebhookState, WebhookUsage,
};

/// Delivery row states (`domain::outbox::DeliveryStatus`), as stored.
pub(crate) const PENDING: i64 = DeliveryStatus::Pending as i64;
pub(crate) const DELIVERED: i64 = DeliveryStatus::Delivered as i64;
pub(crate) const DEAD: i64 = DeliveryStatus::Dead as i64;
pub(crate) const WAITING: i64 = DeliveryStatus::Waiting as i64;

pub(crate) const WEBHOOK_COLUMNS: &str = "id, name, events, target_url, secret, state, type, \
    headers, properties, registered, registered_associate_id, updated, updated_associate_id, \
    errors_email, error_emails, error_associates, description, notify_via, notify_when, delivery_order, app_id, \
    previous_secret, previous_secret_until, \
    total_calls, total_errors, consecutive_errors, last_error";

pub(crate) const EVENT_COLUMNS: &str =
    "id, event_id, name, primary_key, entity, changes, data, associate_id, occurred_at";

/// Typed column access, the same on both backends' rows.
pub(crate) trait StoreRow {
    fn int(&self, column: &str) -> StoreResult<i32>;
    fn long(&self, column: &str) -> StoreResult<i64>;
    fn opt_long(&self, column: &str) -> StoreResult<Option<i64>>;
    fn text(&self, column: &str) -> StoreResult<String>;
    fn opt_text(&self, column: &str) -> StoreResult<Option<String>>;
    fn flag(&self, column: &str) -> StoreResult<bool>;
    /// A JSON-encoded column, decoded.
    fn json<T: serde::de::DeserializeOwned>(&self, column: &str) -> StoreResult<T> {
        from_json(&self.text(column)?, column)
    }
}

macro_rules! impl_store_row {
    ($row:ty) => {
        impl StoreRow for $row {
            fn int(&self, column: &str) -> StoreResult<i32> {
                Ok(self.try_get(column)?)
            }
            fn long(&self, column: &str) -> StoreResult<i64> {
                Ok(self.try_get(column)?)
            }
            fn opt_long(&self, column: &str) -> StoreResult<Option<i64>> {
                Ok(self.try_get(column)?)
            }
            fn text(&self, column: &str) -> StoreResult<String> {
                Ok(self.try_get(column)?)
            }
            fn opt_text(&self, column: &str) -> StoreResult<Option<String>> {
                Ok(self.try_get(column)?)
            }
            fn flag(&self, column: &str) -> StoreResult<bool> {
                Ok(self.try_get(column)?)
            }
        }
    };
}
impl_store_row!(sqlx::sqlite::SqliteRow);
impl_store_row!(sqlx::postgres::PgRow);

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> String {
    // Serialising plain strings, numbers and enums to JSON cannot fail.
    serde_json::to_string(value).unwrap_or_else(|_| "[]".to_string())
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

pub(crate) fn user_from_row(row: &impl StoreRow) -> StoreResult<UserRecord> {
    Ok(UserRecord {
        id: row.long("id")?,
        name: row.text("name")?,
        full_name: row.text("full_name")?,
        password_hash: row.text("password_hash")?,
    })
}

/// A `webhooks` row (selected with [`WEBHOOK_COLUMNS`]), its Secrets opened with `secrets`.
pub(crate) fn webhook_from_row(
    row: &impl StoreRow,
    secrets: &SecretBox,
) -> StoreResult<WebhookRecord> {
    let mut webhook = webhook_without_secret(row)?;
    webhook.secret = secrets.open_secret(row.opt_text("secret")?)?;
    let previous = secrets.open_secret(row.opt_text("previous_secret")?)?;
    webhook.previous_secret = match (previous, row.opt_long("previous_secret_until")?) {
        (Some(secret), Some(valid_until)) => Some(PreviousSecret {
            secret,
            valid_until,
        }),
        _ => None,
    };
    Ok(webhook)
}

/// A `webhooks` row with `secret` None, for records nothing signs with (the state-change event
/// of a disabled webhook): no key needed, nothing decrypted.
pub(crate) fn webhook_without_secret(row: &impl StoreRow) -> StoreResult<WebhookRecord> {
    Ok(WebhookRecord {
        id: row.int("id")?,
        name: row.text("name")?,
        events: row.json("events")?,
        target_url: row.text("target_url")?,
        secret: None,
        previous_secret: None,
        state: WebhookState::from_number(row.long("state")?),
        kind: row.text("type")?,
        headers: row.json("headers")?,
        properties: row.json("properties")?,
        registered: row.long("registered")?,
        registered_associate_id: row.int("registered_associate_id")?,
        updated: row.long("updated")?,
        updated_associate_id: row.int("updated_associate_id")?,
        errors_email: row.opt_text("errors_email")?,
        error_emails: row.json("error_emails")?,
        error_associates: row.json("error_associates")?,
        description: row.opt_text("description")?,
        notify_via: NotifyVia::from_number(row.long("notify_via")?),
        notify_when: NotifyWhen(row.long("notify_when")?.clamp(0, 3) as u8),
        delivery_order: DeliveryOrder::from_number(row.long("delivery_order")?),
        app_id: row.opt_long("app_id")?,
        usage: WebhookUsage {
            total_calls: row.int("total_calls")?,
            total_errors: row.int("total_errors")?,
            consecutive_errors: row.int("consecutive_errors")?,
            last_error: row.opt_text("last_error")?,
        },
    })
}

/// An `events` row (selected with [`EVENT_COLUMNS`]).
pub(crate) fn event_from_row(row: &impl StoreRow) -> StoreResult<Event> {
    Ok(Event {
        event_id: row.text("event_id")?,
        name: row.text("name")?,
        primary_key: row.int("primary_key")?,
        entity: row.text("entity")?,
        changes: row.json("changes")?,
        field_values: row.json::<Vec<(String, TypedValue)>>("data")?,
        associate_id: row.int("associate_id")?,
        occurred_at: row.long("occurred_at")?,
    })
}

/// Claimed delivery rows (`id, webhook_id, attempts, event_row`) joined with their events,
/// keyed by event row id, each decoded on its own: a delivery whose event cannot be decoded is
/// returned apart with the reason, to be set aside, so that one bad row never stops the rest.
pub(crate) struct DecodedClaims {
    pub claims: Vec<ClaimedDelivery>,
    /// (delivery id, why it cannot be sent).
    pub unreadable: Vec<(i64, String)>,
}

/// Decodes the events of claimed deliveries (`events` rows selected with [`EVENT_COLUMNS`])
/// and joins them with the claimed rows.
pub(crate) fn decode_claims(
    claimed: &[impl StoreRow],
    events: &[impl StoreRow],
) -> StoreResult<DecodedClaims> {
    let mut by_row = HashMap::with_capacity(events.len());
    for row in events {
        by_row.insert(
            row.long("id")?,
            event_from_row(row).map_err(|e| e.to_string()),
        );
    }
    let mut out = DecodedClaims {
        claims: Vec::with_capacity(claimed.len()),
        unreadable: Vec::new(),
    };
    for row in claimed {
        let id = row.long("id")?;
        let event_row = row.long("event_row")?;
        match by_row.get(&event_row) {
            Some(Ok(event)) => out.claims.push(ClaimedDelivery {
                id,
                webhook_id: row.int("webhook_id")?,
                attempts_before: u32::try_from(row.long("attempts")? - 1).unwrap_or(0),
                event: event.clone(),
                manual: row.long("manual")? != 0,
                record_key: row.opt_text("record_key")?,
            }),
            Some(Err(why)) => out
                .unreadable
                .push((id, format!("event row {event_row}: {why}"))),
            None => out
                .unreadable
                .push((id, format!("its event row {event_row} is missing"))),
        }
    }
    for (delivery_id, why) in &out.unreadable {
        tracing::error!(delivery_id, reason = %why, "delivery set aside as a dead letter: its stored data cannot be read");
    }
    Ok(out)
}

/// Webhook rows decoded one by one: a row that cannot be decoded is logged and left out, so it
/// cannot stop a listing of the others (reading it by id names the problem).
pub(crate) fn readable_webhooks(
    rows: &[impl StoreRow],
    secrets: &SecretBox,
) -> StoreResult<Vec<WebhookRecord>> {
    Ok(rows
        .iter()
        .filter_map(|row| match webhook_from_row(row, secrets) {
            Ok(record) => Some(record),
            Err(e) => {
                tracing::error!(webhook_id = row.int("id").ok(), error = %e, "webhook left out: its stored row cannot be read");
                None
            }
        })
        .collect())
}

/// The subscribers of `SELECT id, events, delivery_order FROM webhooks`. A row whose events
/// cannot be decoded is logged and left out rather than failing every SignalEvent.
pub(crate) fn subscriptions_from_rows(rows: &[impl StoreRow]) -> StoreResult<Vec<Subscriber>> {
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let id = row.int("id")?;
        match row.json("events") {
            Ok(events) => out.push(Subscriber {
                id,
                events,
                order: DeliveryOrder::from_number(row.long("delivery_order")?),
            }),
            Err(e) => {
                tracing::error!(webhook_id = id, error = %e, "webhook takes no deliveries: its stored events cannot be read")
            }
        }
    }
    Ok(out)
}
