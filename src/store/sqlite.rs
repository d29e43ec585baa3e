//! The embedded SQLite store: one file, WAL, one writer connection (SQLite allows one writer;
//! queueing writes in the pool avoids `SQLITE_BUSY`) and a small pool of readers.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Row, SqlSafeStr};

use super::{AppRecord, NewEvent, QueueStats, Store, StoreError, StoreResult, UserRecord};
use crate::domain::{
    Millis, NotifyVia, NotifyWhen, WebhookRecord, WebhookState, WebhookUsage, subscription_matches,
};

/// Delivery row states.
pub(crate) const PENDING: i64 = 0;
pub(crate) const DELIVERED: i64 = 1;
pub(crate) const DEAD: i64 = 2;

const WEBHOOK_COLUMNS: &str = "id, name, events, target_url, secret, state, type, headers, \
    properties, registered, registered_associate_id, updated, updated_associate_id, errors_email, \
    error_emails, error_associates, description, notify_via, notify_when, app_id, total_calls, \
    total_errors, consecutive_errors, last_error";

/// The SQLite implementation of [`Store`].
pub struct SqliteStore {
    /// The single writing connection: every INSERT/UPDATE/DELETE goes through it.
    write: SqlitePool,
    /// Readers run beside the writer thanks to WAL.
    read: SqlitePool,
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
        Ok(SqliteStore { write, read })
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
        let done = bind_definition!(query, w)
            .bind(w.id)
            .execute(&self.write)
            .await?;
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

    async fn record_event(&self, event: &NewEvent) -> StoreResult<usize> {
        let mut tx = self.write.begin().await?;
        let rows = sqlx::query("SELECT id, events FROM webhooks WHERE state = $1")
            .bind(WebhookState::Active as i64)
            .fetch_all(&mut *tx)
            .await?;
        let mut targets = Vec::new();
        for row in &rows {
            let events: Vec<String> = from_json(&row.try_get::<String, _>("events")?, "events")?;
            if subscription_matches(events.iter().map(String::as_str), &event.name) {
                targets.push(row.try_get::<i32, _>("id")?);
            }
        }
        if targets.is_empty() {
            return Ok(0);
        }
        let event_row: i64 = sqlx::query_scalar(
            "INSERT INTO events (event_id, name, primary_key, data, associate_id, occurred_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(&event.event_id)
        .bind(&event.name)
        .bind(event.primary_key)
        .bind(to_json(&event.data))
        .bind(event.associate_id)
        .bind(event.occurred_at)
        .fetch_one(&mut *tx)
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
        insert.build().execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(targets.len())
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
}
