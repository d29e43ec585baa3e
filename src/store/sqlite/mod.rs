//! The embedded SQLite store: one file, WAL, one writer connection (SQLite allows one writer;
//! queueing writes on it avoids `SQLITE_BUSY`), a group-commit writer task that batches events
//! and attempt outcomes into shared transactions, and a small pool of readers.
//!
//! - `outbox`: the batch steps SQLite writes its own way, and its cached subscriptions;
//! - `webhooks`: sealing Secrets without leaving plaintext in the file or the WAL;
//! - `file`, `lock`: the database file's checks, and the one-`serve`-per-file lock.

pub(crate) mod file;
mod lock;
mod outbox;
mod webhooks;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::Sqlite;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteRow, SqliteSynchronous,
};

pub use lock::ServeLock;

use super::backend::Backend;
use super::group_commit::{GroupCommit, Lanes};
use super::rows::{PENDING, to_json};
use super::secret_box::{SecretBox, SecretSlot};
use super::sql::{Arg, Conn, impl_conn};
use super::subscriptions::SubscriptionCache;
use super::{StoreResult, accounts};
use outbox::SqliteBatches;

/// The SQLite implementation of [`super::Store`].
pub struct SqliteStore {
    /// The single writing connection: every INSERT/UPDATE/DELETE goes through it.
    write: SqlitePool,
    /// Readers run beside the writer thanks to WAL.
    read: SqlitePool,
    /// The group-commit writer: events and attempt outcomes arriving together share one
    /// transaction, so ingest and delivery do not pay one fsync each.
    commits: GroupCommit,
    /// Subscriptions of the webhooks taking deliveries; this process is the only writer of
    /// webhooks, so it knows when they change.
    subscriptions: Arc<SubscriptionCache>,
    /// Seals and opens webhook Secrets, once unlocked.
    secrets: SecretSlot,
}

fn migrator() -> Migrator {
    super::migrator(&[
        (
            1,
            "init",
            include_str!("../../../migrations/sqlite/0001_init.sql"),
        ),
        (
            2,
            "secret key check",
            include_str!("../../../migrations/sqlite/0002_secret_key_check.sql"),
        ),
        (
            3,
            "dead_reason",
            include_str!("../../../migrations/sqlite/0003_dead_reason.sql"),
        ),
        (
            4,
            "name_key locked_by",
            include_str!("../../../migrations/sqlite/0004_name_key_locked_by.sql"),
        ),
        (
            5,
            "attempt log",
            include_str!("../../../migrations/sqlite/0005_attempt_log.sql"),
        ),
        (
            6,
            "manual recovery",
            include_str!("../../../migrations/sqlite/0006_manual_recovery.sql"),
        ),
        (
            7,
            "alerts",
            include_str!("../../../migrations/sqlite/0007_alerts.sql"),
        ),
        (
            8,
            "previous secret",
            include_str!("../../../migrations/sqlite/0008_previous_secret.sql"),
        ),
        (
            9,
            "claim by webhook",
            include_str!("../../../migrations/sqlite/0009_claim_by_webhook.sql"),
        ),
        (
            10,
            "delivery order",
            include_str!("../../../migrations/sqlite/0010_delivery_order.sql"),
        ),
    ])
}

impl SqliteStore {
    /// Opens and migrates the database at `url` (`sqlite://PATH`), creating the file if it is
    /// missing and `create` (a missing file is an error otherwise).
    pub async fn open(url: &str, create: bool) -> StoreResult<SqliteStore> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(create)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a commit is on disk before SignalEvent answers, even across a power cut.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        // The writer never checkpoints: an automatic checkpoint runs inside the commit that
        // crosses the WAL threshold and stalls every SignalEvent queued behind it (p99 of
        // SignalEvent went from ~10 ms to ~55 ms). A background connection checkpoints instead.
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone().pragma("wal_autocheckpoint", "0"))
            .await?;
        migrator().run(&write).await?;
        spawn_checkpointer(options.clone()).await?;
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.read_only(true))
            .await?;
        let subscriptions = Arc::new(SubscriptionCache::default());
        let commits = GroupCommit::spawn(
            SqliteBatches {
                write: write.clone(),
                subscriptions: subscriptions.clone(),
            },
            Lanes::One,
        );
        let store = SqliteStore {
            write,
            read,
            commits,
            subscriptions,
            secrets: SecretSlot::default(),
        };
        accounts::fill_user_name_keys(&store).await?;
        Ok(store)
    }
}

/// How often the background connection copies the WAL back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// Checkpoints the WAL from its own connection, beside the writer: a PASSIVE checkpoint takes
/// no write lock, so commits go on while it copies pages and syncs the database file.
async fn spawn_checkpointer(options: SqliteConnectOptions) -> StoreResult<()> {
    let mut conn = sqlx::ConnectOptions::connect(&options).await?;
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&mut conn)
                .await
            {
                tracing::warn!(error = %e, "WAL checkpoint failed");
            }
        }
    });
    Ok(())
}

impl_conn!(SqliteConnection, Sqlite, SqliteRow, |ids| to_json(ids), {
    // One writer connection: every write already runs alone, so nothing to lock or skip.
    const FOR_UPDATE: &'static str = "";
    const SKIP_LOCKED: &'static str = "";

    fn id_in(param: &str) -> String {
        format!("IN (SELECT value FROM json_each({param}))")
    }
});

#[async_trait]
impl Backend for SqliteStore {
    type Db = Sqlite;

    fn read_pool(&self) -> &SqlitePool {
        &self.read
    }

    fn write_pool(&self) -> &SqlitePool {
        &self.write
    }

    fn secrets(&self) -> &SecretSlot {
        &self.secrets
    }

    fn commits(&self) -> &GroupCommit {
        &self.commits
    }

    fn webhooks_changed(&self) {
        self.subscriptions.invalidate();
    }

    fn nobody_subscribes(&self, event_name: &str) -> bool {
        self.subscriptions.get().is_some_and(|subs| {
            super::subscriptions::subscribers_of(&subs, event_name)
                .next()
                .is_none()
        })
    }

    async fn release_orphaned_leases(&self) -> StoreResult<u64> {
        // SQLite serves one node: a lease still set when the server starts belongs to a
        // process that died, so its deliveries are due again now, not when the lease ends.
        self.writer()
            .await?
            .execute(
                "UPDATE deliveries SET locked_until = 0 WHERE status = $1 AND locked_until > 0",
                &[Arg::Long(PENDING)],
            )
            .await
    }

    async fn seal_plaintext_secrets(&self, secrets: &SecretBox) -> StoreResult<u64> {
        webhooks::seal_plaintext_secrets(self, secrets).await
    }
}
