//! The PostgreSQL store, for several hookwire nodes on one database. What differs from SQLite:
//! - claims lease rows with `FOR UPDATE SKIP LOCKED`, and a transaction-scoped advisory lock per
//!   webhook makes the per-webhook in-flight cap hold across nodes;
//! - group commit inserts a batch's events and deliveries with one `UNNEST` statement each;
//! - commits that make work due `NOTIFY` [`WORK_CHANNEL`], so every node's dispatcher wakes;
//! - each node heartbeats in `nodes`; leases of a node silent for [`STALE_AFTER_MS`] go back to
//!   the queue (a SIGKILLed node's deliveries resume in seconds, not after a whole lease).

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use sqlx::Postgres;
use sqlx::migrate::{MigrateDatabase, Migrator};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgListener, PgPool, PgPoolOptions, PgRow};
use tokio::sync::Notify;

use super::group_commit::{ApplyBatch, BatchResult, Claim, GroupCommit, Job};
use super::rows::{
    DEAD, DELIVERED, EVENT_COLUMNS, PENDING, StoreRow, WEBHOOK_COLUMNS, bind_definition,
    decode_claims, is_unique_violation, matching_webhooks, readable_webhooks,
    subscriptions_from_rows, to_json, user_from_row, webhook_from_row, webhook_without_secret,
};
use super::secret_box::{SecretBox, SecretSlot};
use super::secret_unlock::unlock_postgres;
use super::{
    AppRecord, AttemptRecord, ClaimCaps, ClaimedDelivery, DeadLetter, Disposition, QueueStats,
    Store, StoreError, StoreResult, UserRecord,
};
use crate::domain::{Event, Millis, WebhookRecord, WebhookState, now_millis};

/// The channel commits notify when deliveries become due.
const WORK_CHANNEL: &str = "hookwire_work";
/// How often a node writes its heartbeat.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(2);
/// A node whose heartbeat is older than this is dead; its leases go back to the queue.
const STALE_AFTER_MS: i64 = 10_000;
/// How often a claiming node looks for dead nodes.
const REAP_EVERY_MS: i64 = 2_000;
/// The database's clock in epoch milliseconds: heartbeats compare on one clock, whatever the
/// nodes' clocks say.
const DB_NOW: &str = "(extract(epoch from clock_timestamp()) * 1000)::bigint";
/// Advisory-lock namespace of per-webhook claims (any constant; "hw").
const CLAIM_LOCK_SPACE: i32 = 0x6877;
/// Advisory-lock namespace of the retention sweep.
const SWEEP_LOCK_SPACE: i32 = 0x6878;
/// Connections per node: API reads, claims, the group-commit writer and the listener.
const POOL_SIZE: u32 = 16;

fn migrator() -> Migrator {
    super::migrator(&[
        (
            1,
            "init",
            include_str!("../../migrations/postgres/0001_init.sql"),
        ),
        (
            2,
            "secret key check",
            include_str!("../../migrations/postgres/0002_secret_key_check.sql"),
        ),
        (
            3,
            "dead_reason",
            include_str!("../../migrations/postgres/0003_dead_reason.sql"),
        ),
    ])
}

/// The PostgreSQL implementation of [`Store`].
pub struct PgStore {
    pool: PgPool,
    /// Events and attempt outcomes share transactions (see `group_commit`).
    commits: GroupCommit,
    /// This process's identity in `nodes` and in the leases it takes.
    node: Arc<str>,
    /// When this node last looked for dead nodes' leases (ms); claims do it at most every
    /// [`REAP_EVERY_MS`].
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
        let commits = GroupCommit::spawn(PgBatches {
            pool: pool.clone(),
            node: node.clone(),
        });
        Ok(PgStore {
            pool,
            commits,
            node,
            reaped_at: AtomicI64::new(0),
            heartbeat: tokio::sync::OnceCell::new(),
            secrets: SecretSlot::default(),
        })
    }

    /// Starts this node's heartbeat the first time it is needed.
    async fn ensure_heartbeat(&self) -> StoreResult<()> {
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

    /// Gives the leases of dead nodes back to the queue and forgets those nodes.
    async fn reap_dead_nodes(&self) -> StoreResult<u64> {
        let sql = format!(
            "WITH dead AS (DELETE FROM nodes WHERE heartbeat_at < {DB_NOW} - $1 AND id <> $2 RETURNING id) \
             UPDATE deliveries SET locked_until = 0, locked_by = NULL \
             WHERE locked_by IN (SELECT id FROM dead) AND status = $3"
        );
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(STALE_AFTER_MS)
            .bind(&*self.node)
            .bind(PENDING)
            .execute(&self.pool)
            .await?;
        let released = done.rows_affected();
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
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(node)
        .execute(pool)
        .await?;
    Ok(())
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

async fn notify_work(conn: &mut PgConnection) -> StoreResult<()> {
    sqlx::query("SELECT pg_notify($1, '')")
        .bind(WORK_CHANNEL)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The batch side of group commit.
struct PgBatches {
    pool: PgPool,
    /// The node its claims lease for.
    node: Arc<str>,
}

#[async_trait]
impl ApplyBatch for PgBatches {
    async fn apply(&self, jobs: &[Job]) -> StoreResult<Vec<BatchResult>> {
        // Batches of different nodes lock webhook rows in id order, but other writers (a user
        // saving a webhook, a sweep) may still collide: a deadlock victim is simply retried.
        let mut tries = 0;
        loop {
            let mut conn = self.pool.acquire().await?;
            match apply_jobs(&mut conn, jobs, &self.node).await {
                Err(StoreError::Database(sqlx::Error::Database(e)))
                    if tries < 3 && matches!(e.code().as_deref(), Some("40P01" | "40001")) =>
                {
                    tries += 1;
                    tracing::info!(tries, "write batch retried after a deadlock");
                }
                other => return other,
            }
        }
    }
}

async fn apply_jobs(
    conn: &mut PgConnection,
    jobs: &[Job],
    node: &str,
) -> StoreResult<Vec<BatchResult>> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    if !jobs.iter().any(|job| matches!(job, Job::Event(..))) {
        // Only leases and attempt outcomes: losing them to a crash means a redelivery, never
        // a lost event, so this commit does not wait for the WAL flush (as SQLite's NORMAL).
        sqlx::query("SET LOCAL synchronous_commit = off")
            .execute(&mut *tx)
            .await?;
    }
    let now = now_millis();
    let mut results: Vec<Option<BatchResult>> = jobs.iter().map(|_| None).collect();
    // Attempts first (a webhook they disable takes no more deliveries as Active), in webhook
    // order so concurrent batches lock webhook rows in the same order.
    let mut attempts: Vec<(usize, &AttemptRecord, i32)> = jobs
        .iter()
        .enumerate()
        .filter_map(|(i, job)| match job {
            Job::Attempt(a, limit, _) => Some((i, a, *limit)),
            Job::Event(..) | Job::Claim(..) => None,
        })
        .collect();
    attempts.sort_by_key(|(_, a, _)| (a.webhook_id, a.delivery_id));
    let mut state_events: Vec<Event> = Vec::new();
    for (i, attempt, limit) in attempts {
        let (state, event) = apply_attempt(&mut tx, attempt, limit, now).await?;
        results[i] = Some(BatchResult::State(state));
        state_events.extend(event);
    }
    let has_events =
        !state_events.is_empty() || jobs.iter().any(|job| matches!(job, Job::Event(..)));
    let subscriptions = if has_events {
        let rows = sqlx::query("SELECT id, events FROM webhooks WHERE state IN ($1, $2)")
            .bind(WebhookState::Active as i64)
            .bind(WebhookState::TooManyErrors as i64)
            .fetch_all(&mut *tx)
            .await?;
        subscriptions_from_rows(&rows)?
    } else {
        Vec::new() // a batch of outcomes and claims: no event to route
    };
    let mut queued_events = Vec::new();
    let mut targets = Vec::new();
    for (i, job) in jobs.iter().enumerate() {
        if let Job::Event(event, _) = job {
            let matched = matching_webhooks(&subscriptions, &event.name);
            results[i] = Some(BatchResult::Queued(matched.len()));
            if !matched.is_empty() {
                queued_events.push(event);
                targets.push(matched);
            }
        }
    }
    for event in &state_events {
        let matched = matching_webhooks(&subscriptions, &event.name);
        if !matched.is_empty() {
            queued_events.push(event);
            targets.push(matched);
        }
    }
    if !queued_events.is_empty() {
        insert_events(&mut tx, &queued_events, &targets).await?;
        notify_work(&mut tx).await?;
    }
    for (job, slot) in jobs.iter().zip(results.iter_mut()) {
        if let Job::Claim(c, _) = job {
            *slot = Some(BatchResult::Claimed(claim(&mut tx, node, c.at(now)).await?));
        }
    }
    tx.commit().await?;
    Ok(results
        .into_iter()
        .map(|r| r.unwrap_or(BatchResult::Queued(0)))
        .collect())
}

/// Inserts `events` and, for each, a pending delivery per webhook in `targets` (same index):
/// two statements whatever the batch size.
async fn insert_events(
    conn: &mut PgConnection,
    events: &[&Event],
    targets: &[Vec<i32>],
) -> StoreResult<()> {
    let rows = sqlx::query(
        "INSERT INTO events (event_id, name, primary_key, entity, changes, data, associate_id, occurred_at) \
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[], \
                              $7::int[], $8::bigint[]) \
         RETURNING id, event_id",
    )
    .bind(events.iter().map(|e| e.event_id.clone()).collect::<Vec<_>>())
    .bind(events.iter().map(|e| e.name.clone()).collect::<Vec<_>>())
    .bind(events.iter().map(|e| e.primary_key).collect::<Vec<_>>())
    .bind(events.iter().map(|e| e.entity.clone()).collect::<Vec<_>>())
    .bind(events.iter().map(|e| to_json(&e.changes)).collect::<Vec<_>>())
    .bind(events.iter().map(|e| to_json(&e.field_values)).collect::<Vec<_>>())
    .bind(events.iter().map(|e| e.associate_id).collect::<Vec<_>>())
    .bind(events.iter().map(|e| e.occurred_at).collect::<Vec<_>>())
    .fetch_all(&mut *conn)
    .await?;
    let mut row_of = HashMap::with_capacity(rows.len());
    for row in &rows {
        row_of.insert(row.text("event_id")?, row.long("id")?);
    }
    let (mut event_rows, mut webhook_ids, mut times) = (Vec::new(), Vec::new(), Vec::new());
    for (event, webhooks) in events.iter().zip(targets) {
        let row = *row_of.get(&event.event_id).ok_or_else(|| {
            StoreError::Corrupt(format!("event {} was not inserted", event.event_id))
        })?;
        for webhook_id in webhooks {
            event_rows.push(row);
            webhook_ids.push(*webhook_id);
            times.push(event.occurred_at);
        }
    }
    sqlx::query(
        "INSERT INTO deliveries (event_row, webhook_id, status, next_attempt_at, created_at) \
         SELECT e, w, $4, t, t FROM UNNEST($1::bigint[], $2::int[], $3::bigint[]) AS u(e, w, t)",
    )
    .bind(event_rows)
    .bind(webhook_ids)
    .bind(times)
    .bind(PENDING)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Applies one attempt's outcome; returns the webhook's state and, if this attempt disabled
/// it, the `webhook{id}.errors` event to store. The webhook row is locked before the delivery
/// row, in the same order `update_webhook` uses.
async fn apply_attempt(
    conn: &mut PgConnection,
    a: &AttemptRecord,
    failures_to_disable: i32,
    now: Millis,
) -> StoreResult<(WebhookState, Option<Event>)> {
    let row = if a.success {
        sqlx::query(
            "UPDATE webhooks SET total_calls = total_calls + 1, consecutive_errors = 0 \
             WHERE id = $1 RETURNING state, consecutive_errors",
        )
        .bind(a.webhook_id)
        .fetch_optional(&mut *conn)
        .await?
    } else {
        sqlx::query(
            "UPDATE webhooks SET total_calls = total_calls + 1, total_errors = total_errors + 1, \
             consecutive_errors = consecutive_errors + $3, last_error = $2 \
             WHERE id = $1 RETURNING state, consecutive_errors",
        )
        .bind(a.webhook_id)
        .bind(&a.report)
        .bind(i32::from(a.counted))
        .fetch_optional(&mut *conn)
        .await?
    };
    // The delivery's fate: (status, when due again); a retry within the cycle keeps its lease.
    let settled = match a.disposition {
        Disposition::Delivered => Some((DELIVERED, None)),
        Disposition::Requeue { due } => Some((PENDING, Some(due))),
        Disposition::Dead => Some((DEAD, None)),
        Disposition::KeepLease => None,
    };
    if let Some((status, due)) = settled {
        sqlx::query(
            "UPDATE deliveries SET status = $1, next_attempt_at = COALESCE($2, next_attempt_at), \
             locked_until = 0, locked_by = NULL WHERE id = $3",
        )
        .bind(status)
        .bind(due)
        .bind(a.delivery_id)
        .execute(&mut *conn)
        .await?;
    }
    let Some(row) = row else {
        return Ok((WebhookState::Unknown, None)); // deleted meanwhile
    };
    let state = WebhookState::from_number(row.long("state")?);
    let consecutive = row.int("consecutive_errors")?;
    let disable = !a.success && (a.gone || (a.counted && consecutive >= failures_to_disable));
    if !disable || state != WebhookState::Active {
        return Ok((state, None));
    }
    // The row is locked by the counter update above, so exactly one attempt sees it Active.
    let sql = format!(
        "UPDATE webhooks SET state = $1, updated = $2 WHERE id = $3 AND state = $4 RETURNING {WEBHOOK_COLUMNS}"
    );
    let disabled = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(WebhookState::TooManyErrors as i64)
        .bind(now)
        .bind(a.webhook_id)
        .bind(WebhookState::Active as i64)
        .fetch_optional(&mut *conn)
        .await?;
    match disabled {
        Some(row) => {
            let record = webhook_without_secret(&row)?;
            tracing::warn!(
                webhook_id = record.id,
                gone = a.gone,
                consecutive,
                "webhook disabled: TooManyErrors"
            );
            Ok((
                WebhookState::TooManyErrors,
                Event::state_change(&record, now),
            ))
        }
        None => Ok((WebhookState::TooManyErrors, None)),
    }
}

/// Leases due deliveries webhook by webhook. Each webhook's claim runs under a
/// transaction-scoped advisory lock, so nodes claiming at once count each other's leases and
/// the per-webhook cap holds across the cluster; a webhook another node is claiming right now
/// is skipped (it is being served). Runs inside the group-commit transaction, so the locks last
/// until its commit.
async fn claim(conn: &mut PgConnection, node: &str, c: Claim) -> StoreResult<Vec<ClaimedDelivery>> {
    let Claim {
        now,
        lease_until,
        limit,
        caps,
    } = c;
    let tx = conn;
    let ready: Vec<i32> = sqlx::query_scalar(
        "SELECT w.id FROM webhooks w WHERE w.state = $3 AND EXISTS (SELECT 1 FROM deliveries d \
           WHERE d.webhook_id = w.id AND d.status = $1 AND d.next_attempt_at <= $2 AND d.locked_until <= $2)",
    )
    .bind(PENDING)
    .bind(now)
    .bind(WebhookState::Active as i64)
    .fetch_all(&mut *tx)
    .await?;
    let mut claimed: Vec<PgRow> = Vec::new();
    let mut left = i64::try_from(limit).unwrap_or(i64::MAX);
    for webhook_id in ready {
        if left <= 0 {
            break;
        }
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1, $2)")
            .bind(CLAIM_LOCK_SPACE)
            .bind(webhook_id)
            .fetch_one(&mut *tx)
            .await?;
        if !locked {
            continue;
        }
        let leased: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM deliveries WHERE webhook_id = $1 AND status = $2 AND locked_until > $3",
        )
        .bind(webhook_id)
        .bind(PENDING)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let take = (caps.of(webhook_id) - leased).min(left);
        if take <= 0 {
            continue;
        }
        let rows = sqlx::query(
            "UPDATE deliveries SET locked_until = $1, locked_by = $2, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM deliveries WHERE webhook_id = $3 AND status = $4 \
               AND next_attempt_at <= $5 AND locked_until <= $5 \
               ORDER BY next_attempt_at, id LIMIT $6 FOR UPDATE SKIP LOCKED) \
             RETURNING id, webhook_id, attempts, event_row",
        )
        .bind(lease_until)
        .bind(node)
        .bind(webhook_id)
        .bind(PENDING)
        .bind(now)
        .bind(take)
        .fetch_all(&mut *tx)
        .await?;
        left -= i64::try_from(rows.len()).unwrap_or(0);
        claimed.extend(rows);
    }
    load_claims(tx, &claimed).await
}

async fn load_claims(
    conn: &mut PgConnection,
    claimed: &[PgRow],
) -> StoreResult<Vec<ClaimedDelivery>> {
    if claimed.is_empty() {
        return Ok(Vec::new());
    }
    let ids = claimed
        .iter()
        .map(|row| row.long("event_row"))
        .collect::<StoreResult<Vec<i64>>>()?;
    let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE id = ANY($1)");
    let events = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(ids)
        .fetch_all(&mut *conn)
        .await?;
    let decoded = decode_claims(claimed, &events)?;
    set_aside(&mut *conn, &decoded.unreadable).await?;
    Ok(decoded.claims)
}

/// Moves deliveries that cannot be sent to the dead-letter list, each with its reason.
async fn set_aside(conn: &mut PgConnection, deliveries: &[(i64, String)]) -> StoreResult<()> {
    for (id, reason) in deliveries {
        sqlx::query(
            "UPDATE deliveries SET status = $1, dead_reason = $2, locked_until = 0, locked_by = NULL \
             WHERE id = $3",
        )
        .bind(DEAD)
        .bind(reason)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

#[async_trait]
impl Store for PgStore {
    async fn user_count(&self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?)
    }

    async fn insert_user(
        &self,
        name: &str,
        full_name: &str,
        password_hash: &str,
    ) -> StoreResult<UserRecord> {
        let row = sqlx::query(
            "INSERT INTO users (name, full_name, password_hash, created_at) VALUES ($1, $2, $3, $4) \
             RETURNING id, name, full_name, password_hash",
        )
        .bind(name)
        .bind(full_name)
        .bind(password_hash)
        .bind(now_millis())
        .fetch_one(&self.pool)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::Conflict(format!("user '{name}'"))
            } else {
                e.into()
            }
        })?;
        user_from_row(&row)
    }

    async fn user_by_name(&self, name: &str) -> StoreResult<Option<UserRecord>> {
        sqlx::query(
            "SELECT id, name, full_name, password_hash FROM users WHERE lower(name) = lower($1)",
        )
        .bind(name)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(user_from_row)
        .transpose()
    }

    async fn user_by_id(&self, id: i64) -> StoreResult<Option<UserRecord>> {
        sqlx::query("SELECT id, name, full_name, password_hash FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(user_from_row)
            .transpose()
    }

    async fn insert_app(&self, name: &str, token_hash: &str) -> StoreResult<AppRecord> {
        let row = sqlx::query(
            "INSERT INTO apps (name, token_hash, created_at) VALUES ($1, $2, $3) RETURNING id, name",
        )
        .bind(name)
        .bind(token_hash)
        .bind(now_millis())
        .fetch_one(&self.pool)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::Conflict(format!("application '{name}' or its token"))
            } else {
                e.into()
            }
        })?;
        Ok(AppRecord {
            id: row.long("id")?,
            name: row.text("name")?,
        })
    }

    async fn app_by_token_hash(&self, token_hash: &str) -> StoreResult<Option<AppRecord>> {
        let row = sqlx::query("SELECT id, name FROM apps WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(AppRecord {
                id: r.long("id")?,
                name: r.text("name")?,
            })
        })
        .transpose()
    }

    async fn insert_ticket(
        &self,
        ticket_hash: &str,
        user_id: i64,
        expires_at: Millis,
    ) -> StoreResult<()> {
        let now = now_millis();
        let mut tx = self.pool.begin().await?;
        // Expired tickets are swept here, where a write happens anyway.
        sqlx::query("DELETE FROM tickets WHERE expires_at < $1")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO tickets (ticket_hash, user_id, expires_at, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(ticket_hash)
        .bind(user_id)
        .bind(expires_at)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn ticket(&self, ticket_hash: &str) -> StoreResult<Option<(i64, Millis)>> {
        let row = sqlx::query("SELECT user_id, expires_at FROM tickets WHERE ticket_hash = $1")
            .bind(ticket_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((r.long("user_id")?, r.long("expires_at")?)))
            .transpose()
    }

    async fn extend_ticket(&self, ticket_hash: &str, expires_at: Millis) -> StoreResult<()> {
        sqlx::query(
            "UPDATE tickets SET expires_at = GREATEST(expires_at, $1) WHERE ticket_hash = $2",
        )
        .bind(expires_at)
        .bind(ticket_hash)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn insert_webhook(&self, w: &WebhookRecord) -> StoreResult<i32> {
        let query = sqlx::query_scalar(
            "INSERT INTO webhooks (name, events, target_url, secret, state, type, headers, properties, \
             registered, registered_associate_id, updated, updated_associate_id, errors_email, \
             error_emails, error_associates, description, notify_via, notify_when, app_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) \
             RETURNING id",
        );
        Ok(bind_definition!(query, w, self.secrets.get()?)
            .fetch_one(&self.pool)
            .await?)
    }

    async fn update_webhook(
        &self,
        w: &WebhookRecord,
        if_updated: Option<Millis>,
    ) -> StoreResult<bool> {
        let query = sqlx::query(
            "UPDATE webhooks SET name = $1, events = $2, target_url = $3, secret = $4, state = $5, \
             type = $6, headers = $7, properties = $8, registered = $9, registered_associate_id = $10, \
             updated = $11, updated_associate_id = $12, errors_email = $13, error_emails = $14, \
             error_associates = $15, description = $16, notify_via = $17, notify_when = $18, \
             app_id = $19 WHERE id = $20 AND ($21 IS NULL OR updated = $21)",
        );
        let mut tx = self.pool.begin().await?;
        let before: Option<i64> =
            sqlx::query_scalar("SELECT state FROM webhooks WHERE id = $1 FOR UPDATE")
                .bind(w.id)
                .fetch_optional(&mut *tx)
                .await?;
        let done = bind_definition!(query, w, self.secrets.get()?)
            .bind(w.id)
            .bind(if_updated)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        let activated = before.is_some_and(|s| s != WebhookState::Active as i64)
            && w.state == WebhookState::Active;
        if activated {
            // A restarted webhook starts with a clean slate, and its parked deliveries are due now.
            sqlx::query("UPDATE webhooks SET consecutive_errors = 0 WHERE id = $1")
                .bind(w.id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "UPDATE deliveries SET next_attempt_at = $1 WHERE webhook_id = $2 AND status = $3",
            )
            .bind(w.updated)
            .bind(w.id)
            .bind(PENDING)
            .execute(&mut *tx)
            .await?;
            notify_work(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_webhook(&self, id: i32) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM deliveries WHERE webhook_id = $1 AND status = $2")
            .bind(id)
            .bind(PENDING)
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query("DELETE FROM webhooks WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    async fn webhook(&self, id: i32) -> StoreResult<Option<WebhookRecord>> {
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(|row| webhook_from_row(row, self.secrets.get()?))
            .transpose()
    }

    async fn webhooks(&self) -> StoreResult<Vec<WebhookRecord>> {
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks ORDER BY id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        readable_webhooks(&rows, self.secrets.get()?)
    }

    async fn record_event(&self, event: &Event) -> StoreResult<usize> {
        self.commits.record_event(event.clone()).await
    }

    async fn queue_stats(&self) -> StoreResult<QueueStats> {
        let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM deliveries GROUP BY status")
            .fetch_all(&self.pool)
            .await?;
        let mut stats = QueueStats::default();
        for row in rows {
            let n = row.long("n")?;
            match row.long("status")? {
                PENDING => stats.pending = n,
                DELIVERED => stats.delivered = n,
                DEAD => stats.dead = n,
                _ => {}
            }
        }
        Ok(stats)
    }

    async fn claim_due(
        &self,
        now: Millis,
        lease_until: Millis,
        limit: usize,
        caps: &ClaimCaps,
    ) -> StoreResult<Vec<ClaimedDelivery>> {
        self.ensure_heartbeat().await?;
        if now - self.reaped_at.load(Ordering::Relaxed) >= REAP_EVERY_MS {
            self.reaped_at.store(now, Ordering::Relaxed);
            self.reap_dead_nodes().await?;
        }
        self.commits
            .claim(Claim {
                now,
                lease_until,
                limit,
                caps: caps.clone(),
            })
            .await
    }

    async fn record_attempt(
        &self,
        attempt: AttemptRecord,
        failures_to_disable: i32,
    ) -> StoreResult<WebhookState> {
        self.commits
            .record_attempt(attempt, failures_to_disable)
            .await
    }

    async fn set_aside(&self, deliveries: &[(i64, String)]) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await?;
        set_aside(&mut conn, deliveries).await
    }

    async fn release_leases(&self, ids: &[i64]) -> StoreResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE deliveries SET locked_until = 0, locked_by = NULL WHERE id = ANY($1) AND status = $2",
        )
        .bind(ids)
        .bind(PENDING)
        .execute(&mut *tx)
        .await?;
        // Another node may take them right away.
        notify_work(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn sweep(&self, now: Millis, cutoff: Millis) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await?;
        // One node sweeps at a time: two sweeps updating the same rows could deadlock.
        let ours: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1, 0)")
            .bind(SWEEP_LOCK_SPACE)
            .fetch_one(&mut *tx)
            .await?;
        if !ours {
            return Ok(0);
        }
        let dead = sqlx::query(
            "UPDATE deliveries SET status = $1 WHERE status = $2 AND created_at < $3 AND locked_until <= $4",
        )
        .bind(DEAD)
        .bind(PENDING)
        .bind(cutoff)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        sqlx::query("DELETE FROM deliveries WHERE status = $1 AND created_at < $2")
            .bind(DELIVERED)
            .bind(cutoff)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM events WHERE occurred_at < $1 AND NOT EXISTS (SELECT 1 FROM deliveries WHERE event_row = events.id)")
            .bind(cutoff)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(dead)
    }

    async fn unlock_secrets(&self, secrets: SecretBox) -> StoreResult<u64> {
        let mut conn = self.pool.acquire().await?;
        let sealed = unlock_postgres(&mut conn, &secrets).await?;
        self.secrets.set(secrets);
        Ok(sealed)
    }

    async fn recover_leases(&self) -> StoreResult<u64> {
        // Other nodes may be alive and holding leases: only dead nodes' leases are given back.
        // A process restarted within the stale window finds its predecessor's leases a few
        // seconds later, through the claims' periodic check.
        self.reap_dead_nodes().await
    }

    async fn dead_letters(
        &self,
        webhook_id: Option<i32>,
        limit: i64,
    ) -> StoreResult<Vec<DeadLetter>> {
        let rows = sqlx::query(
            "SELECT d.id, d.webhook_id, e.event_id, e.name, d.attempts, d.created_at, d.dead_reason \
             FROM deliveries d JOIN events e ON e.id = d.event_row \
             WHERE d.status = $1 AND ($2::integer IS NULL OR d.webhook_id = $2) ORDER BY d.id LIMIT $3",
        )
        .bind(DEAD)
        .bind(webhook_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DeadLetter {
                    delivery_id: r.long("id")?,
                    webhook_id: r.int("webhook_id")?,
                    event_id: r.text("event_id")?,
                    event_name: r.text("name")?,
                    attempts: r.long("attempts")?,
                    created_at: r.long("created_at")?,
                    reason: r.opt_text("dead_reason")?,
                })
            })
            .collect()
    }

    async fn replay_dead(&self, webhook_id: Option<i32>, now: Millis) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE deliveries SET status = $1, next_attempt_at = $2, created_at = $2, locked_until = 0, \
             locked_by = NULL, dead_reason = NULL WHERE status = $3 AND ($4::integer IS NULL OR webhook_id = $4)",
        )
        .bind(PENDING)
        .bind(now)
        .bind(DEAD)
        .bind(webhook_id)
        .execute(&mut *tx)
        .await?;
        notify_work(&mut tx).await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    async fn watch_for_work(&self, wake: Arc<Notify>) -> StoreResult<()> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
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
}
