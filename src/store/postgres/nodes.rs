//! The nodes of a PostgreSQL cluster: each heartbeats in `nodes` (database clock); the leases
//! of a node silent for [`STALE_AFTER_MS`] go back to the queue; and every node listens for
//! the notifications of work made due elsewhere.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use sqlx::postgres::{PgConnection, PgListener, PgPool};
use tokio::sync::Notify;

use super::{PgStore, WORK_CHANNEL};
use crate::domain::Millis;
use crate::store::backend::Backend;
use crate::store::rows::{PENDING, StoreRow};
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

    /// Gives the leases of dead nodes back to the queue, frees the webhooks they served, and
    /// forgets those nodes.
    pub(super) async fn reap_dead_nodes(&self) -> StoreResult<u64> {
        let mut tx = self.begin().await?;
        let dead = tx
            .fetch_all(
                &format!(
                    "DELETE FROM nodes WHERE heartbeat_at < {DB_NOW} - $1 AND id <> $2 RETURNING id"
                ),
                &[Arg::Long(STALE_AFTER_MS), Arg::Text(&self.node)],
            )
            .await?;
        if dead.is_empty() {
            return Ok(0); // the usual case: no statement over the deliveries
        }
        let dead: Vec<String> = dead
            .iter()
            .map(|row| row.text("id"))
            .collect::<StoreResult<_>>()?;
        let mut released = 0;
        for node in &dead {
            released += release_node(&mut tx, node).await?;
        }
        tx.announce_work().await?;
        Self::commit(tx).await?;
        if released > 0 {
            tracing::warn!(released, "released the leases of a node that stopped");
        }
        Ok(released)
    }

    /// At a clean shutdown, after the unfinished leases were given back: frees the webhooks
    /// this node serves, so other nodes take them at once.
    pub(super) async fn stop_serving(&self) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        release_node(&mut tx, &self.node).await?;
        tx.announce_work().await?;
        Self::commit(tx).await
    }
}

/// Gives `node`'s leases back and frees the webhooks it serves; returns how many leases.
async fn release_node(conn: &mut PgConnection, node: &str) -> StoreResult<u64> {
    conn.execute(
        "UPDATE webhooks SET claimed_by = NULL, claimed_until = 0 WHERE claimed_by = $1",
        &[Arg::Text(node)],
    )
    .await?;
    conn.execute(
        &format!(
            "UPDATE deliveries SET locked_until = 0, locked_by = NULL \
             WHERE status = {PENDING} AND locked_by = $1"
        ),
        &[Arg::Text(node)],
    )
    .await
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
