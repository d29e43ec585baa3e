//! SQLite's side of group commit: the batch transaction on the one write connection (without
//! an fsync unless it holds events), cached subscriptions, and multi-row INSERTs.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnection, SqlitePool};

use crate::domain::Event;
use crate::store::group_commit::{ApplyBatch, BatchResult, BatchSql, Job, is_durable, run_batch};
use crate::store::outbox_sql::subscriptions;
use crate::store::record_order::{new_deliveries, status_sql};
use crate::store::rows::{PENDING, StoreRow, to_json};
use crate::store::sql::{Arg, Conn};
use crate::store::subscriptions::{SubscriptionCache, Subscriptions, Target};
use crate::store::{StoreError, StoreResult};

/// Events per multi-row INSERT: 8 parameters each, well under SQLite's 32,766.
const EVENTS_PER_INSERT: usize = 256;
/// Deliveries per multi-row INSERT: 5 parameters each.
const DELIVERIES_PER_INSERT: usize = 1024;

/// The batch side of group commit: the write connection.
pub(super) struct SqliteBatches {
    pub(super) write: SqlitePool,
    pub(super) subscriptions: Arc<SubscriptionCache>,
}

#[async_trait]
impl ApplyBatch for SqliteBatches {
    async fn apply(&self, jobs: &[Job]) -> StoreResult<Vec<BatchResult>> {
        let mut conn = self.write.acquire().await?;
        let durable = is_durable(jobs);
        // Unless durable, the commit skips the fsync (`synchronous=NORMAL`; WAL keeps it atomic
        // and ordered, and the next durable commit makes it durable too).
        if !durable {
            sqlx::query("PRAGMA synchronous = NORMAL")
                .execute(&mut *conn)
                .await?;
        }
        let result = async {
            let mut tx = sqlx::Connection::begin(&mut *conn).await?;
            let results = run_batch(self, &mut tx, jobs).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(results)
        }
        .await;
        if !durable {
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
    }
}

#[async_trait]
impl BatchSql for SqliteBatches {
    type Conn = SqliteConnection;

    async fn subscriptions(&self, conn: &mut SqliteConnection) -> StoreResult<Subscriptions> {
        if let Some(subs) = self.subscriptions.get() {
            return Ok(subs);
        }
        let generation = self.subscriptions.generation();
        let subs = Arc::new(subscriptions(conn).await?);
        self.subscriptions.store(generation, subs.clone());
        Ok(subs)
    }

    /// One multi-row INSERT per [`EVENTS_PER_INSERT`] events and one per
    /// [`DELIVERIES_PER_INSERT`] deliveries, instead of two statements per event.
    async fn insert_events(
        &self,
        conn: &mut SqliteConnection,
        events: &[(&Event, Vec<Target>)],
    ) -> StoreResult<()> {
        for chunk in events.chunks(EVENTS_PER_INSERT) {
            insert_events(conn, chunk).await?;
        }
        Ok(())
    }
}

async fn insert_events(
    conn: &mut SqliteConnection,
    events: &[(&Event, Vec<Target>)],
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
    let deliveries = new_deliveries(events, &row_of)?;
    let (ordered, unordered): (Vec<_>, Vec<_>) =
        deliveries.iter().partition(|d| d.record_key.is_some());
    for chunk in unordered.chunks(DELIVERIES_PER_INSERT) {
        let mut insert = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT INTO deliveries (event_row, webhook_id, status, next_attempt_at, created_at) ",
        );
        insert.push_values(chunk, |mut b, d| {
            b.push_bind(d.event_row)
                .push_bind(d.webhook_id)
                .push_bind(PENDING)
                .push_bind(d.at)
                .push_bind(d.at);
        });
        insert.build().execute(&mut *conn).await?;
    }
    // An ordered delivery's status depends on its record's open deliveries: one statement
    // each (in order, so each sees the ones before it).
    let sql = format!(
        "INSERT INTO deliveries (event_row, webhook_id, status, next_attempt_at, created_at, record_key) \
         VALUES ($1, $2, {}, $5, $5, $3)",
        status_sql("$2", "$3", "$4")
    );
    for d in ordered {
        conn.execute(
            &sql,
            &[
                Arg::Long(d.event_row),
                Arg::Int(d.webhook_id),
                Arg::OptText(d.record_key),
                Arg::Bool(d.behind),
                Arg::Long(d.at),
            ],
        )
        .await?;
    }
    Ok(())
}
