//! The dispatcher: claims due deliveries with a lease (no transaction is held across HTTP),
//! runs each claimed delivery's retry cycle, and records every attempt.
//!
//! A claim leases ahead of what is being sent ([`PREFETCH`] times the per-webhook cap), so a
//! webhook's next delivery is already in memory when a request ends, and a successful
//! attempt frees its webhook's send slot as soon as the answer comes, before its outcome is
//! committed: a webhook's throughput is its receiver's, not the database's round trips.
//!
//! Limits (docs/DELIVERY.md, "Concurrency"): `per_webhook_in_flight` requests to one webhook
//! at a time ([`SendSlots`]; one node at a time holds a webhook's leases, so the cap holds
//! across a cluster), `max_in_flight` attempts not yet recorded over all webhooks (which also
//! bounds what a crash can make this node repeat), and [`PREFETCH`] times that held.

use std::collections::HashMap;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::attempt;
use super::capacity::{Capacity, Holding, PREFETCH, Turn};
use super::probing::Probing;
use super::retry::{NextAttempt, RetryPolicy};
use super::sender::{AttemptResult, Sender};
use crate::domain::{DeliveryOrder, Millis, WebhookRecord, WebhookState, now_millis};
use crate::store::{AttemptRecord, ClaimedDelivery, Disposition, Store, StoreError, Trigger};

/// Most deliveries claimed in one query.
const CLAIM_BATCH: usize = 256;

/// Delivery tuning; defaults are SuperOffice's (see `config.rs`).
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    pub policy: RetryPolicy,
    pub attempt_timeout: Duration,
    pub max_in_flight: usize,
    pub per_webhook_in_flight: usize,
    /// Consecutive failed attempts that set TooManyErrors (SuperOffice: 9).
    pub failures_to_disable: i32,
    /// Deliveries not done after this long go to the dead-letter list.
    pub retention: Duration,
    /// Backstop poll when nothing wakes the dispatcher (retries coming due).
    pub poll_interval: Duration,
    /// `ContextIdentifier` of payloads.
    pub context_identifier: String,
    /// How long SIGTERM waits for attempts in flight.
    pub shutdown_grace: Duration,
}

/// Wakes the dispatcher as soon as new deliveries are committed.
#[derive(Clone, Default)]
pub struct Wakeup(Arc<Notify>);

impl Wakeup {
    pub fn notify(&self) {
        // notify_one keeps a permit when nobody waits, so a wake-up is never lost.
        self.0.notify_one();
    }

    /// The underlying notifier, for wake-ups from outside the process (the store's
    /// `watch_for_work`).
    pub fn notifier(&self) -> Arc<Notify> {
        self.0.clone()
    }
}

fn millis(d: Duration) -> Millis {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// What every cycle task shares.
struct Shared {
    store: Arc<dyn Store>,
    /// Lets a cycle wake the dispatcher as soon as its last outcome is queued.
    wakeup: Wakeup,
    sender: Sender,
    settings: DeliverySettings,
    shutdown: CancellationToken,
    /// Receivers' health on this node: who is probing, who must wait.
    probing: Probing,
    /// What this node holds and sends, webhook by webhook.
    capacity: Capacity,
    /// Deliveries whose cycle ended at shutdown while waiting for a send slot, with whether
    /// they had made an attempt: the dispatcher gives their leases back in one statement
    /// each way (an unattempted one uncounted).
    stopped_waiting: std::sync::Mutex<Vec<(i64, bool)>>,
}

pub struct Dispatcher {
    shared: Arc<Shared>,
    wakeup: Wakeup,
    /// Deliveries this node holds leased (queued for a slot, sending, or recording).
    held: Arc<Semaphore>,
}

impl Dispatcher {
    pub fn new(
        store: Arc<dyn Store>,
        sender: Sender,
        settings: DeliverySettings,
        wakeup: Wakeup,
        shutdown: CancellationToken,
    ) -> Dispatcher {
        let held = Arc::new(Semaphore::new(settings.max_in_flight.max(1) * PREFETCH));
        let capacity = Capacity::new(settings.max_in_flight, settings.per_webhook_in_flight);
        Dispatcher {
            shared: Arc::new(Shared {
                store,
                wakeup: wakeup.clone(),
                sender,
                settings,
                shutdown,
                probing: Probing::default(),
                capacity,
                stopped_waiting: Default::default(),
            }),
            wakeup,
            held,
        }
    }

    /// Runs until shutdown, then waits (bounded) for the cycles in flight and gives back the
    /// leases of those that did not finish.
    pub async fn run(self) {
        let shared = self.shared.clone();
        let settings = &shared.settings;
        // A lease covers the wait for a slot (PREFETCH requests ahead of it, each at most an
        // attempt's timeout) and then a whole retry cycle.
        let lease = settings.policy.cycle_span(settings.attempt_timeout)
            + settings.attempt_timeout * PREFETCH as u32
            + Duration::from_secs(30);
        let mut cycles: JoinSet<()> = JoinSet::new();
        let mut leased: HashMap<tokio::task::Id, i64> = HashMap::new();
        let mut next_sweep = tokio::time::Instant::now();
        loop {
            if shared.shutdown.is_cancelled() {
                break;
            }
            while let Some(done) = cycles.try_join_next_with_id() {
                forget(&mut leased, done);
            }
            if tokio::time::Instant::now() >= next_sweep {
                self.sweep().await;
                next_sweep = tokio::time::Instant::now() + Duration::from_secs(60);
            }
            let free = self.held.available_permits().min(CLAIM_BATCH);
            // A claim that got all it asked for may leave more due work behind; one that got
            // less found nothing else claimable (none due, or every webhook at its cap), and
            // claiming again before something changes would be a wasted transaction.
            let mut claimed_all = false;
            if free > 0 {
                let now = now_millis();
                match shared
                    .store
                    .claim_due(
                        now,
                        now + millis(lease),
                        free,
                        &shared.capacity.caps(&shared.probing, now),
                    )
                    .await
                {
                    Ok(claims) => {
                        claimed_all = !claims.is_empty() && claims.len() == free;
                        let webhooks = self.webhooks_of(&claims).await;
                        for claim in claims {
                            let Ok(permit) = self.held.clone().try_acquire_owned() else {
                                break; // cannot happen: `free` permits were available
                            };
                            let delivery_id = claim.id;
                            let webhook = match webhooks.get(&claim.webhook_id) {
                                Some(Ok(webhook)) => webhook.clone(),
                                Some(Err(why)) => {
                                    // Its webhook cannot be read: set the delivery aside rather
                                    // than claim it again and again.
                                    let reason = format!("webhook {}: {why}", claim.webhook_id);
                                    if let Err(e) =
                                        shared.store.set_aside(&[(delivery_id, reason)]).await
                                    {
                                        tracing::error!(error = %e, delivery_id, "setting a delivery aside failed");
                                    }
                                    continue;
                                }
                                None => {
                                    let _ = shared.store.release_leases(&[delivery_id]).await;
                                    continue;
                                }
                            };
                            let holding = (permit, shared.capacity.hold(webhook.id));
                            let handle =
                                cycles.spawn(run_cycle(shared.clone(), claim, webhook, holding));
                            leased.insert(handle.id(), delivery_id);
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "claiming deliveries failed"),
                }
            }
            if claimed_all && self.held.available_permits() > 0 {
                continue; // more may be due right now
            }
            tokio::select! {
                _ = self.wakeup.0.notified() => {}
                _ = tokio::time::sleep(settings.poll_interval) => {}
                Some(done) = cycles.join_next_with_id(), if !cycles.is_empty() => {
                    forget(&mut leased, done);
                }
                _ = shared.shutdown.cancelled() => {}
            }
        }
        let waited = tokio::time::timeout(settings.shutdown_grace, async {
            while let Some(done) = cycles.join_next_with_id().await {
                forget(&mut leased, done);
            }
        })
        .await;
        if waited.is_err() {
            cycles.abort_all();
        }
        let mut unfinished: Vec<i64> = leased.into_values().collect();
        let waiting = std::mem::take(
            &mut *shared
                .stopped_waiting
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        );
        let (attempted, never): (Vec<_>, Vec<_>) = waiting.into_iter().partition(|(_, a)| *a);
        let never: Vec<i64> = never.into_iter().map(|(id, _)| id).collect();
        unfinished.extend(attempted.into_iter().map(|(id, _)| id));
        if let Err(e) = shared.store.release_unattempted(&never).await {
            tracing::error!(error = %e, "releasing leases at shutdown failed");
        }
        if let Err(e) = shared.store.stop_serving(&unfinished).await {
            tracing::error!(error = %e, "releasing leases at shutdown failed");
        }
        tracing::info!(
            released = unfinished.len() + never.len(),
            "dispatcher stopped"
        );
    }

    /// The webhooks of `claims`: absent when deleted or not loadable now (the lease is given
    /// back), an error when its stored row cannot be decoded (the delivery is set aside).
    async fn webhooks_of(
        &self,
        claims: &[ClaimedDelivery],
    ) -> HashMap<i32, Result<Arc<WebhookRecord>, String>> {
        let mut out = HashMap::new();
        for claim in claims {
            if out.contains_key(&claim.webhook_id) {
                continue;
            }
            match self.shared.store.webhook(claim.webhook_id).await {
                Ok(Some(w)) => {
                    out.insert(w.id, Ok(Arc::new(w)));
                }
                Ok(None) => {}
                Err(e @ StoreError::Corrupt(_)) => {
                    out.insert(claim.webhook_id, Err(e.to_string()));
                }
                Err(e) => {
                    tracing::error!(error = %e, webhook_id = claim.webhook_id, "loading webhook failed")
                }
            }
        }
        out
    }

    async fn sweep(&self) {
        let now = now_millis();
        let cutoff = now - millis(self.shared.settings.retention);
        match self.shared.store.sweep(now, cutoff).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(
                dead = n,
                "deliveries past the retention window moved to the dead-letter list"
            ),
            Err(e) => tracing::error!(error = %e, "sweeping the outbox failed"),
        }
    }
}

/// Drops a finished cycle's delivery from the leases to release at shutdown.
fn forget(
    leased: &mut HashMap<tokio::task::Id, i64>,
    done: Result<(tokio::task::Id, ()), tokio::task::JoinError>,
) {
    match done {
        Ok((id, ())) => leased.remove(&id),
        Err(e) => leased.remove(&e.id()),
    };
}

/// One retry cycle of one delivery: up to 3 attempts (1 s, then 4 s apart), each recorded.
async fn run_cycle(
    shared: Arc<Shared>,
    claim: ClaimedDelivery,
    webhook: Arc<WebhookRecord>,
    _held: (OwnedSemaphorePermit, Holding),
) {
    let settings = &shared.settings;
    let body = attempt::body(&webhook, &claim.event, &settings.context_identifier);
    let scouts = webhook.delivery_order == DeliveryOrder::PerRecord;
    let mut attempts = claim.attempts_before;
    loop {
        let Some(turn) = shared.capacity.turn(webhook.id, &shared.shutdown).await else {
            // Shutting down before this attempt: the dispatcher gives the lease back (and
            // takes back the attempt the claim counted, when none was made).
            let attempted = attempts != claim.attempts_before;
            shared
                .stopped_waiting
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((claim.id, attempted));
            return;
        };
        let Some(ticket) = shared.probing.begin(webhook.id, claim.id, now_millis()) else {
            // Another delivery probes this receiver: wait in the queue, uncounted. Only a
            // cycle's first attempt can get here (a probe's own retries pass), and the claim
            // counted it: take that back.
            drop(turn);
            let give_back = if attempts == claim.attempts_before {
                shared.store.release_unattempted(&[claim.id]).await
            } else {
                shared.store.release_leases(&[claim.id]).await
            };
            if let Err(e) = give_back {
                tracing::error!(error = %e, delivery_id = claim.id, "giving a lease back failed");
            }
            return;
        };
        let started_at = now_millis();
        let result: AttemptResult = shared
            .sender
            .send(attempt::request(
                &webhook,
                &claim.event,
                attempts,
                body.clone(),
            ))
            .await;
        attempts += 1;
        crate::observe::attempt(webhook.id, &claim.event, attempts, &result);
        let now = now_millis();
        // A recovered delivery's attempt is manual: it counts nowhere, and when it fails the
        // delivery goes back to the schedule as an ordinary one (docs/DELIVERY.md, Recover).
        let manual = claim.manual;
        let counted = if result.success {
            shared.probing.succeeded(webhook.id);
            false
        } else {
            shared.probing.failed(webhook.id, claim.id, ticket, scouts) && !manual
        };
        let requeue_or_dead = |due: Millis| {
            if due > claim.event.occurred_at + millis(settings.retention) {
                Disposition::Dead
            } else {
                Disposition::Requeue { due }
            }
        };
        let (disposition, pause) = if result.success {
            (Disposition::Delivered, None)
        } else if manual {
            let wait = settings.policy.after_manual_failure(result.retry_after);
            (requeue_or_dead(now + millis(wait)), None)
        } else if result.is_gone() {
            // The webhook is disabled below; the delivery waits, parked, for a restart.
            (Disposition::Requeue { due: now }, None)
        } else if !counted {
            // In flight when the receiver started failing: back to the queue, behind the probe.
            let due = now + result.retry_after.map_or(0, millis);
            (Disposition::Requeue { due }, None)
        } else {
            match settings
                .policy
                .after_failure_with(attempts, result.retry_after)
            {
                NextAttempt::Retry(delay) => (Disposition::KeepLease, Some(delay)),
                NextAttempt::NextCycle(delay) => (requeue_or_dead(now + millis(delay)), None),
            }
        };
        match disposition {
            Disposition::Requeue { due } => shared.probing.requeued(
                webhook.id,
                claim.id,
                due,
                result.retry_after.map(|wait| now + millis(wait)),
            ),
            Disposition::Dead => shared.probing.abandoned(webhook.id, claim.id),
            Disposition::Delivered | Disposition::KeepLease | Disposition::Unchanged => {}
        }
        if !result.success {
            tracing::debug!(webhook_id = webhook.id, event_id = %claim.event.event_id, status = ?result.status, "delivery attempt failed");
        }
        let next_attempt_at = match disposition {
            Disposition::Requeue { due } => Some(due),
            Disposition::KeepLease => pause.map(|delay| now + millis(delay)),
            Disposition::Delivered | Disposition::Dead | Disposition::Unchanged => None,
        };
        let gone = result.is_gone() && !manual;
        let trigger = if manual {
            Trigger::Manual
        } else {
            Trigger::Automatic
        };
        let log = attempt::log_entry(&claim.event, trigger, started_at, &result, next_attempt_at);
        let record = AttemptRecord {
            delivery_id: claim.id,
            webhook_id: webhook.id,
            success: result.success,
            gone,
            counted,
            report: (!result.success).then_some(result.report),
            disposition,
            record_key: claim.record_key.clone(),
            log,
        };
        // A success frees the webhook's slot now: its next delivery goes while this outcome
        // is committed (the lease stays until then, so a crash repeats it, never loses it).
        // A failure keeps the slot until recorded: what it changes (probing, a disabled
        // webhook) must hold before the next attempt.
        let Turn { slot, unrecorded } = turn;
        let slot = if result.success {
            drop(slot);
            None
        } else {
            Some(slot)
        };
        let recording = shared
            .store
            .record_attempt(record, settings.failures_to_disable);
        tokio::pin!(recording);
        // Poll once: that queues the outcome for the group-commit writer. When this cycle ends
        // here, waking the dispatcher now lets its next claim join the same batch, right after
        // this outcome frees the webhook's slot, instead of waiting for the commit and then
        // for a batch of its own.
        let queued = std::future::poll_fn(|cx| Poll::Ready(recording.as_mut().poll(cx))).await;
        if pause.is_none() {
            shared.wakeup.notify();
        }
        let recorded = match queued {
            Poll::Ready(result) => result,
            Poll::Pending => recording.await,
        };
        drop((slot, unrecorded));
        let state = match recorded {
            Ok(state) => state,
            Err(e) => {
                // The lease expires and another cycle retries: at-least-once holds.
                tracing::error!(error = %e, delivery_id = claim.id, "recording an attempt failed");
                shared.probing.abandoned(webhook.id, claim.id);
                return;
            }
        };
        if state != WebhookState::Active {
            // Disabled, stopped or deleted: whoever makes it Active again starts it afresh,
            // with no backoff of its failing past held against it.
            shared.probing.forget(webhook.id);
        }
        let Some(delay) = pause else { return };
        if state != WebhookState::Active {
            // Stopped or disabled mid-cycle: park the delivery now instead of holding it.
            shared.probing.abandoned(webhook.id, claim.id);
            let _ = shared.store.release_leases(&[claim.id]).await;
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shared.shutdown.cancelled() => {
                shared.probing.abandoned(webhook.id, claim.id);
                let _ = shared.store.release_leases(&[claim.id]).await;
                return;
            }
        }
    }
}
