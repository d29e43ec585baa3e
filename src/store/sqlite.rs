//! The embedded SQLite store: one file, WAL, one writer connection (SQLite allows one writer;
//! queueing writes on it avoids `SQLITE_BUSY`), a group-commit writer task that batches events
//! and attempt outcomes into shared transactions, and a small pool of readers.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::Row;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteRow, SqliteSynchronous,
};

use super::group_commit::{ApplyBatch, BatchResult, Claim, GroupCommit, Job};
use super::rows::{
    DEAD, DELIVERED, EVENT_COLUMNS, PENDING, StoreRow, WEBHOOK_COLUMNS, bind_definition,
    decode_claims, is_unique_violation, matching_webhooks, readable_webhooks,
    subscriptions_from_rows, to_json, user_from_row, webhook_from_row, webhook_without_secret,
};
use super::secret_box::{SecretBox, SecretSlot};
use super::secret_unlock::unlock_sqlite;
use super::subscriptions::SubscriptionCache;
use super::{
    AppRecord, AttemptRecord, ClaimCaps, ClaimedDelivery, DeadLetter, Disposition, QueueStats,
    Store, StoreError, StoreResult, UserRecord,
};
use crate::domain::{Event, Millis, WebhookRecord, WebhookState, now_millis};

/// The SQLite implementation of [`Store`].
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
            include_str!("../../migrations/sqlite/0001_init.sql"),
        ),
        (
            2,
            "secret key check",
            include_str!("../../migrations/sqlite/0002_secret_key_check.sql"),
        ),
        (
            3,
            "dead_reason",
            include_str!("../../migrations/sqlite/0003_dead_reason.sql"),
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
        let commits = GroupCommit::spawn(SqliteBatches {
            write: write.clone(),
            subscriptions: subscriptions.clone(),
        });
        Ok(SqliteStore {
            write,
            read,
            commits,
            subscriptions,
            secrets: SecretSlot::default(),
        })
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

/// Runs `work` on the write connection. Unless `durable`, its commit skips the fsync
/// (`synchronous=NORMAL`; WAL keeps it atomic and ordered, and the next durable commit makes
/// it durable too). Losing a lease or an attempt outcome to a power cut only means a
/// redelivery, so only accepted events pay for `FULL`.
macro_rules! on_writer {
    ($pool:expr, $durable:expr, |$conn:ident| $work:expr) => {{
        let mut conn = $pool.acquire().await?;
        if !$durable {
            sqlx::query("PRAGMA synchronous = NORMAL")
                .execute(&mut *conn)
                .await?;
        }
        let $conn: &mut SqliteConnection = &mut conn;
        let result = $work;
        if !$durable {
            let reset = sqlx::query("PRAGMA synchronous = FULL")
                .execute(&mut *conn)
                .await;
            if let Err(e) = reset {
                // A connection that stayed NORMAL would weaken later commits: drop it.
                conn.detach();
                return Err(e.into());
            }
        }
        result
    }};
}

/// The batch side of group commit: the write connection.
struct SqliteBatches {
    write: SqlitePool,
    subscriptions: Arc<SubscriptionCache>,
}

#[async_trait]
impl ApplyBatch for SqliteBatches {
    async fn apply(&self, jobs: &[Job]) -> StoreResult<Vec<BatchResult>> {
        let durable = jobs.iter().any(|j| matches!(j, Job::Event(..)));
        on_writer!(self.write, durable, |conn| {
            apply_jobs(conn, jobs, &self.subscriptions).await
        })
    }
}

async fn apply_jobs(
    conn: &mut SqliteConnection,
    jobs: &[Job],
    cache: &SubscriptionCache,
) -> StoreResult<Vec<BatchResult>> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    let now = now_millis();
    let mut results: Vec<Option<BatchResult>> = jobs.iter().map(|_| None).collect();
    // Attempts first: a webhook they disable must not receive this batch's events.
    let mut state_events = Vec::new();
    let plain = plain_successes(jobs);
    if !plain.is_empty() {
        for (i, state) in apply_successes(&mut tx, jobs, &plain).await? {
            results[i] = Some(BatchResult::State(state));
        }
    }
    for (i, job) in jobs.iter().enumerate() {
        if let Job::Attempt(attempt, limit, _) = job
            && results[i].is_none()
        {
            let (state, event) = apply_attempt(&mut tx, attempt, *limit, now).await?;
            state_events.extend(event);
            results[i] = Some(BatchResult::State(state));
        }
    }
    let subscribers = match cache.get() {
        Some(subs) => subs,
        None => {
            let generation = cache.generation();
            let subs = Arc::new(active_subscriptions(&mut tx).await?);
            cache.store(generation, subs.clone());
            subs
        }
    };
    let mut queued: Vec<(&Event, Vec<i32>)> = Vec::new();
    for (job, slot) in jobs.iter().zip(results.iter_mut()) {
        if let Job::Event(event, _) = job {
            let targets = matching_webhooks(&subscribers, &event.name);
            *slot = Some(BatchResult::Queued(targets.len()));
            if !targets.is_empty() {
                queued.push((event, targets));
            }
        }
    }
    for event in &state_events {
        let targets = matching_webhooks(&subscribers, &event.name);
        if !targets.is_empty() {
            queued.push((event, targets));
        }
    }
    for chunk in queued.chunks(EVENTS_PER_INSERT) {
        insert_events(&mut tx, chunk).await?;
    }
    for (job, slot) in jobs.iter().zip(results.iter_mut()) {
        if let Job::Claim(c, _) = job {
            *slot = Some(BatchResult::Claimed(claim(&mut tx, c.at(now)).await?));
        }
    }
    tx.commit().await?;
    Ok(results
        .into_iter()
        .map(|r| r.unwrap_or(BatchResult::Queued(0)))
        .collect())
}

/// Events per multi-row INSERT: 8 parameters each, well under SQLite's 32,766.
const EVENTS_PER_INSERT: usize = 256;
/// Deliveries per multi-row INSERT: 5 parameters each.
const DELIVERIES_PER_INSERT: usize = 1024;

/// Indexes of the attempts that can be applied together: successes of webhooks that have no
/// failed attempt in this batch (with a failure in between, order matters for
/// `ConsecutiveErrors`, so those go one by one).
fn plain_successes(jobs: &[Job]) -> Vec<usize> {
    let failing: std::collections::HashSet<i32> = jobs
        .iter()
        .filter_map(|job| match job {
            Job::Attempt(a, _, _) if !a.success => Some(a.webhook_id),
            _ => None,
        })
        .collect();
    jobs.iter()
        .enumerate()
        .filter_map(|(i, job)| match job {
            Job::Attempt(a, _, _) if a.success && !failing.contains(&a.webhook_id) => Some(i),
            _ => None,
        })
        .collect()
}

/// Applies the successful attempts `indexes` of `jobs`: one UPDATE for their deliveries and
/// one per webhook for its counters. Returns (job index, webhook state).
async fn apply_successes(
    conn: &mut SqliteConnection,
    jobs: &[Job],
    indexes: &[usize],
) -> StoreResult<Vec<(usize, WebhookState)>> {
    let mut delivered = Vec::new();
    let mut per_webhook: HashMap<i32, i64> = HashMap::new();
    for &i in indexes {
        if let Job::Attempt(a, _, _) = &jobs[i] {
            if a.disposition == Disposition::Delivered {
                delivered.push(a.delivery_id);
            }
            *per_webhook.entry(a.webhook_id).or_default() += 1;
        }
    }
    sqlx::query(
        "UPDATE deliveries SET status = $1, locked_until = 0 \
         WHERE id IN (SELECT value FROM json_each($2))",
    )
    .bind(DELIVERED)
    .bind(to_json(&delivered))
    .execute(&mut *conn)
    .await?;
    let mut states = HashMap::with_capacity(per_webhook.len());
    for (webhook_id, calls) in per_webhook {
        let state: Option<i64> = sqlx::query_scalar(
            "UPDATE webhooks SET total_calls = total_calls + $1, consecutive_errors = 0 \
             WHERE id = $2 RETURNING state",
        )
        .bind(calls)
        .bind(webhook_id)
        .fetch_optional(&mut *conn)
        .await?;
        // None: deleted meanwhile.
        states.insert(
            webhook_id,
            state.map_or(WebhookState::Unknown, WebhookState::from_number),
        );
    }
    Ok(indexes
        .iter()
        .filter_map(|&i| match &jobs[i] {
            Job::Attempt(a, _, _) => Some((i, states[&a.webhook_id])),
            Job::Event(..) | Job::Claim(..) => None,
        })
        .collect())
}

/// (webhook id, subscribed events) of every webhook that takes new deliveries: Active ones,
/// and TooManyErrors ones, whose deliveries wait parked until a restart instead of being lost
/// (a Stopped webhook was stopped on purpose and gets none).
async fn active_subscriptions(conn: &mut SqliteConnection) -> StoreResult<Vec<(i32, Vec<String>)>> {
    let rows = sqlx::query("SELECT id, events FROM webhooks WHERE state IN ($1, $2)")
        .bind(WebhookState::Active as i64)
        .bind(WebhookState::TooManyErrors as i64)
        .fetch_all(&mut *conn)
        .await?;
    subscriptions_from_rows(&rows)
}

/// Stores `events`, each with one pending delivery per webhook of its targets: one multi-row
/// INSERT for the events and one per [`DELIVERIES_PER_INSERT`] deliveries, instead of two
/// statements per event.
async fn insert_events(
    conn: &mut SqliteConnection,
    events: &[(&Event, Vec<i32>)],
) -> StoreResult<()> {
    let mut insert = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
        "INSERT INTO events (event_id, name, primary_key, entity, changes, data, associate_id, occurred_at) ",
    );
    insert.push_values(events, |mut b, (event, _)| {
        b.push_bind(event.event_id.as_str())
            .push_bind(event.name.as_str())
            .push_bind(event.primary_key)
            .push_bind(event.entity.as_str())
            .push_bind(to_json(&event.changes))
            .push_bind(to_json(&event.field_values))
            .push_bind(event.associate_id)
            .push_bind(event.occurred_at);
    });
    insert.push(" RETURNING id, event_id");
    let rows = insert.build().fetch_all(&mut *conn).await?;
    let mut row_of = HashMap::with_capacity(rows.len());
    for row in &rows {
        row_of.insert(row.text("event_id")?, row.long("id")?);
    }
    let mut deliveries = Vec::new();
    for (event, targets) in events {
        let row = *row_of.get(&event.event_id).ok_or_else(|| {
            StoreError::Corrupt(format!("event {} was not inserted", event.event_id))
        })?;
        deliveries.extend(targets.iter().map(|w| (row, *w, event.occurred_at)));
    }
    for chunk in deliveries.chunks(DELIVERIES_PER_INSERT) {
        let mut insert = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT INTO deliveries (event_row, webhook_id, status, next_attempt_at, created_at) ",
        );
        insert.push_values(chunk, |mut b, (event_row, webhook_id, at)| {
            b.push_bind(*event_row)
                .push_bind(*webhook_id)
                .push_bind(PENDING)
                .push_bind(*at)
                .push_bind(*at);
        });
        insert.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Applies one attempt's outcome; returns the webhook's state and, if this attempt disabled
/// it, the `webhook{id}.errors` event to store.
async fn apply_attempt(
    conn: &mut SqliteConnection,
    a: &AttemptRecord,
    failures_to_disable: i32,
    now: Millis,
) -> StoreResult<(WebhookState, Option<Event>)> {
    match a.disposition {
        Disposition::Delivered => {
            sqlx::query("UPDATE deliveries SET status = $1, locked_until = 0 WHERE id = $2")
                .bind(DELIVERED)
                .bind(a.delivery_id)
                .execute(&mut *conn)
                .await?;
        }
        Disposition::KeepLease => {}
        Disposition::Requeue { due } => {
            sqlx::query(
                "UPDATE deliveries SET next_attempt_at = $1, locked_until = 0 WHERE id = $2",
            )
            .bind(due)
            .bind(a.delivery_id)
            .execute(&mut *conn)
            .await?;
        }
        Disposition::Dead => {
            sqlx::query("UPDATE deliveries SET status = $1, locked_until = 0 WHERE id = $2")
                .bind(DEAD)
                .bind(a.delivery_id)
                .execute(&mut *conn)
                .await?;
        }
    }
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
    let Some(row) = row else {
        return Ok((WebhookState::Unknown, None)); // deleted meanwhile
    };
    let state = WebhookState::from_number(row.try_get("state")?);
    let consecutive: i64 = row.try_get("consecutive_errors")?;
    let disable =
        !a.success && (a.gone || (a.counted && consecutive >= i64::from(failures_to_disable)));
    if !disable || state != WebhookState::Active {
        return Ok((state, None));
    }
    // `AND state = 1` makes the switch happen once, however many attempts race to it.
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

/// Leases due deliveries webhook by webhook, each through the `(webhook_id, status,
/// next_attempt_at)` index, so a claim costs what it returns, not the size of the backlog.
/// Runs inside the group-commit transaction.
async fn claim(conn: &mut SqliteConnection, c: Claim) -> StoreResult<Vec<ClaimedDelivery>> {
    let Claim {
        now,
        lease_until,
        limit,
        caps,
    } = c;
    let tx = conn;
    let ready = sqlx::query(
        "SELECT w.id AS webhook_id, (SELECT COUNT(*) FROM deliveries l \
           WHERE l.webhook_id = w.id AND l.status = $1 AND l.locked_until > $2) AS leased \
         FROM webhooks w WHERE w.state = $3 AND EXISTS (SELECT 1 FROM deliveries d \
           WHERE d.webhook_id = w.id AND d.status = $1 AND d.next_attempt_at <= $2 AND d.locked_until <= $2)",
    )
    .bind(PENDING)
    .bind(now)
    .bind(WebhookState::Active as i64)
    .fetch_all(&mut *tx)
    .await?;
    let mut claimed = Vec::new();
    let mut left = i64::try_from(limit).unwrap_or(i64::MAX);
    for row in &ready {
        let webhook_id: i32 = row.try_get("webhook_id")?;
        let room = caps.of(webhook_id) - row.try_get::<i64, _>("leased")?;
        let take = room.min(left);
        if take <= 0 {
            continue;
        }
        let rows = sqlx::query(
            "UPDATE deliveries SET locked_until = $1, attempts = attempts + 1 WHERE id IN ( \
               SELECT id FROM deliveries WHERE webhook_id = $2 AND status = $3 \
               AND next_attempt_at <= $4 AND locked_until <= $4 ORDER BY next_attempt_at, id LIMIT $5) \
             RETURNING id, webhook_id, attempts, event_row",
        )
        .bind(lease_until)
        .bind(webhook_id)
        .bind(PENDING)
        .bind(now)
        .bind(take)
        .fetch_all(&mut *tx)
        .await?;
        left -= i64::try_from(rows.len()).unwrap_or(0);
        claimed.extend(rows);
        if left <= 0 {
            break;
        }
    }
    load_claims(tx, &claimed).await
}

/// The events of claimed delivery rows.
async fn load_claims(
    conn: &mut SqliteConnection,
    claimed: &[SqliteRow],
) -> StoreResult<Vec<ClaimedDelivery>> {
    if claimed.is_empty() {
        return Ok(Vec::new());
    }
    let mut event_rows = Vec::with_capacity(claimed.len());
    for row in claimed {
        event_rows.push(row.try_get::<i64, _>("event_row")?);
    }
    let sql =
        format!("SELECT {EVENT_COLUMNS} FROM events WHERE id IN (SELECT value FROM json_each($1))");
    let events = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(to_json(&event_rows))
        .fetch_all(&mut *conn)
        .await?;
    let decoded = decode_claims(claimed, &events)?;
    set_aside(&mut *conn, &decoded.unreadable).await?;
    Ok(decoded.claims)
}

/// Moves deliveries that cannot be sent to the dead-letter list, each with its reason.
async fn set_aside(conn: &mut SqliteConnection, deliveries: &[(i64, String)]) -> StoreResult<()> {
    for (id, reason) in deliveries {
        sqlx::query(
            "UPDATE deliveries SET status = $1, dead_reason = $2, locked_until = 0 WHERE id = $3",
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
impl Store for SqliteStore {
    async fn user_count(&self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.read)
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
        .bind(crate::domain::now_millis())
        .fetch_one(&self.write)
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
        sqlx::query("SELECT id, name, full_name, password_hash FROM users WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.read)
            .await?
            .as_ref()
            .map(user_from_row)
            .transpose()
    }

    async fn user_by_id(&self, id: i64) -> StoreResult<Option<UserRecord>> {
        sqlx::query("SELECT id, name, full_name, password_hash FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
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
        .bind(crate::domain::now_millis())
        .fetch_one(&self.write)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::Conflict(format!("application '{name}' or its token"))
            } else {
                e.into()
            }
        })?;
        Ok(AppRecord {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
        })
    }

    async fn app_by_token_hash(&self, token_hash: &str) -> StoreResult<Option<AppRecord>> {
        let row = sqlx::query("SELECT id, name FROM apps WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(&self.read)
            .await?;
        row.map(|r| {
            Ok(AppRecord {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
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
        let now = crate::domain::now_millis();
        let mut tx = self.write.begin().await?;
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
            .fetch_optional(&self.read)
            .await?;
        row.map(|r| Ok((r.try_get("user_id")?, r.try_get("expires_at")?)))
            .transpose()
    }

    async fn extend_ticket(&self, ticket_hash: &str, expires_at: Millis) -> StoreResult<()> {
        sqlx::query("UPDATE tickets SET expires_at = $1 WHERE ticket_hash = $2")
            .bind(expires_at)
            .bind(ticket_hash)
            .execute(&self.write)
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
        let id = bind_definition!(query, w, self.secrets.get()?)
            .fetch_one(&self.write)
            .await?;
        self.subscriptions.invalidate();
        Ok(id)
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
        let mut tx = self.write.begin().await?;
        let before: Option<i64> = sqlx::query_scalar("SELECT state FROM webhooks WHERE id = $1")
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
        }
        tx.commit().await?;
        self.subscriptions.invalidate();
        Ok(done.rows_affected() > 0)
    }

    async fn delete_webhook(&self, id: i32) -> StoreResult<bool> {
        let mut tx = self.write.begin().await?;
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
        self.subscriptions.invalidate();
        Ok(done.rows_affected() > 0)
    }

    async fn webhook(&self, id: i32) -> StoreResult<Option<WebhookRecord>> {
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.read)
            .await?
            .as_ref()
            .map(|row| webhook_from_row(row, self.secrets.get()?))
            .transpose()
    }

    async fn webhooks(&self) -> StoreResult<Vec<WebhookRecord>> {
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks ORDER BY id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.read)
            .await?;
        readable_webhooks(&rows, self.secrets.get()?)
    }

    async fn record_event(&self, event: &Event) -> StoreResult<usize> {
        if let Some(subs) = self.subscriptions.get()
            && matching_webhooks(&subs, &event.name).is_empty()
        {
            return Ok(0); // nobody subscribes: nothing to store, no trip to the writer
        }
        self.commits.record_event(event.clone()).await
    }

    async fn queue_stats(&self) -> StoreResult<QueueStats> {
        let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM deliveries GROUP BY status")
            .fetch_all(&self.read)
            .await?;
        let mut stats = QueueStats::default();
        for row in rows {
            let n: i64 = row.try_get("n")?;
            match row.try_get::<i64, _>("status")? {
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
        let mut conn = self.write.acquire().await?;
        set_aside(&mut conn, deliveries).await
    }

    async fn release_leases(&self, ids: &[i64]) -> StoreResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        sqlx::query("UPDATE deliveries SET locked_until = 0 WHERE id IN (SELECT value FROM json_each($1)) AND status = $2")
            .bind(to_json(&ids))
            .bind(PENDING)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn sweep(&self, now: Millis, cutoff: Millis) -> StoreResult<u64> {
        let mut tx = self.write.begin().await?;
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

    async fn dead_letters(
        &self,
        webhook_id: Option<i32>,
        limit: i64,
    ) -> StoreResult<Vec<DeadLetter>> {
        let rows = sqlx::query(
            "SELECT d.id, d.webhook_id, e.event_id, e.name, d.attempts, d.created_at, d.dead_reason \
             FROM deliveries d JOIN events e ON e.id = d.event_row \
             WHERE d.status = $1 AND ($2 IS NULL OR d.webhook_id = $2) ORDER BY d.id LIMIT $3",
        )
        .bind(DEAD)
        .bind(webhook_id)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DeadLetter {
                    delivery_id: r.try_get("id")?,
                    webhook_id: r.try_get("webhook_id")?,
                    event_id: r.try_get("event_id")?,
                    event_name: r.try_get("name")?,
                    attempts: r.try_get("attempts")?,
                    created_at: r.try_get("created_at")?,
                    reason: r.try_get("dead_reason")?,
                })
            })
            .collect()
    }

    async fn replay_dead(&self, webhook_id: Option<i32>, now: Millis) -> StoreResult<u64> {
        let done = sqlx::query(
            "UPDATE deliveries SET status = $1, next_attempt_at = $2, created_at = $2, locked_until = 0, \
             dead_reason = NULL WHERE status = $3 AND ($4 IS NULL OR webhook_id = $4)",
        )
        .bind(PENDING)
        .bind(now)
        .bind(DEAD)
        .bind(webhook_id)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected())
    }

    async fn unlock_secrets(&self, secrets: SecretBox) -> StoreResult<u64> {
        let mut conn = self.write.acquire().await?;
        // Sealing replaces plaintext: secure_delete zeroes the space the old values leave, and
        // the checkpoint below copies the result into the database file and empties the WAL,
        // so neither file keeps a copy of a plaintext Secret.
        sqlx::query("PRAGMA secure_delete = ON")
            .execute(&mut *conn)
            .await?;
        let sealed = unlock_sqlite(&mut conn, &secrets).await;
        let reset = sqlx::query("PRAGMA secure_delete = OFF")
            .execute(&mut *conn)
            .await;
        let sealed = sealed?;
        reset?;
        if sealed > 0 {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&mut *conn)
                .await?;
        }
        self.secrets.set(secrets);
        Ok(sealed)
    }

    async fn recover_leases(&self) -> StoreResult<u64> {
        // SQLite serves one node: a lease still set when the server starts belongs to a
        // process that died, so its deliveries are due again now, not when the lease ends.
        let done = sqlx::query(
            "UPDATE deliveries SET locked_until = 0 WHERE status = $1 AND locked_until > 0",
        )
        .bind(PENDING)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected())
    }
}
