//! An operator's Retry: one attempt of one delivery, now, whatever its state, outside the
//! dispatcher's cycles. It is logged with trigger `manual`, changes no counter of the webhook
//! and never its State; on success the delivery is delivered, on failure it stays as it was
//! (docs/DELIVERY.md, Retry and Recover).

use super::attempt;
use super::sender::Sender;
use crate::domain::outbox::Disposition;
use crate::domain::{WebhookRecord, now_millis};
use crate::store::{AttemptRecord, ClaimedDelivery, Store, StoreResult, Trigger};

/// Sends `delivery` of `webhook` once and records the attempt (its outcome is then read back
/// from the attempt log).
pub async fn retry_now(
    store: &dyn Store,
    sender: &Sender,
    webhook: &WebhookRecord,
    delivery: &ClaimedDelivery,
    context_identifier: &str,
) -> StoreResult<()> {
    let event = &delivery.event;
    let body = attempt::body(webhook, event, context_identifier);
    let started_at = now_millis();
    let result = sender
        .send(attempt::request(
            webhook,
            event,
            delivery.attempts_before,
            body,
        ))
        .await;
    crate::observe::attempt(webhook.id, event, delivery.attempts_before + 1, &result);
    let record = AttemptRecord {
        delivery_id: delivery.id,
        webhook_id: webhook.id,
        success: result.success,
        gone: false,
        counted: false,
        report: None,
        disposition: if result.success {
            Disposition::Delivered
        } else {
            Disposition::Unchanged
        },
        record_key: delivery.record_key.clone(),
        log: attempt::log_entry(event, Trigger::Manual, started_at, &result, None),
    };
    // The limit does not matter: a manual attempt never disables.
    store.record_attempt(record, i32::MAX).await?;
    Ok(())
}
