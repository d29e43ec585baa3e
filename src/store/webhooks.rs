//! Webhook definitions: the trait and its one implementation for every backend.

use async_trait::async_trait;

use super::StoreResult;
use super::backend::{Backend, ConnOf};
use super::record_order;
use super::rows::{
    PENDING, StoreRow, WEBHOOK_COLUMNS, readable_webhooks, to_json, webhook_from_row,
};
use super::secret_box::SecretBox;
use super::sql::{Arg, Conn};
use crate::domain::outbox::restarts;
use crate::domain::{DeliveryOrder, Millis, WebhookRecord, WebhookState};

#[async_trait]
pub trait Webhooks: Send + Sync + 'static {
    /// Inserts a webhook (its `id` is ignored) and returns the new id.
    async fn insert_webhook(&self, webhook: &WebhookRecord) -> StoreResult<i32>;
    /// Replaces the definition of webhook `webhook.id`, only if its stored `updated` is still
    /// `if_updated` (`None`: whatever it is); usage counters are left as they are. `false` when no
    /// row matched: the webhook is gone, or it changed since it was read.
    async fn update_webhook(
        &self,
        webhook: &WebhookRecord,
        if_updated: Option<Millis>,
    ) -> StoreResult<bool>;
    /// Deletes a webhook and its undelivered deliveries.
    async fn delete_webhook(&self, id: i32) -> StoreResult<bool>;
    async fn webhook(&self, id: i32) -> StoreResult<Option<WebhookRecord>>;
    async fn webhooks(&self) -> StoreResult<Vec<WebhookRecord>>;
    /// Checks `secrets` against the key this database was created with (recording it on the
    /// first start), seals the Secrets still stored in plaintext, and from then on seals and
    /// opens webhook Secrets with it: webhook reads and writes fail until this is done. Returns
    /// how many Secrets it sealed; `WrongSecretKey` for another key.
    async fn unlock_secrets(&self, secrets: SecretBox) -> StoreResult<u64>;
}

/// The definition columns, in [`WEBHOOK_COLUMNS`] order from `name` to `previous_secret_until`.
const DEFINITION_COLUMNS: [&str; 22] = [
    "name",
    "events",
    "target_url",
    "secret",
    "state",
    "type",
    "headers",
    "properties",
    "registered",
    "registered_associate_id",
    "updated",
    "updated_associate_id",
    "errors_email",
    "error_emails",
    "error_associates",
    "description",
    "notify_via",
    "notify_when",
    "delivery_order",
    "app_id",
    "previous_secret",
    "previous_secret_until",
];

/// The values of [`DEFINITION_COLUMNS`], the Secrets sealed with `secrets`.
fn definition_args<'a>(w: &'a WebhookRecord, secrets: &SecretBox) -> StoreResult<Vec<Arg<'a>>> {
    let previous = w.previous_secret.as_ref();
    Ok(vec![
        Arg::Text(&w.name),
        Arg::String(to_json(&w.events)),
        Arg::Text(&w.target_url),
        Arg::OptString(secrets.seal_secret(w.secret.as_deref())?),
        Arg::Long(w.state as i64),
        Arg::Text(&w.kind),
        Arg::String(to_json(&w.headers)),
        Arg::String(to_json(&w.properties)),
        Arg::Long(w.registered),
        Arg::Int(w.registered_associate_id),
        Arg::Long(w.updated),
        Arg::Int(w.updated_associate_id),
        Arg::OptText(w.errors_email.as_deref()),
        Arg::String(to_json(&w.error_emails)),
        Arg::String(to_json(&w.error_associates)),
        Arg::OptText(w.description.as_deref()),
        Arg::Long(i64::from(w.notify_via.0)),
        Arg::Long(i64::from(w.notify_when.0)),
        Arg::Long(w.delivery_order as i64),
        Arg::OptLong(w.app_id),
        Arg::OptString(secrets.seal_secret(previous.map(|p| p.secret.as_str()))?),
        Arg::OptLong(previous.map(|p| p.valid_until)),
    ])
}

#[async_trait]
impl<B: Backend> Webhooks for B {
    async fn insert_webhook(&self, w: &WebhookRecord) -> StoreResult<i32> {
        let args = definition_args(w, self.secrets().get()?)?;
        let params: Vec<String> = (1..=args.len()).map(|n| format!("${n}")).collect();
        let sql = format!(
            "INSERT INTO webhooks ({}) VALUES ({}) RETURNING id",
            DEFINITION_COLUMNS.join(", "),
            params.join(", ")
        );
        let id = self
            .writer()
            .await?
            .fetch_one(&sql, &args)
            .await?
            .int("id")?;
        self.webhooks_changed();
        Ok(id)
    }

    async fn update_webhook(
        &self,
        w: &WebhookRecord,
        if_updated: Option<Millis>,
    ) -> StoreResult<bool> {
        let mut args = definition_args(w, self.secrets().get()?)?;
        let set: Vec<String> = DEFINITION_COLUMNS
            .iter()
            .enumerate()
            .map(|(i, column)| format!("{column} = ${}", i + 1))
            .collect();
        let (id, precondition) = (args.len() + 1, args.len() + 2);
        let sql = format!(
            "UPDATE webhooks SET {} WHERE id = ${id} \
             AND (CAST(${precondition} AS BIGINT) IS NULL OR updated = ${precondition})",
            set.join(", ")
        );
        args.extend([Arg::Int(w.id), Arg::OptLong(if_updated)]);
        let mut tx = self.begin().await?;
        let lock = format!(
            "SELECT state FROM webhooks WHERE id = $1 {}",
            <ConnOf<B> as Conn>::FOR_UPDATE
        );
        let before = tx
            .fetch_optional(&lock, &[Arg::Int(w.id)])
            .await?
            .map(|row| row.long("state"))
            .transpose()?
            .map(WebhookState::from_number);
        let done = tx.execute(&sql, &args).await? > 0;
        if done && restarts(before, w.state) {
            // A restarted webhook starts with a clean slate, and its parked deliveries are due now.
            tx.execute(
                "UPDATE webhooks SET consecutive_errors = 0 WHERE id = $1",
                &[Arg::Int(w.id)],
            )
            .await?;
            tx.execute(
                "UPDATE deliveries SET next_attempt_at = $1 WHERE webhook_id = $2 AND status = $3",
                &[Arg::Long(w.updated), Arg::Int(w.id), Arg::Long(PENDING)],
            )
            .await?;
            tx.announce_work().await?;
        }
        if done
            && w.delivery_order == DeliveryOrder::Any
            && record_order::release_webhook(&mut *tx, w.id).await? > 0
        {
            // No longer ordered: what waited behind its record's open delivery goes now.
            tx.announce_work().await?;
        }
        B::commit(tx).await?;
        self.webhooks_changed();
        Ok(done)
    }

    async fn delete_webhook(&self, id: i32) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        tx.execute(
            "DELETE FROM deliveries WHERE webhook_id = $1 AND status = $2",
            &[Arg::Int(id), Arg::Long(PENDING)],
        )
        .await?;
        let done = tx
            .execute("DELETE FROM webhooks WHERE id = $1", &[Arg::Int(id)])
            .await?;
        B::commit(tx).await?;
        self.webhooks_changed();
        Ok(done > 0)
    }

    async fn webhook(&self, id: i32) -> StoreResult<Option<WebhookRecord>> {
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1");
        let row = self
            .reader()
            .await?
            .fetch_optional(&sql, &[Arg::Int(id)])
            .await?;
        row.as_ref()
            .map(|row| webhook_from_row(row, self.secrets().get()?))
            .transpose()
    }

    async fn webhooks(&self) -> StoreResult<Vec<WebhookRecord>> {
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks ORDER BY id");
        let rows = self.reader().await?.fetch_all(&sql, &[]).await?;
        readable_webhooks(&rows, self.secrets().get()?)
    }

    async fn unlock_secrets(&self, secrets: SecretBox) -> StoreResult<u64> {
        let sealed = self.seal_plaintext_secrets(&secrets).await?;
        self.secrets().set(secrets);
        Ok(sealed)
    }
}
