//! The outbox: events, their deliveries, claims, attempt outcomes, dead letters, the retention
//! sweep and leases. The trait and its one implementation for every backend; the writes that
//! share a transaction go through group commit.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::Notify;

use super::attempt_log;
use super::backend::{Backend, ConnOf};
use super::outbox_sql::Claim;
use super::record_order;
use super::rows::{DEAD, DELIVERED, EVENT_COLUMNS, PENDING, StoreRow, WAITING, decode_claims};
use super::sql::{Arg, Conn, Lock};
use super::{
    AttemptRecord, ClaimCaps, ClaimedDelivery, DeadLetter, QueueStats, RecoverScope, StoreError,
    StoreResult, outbox_sql,
};
use crate::domain::{Event, Millis, WebhookState, now_millis};

/// Most deliveries one statement of Recover queues again (see `recover`).
const RECOVER_BATCH: i64 = 1000;

#[async_trait]
pub trait Outbox: Send + Sync + 'static {
    /// In one transaction: stores `event` and one pending delivery per webhook that takes
    /// deliveries (`domain::outbox::TAKES_DELIVERIES`) whose subscriptions match it
    /// (`domain::subscription_matches`). Returns the number of deliveries; with none, nothing
    /// is stored.
    async fn record_event(&self, event: &Event) -> StoreResult<usize>;
    async fn queue_stats(&self) -> StoreResult<QueueStats>;

    /// Leases up to `limit` due deliveries of Active webhooks until `lease_until`, at most
    /// `caps.of(webhook)` leased per webhook at a time, and counts the attempt.
    async fn claim_due(
        &self,
        now: Millis,
        lease_until: Millis,
        limit: usize,
        caps: &ClaimCaps,
    ) -> StoreResult<Vec<ClaimedDelivery>>;
    /// Records an attempt: usage counters, `LastError`, the delivery's fate and, when
    /// `failures_to_disable` consecutive failures or a 410 are reached, State TooManyErrors
    /// plus its `webhook{id}.errors` event, all in one transaction. Returns the webhook's state.
    async fn record_attempt(
        &self,
        attempt: AttemptRecord,
        failures_to_disable: i32,
    ) -> StoreResult<WebhookState>;
    /// Moves deliveries that cannot be sent (their stored data cannot be read) to the
    /// dead-letter list, each with its reason, so they stop nothing else.
    async fn set_aside(&self, deliveries: &[(i64, String)]) -> StoreResult<()>;
    /// Gives leased deliveries back to the queue.
    async fn release_leases(&self, ids: &[i64]) -> StoreResult<()>;
    /// At a clean shutdown: gives back the leases of the attempts that did not finish and
    /// stops serving webhooks, so other nodes take them at once.
    async fn stop_serving(&self, unfinished: &[i64]) -> StoreResult<()>;
    /// Gives back leased deliveries that made no attempt (a claim counts the attempt it
    /// expects): they waited in this node's queue while their receiver began failing.
    async fn release_unattempted(&self, ids: &[i64]) -> StoreResult<()>;
    /// Moves deliveries created before `cutoff` that never succeeded to the dead-letter list,
    /// forgets delivered ones that old and attempts started before it. Returns how many went
    /// dead.
    async fn sweep(&self, now: Millis, cutoff: Millis) -> StoreResult<u64>;
    /// Called once when a server starts: gives back leases a crashed process of this node
    /// left behind. Returns how many were released.
    async fn recover_leases(&self) -> StoreResult<u64>;
    /// The dead-letter list, oldest first, optionally of one webhook.
    async fn dead_letters(
        &self,
        webhook_id: Option<i32>,
        limit: i64,
    ) -> StoreResult<Vec<DeadLetter>>;
    /// Puts dead deliveries back in the queue, due now, with a fresh retention window.
    async fn replay_dead(&self, webhook_id: Option<i32>, now: Millis) -> StoreResult<u64>;
    /// One delivery of a webhook as a cycle would send it (not leased: an operator's Retry);
    /// None when the webhook has no such delivery. An event that cannot be read is an error.
    async fn delivery_to_send(
        &self,
        webhook_id: i32,
        delivery_id: i64,
    ) -> StoreResult<Option<ClaimedDelivery>>;
    /// Queues deliveries again, due now, for a manual attempt: those of `scope` that are not
    /// in flight (nor, for a window, queued by an earlier Recover and not yet tried), dead (and
    /// delivered) ones with a fresh retention window. Returns how many.
    async fn recover(&self, scope: RecoverScope, now: Millis) -> StoreResult<u64>;
    /// An operator's Discard: moves a queued delivery that no attempt holds (pending,
    /// waiting, parked) to the dead-letter list, so the next one of its record may go.
    /// Returns false when there is no such delivery or it is not discardable now.
    async fn discard(&self, webhook_id: i32, delivery_id: i64, now: Millis) -> StoreResult<bool>;
    /// Wakes `wake` whenever another process commits due work (PostgreSQL `LISTEN/NOTIFY`).
    /// With SQLite one process does all the work and wakes its dispatcher itself: nothing to do.
    async fn watch_for_work(&self, wake: Arc<Notify>) -> StoreResult<()>;
}

/// Gives leases back, taking `uncount` off each delivery's attempts.
async fn release<B: Backend>(backend: &B, ids: &[i64], uncount: i64) -> StoreResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut tx = backend.begin().await?;
    let sql = format!(
        "UPDATE deliveries SET locked_until = 0, locked_by = NULL, attempts = attempts - $3 \
         WHERE id {} AND status = $2",
        <ConnOf<B> as Conn>::id_in("$1")
    );
    tx.execute(
        &sql,
        &[Arg::Ids(ids), Arg::Long(PENDING), Arg::Long(uncount)],
    )
    .await?;
    // Another node may take them right away.
    tx.announce_work().await?;
    B::commit(tx).await
}

#[async_trait]
impl<B: Backend> Outbox for B {
    async fn record_event(&self, event: &Event) -> StoreResult<usize> {
        if self.nobody_subscribes(&event.name) {
            return Ok(0); // nothing to store, no trip to the writer
        }
        self.commits().record_event(event.clone()).await
    }

    async fn queue_stats(&self) -> StoreResult<QueueStats> {
        let mut reader = self.reader().await?;
        let rows = reader
            .fetch_all(
                "SELECT status, COUNT(*) AS n FROM deliveries GROUP BY status",
                &[],
            )
            .await?;
        let mut stats = QueueStats::default();
        for row in rows {
            let n = row.long("n")?;
            match row.long("status")? {
                PENDING => stats.pending = n,
                DELIVERED => stats.delivered = n,
                DEAD => stats.dead = n,
                _ => {}
            }
        }
        // The oldest delivery an Active webhook could send now and nobody has claimed: how far
        // delivery lags (deliveries parked behind a stopped or disabled webhook wait on
        // purpose). Webhook by webhook in due order, so a long queue is not read through.
        let now = now_millis();
        stats.oldest_due = match reader
            .fetch_optional(
                // `status = {PENDING}` written out: the partial index of queued deliveries.
                &format!(
                    "SELECT MIN((SELECT next_attempt_at FROM deliveries WHERE webhook_id = w.id \
                      AND status = {PENDING} AND next_attempt_at <= $1 AND locked_until <= $1 \
                      ORDER BY next_attempt_at LIMIT 1)) AS oldest FROM webhooks w WHERE w.state = $2"
                ),
                &[Arg::Long(now), Arg::Long(WebhookState::Active as i64)],
            )
            .await?
        {
            Some(row) => row.opt_long("oldest")?,
            None => None,
        };
        Ok(stats)
    }

    async fn claim_due(
        &self,
        now: Millis,
        lease_until: Millis,
        limit: usize,
        caps: &ClaimCaps,
    ) -> StoreResult<Vec<ClaimedDelivery>> {
        self.before_claim(now).await?;
        self.commits()
            .claim(Claim {
                now,
                lease_until,
                limit,
                caps: caps.clone(),
            })
            .await
    }

    async fn record_attempt(
        &self,
        attempt: AttemptRecord,
        failures_to_disable: i32,
    ) -> StoreResult<WebhookState> {
        self.commits()
            .record_attempt(attempt, failures_to_disable)
            .await
    }

    async fn set_aside(&self, deliveries: &[(i64, String)]) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        outbox_sql::set_aside(&mut *tx, deliveries).await?;
        let ids: Vec<i64> = deliveries.iter().map(|(id, _)| *id).collect();
        if record_order::lock_and_promote(&mut *tx, &ids).await? > 0 {
            tx.announce_work().await?;
        }
        B::commit(tx).await
    }

    async fn release_leases(&self, ids: &[i64]) -> StoreResult<()> {
        release(self, ids, 0).await
    }

    async fn release_unattempted(&self, ids: &[i64]) -> StoreResult<()> {
        release(self, ids, 1).await
    }

    async fn stop_serving(&self, unfinished: &[i64]) -> StoreResult<()> {
        release(self, unfinished, 0).await?;
        Backend::stop_serving(self).await
    }

    async fn sweep(&self, now: Millis, cutoff: Millis) -> StoreResult<u64> {
        let mut tx = self.begin().await?;
        if !tx.try_lock(Lock::Sweep).await? {
            return Ok(0); // another node is sweeping
        }
        let dead = tx
            .execute(
                "UPDATE deliveries SET status = $1 WHERE status IN ($2, $5) AND created_at < $3 AND locked_until <= $4",
                &[
                    Arg::Long(DEAD),
                    Arg::Long(PENDING),
                    Arg::Long(cutoff),
                    Arg::Long(now),
                    Arg::Long(WAITING),
                ],
            )
            .await?;
        // The records whose head just went dead, or that lost it any other way, go on.
        if record_order::repair(&mut *tx).await? > 0 {
            tx.announce_work().await?;
        }
        tx.execute(
            "DELETE FROM deliveries WHERE status = $1 AND created_at < $2",
            &[Arg::Long(DELIVERED), Arg::Long(cutoff)],
        )
        .await?;
        tx.execute(
            "DELETE FROM events WHERE occurred_at < $1 \
             AND NOT EXISTS (SELECT 1 FROM deliveries WHERE event_row = events.id)",
            &[Arg::Long(cutoff)],
        )
        .await?;
        B::commit(tx).await?;
        // Alerts age out with the window too (few rows, one per transition: one statement).
        self.writer()
            .await?
            .execute(
                "DELETE FROM alerts WHERE created_at < $1",
                &[Arg::Long(cutoff)],
            )
            .await?;
        // The attempt log ages out with the window, a bounded batch per statement, so the
        // writer is never held long.
        loop {
            let pruned = attempt_log::prune(&mut *self.writer().await?, cutoff).await?;
            if pruned < attempt_log::PRUNE_BATCH.unsigned_abs() {
                break;
            }
        }
        Ok(dead)
    }

    async fn recover_leases(&self) -> StoreResult<u64> {
        self.release_orphaned_leases().await
    }

    async fn dead_letters(
        &self,
        webhook_id: Option<i32>,
        limit: i64,
    ) -> StoreResult<Vec<DeadLetter>> {
        let rows = self
            .reader()
            .await?
            .fetch_all(
                "SELECT d.id, d.webhook_id, e.event_id, e.name, d.attempts, d.created_at, d.dead_reason \
                 FROM deliveries d JOIN events e ON e.id = d.event_row \
                 WHERE d.status = $1 AND (CAST($2 AS INTEGER) IS NULL OR d.webhook_id = $2) \
                 ORDER BY d.id LIMIT $3",
                &[Arg::Long(DEAD), Arg::OptInt(webhook_id), Arg::Long(limit)],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(DeadLetter {
                    delivery_id: r.long("id")?,
                    webhook_id: r.int("webhook_id")?,
                    event_id: r.text("event_id")?,
                    event_name: r.text("name")?,
                    attempts: r.long("attempts")?,
                    created_at: r.long("created_at")?,
                    reason: r.opt_text("dead_reason")?,
                })
            })
            .collect()
    }

    async fn replay_dead(&self, webhook_id: Option<i32>, now: Millis) -> StoreResult<u64> {
        let mut tx = self.begin().await?;
        let done = tx
            .execute(
                "UPDATE deliveries SET status = $1, next_attempt_at = $2, created_at = $2, \
                 locked_until = 0, locked_by = NULL, dead_reason = NULL \
                 WHERE status = $3 AND (CAST($4 AS INTEGER) IS NULL OR webhook_id = $4)",
                &[
                    Arg::Long(PENDING),
                    Arg::Long(now),
                    Arg::Long(DEAD),
                    Arg::OptInt(webhook_id),
                ],
            )
            .await?;
        tx.announce_work().await?;
        B::commit(tx).await?;
        Ok(done)
    }

    async fn delivery_to_send(
        &self,
        webhook_id: i32,
        delivery_id: i64,
    ) -> StoreResult<Option<ClaimedDelivery>> {
        let mut conn = self.reader().await?;
        // `attempts + 1`: as a claim returns it, counting the attempt about to be made.
        let Some(row) = conn
            .fetch_optional(
                "SELECT id, webhook_id, attempts + 1 AS attempts, event_row, manual, record_key \
                 FROM deliveries WHERE id = $1 AND webhook_id = $2",
                &[Arg::Long(delivery_id), Arg::Int(webhook_id)],
            )
            .await?
        else {
            return Ok(None);
        };
        let events = conn
            .fetch_all(
                &format!("SELECT {EVENT_COLUMNS} FROM events WHERE id = $1"),
                &[Arg::Long(row.long("event_row")?)],
            )
            .await?;
        let mut decoded = decode_claims(std::slice::from_ref(&row), &events)?;
        match (decoded.claims.pop(), decoded.unreadable.pop()) {
            (Some(claim), _) => Ok(Some(claim)),
            (None, Some((_, why))) => Err(StoreError::Corrupt(format!(
                "delivery {delivery_id}: {why}"
            ))),
            (None, None) => Ok(None),
        }
    }

    async fn recover(&self, scope: RecoverScope, now: Millis) -> StoreResult<u64> {
        let requeue = "UPDATE deliveries SET next_attempt_at = $1, manual = 1, dead_reason = NULL, \
             created_at = CASE WHEN status = $2 THEN created_at ELSE $1 END, status = $2 WHERE";
        // Queued ones only when no attempt holds them: an attempt in flight decides their fate.
        // Waiting ones are left to go in their record's order (docs/DELIVERY.md).
        let idle = format!("(status <> $2 OR locked_until <= $1) AND status <> {WAITING}");
        let (sql, args, batched) = match scope {
            // In batches, each its own short transaction, so a window of any size never holds
            // the writer long; `manual = 0` makes each batch take rows the last did not.
            RecoverScope::Window {
                webhook_id,
                since,
                until,
            } => (
                format!(
                    "{requeue} id IN (SELECT id FROM deliveries WHERE webhook_id = $3 \
                     AND created_at >= $4 AND created_at <= $5 AND status <> $6 AND manual = 0 \
                     AND {idle} ORDER BY id LIMIT $7)"
                ),
                vec![
                    Arg::Long(now),
                    Arg::Long(PENDING),
                    Arg::Int(webhook_id),
                    Arg::Long(since),
                    Arg::Long(until),
                    Arg::Long(DELIVERED),
                    Arg::Long(RECOVER_BATCH),
                ],
                true,
            ),
            RecoverScope::Delivery(id) => (
                format!("{requeue} id = $3 AND {idle}"),
                vec![Arg::Long(now), Arg::Long(PENDING), Arg::Long(id)],
                false,
            ),
        };
        let mut queued = 0;
        loop {
            let mut tx = self.begin().await?;
            let done = tx.execute(&sql, &args).await?;
            tx.announce_work().await?;
            B::commit(tx).await?;
            queued += done;
            if !batched || done < RECOVER_BATCH.unsigned_abs() {
                return Ok(queued);
            }
        }
    }

    async fn discard(&self, webhook_id: i32, delivery_id: i64, now: Millis) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let done = tx
            .execute(
                "UPDATE deliveries SET status = $1, dead_reason = $2, locked_until = 0, \
                 locked_by = NULL, manual = 0 WHERE id = $3 AND webhook_id = $4 \
                 AND status IN ($5, $6) AND locked_until <= $7",
                &[
                    Arg::Long(DEAD),
                    Arg::Text("discarded by an operator"),
                    Arg::Long(delivery_id),
                    Arg::Int(webhook_id),
                    Arg::Long(PENDING),
                    Arg::Long(WAITING),
                    Arg::Long(now),
                ],
            )
            .await?
            > 0;
        if done && record_order::lock_and_promote(&mut *tx, &[delivery_id]).await? > 0 {
            tx.announce_work().await?;
        }
        B::commit(tx).await?;
        Ok(done)
    }

    async fn watch_for_work(&self, wake: Arc<Notify>) -> StoreResult<()> {
        self.watch(wake).await
    }
}
