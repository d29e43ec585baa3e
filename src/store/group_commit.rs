//! Group commit, the same for both backends: a writer task takes every write waiting (accepted
//! events, attempt outcomes), hands them to the backend as one batch applied in one transaction,
//! and answers each caller only after the commit. Concurrent SignalEvents thus share one
//! fsync instead of paying one each.

use async_trait::async_trait;
use tokio::sync::{mpsc, oneshot};

use super::{AttemptRecord, ClaimCaps, ClaimedDelivery, StoreError, StoreResult};
use crate::domain::{Event, Millis, WebhookState};

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

/// The arguments of `Store::claim_due`.
#[derive(Debug, Clone)]
pub(crate) struct Claim {
    pub now: Millis,
    pub lease_until: Millis,
    pub limit: usize,
    pub caps: ClaimCaps,
}

impl Claim {
    /// The claim as of `now`, if that is later than when it was asked for (the batch ran a
    /// little later): due-ness and the lease move together.
    pub(crate) fn at(&self, now: Millis) -> Claim {
        let late = (now - self.now).max(0);
        Claim {
            now: self.now + late,
            lease_until: self.lease_until + late,
            ..self.clone()
        }
    }
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

/// A backend's way to apply one batch in one transaction. It must apply attempts, then events
/// (a webhook an attempt disables must not receive the batch's events as Active), then claims,
/// and return one result per job, in job order.
#[async_trait]
pub(crate) trait ApplyBatch: Send + Sync + 'static {
    async fn apply(&self, jobs: &[Job]) -> StoreResult<Vec<BatchResult>>;
}

/// The handle callers submit writes through.
pub(crate) struct GroupCommit {
    jobs: mpsc::Sender<Job>,
}

impl GroupCommit {
    /// Starts the writer task over `backend`.
    pub(crate) fn spawn(backend: impl ApplyBatch) -> GroupCommit {
        let (jobs, queue) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(writer(backend, queue));
        GroupCommit { jobs }
    }

    pub(crate) async fn record_event(&self, event: Event) -> StoreResult<usize> {
        self.submit(|tx| Job::Event(event, tx)).await
    }

    pub(crate) async fn record_attempt(
        &self,
        attempt: AttemptRecord,
        failures_to_disable: i32,
    ) -> StoreResult<WebhookState> {
        self.submit(|tx| Job::Attempt(attempt, failures_to_disable, tx))
            .await
    }

    pub(crate) async fn claim(&self, claim: Claim) -> StoreResult<Vec<ClaimedDelivery>> {
        self.submit(|tx| Job::Claim(claim, tx)).await
    }

    async fn submit<T>(
        &self,
        job: impl FnOnce(oneshot::Sender<StoreResult<T>>) -> Job,
    ) -> StoreResult<T> {
        let (tx, rx) = oneshot::channel();
        let gone = || StoreError::Corrupt("the database writer stopped".into());
        self.jobs.send(job(tx)).await.map_err(|_| gone())?;
        rx.await.map_err(|_| gone())?
    }
}

/// The group-commit loop: takes every job waiting, applies them in one transaction, and
/// answers each only after the commit.
async fn writer(backend: impl ApplyBatch, mut queue: mpsc::Receiver<Job>) {
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
