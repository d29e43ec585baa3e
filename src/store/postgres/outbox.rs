//! PostgreSQL's side of group commit: the batch transaction (retried when it loses a
//! deadlock), and a batch's events and deliveries inserted with one `UNNEST` statement each.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use sqlx::postgres::{PgConnection, PgPool};

use crate::domain::Event;
use crate::store::group_commit::{ApplyBatch, BatchResult, BatchSql, Job, is_durable, run_batch};
use crate::store::record_order::{NewDelivery, new_deliveries, status_sql};
use crate::store::rows::{StoreRow, to_json};
use crate::store::subscriptions::Target;
use crate::store::{AttemptRecord, StoreError, StoreResult};

/// The batch side of group commit.
pub(super) struct PgBatches {
    pub(super) pool: PgPool,
    /// The node its claims lease for.
    pub(super) node: Arc<str>,
}

#[async_trait]
impl ApplyBatch for PgBatches {
    async fn apply(&self, jobs: &[Job]) -> StoreResult<Vec<BatchResult>> {
        // Batches of different nodes lock webhook rows in id order, but other writers (a user
        // saving a webhook, a sweep) may still collide: a deadlock victim is simply retried.
        let mut tries = 0;
        loop {
            match self.apply_once(jobs).await {
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

impl PgBatches {
    async fn apply_once(&self, jobs: &[Job]) -> StoreResult<Vec<BatchResult>> {
        let mut tx = self.pool.begin().await?;
        if !is_durable(jobs) {
            // Only leases and attempt outcomes: losing them to a crash means a redelivery,
            // never a lost event, so this commit does not wait for the WAL flush.
            sqlx::query("SET LOCAL synchronous_commit = off")
                .execute(&mut *tx)
                .await?;
        }
        let results = run_batch(self, &mut tx, jobs).await?;
        tx.commit().await?;
        Ok(results)
    }
}

#[async_trait]
impl BatchSql for PgBatches {
    type Conn = PgConnection;

    fn node(&self) -> Option<&str> {
        Some(&self.node)
    }

    /// One statement whatever the batch size: the same text every time, so it is planned
    /// once per connection (a multi-row VALUES list is a new statement for each batch size,
    /// and planning one of 256 rows costs more than running it).
    async fn insert_attempts(
        &self,
        conn: &mut PgConnection,
        attempts: &[&AttemptRecord],
    ) -> StoreResult<()> {
        let column =
            |f: fn(&AttemptRecord) -> String| attempts.iter().map(|a| f(a)).collect::<Vec<_>>();
        let long = |f: fn(&AttemptRecord) -> i64| attempts.iter().map(|a| f(a)).collect::<Vec<_>>();
        // Each row's number is its delivery's logged attempts plus one (a delivery's attempts
        // are recorded one after the other, so no two of one delivery meet in a batch).
        sqlx::query(
            "INSERT INTO attempts (delivery_id, webhook_id, event_id, event_name, attempt, trigger_kind, \
             started_at, duration_ms, http_status, error_class, response, next_attempt_at) \
             SELECT u.d, u.w, u.eid, u.ename, \
                    (SELECT COUNT(*) + 1 FROM attempts a WHERE a.delivery_id = u.d), \
                    u.tr, u.st, u.du, u.hs, u.ec, u.re, u.na \
             FROM UNNEST($1::bigint[], $2::int[], $3::text[], $4::text[], $5::text[], $6::bigint[], \
                         $7::bigint[], $8::int[], $9::text[], $10::text[], $11::bigint[]) \
                  AS u(d, w, eid, ename, tr, st, du, hs, ec, re, na)",
        )
        .bind(long(|a| a.delivery_id))
        .bind(attempts.iter().map(|a| a.webhook_id).collect::<Vec<_>>())
        .bind(column(|a| a.log.event_id.clone()))
        .bind(column(|a| a.log.event_name.clone()))
        .bind(column(|a| a.log.trigger.as_str().to_owned()))
        .bind(long(|a| a.log.started_at))
        .bind(long(|a| a.log.duration_ms))
        .bind(attempts.iter().map(|a| a.log.status).collect::<Vec<_>>())
        .bind(attempts.iter().map(|a| a.log.error).collect::<Vec<_>>())
        .bind(column(|a| a.log.response.clone()))
        .bind(attempts.iter().map(|a| a.log.next_attempt_at).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// Two statements whatever the batch size.
    async fn insert_events(
        &self,
        conn: &mut PgConnection,
        events: &[(&Event, Vec<Target>)],
    ) -> StoreResult<()> {
        let column = |f: fn(&Event) -> String| events.iter().map(|(e, _)| f(e)).collect::<Vec<_>>();
        let rows = sqlx::query(
            "INSERT INTO events (event_id, name, primary_key, entity, changes, data, associate_id, occurred_at) \
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[], \
                                  $7::int[], $8::bigint[]) \
             RETURNING id, event_id",
        )
        .bind(column(|e| e.event_id.clone()))
        .bind(column(|e| e.name.clone()))
        .bind(events.iter().map(|(e, _)| e.primary_key).collect::<Vec<_>>())
        .bind(column(|e| e.entity.clone()))
        .bind(column(|e| to_json(&e.changes)))
        .bind(column(|e| to_json(&e.field_values)))
        .bind(events.iter().map(|(e, _)| e.associate_id).collect::<Vec<_>>())
        .bind(events.iter().map(|(e, _)| e.occurred_at).collect::<Vec<_>>())
        .fetch_all(&mut *conn)
        .await?;
        let mut row_of = HashMap::with_capacity(rows.len());
        for row in &rows {
            row_of.insert(row.text("event_id")?, row.long("id")?);
        }
        let deliveries = new_deliveries(events, &row_of)?;
        let column = |f: fn(&NewDelivery) -> i64| deliveries.iter().map(f).collect::<Vec<_>>();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO deliveries (event_row, webhook_id, status, next_attempt_at, created_at, record_key) \
             SELECT e, w, {}, t, t, k \
             FROM UNNEST($1::bigint[], $2::int[], $3::bigint[], $4::text[], $5::bool[]) AS u(e, w, t, k, b)",
            status_sql("w", "k", "b")
        )))
        .bind(column(|d| d.event_row))
        .bind(deliveries.iter().map(|d| d.webhook_id).collect::<Vec<_>>())
        .bind(column(|d| d.at))
        .bind(deliveries.iter().map(|d| d.record_key).collect::<Vec<_>>())
        .bind(deliveries.iter().map(|d| d.behind).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}
