//! The PostgreSQL store, for several hookwire nodes on one database. What differs from SQLite:
//! - claims lease rows with `FOR UPDATE SKIP LOCKED`, and one node at a time serves a webhook
//!   (`webhooks.claimed_by`), so the per-webhook in-flight cap holds across nodes;
//! - group commit inserts a batch's events and deliveries with one `UNNEST` statement each
//!   (`outbox`);
//! - commits that make work due `NOTIFY` [`WORK_CHANNEL`], so every node's dispatcher wakes;
//! - each node heartbeats in `nodes`; leases of a node silent for a while go back to the queue
//!   (`nodes`: a SIGKILLed node's deliveries resume in seconds, not after a whole lease).

mod nodes;
mod outbox;

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::AtomicI64;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::Postgres;
use sqlx::migrate::{MigrateDatabase, Migrator};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow};
use tokio::sync::Notify;

use super::backend::Backend;
use super::group_commit::{GroupCommit, Lanes};
use super::rows::StoreRow;
use super::secret_box::{SecretBox, SecretSlot};
use super::sql::{Arg, Lock, impl_conn};
use super::{StoreResult, accounts};
use crate::domain::Millis;
use outbox::PgBatches;

/// The channel commits notify when deliveries become due.
const WORK_CHANNEL: &str = "hookwire_work";
/// Advisory-lock namespace of the retention sweep.
const SWEEP_LOCK_SPACE: i32 = 0x6878;
/// Connections per node: API reads, claims, the group-commit writer and the listener.
const POOL_SIZE: u32 = 16;

fn migrator() -> Migrator {
    super::migrator(&[
        (
            1,
            "init",
            include_str!("../../../migrations/postgres/0001_init.sql"),
        ),
        (
            2,
            "secret key check",
            include_str!("../../../migrations/postgres/0002_secret_key_check.sql"),
        ),
        (
            3,
            "dead_reason",
            include_str!("../../../migrations/postgres/0003_dead_reason.sql"),
        ),
        (
            4,
            "name_key locked_by",
            include_str!("../../../migrations/postgres/0004_name_key_locked_by.sql"),
        ),
        (
            5,
            "attempt log",
            include_str!("../../../migrations/postgres/0005_attempt_log.sql"),
        ),
        (
            6,
            "manual recovery",
            include_str!("../../../migrations/postgres/0006_manual_recovery.sql"),
        ),
        (
            7,
            "alerts",
            include_str!("../../../migrations/postgres/0007_alerts.sql"),
        ),
        (
            8,
            "previous secret",
            include_str!("../../../migrations/postgres/0008_previous_secret.sql"),
        ),
        (
            9,
            "claim by webhook",
            include_str!("../../../migrations/postgres/0009_claim_by_webhook.sql"),
        ),
        (
            10,
            "delivery order",
            include_str!("../../../migrations/postgres/0010_delivery_order.sql"),
        ),
    ])
}

/// The PostgreSQL implementation of [`super::Store`].
pub struct PgStore {
    pool: PgPool,
    /// Events and attempt outcomes share transactions (see `group_commit`).
    commits: GroupCommit,
    /// This process's identity in `nodes` and in the leases it takes.
    node: Arc<str>,
    /// When this node last looked for dead nodes' leases (ms).
    reaped_at: AtomicI64,
    /// Set once the heartbeat task runs (started by the first claim: API-only processes and
    /// CLI commands take no leases, so they need no heartbeat).
    heartbeat: tokio::sync::OnceCell<()>,
    /// Seals and opens webhook Secrets, once unlocked.
    secrets: SecretSlot,
}

impl PgStore {
    /// Connects to `url` (`postgres://...`), creating the database if it does not exist, and
    /// migrates it. Nodes starting together are safe: migrations take an advisory lock.
    pub async fn open(url: &str) -> StoreResult<PgStore> {
        create_database_if_missing(url).await?;
        let options = PgConnectOptions::from_str(url)?.application_name("hookwire");
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        migrator().run(&pool).await?;
        let node: Arc<str> = Arc::from(uuid::Uuid::new_v4().to_string());
        let commits = GroupCommit::spawn(
            PgBatches {
                pool: pool.clone(),
                node: node.clone(),
            },
            Lanes::EventsApart,
        );
        let store = PgStore {
            pool,
            commits,
            node,
            reaped_at: AtomicI64::new(0),
            heartbeat: tokio::sync::OnceCell::new(),
            secrets: SecretSlot::default(),
        };
        accounts::fill_user_name_keys(&store).await?;
        Ok(store)
    }
}

/// Like SQLite's `create_if_missing`: a fresh database needs no set-up. Nodes racing to create
/// it are fine: whoever loses sees `duplicate_database`.
async fn create_database_if_missing(url: &str) -> StoreResult<()> {
    if Postgres::database_exists(url).await? {
        return Ok(());
    }
    match Postgres::create_database(url).await {
        Ok(()) => Ok(()),
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P04") => Ok(()),
        Err(e) => Err(e.into()),
    }
}

impl_conn!(PgConnection, Postgres, PgRow, |ids| *ids, {
    const FOR_UPDATE: &'static str = "FOR UPDATE";
    const SKIP_LOCKED: &'static str = "FOR UPDATE SKIP LOCKED";

    fn id_in(param: &str) -> String {
        format!("= ANY({param})")
    }

    async fn announce_work(&mut self) -> StoreResult<()> {
        self.execute("SELECT pg_notify($1, '')", &[Arg::Text(WORK_CHANNEL)])
            .await?;
        Ok(())
    }

    async fn try_lock(&mut self, lock: Lock) -> StoreResult<bool> {
        let (space, key) = match lock {
            Lock::Sweep => (SWEEP_LOCK_SPACE, 0),
        };
        let row = self
            .fetch_one(
                "SELECT pg_try_advisory_xact_lock($1, $2) AS ours",
                &[Arg::Int(space), Arg::Int(key)],
            )
            .await?;
        row.flag("ours")
    }

    async fn lock_records(&mut self, ids: &[i64]) -> StoreResult<()> {
        // One row per id, in the array's order (sorted by the caller): the locks are taken
        // in that order.
        self.execute(
            "SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) AS u(k)",
            &[Arg::Ids(ids)],
        )
        .await?;
        Ok(())
    }
});

#[async_trait]
impl Backend for PgStore {
    type Db = Postgres;

    fn read_pool(&self) -> &PgPool {
        &self.pool
    }

    fn write_pool(&self) -> &PgPool {
        &self.pool
    }

    fn secrets(&self) -> &SecretSlot {
        &self.secrets
    }

    fn commits(&self) -> &GroupCommit {
        &self.commits
    }

    async fn before_claim(&self, now: Millis) -> StoreResult<()> {
        self.ensure_heartbeat().await?;
        self.reap_now_and_then(now).await
    }

    async fn release_orphaned_leases(&self) -> StoreResult<u64> {
        // Other nodes may be alive and holding leases: only dead nodes' leases are given back.
        // A process restarted within the stale window finds its predecessor's leases a few
        // seconds later, through the claims' periodic check.
        self.reap_dead_nodes().await
    }

    async fn stop_serving(&self) -> StoreResult<()> {
        PgStore::stop_serving(self).await
    }

    async fn watch(&self, wake: Arc<Notify>) -> StoreResult<()> {
        nodes::listen_for_work(&self.pool, wake).await
    }

    async fn seal_plaintext_secrets(&self, secrets: &SecretBox) -> StoreResult<u64> {
        crate::store::secret_unlock::unlock(self, secrets).await
    }
}
