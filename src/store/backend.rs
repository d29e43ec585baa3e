//! What a database backend gives the shared store code: its connections, its group-commit
//! writer, and hooks for the few things only one backend does. `Accounts`, `Webhooks` and
//! `Outbox` are implemented once for every `Backend`.

use std::sync::Arc;

use async_trait::async_trait;
use sqlx::pool::PoolConnection;
use sqlx::{Database, Pool, Transaction};
use tokio::sync::Notify;

use super::StoreResult;
use super::group_commit::GroupCommit;
use super::secret_box::{SecretBox, SecretSlot};
use super::sql::Conn;
use crate::domain::Millis;

/// The connection type of a backend.
pub(crate) type ConnOf<B> = <<B as Backend>::Db as Database>::Connection;

#[async_trait]
pub(crate) trait Backend: Send + Sync + 'static {
    type Db: Database<Connection: Conn>;

    /// The pool reads go to.
    fn read_pool(&self) -> &Pool<Self::Db>;
    /// The pool writes go to.
    fn write_pool(&self) -> &Pool<Self::Db>;

    /// A connection for reads.
    async fn reader(&self) -> StoreResult<PoolConnection<Self::Db>> {
        Ok(self.read_pool().acquire().await?)
    }
    /// A connection for single-statement writes.
    async fn writer(&self) -> StoreResult<PoolConnection<Self::Db>> {
        Ok(self.write_pool().acquire().await?)
    }
    /// A transaction for writes.
    async fn begin(&self) -> StoreResult<Transaction<'static, Self::Db>> {
        Ok(self.write_pool().begin().await?)
    }
    async fn commit(tx: Transaction<'static, Self::Db>) -> StoreResult<()> {
        Ok(tx.commit().await?)
    }

    /// Seals and opens webhook Secrets, once unlocked.
    fn secrets(&self) -> &SecretSlot;
    /// Batches events, attempt outcomes and claims into shared transactions.
    fn commits(&self) -> &GroupCommit;

    /// Called after a change to webhooks commits (SQLite's cached subscriptions).
    fn webhooks_changed(&self) {}
    /// True when no webhook subscribes to `event_name`, known without a database read.
    fn nobody_subscribes(&self, event_name: &str) -> bool {
        let _ = event_name;
        false
    }
    /// Runs before each claim (PostgreSQL: this node's heartbeat, dead nodes' leases).
    async fn before_claim(&self, now: Millis) -> StoreResult<()> {
        let _ = now;
        Ok(())
    }
    /// Gives back, at start, the leases a crashed process left; returns how many.
    async fn release_orphaned_leases(&self) -> StoreResult<u64>;
    /// At a clean shutdown: stops serving the webhooks this process serves (PostgreSQL: frees
    /// them for other nodes at once).
    async fn stop_serving(&self) -> StoreResult<()> {
        Ok(())
    }
    /// Wakes `wake` when another process commits due work.
    async fn watch(&self, wake: Arc<Notify>) -> StoreResult<()> {
        let _ = wake;
        Ok(())
    }
    /// Checks `secrets` against the database's key and seals the plaintext Secrets (each
    /// backend calls `secret_unlock::unlock`, SQLite with its file-scrubbing around it);
    /// returns how many it sealed.
    async fn seal_plaintext_secrets(&self, secrets: &SecretBox) -> StoreResult<u64>;
}
