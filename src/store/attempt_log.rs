//! The attempt log's writes: one multi-row INSERT per write batch (inside the group-commit
//! transaction that records the attempts' outcomes; PostgreSQL writes the same rows with one
//! `UNNEST` statement instead, `store/postgres/outbox.rs`), and the retention prune in bounded
//! batches.

use super::sql::{Arg, Conn};
use super::{AttemptRecord, StoreResult};
use crate::domain::Millis;

/// Columns bound per logged attempt.
const COLUMNS: usize = 11;

/// Most attempt-log rows one prune statement deletes: each batch is a short transaction of
/// its own, so deliveries never wait long behind the sweep.
pub(crate) const PRUNE_BATCH: i64 = 1000;

/// Logs `attempts` in one statement. Each row's number is the delivery's logged attempts
/// plus one: a delivery's attempts are recorded one after the other (its cycle waits for each
/// outcome), so no two of one delivery meet in a batch.
pub(crate) async fn insert(conn: &mut impl Conn, attempts: &[&AttemptRecord]) -> StoreResult<()> {
    if attempts.is_empty() {
        return Ok(());
    }
    let mut values = Vec::with_capacity(attempts.len());
    let mut args = Vec::with_capacity(attempts.len() * COLUMNS);
    for (i, a) in attempts.iter().enumerate() {
        let p = |k: usize| format!("${}", i * COLUMNS + k);
        values.push(format!(
            "({}, {}, {}, {}, (SELECT COUNT(*) + 1 FROM attempts WHERE delivery_id = {}), {}, {}, {}, {}, {}, {}, {})",
            p(1), p(2), p(3), p(4), p(1), p(5), p(6), p(7), p(8), p(9), p(10), p(11)
        ));
        let log = &a.log;
        args.extend([
            Arg::Long(a.delivery_id),
            Arg::Int(a.webhook_id),
            Arg::Text(&log.event_id),
            Arg::Text(&log.event_name),
            Arg::Text(log.trigger.as_str()),
            Arg::Long(log.started_at),
            Arg::Long(log.duration_ms),
            Arg::OptInt(log.status),
            Arg::OptText(log.error),
            Arg::Text(&log.response),
            Arg::OptLong(log.next_attempt_at),
        ]);
    }
    let sql = format!(
        "INSERT INTO attempts (delivery_id, webhook_id, event_id, event_name, attempt, trigger_kind, \
         started_at, duration_ms, http_status, error_class, response, next_attempt_at) VALUES {}",
        values.join(", ")
    );
    conn.execute(&sql, &args).await?;
    Ok(())
}

/// Deletes up to [`PRUNE_BATCH`] attempts started before `cutoff`; returns how many.
pub(crate) async fn prune(conn: &mut impl Conn, cutoff: Millis) -> StoreResult<u64> {
    conn.execute(
        "DELETE FROM attempts WHERE id IN \
         (SELECT id FROM attempts WHERE started_at < $1 ORDER BY id LIMIT $2)",
        &[Arg::Long(cutoff), Arg::Long(PRUNE_BATCH)],
    )
    .await
}
