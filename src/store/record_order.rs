//! Ordered delivery per record (docs/DELIVERY.md, "Ordered delivery"), the statements both
//! backends share. A `PerRecord` webhook's delivery carries its record (`record_key`); one
//! accepted while another of the same record is still open is stored *waiting* (status 3,
//! never claimed), and when the open one is done (delivered, dead) the earliest waiting one
//! is promoted to pending. So each record has at most one claimable delivery (its head), in
//! the order the deliveries were inserted, which is the order their events were accepted.
//!
//! On PostgreSQL an insert and a promotion of the same record may run in two nodes' writers at
//! once; each takes the record's advisory lock first ([`lock`]), so one of them sees the
//! other's rows. The retention sweep's [`repair`] promotes any record left with waiting
//! deliveries and no head, whatever left it so.

use std::collections::HashMap;

use super::rows::{PENDING, WAITING};
use super::sql::{Arg, Conn};
use super::subscriptions::Target;
use super::{StoreError, StoreResult};
use crate::domain::Event;

/// A delivery to insert: its event row, webhook, due time and record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NewDelivery<'a> {
    pub event_row: i64,
    pub webhook_id: i32,
    pub at: i64,
    pub record_key: Option<&'a str>,
    /// An earlier delivery of this batch has the same webhook and record: it waits whatever
    /// the table holds (a statement does not see its own rows).
    pub behind: bool,
}

/// The deliveries of `events` (each with its targets), in order, given each event's row id
/// (`row_of`, by `EventId`), marked [`NewDelivery::behind`] where due.
pub(crate) fn new_deliveries<'a>(
    events: &'a [(&Event, Vec<Target>)],
    row_of: &HashMap<String, i64>,
) -> StoreResult<Vec<NewDelivery<'a>>> {
    let mut rows = Vec::new();
    for (event, targets) in events {
        let event_row = *row_of.get(&event.event_id).ok_or_else(|| {
            StoreError::Corrupt(format!("event {} was not inserted", event.event_id))
        })?;
        rows.extend(targets.iter().map(|t| NewDelivery {
            event_row,
            webhook_id: t.webhook_id,
            at: event.occurred_at,
            record_key: t.record_key.as_deref(),
            behind: false,
        }));
    }
    mark_behind(&mut rows);
    Ok(rows)
}

/// Marks the deliveries of `rows` that follow one of the same webhook and record in the batch.
pub(crate) fn mark_behind(rows: &mut [NewDelivery<'_>]) {
    let mut seen = std::collections::HashSet::new();
    for row in rows.iter_mut() {
        if let Some(key) = row.record_key {
            row.behind = !seen.insert((row.webhook_id, key));
        }
    }
}

/// The status a new delivery gets, as a SQL expression over its webhook `w`, record `k` and
/// `behind` flag `b` (column names or parameters): waiting when its record has an open
/// delivery, pending otherwise.
pub(crate) fn status_sql(w: &str, k: &str, b: &str) -> String {
    format!(
        "CASE WHEN {b} THEN {WAITING} WHEN {k} IS NULL THEN {PENDING} \
         WHEN EXISTS (SELECT 1 FROM deliveries o WHERE o.webhook_id = {w} AND o.record_key = {k} \
           AND o.status = {PENDING}) \
         OR EXISTS (SELECT 1 FROM deliveries o WHERE o.webhook_id = {w} AND o.record_key = {k} \
           AND o.status = {WAITING}) THEN {WAITING} ELSE {PENDING} END"
    )
}

/// The advisory lock of a record: the webhook in the high half, a stable hash (FNV-1a) of
/// the record in the low half, so every node computes the same number.
fn lock_id(webhook_id: i32, record_key: &str) -> i64 {
    let hash = record_key.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    (i64::from(webhook_id) << 32) | i64::from(hash)
}

/// Takes the locks of `records` until the end of the transaction, in one order (sorted), so
/// two writers never wait on each other. Nothing to do where one writer serialises every
/// write (SQLite).
pub(crate) async fn lock<C: Conn>(conn: &mut C, records: &[(i32, &str)]) -> StoreResult<()> {
    let mut ids: Vec<i64> = records
        .iter()
        .map(|(webhook_id, key)| lock_id(*webhook_id, key))
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    ids.sort_unstable();
    ids.dedup();
    conn.lock_records(&ids).await
}

/// Promotes the next waiting delivery of each record of `done` (deliveries that just left
/// pending) that has no pending delivery left. Run with the records locked ([`lock`]).
pub(crate) async fn promote_after<C: Conn>(conn: &mut C, done: &[i64]) -> StoreResult<u64> {
    if done.is_empty() {
        return Ok(0);
    }
    let sql = format!(
        "UPDATE deliveries SET status = {PENDING} WHERE id IN (\
           SELECT (SELECT n.id FROM deliveries n WHERE n.webhook_id = s.webhook_id \
             AND n.record_key = s.record_key AND n.status = {WAITING} ORDER BY n.id LIMIT 1) \
           FROM deliveries s WHERE s.id {} AND s.record_key IS NOT NULL \
           AND NOT EXISTS (SELECT 1 FROM deliveries p WHERE p.webhook_id = s.webhook_id \
             AND p.record_key = s.record_key AND p.status = {PENDING}))",
        C::id_in("$1")
    );
    conn.execute(&sql, &[Arg::Ids(done)]).await
}

/// Locks the records of `done` and promotes their next deliveries: for a transaction of its
/// own that moved `done` out of pending (a delivery set aside, discarded).
pub(crate) async fn lock_and_promote<C: Conn>(conn: &mut C, done: &[i64]) -> StoreResult<u64> {
    if done.is_empty() {
        return Ok(0);
    }
    let rows = conn
        .fetch_all(
            &format!(
                "SELECT webhook_id, record_key FROM deliveries WHERE id {} \
                 AND record_key IS NOT NULL",
                C::id_in("$1")
            ),
            &[Arg::Ids(done)],
        )
        .await?;
    let mut records = Vec::with_capacity(rows.len());
    for row in &rows {
        use super::rows::StoreRow;
        records.push((row.int("webhook_id")?, row.text("record_key")?));
    }
    let records: Vec<(i32, &str)> = records.iter().map(|(w, k)| (*w, k.as_str())).collect();
    lock(conn, &records).await?;
    promote_after(conn, done).await
}

/// Sends a webhook's waiting deliveries all at once: it is no longer `PerRecord`.
pub(crate) async fn release_webhook<C: Conn>(conn: &mut C, webhook_id: i32) -> StoreResult<u64> {
    conn.execute(
        &format!(
            "UPDATE deliveries SET status = {PENDING} WHERE webhook_id = $1 AND status = {WAITING}"
        ),
        &[Arg::Int(webhook_id)],
    )
    .await
}

/// Promotes the head of every record that has waiting deliveries and none pending (the
/// retention sweep's, once a minute: after it set expired deliveries aside, and as a backstop).
pub(crate) async fn repair<C: Conn>(conn: &mut C) -> StoreResult<u64> {
    conn.execute(
        &format!(
            "UPDATE deliveries SET status = {PENDING} WHERE id IN (\
               SELECT min(w.id) FROM deliveries w WHERE w.status = {WAITING} \
               AND NOT EXISTS (SELECT 1 FROM deliveries p WHERE p.webhook_id = w.webhook_id \
                 AND p.record_key = w.record_key AND p.status = {PENDING}) \
               GROUP BY w.webhook_id, w.record_key)"
        ),
        &[],
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(webhook_id: i32, key: Option<&str>) -> NewDelivery<'_> {
        NewDelivery {
            event_row: 1,
            webhook_id,
            at: 0,
            record_key: key,
            behind: false,
        }
    }

    #[test]
    fn only_a_repeated_record_of_the_same_webhook_is_behind() {
        let mut rows = vec![
            row(1, Some("contact:1")),
            row(2, Some("contact:1")),
            row(1, None),
            row(1, Some("contact:2")),
            row(1, Some("contact:1")),
            row(1, None),
        ];
        mark_behind(&mut rows);
        let behind: Vec<bool> = rows.iter().map(|r| r.behind).collect();
        assert_eq!(behind, [false, false, false, false, true, false]);
    }

    #[test]
    fn lock_ids_are_stable_and_per_webhook() {
        assert_eq!(lock_id(1, "contact:1"), lock_id(1, "contact:1"));
        assert_ne!(lock_id(1, "contact:1"), lock_id(2, "contact:1"));
        assert_ne!(lock_id(1, "contact:1"), lock_id(1, "contact:2"));
        // Fixed across builds and nodes: FNV-1a of the bytes.
        assert_eq!(lock_id(0, ""), 0x811c_9dc5);
    }
}
