//! Persistence behind one trait, so SQLite (embedded, the default) and PostgreSQL (many nodes)
//! are interchangeable. Business rules stay in the agent; the store only reads and writes.

mod sqlite;

use async_trait::async_trait;

use crate::domain::{Millis, TypedValue, WebhookRecord};

pub use sqlite::SqliteStore;

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
    #[error("unsupported database URL '{0}': use sqlite://PATH")]
    UnsupportedUrl(String),
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

/// An event accepted by SignalEvent, to be delivered to every matching webhook.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// The GUID receivers see as `EventId`, stable across every attempt.
    pub event_id: String,
    pub name: String,
    pub primary_key: i32,
    pub data: Vec<(String, TypedValue)>,
    pub associate_id: i32,
    pub occurred_at: Millis,
}

/// Queue counts, for `/metrics` and for tests that check what survived a restart.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueStats {
    pub pending: i64,
    pub delivered: i64,
    pub dead: i64,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    async fn user_count(&self) -> StoreResult<i64>;
    async fn insert_user(
        &self,
        name: &str,
        full_name: &str,
        password_hash: &str,
    ) -> StoreResult<UserRecord>;
    async fn user_by_name(&self, name: &str) -> StoreResult<Option<UserRecord>>;
    async fn user_by_id(&self, id: i64) -> StoreResult<Option<UserRecord>>;

    async fn insert_app(&self, name: &str, token_hash: &str) -> StoreResult<AppRecord>;
    async fn app_by_token_hash(&self, token_hash: &str) -> StoreResult<Option<AppRecord>>;

    async fn insert_ticket(
        &self,
        ticket_hash: &str,
        user_id: i64,
        expires_at: Millis,
    ) -> StoreResult<()>;
    /// The user and expiry of a ticket, if it exists.
    async fn ticket(&self, ticket_hash: &str) -> StoreResult<Option<(i64, Millis)>>;
    async fn extend_ticket(&self, ticket_hash: &str, expires_at: Millis) -> StoreResult<()>;

    /// Inserts a webhook (its `id` is ignored) and returns the new id.
    async fn insert_webhook(&self, webhook: &WebhookRecord) -> StoreResult<i32>;
    /// Replaces the definition of webhook `webhook.id`; usage counters are left as they are.
    async fn update_webhook(&self, webhook: &WebhookRecord) -> StoreResult<bool>;
    /// Deletes a webhook and its undelivered deliveries.
    async fn delete_webhook(&self, id: i32) -> StoreResult<bool>;
    async fn webhook(&self, id: i32) -> StoreResult<Option<WebhookRecord>>;
    async fn webhooks(&self) -> StoreResult<Vec<WebhookRecord>>;

    /// In one transaction: stores `event` and one pending delivery per Active webhook whose
    /// subscriptions match it (`domain::subscription_matches`). Returns the number of deliveries;
    /// with none, nothing is stored.
    async fn record_event(&self, event: &NewEvent) -> StoreResult<usize>;
    async fn queue_stats(&self) -> StoreResult<QueueStats>;
}

/// Opens the store named by a `--database` URL, creating and migrating it as needed.
pub async fn open(url: &str) -> StoreResult<std::sync::Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(std::sync::Arc::new(SqliteStore::open(url).await?))
    } else {
        Err(StoreError::UnsupportedUrl(url.to_string()))
    }
}
