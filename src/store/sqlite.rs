//! The embedded SQLite store: one file, WAL, one writer connection (SQLite allows one writer;
//! queueing writes on it avoids `SQLITE_BUSY`), a group-commit writer task that batches events
//! and attempt outcomes into shared transactions, and a small pool of readers.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, SqlSafeStr};
use tokio::sync::{mpsc, oneshot};

use super::{
    AppRecord, AttemptRecord, ClaimedDelivery, DeadLetter, Disposition, QueueStats, Store,
    StoreError, StoreResult, UserRecord,
};
use crate::domain::{
    Event, Millis, NotifyVia, NotifyWhen, TypedValue, WebhookRecord, WebhookState, WebhookUsage,
    now_millis, subscription_matches,
};

/// Delivery row states.
pub(crate) const PENDING: i64 = 0;
pub(crate) const DELIVERED: i64 = 1;
pub(crate) const DEAD: i64 = 2;

const WEBHOOK_COLUMNS: &str = "id, name, events, target_url, secret, state, type, headers, \
    properties, registered, registered_associate_id, updated, updated_associate_id, errors_email, \
    error_emails, error_associates, description, notify_via, notify_when, app_id, total_calls, \
    total_errors, consecutive_errors, last_error";

/// Most jobs the group-commit writer puts in one transaction.
const MAX_BATCH: usize = 512;

/// The SQLite implementation of [`Store`].
pub struct SqliteStore {
    /// The single writing connection: every INSERT/UPDATE/DELETE goes through it.
    write: SqlitePool,
    /// Readers run beside the writer thanks to WAL.
    read: SqlitePool,
    /// The group-commit writer: events and attempt outcomes arriving together share one
    /// transaction, so ingest and delivery do not pay one fsync each.
    jobs: mpsc::Sender<Job>,
}

/// A write for the group-commit writer, with where to send its result after the commit.
enum Job {
    Event(Event, oneshot::Sender<StoreResult<usize>>),
    Attempt(
        AttemptRecord,
        i32,
        oneshot::Sender<StoreResult<WebhookState>>,
    ),
}

impl Job {
    fn fail(self, message: &str) {
        let err = || StoreError::Corrupt(format!("write batch failed: {message}"));
        match self {
            Job::Event(_, tx) => {
                let _ = tx.send(Err(err()));
            }
            Job::Attempt(_, _, tx) => {
                let _ = tx.send(Err(err()));
            }
        }
    }
}

fn migrator() -> Migrator {
    Migrator::with_migrations(vec![Migration::new(
        1,
        "init".into(),
        MigrationType::Simple,
        include_str!("../../migrations/sqlite/0001_init.sql").into_sql_str(),
        false,
    )])
}

impl SqliteStore {
    /// Opens (creating if missing) and migrates the database at `url` (`sqlite://PATH`).
    pub async fn open(url: &str) -> StoreResult<SqliteStore> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a commit is on disk before SignalEvent answers, even across a power cut.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        migrator().run(&write).await?;
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.read_only(true))
            .await?;
        let (jobs, queue) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(writer(write.clone(), queue));
        Ok(SqliteStore { write, read, jobs })
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
async fn writer(pool: SqlitePool, mut queue: mpsc::Receiver<Job>) {
    while let Some(first) = queue.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        match apply_batch(&pool, &jobs).await {
            Ok(results) => {
                for (job, result) in jobs.into_iter().zip(results) {
                    match (job, result) {
                        (Job::Event(_, tx), BatchResult::Queued(n)) => {
                            let _ = tx.send(Ok(n));
                        }
                        (Job::Attempt(_, _, tx), BatchResult::State(s)) => {
                            let _ = tx.send(Ok(s));
                        }
                        (job, _) => job.fail("mismatched result"),
                    }
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

enum BatchResult {
    Queued(usize),
    State(WebhookState),
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

async fn apply_batch(pool: &SqlitePool, jobs: &[Job]) -> StoreResult<Vec<BatchResult>> {
    let durable = jobs.iter().any(|j| matches!(j, Job::Event(..)));
    on_writer!(pool, durable, |conn| apply_jobs(conn, jobs).await)
}

async fn apply_jobs(conn: &mut SqliteConnection, jobs: &[Job]) -> StoreResult<Vec<BatchResult>> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    let now = now_millis();
    let mut results = Vec::with_capacity(jobs.len());
    // Attempts first: a webhook they disable must not receive this batch's events.
    let mut state_events = Vec::new();
    for job in jobs {
        if let Job::Attempt(attempt, limit, _) = job {
            let (state, event) = apply_attempt(&mut tx, attempt, *limit, now).await?;
            state_events.extend(event);
            results.push(Some(BatchResult::State(state)));
        } else {
            results.push(None);
        }
    }
    let subscribers = active_subscriptions(&mut tx).await?;
    for (job, slot) in jobs.iter().zip(results.iter_mut()) {
        if let Job::Event(event, _) = job {
            *slot = Some(BatchResult::Queued(
                insert_event(&mut tx, event, &subscribers).await?,
            ));
        }
    }
    for event in &state_events {
        insert_event(&mut tx, event, &subscribers).await?;
    }
    tx.commit().await?;
    Ok(results
        .into_iter()
        .map(|r| r.unwrap_or(BatchResult::Queued(0)))
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
    rows.iter()
        .map(|row| {
            let events: String = row.try_get("events")?;
            Ok((row.try_get("id")?, from_json(&events, "webhook events")?))
        })
        .collect()
}

/// Stores `event` with one delivery per subscriber it matches; nothing when none matches.
async fn insert_event(
    conn: &mut SqliteConnection,
    event: &Event,
    subscribers: &[(i32, Vec<String>)],
) -> StoreResult<usize> {
    let targets: Vec<i32> = subscribers
        .iter()
        .filter(|(_, subs)| subscription_matches(subs.iter().map(String::as_str), &event.name))
        .map(|(id, _)| *id)
        .collect();
    if targets.is_empty() {
        return Ok(0);
    }
    let event_row: i64 = sqlx::query_scalar(
        "INSERT INTO events (event_id, name, primary_key, entity, changes, data, associate_id, occurred_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(&event.event_id)
    .bind(&event.name)
    .bind(event.primary_key)
    .bind(&event.entity)
    .bind(to_json(&event.changes))
    .bind(to_json(&event.field_values))
    .bind(event.associate_id)
    .bind(event.occurred_at)
    .fetch_one(&mut *conn)
    .await?;
    let mut insert = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
        "INSERT INTO deliveries (event_row, webhook_id, status, next_attempt_at, created_at) ",
    );
    insert.push_values(&targets, |mut b, webhook_id| {
        b.push_bind(event_row)
            .push_bind(*webhook_id)
            .push_bind(PENDING)
            .push_bind(event.occurred_at)
            .push_bind(event.occurred_at);
    });
    insert.build().execute(&mut *conn).await?;
    Ok(targets.len())
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
             consecutive_errors = consecutive_errors + 1, last_error = $2 \
             WHERE id = $1 RETURNING state, consecutive_errors",
        )
        .bind(a.webhook_id)
        .bind(&a.report)
        .fetch_optional(&mut *conn)
        .await?
    };
    let Some(row) = row else {
        return Ok((WebhookState::Unknown, None)); // deleted meanwhile
    };
    let state = WebhookState::from_number(row.try_get("state")?);
    let consecutive: i64 = row.try_get("consecutive_errors")?;
    let disable = !a.success && (a.gone || consecutive >= i64::from(failures_to_disable));
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
            let record = webhook_from_row(&row)?;
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

fn to_json<T: serde::Serialize>(value: &T) -> String {
    // Serialising plain strings, numbers and enums to JSON cannot fail.
    serde_json::to_string(value).unwrap_or_else(|_| "[]".to_string())
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

fn user_from_row(row: &SqliteRow) -> StoreResult<UserRecord> {
    Ok(UserRecord {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        full_name: row.try_get("full_name")?,
        password_hash: row.try_get("password_hash")?,
    })
}

fn webhook_from_row(row: &SqliteRow) -> StoreResult<WebhookRecord> {
    let events: String = row.try_get("events")?;
    let headers: String = row.try_get("headers")?;
    let properties: String = row.try_get("properties")?;
    let error_emails: String = row.try_get("error_emails")?;
    let error_associates: String = row.try_get("error_associates")?;
    Ok(WebhookRecord {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        events: from_json(&events, "webhook events")?,
        target_url: row.try_get("target_url")?,
        secret: row.try_get("secret")?,
        state: WebhookState::from_number(row.try_get("state")?),
        kind: row.try_get("type")?,
        headers: from_json(&headers, "webhook headers")?,
        properties: from_json(&properties, "webhook properties")?,
        registered: row.try_get("registered")?,
        registered_associate_id: row.try_get("registered_associate_id")?,
        updated: row.try_get("updated")?,
        updated_associate_id: row.try_get("updated_associate_id")?,
        errors_email: row.try_get("errors_email")?,
        error_emails: from_json(&error_emails, "webhook error_emails")?,
        error_associates: from_json(&error_associates, "webhook error_associates")?,
        description: row.try_get("description")?,
        notify_via: NotifyVia::from_number(row.try_get("notify_via")?),
        notify_when: NotifyWhen(row.try_get::<i64, _>("notify_when")?.clamp(0, 3) as u8),
        app_id: row.try_get("app_id")?,
        usage: WebhookUsage {
            total_calls: row.try_get("total_calls")?,
            total_errors: row.try_get("total_errors")?,
            consecutive_errors: row.try_get("consecutive_errors")?,
            last_error: row.try_get("last_error")?,
        },
    })
}

/// Binds the definition columns of a webhook, in `WEBHOOK_COLUMNS` order from `name` to `app_id`.
macro_rules! bind_definition {
    ($query:expr, $w:expr) => {
        $query
            .bind(&$w.name)
            .bind(to_json(&$w.events))
            .bind(&$w.target_url)
            .bind(&$w.secret)
            .bind($w.state as i64)
            .bind(&$w.kind)
            .bind(to_json(&$w.headers))
            .bind(to_json(&$w.properties))
            .bind($w.registered)
            .bind($w.registered_associate_id)
            .bind($w.updated)
            .bind($w.updated_associate_id)
            .bind(&$w.errors_email)
            .bind(to_json(&$w.error_emails))
            .bind(to_json(&$w.error_associates))
            .bind(&$w.description)
            .bind($w.notify_via as i64)
            .bind(i64::from($w.notify_when.0))
            .bind($w.app_id)
    };
}

/// Leases due deliveries webhook by webhook, each through the `(webhook_id, status,
/// next_attempt_at)` index, so a claim costs what it returns, not the size of the backlog.
async fn claim(
    conn: &mut SqliteConnection,
    now: Millis,
    lease_until: Millis,
    limit: usize,
    per_webhook: usize,
) -> StoreResult<Vec<ClaimedDelivery>> {
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
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
        let room =
            i64::try_from(per_webhook).unwrap_or(i64::MAX) - row.try_get::<i64, _>("leased")?;
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
        .bind(row.try_get::<i32, _>("webhook_id")?)
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
    let out = load_claims(&mut tx, &claimed).await?;
    tx.commit().await?;
    Ok(out)
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
    let events = sqlx::query(
        "SELECT id, event_id, name, primary_key, entity, changes, data, associate_id, occurred_at \
         FROM events WHERE id IN (SELECT value FROM json_each($1))",
    )
    .bind(to_json(&event_rows))
    .fetch_all(&mut *conn)
    .await?;
    let mut by_row = std::collections::HashMap::with_capacity(events.len());
    for row in &events {
        let changes: String = row.try_get("changes")?;
        let data: String = row.try_get("data")?;
        let event = Event {
            event_id: row.try_get("event_id")?,
            name: row.try_get("name")?,
            primary_key: row.try_get("primary_key")?,
            entity: row.try_get("entity")?,
            changes: from_json(&changes, "event changes")?,
            field_values: from_json::<Vec<(String, TypedValue)>>(&data, "event data")?,
            associate_id: row.try_get("associate_id")?,
            occurred_at: row.try_get("occurred_at")?,
        };
        by_row.insert(row.try_get::<i64, _>("id")?, event);
    }
    let mut out = Vec::with_capacity(claimed.len());
    for row in claimed {
        let event_row: i64 = row.try_get("event_row")?;
        let Some(event) = by_row.get(&event_row) else {
            return Err(StoreError::Corrupt(format!(
                "delivery without event {event_row}"
            )));
        };
        let attempts: i64 = row.try_get("attempts")?;
        out.push(ClaimedDelivery {
            id: row.try_get("id")?,
            webhook_id: row.try_get("webhook_id")?,
            attempts_before: u32::try_from(attempts - 1).unwrap_or(0),
            event: event.clone(),
        });
    }
    Ok(out)
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
        Ok(bind_definition!(query, w).fetch_one(&self.write).await?)
    }

    async fn update_webhook(&self, w: &WebhookRecord) -> StoreResult<bool> {
        let query = sqlx::query(
            "UPDATE webhooks SET name = $1, events = $2, target_url = $3, secret = $4, state = $5, \
             type = $6, headers = $7, properties = $8, registered = $9, registered_associate_id = $10, \
             updated = $11, updated_associate_id = $12, errors_email = $13, error_emails = $14, \
             error_associates = $15, description = $16, notify_via = $17, notify_when = $18, \
             app_id = $19 WHERE id = $20",
        );
        let mut tx = self.write.begin().await?;
        let before: Option<i64> = sqlx::query_scalar("SELECT state FROM webhooks WHERE id = $1")
            .bind(w.id)
            .fetch_optional(&mut *tx)
            .await?;
        let done = bind_definition!(query, w)
            .bind(w.id)
            .execute(&mut *tx)
            .await?;
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
        Ok(done.rows_affected() > 0)
    }

    async fn webhook(&self, id: i32) -> StoreResult<Option<WebhookRecord>> {
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.read)
            .await?
            .as_ref()
            .map(webhook_from_row)
            .transpose()
    }

    async fn webhooks(&self) -> StoreResult<Vec<WebhookRecord>> {
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks ORDER BY id");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(webhook_from_row)
            .collect()
    }

    async fn record_event(&self, event: &Event) -> StoreResult<usize> {
        let event = event.clone();
        self.submit(|tx| Job::Event(event, tx)).await
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
        per_webhook: usize,
    ) -> StoreResult<Vec<ClaimedDelivery>> {
        on_writer!(self.write, false, |conn| {
            claim(conn, now, lease_until, limit, per_webhook).await
        })
    }

    async fn record_attempt(
        &self,
        attempt: AttemptRecord,
        failures_to_disable: i32,
    ) -> StoreResult<WebhookState> {
        self.submit(|tx| Job::Attempt(attempt, failures_to_disable, tx))
            .await
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
            "SELECT d.id, d.webhook_id, e.event_id, e.name, d.attempts, d.created_at \
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
                })
            })
            .collect()
    }

    async fn replay_dead(&self, webhook_id: Option<i32>, now: Millis) -> StoreResult<u64> {
        let done = sqlx::query(
            "UPDATE deliveries SET status = $1, next_attempt_at = $2, created_at = $2, locked_until = 0 \
             WHERE status = $3 AND ($4 IS NULL OR webhook_id = $4)",
        )
        .bind(PENDING)
        .bind(now)
        .bind(DEAD)
        .bind(webhook_id)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected())
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
