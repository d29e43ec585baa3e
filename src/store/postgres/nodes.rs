//! The nodes of a PostgreSQL cluster: each heartbeats in `nodes` (database clock); the leases
//! of a node silent for [`STALE_AFTER_MS`] go back to the queue; and every node listens for
//! the notifications of work made due elsewhere.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool};
use tokio::sync::Notify;

use super::{PgStore, WORK_CHANNEL};
use crate::domain::Millis;
use crate::store::backend::Backend;
use crate::store::rows::PENDING;
use crate::store::sql::{Arg, Conn};
use crate::store::{StoreError, StoreResult};

/// How often a node writes its heartbeat.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(2);
/// A node whose heartbeat is older than this is dead; its leases go back to the queue.
const STALE_AFTER_MS: i64 = 10_000;
/// How often a claiming node looks for dead nodes.
const REAP_EVERY_MS: i64 = 2_000;
/// The database's clock in epoch milliseconds: heartbeats compare on one clock, whatever the
/// nodes' clocks say.
const DB_NOW: &str = "(extract(epoch from clock_timestamp()) * 1000)::bigint";

impl PgStore {
    /// Starts this node's heartbeat the first time it is needed.
    pub(super) async fn ensure_heartbeat(&self) -> StoreResult<()> {
        self.heartbeat
            .get_or_try_init(|| async {
                beat(&self.pool, &self.node).await?;
                let (pool, node) = (self.pool.clone(), self.node.clone());
                tokio::spawn(async move {
                    let mut tick = tokio::time::interval(HEARTBEAT_EVERY);
                    loop {
                        tick.tick().await;
                        if let Err(e) = beat(&pool, &node).await {
                            tracing::warn!(error = %e, "node heartbeat failed");
                        }
                    }
                });
                Ok::<(), StoreError>(())
            })
            .await?;
        Ok(())
    }

    /// Looks for dead nodes' leases, at most every [`REAP_EVERY_MS`].
    pub(super) async fn reap_now_and_then(&self, now: Millis) -> StoreResult<()> {
        if now - self.reaped_at.load(Ordering::Relaxed) >= REAP_EVERY_MS {
            self.reaped_at.store(now, Ordering::Relaxed);
            self.reap_dead_nodes().await?;
        }
        Ok(())
    }

    /// Gives the leases of dead nodes back to the queue and forgets those nodes.
    pub(super) async fn reap_dead_nodes(&self) -> StoreResult<u64> {
        let sql = format!(
            "WITH dead AS (DELETE FROM nodes WHERE heartbeat_at < {DB_NOW} - $1 AND id <> $2 RETURNING id) \
             UPDATE deliveries SET locked_until = 0, locked_by = NULL \
             WHERE locked_by IN (SELECT id FROM dead) AND status = $3"
        );
        let released = self
            .writer()
            .await?
            .execute(
                &sql,
                &[
                    Arg::Long(STALE_AFTER_MS),
                    Arg::Text(&self.node),
                    Arg::Long(PENDING),
                ],
            )
            .await?;
        if released > 0 {
            tracing::warn!(released, "released the leases of a node that stopped");
        }
        Ok(released)
    }
}

async fn beat(pool: &PgPool, node: &str) -> StoreResult<()> {
    let sql = format!(
        "INSERT INTO nodes (id, started_at, heartbeat_at) VALUES ($1, {DB_NOW}, {DB_NOW}) \
         ON CONFLICT (id) DO UPDATE SET heartbeat_at = EXCLUDED.heartbeat_at"
    );
    pool.acquire()
        .await?
        .execute(&sql, &[Arg::Text(node)])
        .await?;
    Ok(())
}

/// Wakes `wake` on every notification of [`WORK_CHANNEL`].
pub(super) async fn listen_for_work(pool: &PgPool, wake: Arc<Notify>) -> StoreResult<()> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(WORK_CHANNEL).await?;
    tokio::spawn(async move {
        loop {
            match listener.try_recv().await {
                Ok(Some(_)) => wake.notify_one(),
                // The connection dropped and will reconnect: notifications sent meanwhile
                // are lost, so look for work now rather than at the next poll.
                Ok(None) => wake.notify_one(),
                Err(e) => {
                    tracing::warn!(error = %e, "LISTEN connection failed; retrying in 1 s");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    });
    Ok(())
}
