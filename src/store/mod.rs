//! Persistence behind one trait, so SQLite (embedded, the default) and PostgreSQL (many nodes)
//! are interchangeable. Business rules stay in the agent; the store only reads and writes.
//!
//! - `rows`: row → record mapping and column conventions both backends share;
//! - `group_commit`: the writer task batching events and attempt outcomes per transaction;
//! - `sqlite`, `postgres`: the two implementations (claims and wake-ups differ most);
//! - `sqlite_file`, `sqlite_lock`: the SQLite file's checks, and the one-`serve`-per-file lock.
//! - `secret_box`, `secret_key_file`, `secret_unlock`: webhook Secrets encrypted at rest.

mod group_commit;
mod postgres;
mod rows;
mod secret_box;
mod secret_key_file;
mod secret_unlock;
mod sqlite;
mod sqlite_file;
mod sqlite_lock;
mod subscriptions;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::Notify;

use crate::domain::{Event, Millis, WebhookRecord, WebhookState};

pub use postgres::PgStore;
pub use secret_box::SecretBox;
pub use secret_key_file::{KeyFile, SecretKeyError};
pub use sqlite::SqliteStore;
pub use sqlite_lock::ServeLock;

/// A store failure. `Conflict` is the one a caller can cause (a duplicate unique name).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} already exists")]
    Conflict(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("unsupported database URL '{0}': use sqlite://PATH or postgres://USER@HOST:PORT/DB")]
    UnsupportedUrl(String),
    #[error("cannot open SQLite database {}: {cause}", .path.display())]
    Open { path: PathBuf, cause: String },
    #[error(
        "database {} is in use by another hookwire serve{}; SQLite serves one process: \
         use PostgreSQL for several nodes",
        .path.display(),
        .pid.map(|pid| format!(" (pid {pid})")).unwrap_or_default()
    )]
    InUse { path: PathBuf, pid: Option<u32> },
    #[error(transparent)]
    SecretKey(#[from] SecretKeyError),
    #[error("the secret key does not match the key this database was created with")]
    WrongSecretKey,
    #[error("webhook Secrets are not available: this command runs without the secret key")]
    SecretsLocked,
    #[error("cannot encrypt a webhook Secret: {0}")]
    Seal(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A user account; its id is the associate id shown to clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: i64,
    pub name: String,
    pub full_name: String,
    pub password_hash: String,
}

/// A registered application. Its token is kept only as a hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppRecord {
    pub id: i64,
    pub name: String,
}

/// A delivery claimed (leased) for one retry cycle.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedDelivery {
    pub id: i64,
    pub webhook_id: i32,
    /// Attempts made before this cycle: the first attempt's `X-SuperOffice-Retry`.
    pub attempts_before: u32,
    pub event: Event,
}

/// How many deliveries of each webhook may be leased at once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClaimCaps {
    /// The cap of every webhook not in `overrides` (`--per-webhook-in-flight`).
    pub per_webhook: usize,
    /// Webhooks with a cap of their own: 1 while probing a failing receiver, 0 while it must
    /// not be called (backoff, `Retry-After`).
    pub overrides: std::collections::HashMap<i32, usize>,
}

impl ClaimCaps {
    pub fn of(&self, webhook_id: i32) -> i64 {
        let cap = self
            .overrides
            .get(&webhook_id)
            .copied()
            .unwrap_or(self.per_webhook);
        i64::try_from(cap).unwrap_or(i64::MAX)
    }
}

/// What happens to a delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Done: the target answered 2xx.
    Delivered,
    /// Failed, retried within the cycle: keep the lease.
    KeepLease,
    /// The cycle failed: back in the queue, due then.
    Requeue { due: Millis },
    /// Past the retention window: to the dead-letter list.
    Dead,
}

/// One attempt to record: the delivery's fate and the webhook's usage counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    pub delivery_id: i64,
    pub webhook_id: i32,
    pub success: bool,
    /// The target answered `410 Gone`: disable the webhook at once.
    pub gone: bool,
    /// A failure that adds to `ConsecutiveErrors`. Attempts already in flight when the
    /// receiver's first failure came count only in `TotalErrors` (docs/DELIVERY.md, probing).
    pub counted: bool,
    /// `LastError` on failure.
    pub report: Option<String>,
    pub disposition: Disposition,
}

/// A delivery on the dead-letter list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    pub delivery_id: i64,
    pub webhook_id: i32,
    pub event_id: String,
    pub event_name: String,
    pub attempts: i64,
    pub created_at: Millis,
    /// Why it was set aside, when not for outliving the retention window (its stored data
    /// could not be read, say).
    pub reason: Option<String>,
}

/// Queue counts, for `/metrics` and for tests that check what survived a restart.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueStats {
    pub pending: i64,
    pub delivered: i64,
    pub dead: i64,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    async fn user_count(&self) -> StoreResult<i64>;
    async fn insert_user(
        &self,
        name: &str,
        full_name: &str,
        password_hash: &str,
    ) -> StoreResult<UserRecord>;
    async fn user_by_name(&self, name: &str) -> StoreResult<Option<UserRecord>>;
    async fn user_by_id(&self, id: i64) -> StoreResult<Option<UserRecord>>;

    async fn insert_app(&self, name: &str, token_hash: &str) -> StoreResult<AppRecord>;
    async fn app_by_token_hash(&self, token_hash: &str) -> StoreResult<Option<AppRecord>>;

    async fn insert_ticket(
        &self,
        ticket_hash: &str,
        user_id: i64,
        expires_at: Millis,
    ) -> StoreResult<()>;
    /// The user and expiry of a ticket, if it exists.
    async fn ticket(&self, ticket_hash: &str) -> StoreResult<Option<(i64, Millis)>>;
    async fn extend_ticket(&self, ticket_hash: &str, expires_at: Millis) -> StoreResult<()>;

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

    /// In one transaction: stores `event` and one pending delivery per webhook (Active, or
    /// TooManyErrors: parked until restarted) whose
    /// subscriptions match it (`domain::subscription_matches`). Returns the number of deliveries;
    /// with none, nothing is stored.
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
    /// Gives leased deliveries back to the queue (clean shutdown).
    async fn release_leases(&self, ids: &[i64]) -> StoreResult<()>;
    /// Moves deliveries created before `cutoff` that never succeeded to the dead-letter list
    /// and forgets delivered ones that old. Returns how many went dead.
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
    /// Wakes `wake` whenever another process commits due work (PostgreSQL `LISTEN/NOTIFY`).
    /// With SQLite one process does all the work and wakes its dispatcher itself: nothing to do.
    async fn watch_for_work(&self, wake: Arc<Notify>) -> StoreResult<()> {
        let _ = wake;
        Ok(())
    }
    /// Checks `secrets` against the key this database was created with (recording it on the
    /// first start), seals the Secrets still stored in plaintext, and from then on seals and
    /// opens webhook Secrets with it: webhook reads and writes fail until this is done. Returns
    /// how many Secrets it sealed; `WrongSecretKey` for another key.
    async fn unlock_secrets(&self, secrets: SecretBox) -> StoreResult<u64>;
}

/// A migrator over a backend's migrations, `(version, description, SQL)` in order; the SQL is
/// compiled in, so the binary carries its schema.
fn migrator(migrations: &[(i64, &str, &'static str)]) -> sqlx::migrate::Migrator {
    use sqlx::SqlStr;
    use sqlx::migrate::{Migration, MigrationType};
    sqlx::migrate::Migrator::with_migrations(
        migrations
            .iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    description.to_string().into(),
                    MigrationType::Simple,
                    SqlStr::from_static(sql),
                    false,
                )
            })
            .collect(),
    )
}

/// Opens the store named by a `--database` URL (`sqlite://PATH` or `postgres://...`),
/// creating and migrating the database as needed: what `serve` does.
pub async fn open(url: &str) -> StoreResult<Arc<dyn Store>> {
    open_with(url, true).await
}

/// Opens the store for a CLI command: as [`open`], except that a SQLite file that does not
/// exist is an error, not a new empty database (a mistyped `--database` would otherwise add a
/// user to a database no server reads, and report success).
pub async fn open_existing(url: &str) -> StoreResult<Arc<dyn Store>> {
    open_with(url, false).await
}

async fn open_with(url: &str, create: bool) -> StoreResult<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        let Some(file) = sqlite_file::database_file(url)? else {
            return Ok(Arc::new(SqliteStore::open(url, create).await?));
        };
        sqlite_file::probe(&file, create)?;
        // SQLite's own words ("unable to open database file") with the path they are about.
        let store = SqliteStore::open(url, create).await.map_err(|e| match e {
            StoreError::Database(e) => StoreError::Open {
                path: file,
                cause: e.to_string(),
            },
            other => other,
        })?;
        Ok(Arc::new(store))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PgStore::open(url).await?))
    } else {
        Err(StoreError::UnsupportedUrl(redact_password(url)))
    }
}

/// Takes the one-`serve`-per-file lock of a SQLite database (see `sqlite_lock`), held until
/// the returned value is dropped or the process ends. None where several servers are fine
/// (PostgreSQL) or impossible (an in-memory SQLite database).
pub fn lock_for_serving(url: &str) -> StoreResult<Option<ServeLock>> {
    if !url.starts_with("sqlite:") {
        return Ok(None);
    }
    match sqlite_file::database_file(url)? {
        Some(file) => Ok(Some(ServeLock::acquire(&file)?)),
        None => Ok(None),
    }
}

/// The database as the start-up summary names it: `SQLite /absolute/path`, or the URL
/// without its password.
pub fn describe(url: &str) -> String {
    if url.starts_with("sqlite:") {
        match sqlite_file::database_file(url) {
            Ok(Some(file)) => format!("SQLite {}", file.display()),
            _ => format!("SQLite {url}"),
        }
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        format!("PostgreSQL {}", redact_password(url))
    } else {
        redact_password(url)
    }
}

/// Opens the store like [`open`] and unlocks its webhook Secrets with the key in `key_file`
/// (`--secret-key-file`), or by default, on SQLite, `<database file>.key` (created on first start).
pub async fn open_with_secrets(url: &str, key_file: Option<&Path>) -> StoreResult<Arc<dyn Store>> {
    let key_file = KeyFile::for_database(url, key_file)?;
    let store = open(url).await?;
    let (secrets, created) = key_file.load()?;
    let sealed = match store.unlock_secrets(secrets).await {
        Ok(sealed) => sealed,
        Err(StoreError::WrongSecretKey) => {
            let path = key_file.path().to_path_buf();
            if created {
                // The key this start made opens nothing: left behind, it would hide, at the
                // next start, that the original key file is missing.
                let _ = std::fs::remove_file(&path);
            }
            return Err(SecretKeyError::Mismatch {
                path,
                was_missing: created,
            }
            .into());
        }
        Err(e) => return Err(e),
    };
    if created {
        tracing::info!(
            path = %key_file.path().display(),
            "created the secret key file that encrypts webhook Secrets: back it up with the database"
        );
    }
    if sealed > 0 {
        tracing::info!(sealed, "encrypted the webhook Secrets stored in plaintext");
    }
    Ok(store)
}

/// `url` without its password, for messages and logs.
pub fn redact_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}
