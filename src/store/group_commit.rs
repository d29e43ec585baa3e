//! Group commit, the same for both backends: a writer task takes every write waiting (accepted
//! events, attempt outcomes, claims), applies them as one batch in one transaction, in one
//! order ([`run_batch`]), and answers each caller only after the commit. Concurrent
//! SignalEvents thus share one fsync instead of paying one each. A backend supplies the
//! transaction ([`ApplyBatch`]) and the steps only it writes its own way ([`BatchSql`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::{Notify, mpsc, oneshot};

use super::attempt_log;
use super::outbox_sql::{Claim, apply_attempt, claim, count, settle, subscriptions};
use super::record_order;
use super::sql::Conn;
use super::subscriptions::{Subscriptions, Target, targets};
use super::{AttemptRecord, ClaimedDelivery, StoreError, StoreResult};
use crate::domain::outbox::{Disposition, UsageChange};
use crate::domain::{Event, WebhookState, now_millis};

/// Most jobs in one transaction.
pub(crate) const MAX_BATCH: usize = 512;

/// A write for the group-commit writer, with where to send its result after the commit.
pub(crate) enum Job {
    /// An accepted event: answered with the number of deliveries queued.
    Event(Event, oneshot::Sender<StoreResult<usize>>),
    /// An attempt outcome, with the failures that disable the webhook.
    Attempt(
        AttemptRecord,
        i32,
        oneshot::Sender<StoreResult<WebhookState>>,
    ),
    /// A dispatcher's claim. In the batch it runs after the attempts (which free per-webhook
    /// slots) and the events (whose deliveries it may take at once), and it shares their
    /// commit instead of paying its own transaction.
    Claim(Claim, oneshot::Sender<StoreResult<Vec<ClaimedDelivery>>>),
}

/// What a batch gives back for each job, in job order.
pub(crate) enum BatchResult {
    Queued(usize),
    State(WebhookState),
    Claimed(Vec<ClaimedDelivery>),
}

impl Job {
    fn answer(self, result: BatchResult) {
        match (self, result) {
            (Job::Event(_, tx), BatchResult::Queued(n)) => {
                let _ = tx.send(Ok(n));
            }
            (Job::Attempt(_, _, tx), BatchResult::State(s)) => {
                let _ = tx.send(Ok(s));
            }
            (Job::Claim(_, tx), BatchResult::Claimed(claims)) => {
                let _ = tx.send(Ok(claims));
            }
            (job, _) => job.fail("mismatched result"),
        }
    }

    fn fail(self, message: &str) {
        let err = || StoreError::Corrupt(format!("write batch failed: {message}"));
        match self {
            Job::Event(_, tx) => {
                let _ = tx.send(Err(err()));
            }
            Job::Attempt(_, _, tx) => {
                let _ = tx.send(Err(err()));
            }
            Job::Claim(_, tx) => {
                let _ = tx.send(Err(err()));
            }
        }
    }
}

/// A backend's way to apply one batch: it opens the transaction (durable or not: see
/// [`is_durable`]), runs [`run_batch`] in it and commits.
#[async_trait]
pub(crate) trait ApplyBatch: Send + Sync + 'static {
    async fn apply(&self, jobs: &[Job]) -> StoreResult<Vec<BatchResult>>;
}

/// The steps of a batch a backend writes its own way.
#[async_trait]
pub(crate) trait BatchSql: Send + Sync {
    type Conn: Conn;

    /// The node this process's leases are taken for; None where one process serves the
    /// database.
    fn node(&self) -> Option<&str> {
        None
    }

    /// The webhooks that take new deliveries.
    async fn subscriptions(&self, conn: &mut Self::Conn) -> StoreResult<Subscriptions> {
        Ok(Arc::new(subscriptions(conn).await?))
    }

    /// Logs `attempts` in the attempt log (one statement).
    async fn insert_attempts(
        &self,
        conn: &mut Self::Conn,
        attempts: &[&AttemptRecord],
    ) -> StoreResult<()> {
        attempt_log::insert(conn, attempts).await
    }

    /// Stores `events`, each with one pending delivery per webhook of its targets.
    async fn insert_events(
        &self,
        conn: &mut Self::Conn,
        events: &[(&Event, Vec<Target>)],
    ) -> StoreResult<()>;
}

/// Whether a batch's commit must reach the disk before it answers: only accepted events must.
/// Losing a lease or an attempt outcome to a power cut only means a redelivery.
pub(crate) fn is_durable(jobs: &[Job]) -> bool {
    jobs.iter().any(|job| matches!(job, Job::Event(..)))
}

/// Applies `jobs` inside the open transaction `conn`, in this order: attempt outcomes (which
/// free per-webhook slots, and a webhook they disable must not receive the batch's events as
/// Active) and their attempt-log rows, then events (with the state-change events the outcomes caused), then claims (which
/// may take those events' deliveries at once). Returns one result per job, in job order.
pub(crate) async fn run_batch<B: BatchSql>(
    backend: &B,
    conn: &mut B::Conn,
    jobs: &[Job],
) -> StoreResult<Vec<BatchResult>> {
    let now = now_millis();
    let mut results: Vec<Option<BatchResult>> = jobs.iter().map(|_| None).collect();
    let mut state_events = Vec::new();
    // Webhook by webhook in id order, so concurrent batches lock webhook rows in the same
    // order; each webhook's outcomes in the order they came (`ConsecutiveErrors` depends on it).
    let mut by_webhook: BTreeMap<i32, Vec<(usize, &AttemptRecord, i32)>> = BTreeMap::new();
    for (i, job) in jobs.iter().enumerate() {
        if let Job::Attempt(a, limit, _) = job {
            by_webhook
                .entry(a.webhook_id)
                .or_default()
                .push((i, a, *limit));
        }
    }
    for (webhook_id, attempts) in by_webhook {
        let plain_success = UsageChange::successes(1);
        if attempts
            .iter()
            .all(|(_, a, _)| a.outcome().usage_change() == plain_success)
        {
            // Automatic successes only: one counter update, and one update for their
            // deliveries.
            let calls = i32::try_from(attempts.len()).unwrap_or(i32::MAX);
            let counted = count(conn, webhook_id, UsageChange::successes(calls), None).await?;
            let state = counted.map_or(WebhookState::Unknown, |(state, _)| state);
            let mut delivered = Vec::new();
            for (i, a, _) in &attempts {
                match a.disposition {
                    Disposition::Delivered => delivered.push(a.delivery_id),
                    other => settle(conn, &[a.delivery_id], other).await?,
                }
                results[*i] = Some(BatchResult::State(state));
            }
            settle(conn, &delivered, Disposition::Delivered).await?;
            continue;
        }
        for (i, a, limit) in attempts {
            let (state, event) = apply_attempt(conn, a, limit, now).await?;
            state_events.extend(event);
            results[i] = Some(BatchResult::State(state));
        }
    }
    let logged: Vec<&AttemptRecord> = jobs
        .iter()
        .filter_map(|job| match job {
            Job::Attempt(a, _, _) => Some(a),
            _ => None,
        })
        .collect();
    if !logged.is_empty() {
        backend.insert_attempts(conn, &logged).await?;
    }
    let mut queued: Vec<(&Event, Vec<Target>)> = Vec::new();
    if !state_events.is_empty() || is_durable(jobs) {
        let subscribers = backend.subscriptions(conn).await?;
        for (job, slot) in jobs.iter().zip(results.iter_mut()) {
            if let Job::Event(event, _) = job {
                let targets = targets(&subscribers, event);
                *slot = Some(BatchResult::Queued(targets.len()));
                queued.push((event, targets));
            }
        }
        for event in &state_events {
            queued.push((event, targets(&subscribers, event)));
        }
        queued.retain(|(_, targets)| !targets.is_empty());
    }
    // Ordered deliveries: the next of each record whose delivery this batch finished becomes
    // pending, and the batch's new ones wait behind open ones of their records. Every record
    // either touches is locked first, all at once (`store/record_order.rs`).
    let finished: Vec<&AttemptRecord> = logged
        .iter()
        .copied()
        .filter(|a| a.record_key.is_some() && a.disposition.finishes())
        .collect();
    let mut records: Vec<(i32, &str)> = Vec::new();
    for a in &finished {
        records.extend(a.record_key.as_deref().map(|key| (a.webhook_id, key)));
    }
    for (_, targets) in &queued {
        for t in targets {
            records.extend(t.record_key.as_deref().map(|key| (t.webhook_id, key)));
        }
    }
    record_order::lock(conn, &records).await?;
    let finished: Vec<i64> = finished.iter().map(|a| a.delivery_id).collect();
    let promoted = record_order::promote_after(conn, &finished).await?;
    if !queued.is_empty() {
        backend.insert_events(conn, &queued).await?;
    }
    if !queued.is_empty() || promoted > 0 {
        conn.announce_work().await?;
    }
    for (job, slot) in jobs.iter().zip(results.iter_mut()) {
        if let Job::Claim(c, _) = job {
            *slot = Some(BatchResult::Claimed(
                claim(conn, backend.node(), c.at(now)).await?,
            ));
        }
    }
    Ok(results
        .into_iter()
        .map(|r| r.unwrap_or(BatchResult::Queued(0)))
        .collect())
}

/// How many writers a backend runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lanes {
    /// One writer for everything (SQLite: the database has one writer anyway).
    One,
    /// Accepted events apart from the delivery engine's writes (attempt outcomes, claims): two
    /// transactions in flight at once, so SignalEvent's durable commits never queue behind
    /// delivery bookkeeping, nor delivery behind the events' WAL flushes (PostgreSQL).
    EventsApart,
}

/// The handle callers submit writes through.
pub(crate) struct GroupCommit {
    /// Where accepted events go.
    events: mpsc::Sender<Job>,
    /// Where attempt outcomes and claims go (the same writer as `events` with [`Lanes::One`]).
    jobs: mpsc::Sender<Job>,
    /// Notified after each commit that recorded a failed attempt, the only write that can
    /// queue an alert's mail (the notifier then looks: `store/alerts.rs`).
    mail_queued: Arc<Notify>,
}

impl GroupCommit {
    /// Starts the writer task(s) over `backend`.
    pub(crate) fn spawn(backend: impl ApplyBatch, lanes: Lanes) -> GroupCommit {
        let backend = Arc::new(backend);
        let mail_queued = Arc::new(Notify::new());
        let (jobs, queue) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(writer(backend.clone(), queue, mail_queued.clone()));
        let events = match lanes {
            Lanes::One => jobs.clone(),
            Lanes::EventsApart => {
                let (events, queue) = mpsc::channel(4 * MAX_BATCH);
                tokio::spawn(writer(backend, queue, mail_queued.clone()));
                events
            }
        };
        GroupCommit {
            events,
            jobs,
            mail_queued,
        }
    }

    pub(crate) fn mail_queued(&self) -> Arc<Notify> {
        self.mail_queued.clone()
    }

    pub(crate) async fn record_event(&self, event: Event) -> StoreResult<usize> {
        self.submit(&self.events, |tx| Job::Event(event, tx)).await
    }

    pub(crate) async fn record_attempt(
        &self,
        attempt: AttemptRecord,
        failures_to_disable: i32,
    ) -> StoreResult<WebhookState> {
        self.submit(&self.jobs, |tx| {
            Job::Attempt(attempt, failures_to_disable, tx)
        })
        .await
    }

    pub(crate) async fn claim(&self, claim: Claim) -> StoreResult<Vec<ClaimedDelivery>> {
        self.submit(&self.jobs, |tx| Job::Claim(claim, tx)).await
    }

    async fn submit<T>(
        &self,
        lane: &mpsc::Sender<Job>,
        job: impl FnOnce(oneshot::Sender<StoreResult<T>>) -> Job,
    ) -> StoreResult<T> {
        let (tx, rx) = oneshot::channel();
        let gone = || StoreError::Corrupt("the database writer stopped".into());
        lane.send(job(tx)).await.map_err(|_| gone())?;
        rx.await.map_err(|_| gone())?
    }
}

/// The group-commit loop: takes every job waiting, applies them in one transaction, and
/// answers each only after the commit.
async fn writer(
    backend: Arc<impl ApplyBatch>,
    mut queue: mpsc::Receiver<Job>,
    mail_queued: Arc<Notify>,
) {
    while let Some(first) = queue.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        match backend.apply(&jobs).await {
            Ok(results) if results.len() == jobs.len() => {
                if jobs
                    .iter()
                    .any(|job| matches!(job, Job::Attempt(a, _, _) if !a.success))
                {
                    mail_queued.notify_one();
                }
                for (job, result) in jobs.into_iter().zip(results) {
                    job.answer(result);
                }
            }
            Ok(_) => {
                for job in jobs {
                    job.fail("a result per job was expected");
                }
            }
            Err(e) => {
                tracing::error!(error = %e, jobs = jobs.len(), "write batch failed");
                let message = e.to_string();
                for job in jobs {
                    job.fail(&message);
                }
            }
        }
    }
}
