//! The outbox statements both backends share, each applying a rule of `domain::outbox`: count
//! an attempt, settle its delivery, disable a webhook, find subscribers, claim due deliveries.
//! Group commit runs them in its order (see `group_commit`).

use super::alerts_sql as alerts;
use super::rows::{
    DEAD, DELIVERED, EVENT_COLUMNS, PENDING, StoreRow, WEBHOOK_COLUMNS, decode_claims,
    subscriptions_from_rows, webhook_without_secret,
};
use super::sql::{Arg, Conn};
use super::subscriptions::Subscriber;
use super::{AttemptRecord, ClaimCaps, ClaimedDelivery, StoreResult};
use crate::domain::alerts::transitions;
use crate::domain::outbox::{Disposition, SENDS, TAKES_DELIVERIES, UsageChange, disabled_state};
use crate::domain::{Event, Millis, WebhookState};

/// The arguments of `Store::claim_due`.
#[derive(Debug, Clone)]
pub(crate) struct Claim {
    pub now: Millis,
    pub lease_until: Millis,
    pub limit: usize,
    pub caps: ClaimCaps,
}

impl Claim {
    /// The claim as of `now`, if that is later than when it was asked for (the batch ran a
    /// little later): due-ness and the lease move together.
    pub(crate) fn at(&self, now: Millis) -> Claim {
        let late = (now - self.now).max(0);
        Claim {
            now: self.now + late,
            lease_until: self.lease_until + late,
            ..self.clone()
        }
    }
}

/// Applies `change` to a webhook's usage counters, with `LastError` set to `report` when there
/// is one. Returns the webhook's state and `ConsecutiveErrors` after it; None: it was deleted.
pub(crate) async fn count(
    conn: &mut impl Conn,
    webhook_id: i32,
    change: UsageChange,
    report: Option<&str>,
) -> StoreResult<Option<(WebhookState, i32)>> {
    let row = conn
        .fetch_optional(
            "UPDATE webhooks SET total_calls = total_calls + $1, total_errors = total_errors + $2, \
             consecutive_errors = CASE WHEN $3 THEN 0 ELSE consecutive_errors + $4 END, \
             last_error = COALESCE($5, last_error) \
             WHERE id = $6 RETURNING state, consecutive_errors",
            &[
                Arg::Int(change.calls),
                Arg::Int(change.errors),
                Arg::Bool(change.reset_consecutive),
                Arg::Int(change.add_consecutive),
                Arg::OptText(report),
                Arg::Int(webhook_id),
            ],
        )
        .await?;
    row.map(|row| {
        Ok((
            WebhookState::from_number(row.long("state")?),
            row.int("consecutive_errors")?,
        ))
    })
    .transpose()
}

/// Writes the fate of the deliveries `ids` after their attempts, releasing their leases.
pub(crate) async fn settle<C: Conn>(
    conn: &mut C,
    ids: &[i64],
    disposition: Disposition,
) -> StoreResult<()> {
    let Some(settled) = disposition.settled() else {
        return Ok(()); // retried within the cycle: the lease stays
    };
    if ids.is_empty() {
        return Ok(());
    }
    // A delivery an operator's Retry delivered meanwhile stays delivered. Any attempt ends
    // a recovered delivery's manual turn.
    let sql = format!(
        "UPDATE deliveries SET status = $1, next_attempt_at = COALESCE($2, next_attempt_at), \
         locked_until = 0, locked_by = NULL, manual = 0 \
         WHERE id {} AND (status = $4 OR $1 = $5)",
        C::id_in("$3")
    );
    conn.execute(
        &sql,
        &[
            Arg::Long(settled.status as i64),
            Arg::OptLong(settled.due),
            Arg::Ids(ids),
            Arg::Long(PENDING),
            Arg::Long(DELIVERED),
        ],
    )
    .await?;
    Ok(())
}

/// Applies one attempt's outcome; returns the webhook's state and, if this attempt disabled
/// it, the `webhook{id}.errors` event to store. The webhook row is written before the delivery
/// row, the order every writer of both uses.
pub(crate) async fn apply_attempt(
    conn: &mut impl Conn,
    a: &AttemptRecord,
    failures_to_disable: i32,
    now: Millis,
) -> StoreResult<(WebhookState, Option<Event>)> {
    let outcome = a.outcome();
    let counted = count(
        conn,
        a.webhook_id,
        outcome.usage_change(),
        a.report.as_deref(),
    )
    .await?;
    settle(conn, &[a.delivery_id], a.disposition).await?;
    let Some((state, consecutive)) = counted else {
        return Ok((WebhookState::Unknown, None)); // deleted meanwhile
    };
    let disables = outcome.disables(consecutive, failures_to_disable);
    let Some(next) = disabled_state(state, disables) else {
        alerts::record(conn, a, &transitions(&outcome, consecutive, false), now).await?;
        return Ok((state, None));
    };
    // `AND state = $4` makes the switch happen once, however many attempts race to it.
    let sql = format!(
        "UPDATE webhooks SET state = $1, updated = $2 WHERE id = $3 AND state = $4 RETURNING {WEBHOOK_COLUMNS}"
    );
    let disabled = conn
        .fetch_optional(
            &sql,
            &[
                Arg::Long(next as i64),
                Arg::Long(now),
                Arg::Int(a.webhook_id),
                Arg::Long(state as i64),
            ],
        )
        .await?;
    let Some(row) = disabled else {
        alerts::record(conn, a, &transitions(&outcome, consecutive, false), now).await?;
        return Ok((next, None));
    };
    let record = webhook_without_secret(&row)?;
    tracing::warn!(
        webhook_id = record.id,
        gone = a.gone,
        consecutive,
        "webhook disabled: TooManyErrors"
    );
    alerts::record(conn, a, &transitions(&outcome, consecutive, true), now).await?;
    Ok((next, Event::state_change(&record, now)))
}

/// Every webhook that takes new deliveries.
pub(crate) async fn subscriptions(conn: &mut impl Conn) -> StoreResult<Vec<Subscriber>> {
    let [first, second] = TAKES_DELIVERIES;
    let rows = conn
        .fetch_all(
            "SELECT id, events, delivery_order FROM webhooks WHERE state IN ($1, $2)",
            &[Arg::Long(first as i64), Arg::Long(second as i64)],
        )
        .await?;
    subscriptions_from_rows(&rows)
}

/// Leases due deliveries webhook by webhook, each through the `deliveries_pending` index, so
/// a claim costs what it returns, not the size of the backlog: at most `c.caps.of(webhook)`
/// of each (what this node may still hold of it), `c.limit` in all.
///
/// One node at a time serves a webhook (`webhooks.claimed_by`, held until the node's last
/// lease of it ends): a webhook another node serves, or is claiming right now, is skipped. The
/// node serving a webhook sends at most its per-webhook cap at once, so the cap holds across
/// the cluster. Where one process serves the database (`node` None) there is nobody to skip.
/// Runs inside the group-commit transaction.
pub(crate) async fn claim<C: Conn>(
    conn: &mut C,
    node: Option<&str>,
    c: Claim,
) -> StoreResult<Vec<ClaimedDelivery>> {
    // `status = {PENDING}` is written out, not bound, so the planner can use the partial
    // index of queued deliveries in a prepared statement too; the first due delivery in due
    // order (rather than EXISTS) makes it walk that index from its start and stop at the
    // first hit, instead of gathering every queued delivery of the webhook.
    let (serving, served_elsewhere) = if node.is_some() {
        (
            "w.claimed_by = $4 AND w.claimed_until > $5",
            " AND (w.claimed_by IS NULL OR w.claimed_by = $4 OR w.claimed_until <= $1)",
        )
    } else {
        ("1 = 1", "")
    };
    let mut args = vec![
        Arg::Long(c.now),
        Arg::Long(SENDS as i64),
        Arg::Long(i64::try_from(c.limit).unwrap_or(i64::MAX)),
    ];
    if node.is_some() {
        // Served for longer than this claim's leases last: nothing to renew.
        args.extend([Arg::OptText(node), Arg::Long(c.lease_until)]);
    }
    let rows = conn
        .fetch_all(
            &format!(
                "SELECT w.id, CASE WHEN {serving} THEN 1 ELSE 0 END AS serving \
                 FROM webhooks w WHERE w.state = $2{served_elsewhere} \
                 AND (SELECT 1 FROM deliveries d WHERE d.webhook_id = w.id \
                   AND d.status = {PENDING} AND d.next_attempt_at <= $1 AND d.locked_until <= $1 \
                   ORDER BY d.next_attempt_at LIMIT 1) IS NOT NULL \
                 ORDER BY w.id LIMIT $3"
            ),
            &args,
        )
        .await?;
    let (mut ready, mut to_take) = (Vec::with_capacity(rows.len()), Vec::new());
    // Only the webhooks this claim can lease from: a node must not take webhooks it has no
    // room to serve now, which other nodes could.
    let mut room = i64::try_from(c.limit).unwrap_or(i64::MAX);
    for row in &rows {
        let webhook_id = row.int("id")?;
        let cap = c.caps.of(webhook_id).min(room);
        if cap <= 0 {
            continue;
        }
        room -= cap;
        if row.int("serving")? == 1 {
            ready.push(i64::from(webhook_id));
        } else {
            to_take.push(i64::from(webhook_id));
        }
    }
    if let (Some(node), false) = (node, to_take.is_empty()) {
        // Take (or renew) the webhooks no other node serves. The row lock makes two nodes'
        // claims of one webhook take turns; the one that finds it locked skips it. A webhook
        // this node serves for long enough yet needs no write.
        let sql = format!(
            "UPDATE webhooks SET claimed_by = $1, claimed_until = $2 WHERE id IN \
             (SELECT id FROM webhooks WHERE id {} \
              AND (claimed_by IS NULL OR claimed_by = $1 OR claimed_until <= $4) \
              ORDER BY id {}) RETURNING id",
            C::id_in("$3"),
            C::SKIP_LOCKED
        );
        // Twice a lease: renewed once less than a lease is left, so it always outlasts every
        // lease this node holds of the webhook.
        let until = c.lease_until.saturating_add(c.lease_until - c.now);
        let taken = conn
            .fetch_all(
                &sql,
                &[
                    Arg::Text(node),
                    Arg::Long(until),
                    Arg::Ids(&to_take),
                    Arg::Long(c.now),
                ],
            )
            .await?;
        for row in &taken {
            ready.push(i64::from(row.int("id")?));
        }
        ready.sort_unstable();
    } else {
        ready.append(&mut to_take);
    }
    let lease = format!(
        "UPDATE deliveries SET locked_until = $1, locked_by = $2, attempts = attempts + 1 \
         WHERE id IN (SELECT id FROM deliveries WHERE webhook_id = $3 AND status = {PENDING} \
           AND next_attempt_at <= $4 AND locked_until <= $4 \
           ORDER BY next_attempt_at, id LIMIT $5 {}) \
         RETURNING id, webhook_id, attempts, event_row, manual, record_key",
        C::SKIP_LOCKED
    );
    let mut claimed = Vec::new();
    let mut left = i64::try_from(c.limit).unwrap_or(i64::MAX);
    for webhook_id in ready {
        let Ok(webhook_id) = i32::try_from(webhook_id) else {
            continue;
        };
        let take = c.caps.room(webhook_id, 0, left);
        if take <= 0 {
            continue;
        }
        let rows = conn
            .fetch_all(
                &lease,
                &[
                    Arg::Long(c.lease_until),
                    Arg::OptText(node),
                    Arg::Int(webhook_id),
                    Arg::Long(c.now),
                    Arg::Long(take),
                ],
            )
            .await?;
        left -= i64::try_from(rows.len()).unwrap_or(0);
        claimed.extend(rows);
    }
    load_claims(conn, &claimed).await
}

/// The events of claimed delivery rows; deliveries whose event cannot be read are set aside.
async fn load_claims<C: Conn>(
    conn: &mut C,
    claimed: &[C::Row],
) -> StoreResult<Vec<ClaimedDelivery>> {
    if claimed.is_empty() {
        return Ok(Vec::new());
    }
    let event_rows = claimed
        .iter()
        .map(|row| row.long("event_row"))
        .collect::<StoreResult<Vec<i64>>>()?;
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE id {}",
        C::id_in("$1")
    );
    let events = conn.fetch_all(&sql, &[Arg::Ids(&event_rows)]).await?;
    let decoded = decode_claims(claimed, &events)?;
    set_aside(conn, &decoded.unreadable).await?;
    // The next delivery of an unreadable one's record may go. Not locked here (a batch locks
    // its records at one point only); a race with a new delivery of that record is mended by
    // the retention sweep (`record_order::repair`).
    let unreadable: Vec<i64> = decoded.unreadable.iter().map(|(id, _)| *id).collect();
    super::record_order::promote_after(conn, &unreadable).await?;
    Ok(decoded.claims)
}

/// Moves deliveries that cannot be sent to the dead-letter list, each with its reason.
pub(crate) async fn set_aside(
    conn: &mut impl Conn,
    deliveries: &[(i64, String)],
) -> StoreResult<()> {
    for (id, reason) in deliveries {
        conn.execute(
            "UPDATE deliveries SET status = $1, dead_reason = $2, locked_until = 0, locked_by = NULL \
             WHERE id = $3",
            &[Arg::Long(DEAD), Arg::Text(reason), Arg::Long(*id)],
        )
        .await?;
    }
    Ok(())
}
