//! Persistence behind one trait, so SQLite (embedded, the default) and PostgreSQL (many nodes)
//! are interchangeable. Business rules stay in the agent and in `domain::outbox`; the store
//! only reads and writes.
//!
//! - `accounts`, `webhooks`, `outbox`, `deliveries`: the concerns of [`Store`], each a trait
//!   written once for every [`backend::Backend`] over the statement layer in `sql`;
//! - `attempt_log`: the attempt log's writes (in group commit) and its retention prune;
//! - `alerts_sql`, `alerts`: notifications' rows, written in group commit; the in-app list
//!   and the mail queue;
//! - `outbox_sql`, `group_commit`: the outbox statements, and the writer task that batches
//!   events, attempt outcomes and claims per transaction, in one order;
//! - `rows`: row → record mapping and column conventions both backends share;
//! - `sqlite`, `postgres`: the two backends, each supplying its connections, its dialect and
//!   what only it does (SQLite: one file, one writer; PostgreSQL: many nodes);
//! - `secret_box`, `secret_key_file`, `secret_unlock`: webhook Secrets encrypted at rest.

mod accounts;
mod alerts;
mod alerts_sql;
mod attempt_log;
mod backend;
mod deliveries;
mod group_commit;
mod outbox;
mod outbox_sql;
mod postgres;
mod record_order;
mod rows;
mod secret_box;
mod secret_key_file;
mod secret_unlock;
mod sql;
mod sqlite;
mod subscriptions;
mod webhooks;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::domain::outbox::Outcome;
pub use crate::domain::outbox::{ClaimCaps, Disposition};
use crate::domain::{Event, Millis};

pub use accounts::{Accounts, Revocation};
pub use alerts::{AlertEntry, AlertQuery, Alerts, PendingMail};
pub use deliveries::{
    AttemptEntry, DeliveryLog, DeliveryQuery, DeliveryState, DeliverySummary, WebhookActivity,
};
pub use outbox::Outbox;
pub use postgres::PgStore;
pub use secret_key_file::{KeyFile, SecretKeyError};
pub use sqlite::{ServeLock, SqliteStore};
pub use webhooks::Webhooks;

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
    /// Queued again by an operator (Recover): its attempt is a manual one.
    pub manual: bool,
    /// Its record, when its webhook orders deliveries per record (`domain::DeliveryOrder`).
    pub record_key: Option<String>,
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
    /// The delivery's record ([`ClaimedDelivery::record_key`]): when it finishes, the next
    /// delivery of that record may go.
    pub record_key: Option<String>,
    /// Its row in the attempt log, written in the same transaction.
    pub log: LoggedAttempt,
}

/// What started an attempt (docs/DELIVERY.md, Attempt log). Test pings are not deliveries
/// and are not logged: their answer goes back to the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The dispatcher's retry cycle.
    Automatic,
    /// An operator's Retry, or the first attempt of a delivery an operator recovered.
    Manual,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Automatic => "automatic",
            Trigger::Manual => "manual",
        }
    }
}

/// One attempt as the attempt log keeps it; the delivery and webhook are the record's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedAttempt {
    pub event_id: String,
    pub event_name: String,
    pub trigger: Trigger,
    pub started_at: Millis,
    pub duration_ms: i64,
    /// The HTTP status, when the receiver answered.
    pub status: Option<i32>,
    /// The transport error class (`timeout`, `connect`, ...) when it did not.
    pub error: Option<&'static str>,
    /// Status line, headers and body (cut at 4 KiB), or the transport error.
    pub response: String,
    /// When the delivery will be tried again; None when it will not.
    pub next_attempt_at: Option<Millis>,
}

impl AttemptRecord {
    /// The attempt as the outbox rules see it.
    pub fn outcome(&self) -> Outcome {
        Outcome {
            success: self.success,
            gone: self.gone,
            counted: self.counted,
            manual: self.log.trigger == Trigger::Manual,
        }
    }
}

/// Which deliveries `Outbox::recover` queues again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecoverScope {
    /// A webhook's undelivered deliveries created in `[since, until]`.
    Window {
        webhook_id: i32,
        since: Millis,
        until: Millis,
    },
    /// One delivery, whatever its state.
    Delivery(i64),
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
    /// `next_attempt_at` of the oldest pending delivery due now for an Active webhook and not
    /// leased (in flight or between the attempts of a cycle).
    pub oldest_due: Option<Millis>,
}

/// Everything the server keeps: accounts, webhooks, the outbox and its delivery log.
pub trait Store: Accounts + Webhooks + Outbox + DeliveryLog + Alerts {}

impl<T: Accounts + Webhooks + Outbox + DeliveryLog + Alerts + ?Sized> Store for T {}

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
        let Some(file) = sqlite::file::database_file(url)? else {
            return Ok(Arc::new(SqliteStore::open(url, create).await?));
        };
        sqlite::file::probe(&file, create)?;
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
    match sqlite::file::database_file(url)? {
        Some(file) => Ok(Some(ServeLock::acquire(&file)?)),
        None => Ok(None),
    }
}

/// The database as the start-up summary names it: `SQLite /absolute/path`, or the URL
/// without its password.
pub fn describe(url: &str) -> String {
    if url.starts_with("sqlite:") {
        match sqlite::file::database_file(url) {
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
    unlock(open(url).await?, key_file).await
}

/// Opens an existing database like [`open_existing`] and unlocks its webhook Secrets like
/// [`open_with_secrets`]: the operator commands that read or write webhooks.
pub async fn open_existing_with_secrets(
    url: &str,
    key_file: Option<&Path>,
) -> StoreResult<Arc<dyn Store>> {
    let key_file = KeyFile::for_database(url, key_file)?;
    unlock(open_existing(url).await?, key_file).await
}

async fn unlock(store: Arc<dyn Store>, key_file: KeyFile) -> StoreResult<Arc<dyn Store>> {
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
