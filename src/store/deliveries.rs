//! The delivery log's read side: a webhook's deliveries (filtered, newest first, keyset
//! paged) and one delivery's attempts, the trait and its one implementation for every backend.
//! What the filters mean and which are valid is the agent's (`agent/deliveries.rs`).

use async_trait::async_trait;

use super::StoreResult;
use super::backend::Backend;
use super::rows::{DEAD, DELIVERED, PENDING, StoreRow, WAITING};
use super::sql::{Arg, Conn};
use crate::domain::Millis;
use crate::domain::outbox::SENDS;

/// Most attempts listed for one delivery (its retry schedule makes far fewer).
const MAX_ATTEMPTS_LISTED: i64 = 1000;

/// Where a delivery stands, as the delivery log shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// Queued, never attempted.
    Pending,
    /// Queued again after failed attempts.
    Retrying,
    Delivered,
    /// Queued, but its webhook does not send now (Stopped or TooManyErrors).
    Parked,
    /// On the dead-letter list.
    Dead,
    /// Queued behind an unfinished delivery of the same record (`DeliveryOrder::PerRecord`).
    Waiting,
}

impl DeliveryState {
    pub const ALL: [DeliveryState; 6] = [
        DeliveryState::Pending,
        DeliveryState::Waiting,
        DeliveryState::Retrying,
        DeliveryState::Delivered,
        DeliveryState::Parked,
        DeliveryState::Dead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Retrying => "retrying",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Parked => "parked",
            DeliveryState::Dead => "dead",
            DeliveryState::Waiting => "waiting",
        }
    }

    /// The rows in this state, as a condition on `d` (deliveries) and `w` (its webhook).
    fn condition(self) -> String {
        let sends = SENDS as i64;
        let attempted = "EXISTS (SELECT 1 FROM attempts a WHERE a.delivery_id = d.id)";
        match self {
            DeliveryState::Pending => {
                format!("d.status = {PENDING} AND w.state = {sends} AND NOT {attempted}")
            }
            DeliveryState::Retrying => {
                format!("d.status = {PENDING} AND w.state = {sends} AND {attempted}")
            }
            DeliveryState::Parked => format!("d.status = {PENDING} AND w.state <> {sends}"),
            DeliveryState::Delivered => format!("d.status = {DELIVERED}"),
            DeliveryState::Dead => format!("d.status = {DEAD}"),
            DeliveryState::Waiting => format!("d.status = {WAITING}"),
        }
    }

    fn of(status: i64, webhook_state: i64, attempts: i64) -> DeliveryState {
        match status {
            DELIVERED => DeliveryState::Delivered,
            DEAD => DeliveryState::Dead,
            WAITING => DeliveryState::Waiting,
            _ if webhook_state != SENDS as i64 => DeliveryState::Parked,
            _ if attempts > 0 => DeliveryState::Retrying,
            _ => DeliveryState::Pending,
        }
    }
}

/// A page request over one webhook's deliveries; every filter is optional.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryQuery {
    pub webhook_id: i32,
    pub state: Option<DeliveryState>,
    /// The event name, exactly.
    pub event: Option<String>,
    /// Created at or after.
    pub from: Option<Millis>,
    /// Created at or before.
    pub to: Option<Millis>,
    /// Deliveries older than this one (the keyset cursor).
    pub before: Option<i64>,
    pub limit: i64,
}

/// A delivery as the log lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliverySummary {
    pub delivery_id: i64,
    pub event_id: String,
    pub event: String,
    pub primary_key: i64,
    pub state: DeliveryState,
    /// Attempts logged.
    pub attempts: i64,
    /// The HTTP status of the last attempt; None without one, or when it got no answer.
    pub last_status: Option<i64>,
    pub last_attempt: Option<Millis>,
    /// When it is due, while queued.
    pub next_attempt: Option<Millis>,
    pub created: Millis,
}

/// One logged attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptEntry {
    pub attempt: i64,
    pub trigger: String,
    pub started: Millis,
    pub duration_ms: i64,
    pub status: Option<i64>,
    pub error: Option<String>,
    pub response: String,
    pub next_attempt: Option<Millis>,
}

/// A webhook's recent activity, for the summary columns of a webhook list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookActivity {
    /// When its last attempt started.
    pub last_attempt: Option<Millis>,
    /// That attempt's HTTP status, or its transport error class.
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    /// Failed attempts (no answer, or not 2xx) since the time asked for.
    pub failures: i64,
}

#[async_trait]
pub trait DeliveryLog: Send + Sync + 'static {
    /// Up to `query.limit` deliveries of a webhook that pass the filters, newest first.
    async fn deliveries(&self, query: &DeliveryQuery) -> StoreResult<Vec<DeliverySummary>>;
    /// One delivery of a webhook, with its attempts oldest first; None when it has no such
    /// delivery.
    async fn delivery(
        &self,
        webhook_id: i32,
        delivery_id: i64,
    ) -> StoreResult<Option<(DeliverySummary, Vec<AttemptEntry>)>>;
    /// The last attempt logged for a delivery.
    async fn last_attempt(&self, delivery_id: i64) -> StoreResult<Option<AttemptEntry>>;
    /// A webhook's last attempt and its failed attempts started at or after `since`.
    async fn webhook_activity(
        &self,
        webhook_id: i32,
        since: Millis,
    ) -> StoreResult<WebhookActivity>;
}

/// An attempt's columns, from `attempts`.
const ATTEMPT: &str = "SELECT CAST(attempt AS BIGINT) AS attempt, trigger_kind, started_at, \
    duration_ms, CAST(http_status AS BIGINT) AS http_status, error_class, response, next_attempt_at \
    FROM attempts";

fn attempt_entry(r: &impl StoreRow) -> StoreResult<AttemptEntry> {
    Ok(AttemptEntry {
        attempt: r.long("attempt")?,
        trigger: r.text("trigger_kind")?,
        started: r.long("started_at")?,
        duration_ms: r.long("duration_ms")?,
        status: r.opt_long("http_status")?,
        error: r.opt_text("error_class")?,
        response: r.text("response")?,
        next_attempt: r.opt_long("next_attempt_at")?,
    })
}

/// The summary's columns, from `d` (deliveries), `e` (its event), `w` (its webhook) and `la`
/// (its last attempt).
const SUMMARY: &str = "SELECT d.id, e.event_id, e.name, CAST(e.primary_key AS BIGINT) AS primary_key, \
    d.status, CAST(w.state AS BIGINT) AS webhook_state, d.next_attempt_at, d.created_at, \
    (SELECT COUNT(*) FROM attempts a WHERE a.delivery_id = d.id) AS logged, \
    CAST(la.http_status AS BIGINT) AS last_status, la.started_at AS last_attempt \
    FROM deliveries d JOIN events e ON e.id = d.event_row JOIN webhooks w ON w.id = d.webhook_id \
    LEFT JOIN attempts la ON la.id = (SELECT MAX(a.id) FROM attempts a WHERE a.delivery_id = d.id)";

fn summary(row: &impl StoreRow) -> StoreResult<DeliverySummary> {
    let status = row.long("status")?;
    let attempts = row.long("logged")?;
    Ok(DeliverySummary {
        delivery_id: row.long("id")?,
        event_id: row.text("event_id")?,
        event: row.text("name")?,
        primary_key: row.long("primary_key")?,
        state: DeliveryState::of(status, row.long("webhook_state")?, attempts),
        attempts,
        last_status: row.opt_long("last_status")?,
        last_attempt: row.opt_long("last_attempt")?,
        next_attempt: (status == PENDING)
            .then(|| row.long("next_attempt_at"))
            .transpose()?,
        created: row.long("created_at")?,
    })
}

#[async_trait]
impl<B: Backend> DeliveryLog for B {
    async fn deliveries(&self, q: &DeliveryQuery) -> StoreResult<Vec<DeliverySummary>> {
        let state = q
            .state
            .map_or_else(|| "1 = 1".to_string(), |s| s.condition());
        let sql = format!(
            "{SUMMARY} WHERE d.webhook_id = $1 AND (CAST($2 AS BIGINT) IS NULL OR d.id < $2) \
             AND (CAST($3 AS TEXT) IS NULL OR e.name = $3) \
             AND (CAST($4 AS BIGINT) IS NULL OR d.created_at >= $4) \
             AND (CAST($5 AS BIGINT) IS NULL OR d.created_at <= $5) \
             AND {state} ORDER BY d.id DESC LIMIT $6"
        );
        let rows = self
            .reader()
            .await?
            .fetch_all(
                &sql,
                &[
                    Arg::Int(q.webhook_id),
                    Arg::OptLong(q.before),
                    Arg::OptText(q.event.as_deref()),
                    Arg::OptLong(q.from),
                    Arg::OptLong(q.to),
                    Arg::Long(q.limit),
                ],
            )
            .await?;
        rows.iter().map(summary).collect()
    }

    async fn delivery(
        &self,
        webhook_id: i32,
        delivery_id: i64,
    ) -> StoreResult<Option<(DeliverySummary, Vec<AttemptEntry>)>> {
        let mut conn = self.reader().await?;
        let sql = format!("{SUMMARY} WHERE d.webhook_id = $1 AND d.id = $2");
        let Some(row) = conn
            .fetch_optional(&sql, &[Arg::Int(webhook_id), Arg::Long(delivery_id)])
            .await?
        else {
            return Ok(None);
        };
        let attempts = conn
            .fetch_all(
                &format!("{ATTEMPT} WHERE delivery_id = $1 ORDER BY id LIMIT $2"),
                &[Arg::Long(delivery_id), Arg::Long(MAX_ATTEMPTS_LISTED)],
            )
            .await?
            .iter()
            .map(attempt_entry)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Some((summary(&row)?, attempts)))
    }

    async fn last_attempt(&self, delivery_id: i64) -> StoreResult<Option<AttemptEntry>> {
        self.reader()
            .await?
            .fetch_optional(
                &format!("{ATTEMPT} WHERE delivery_id = $1 ORDER BY id DESC LIMIT 1"),
                &[Arg::Long(delivery_id)],
            )
            .await?
            .as_ref()
            .map(attempt_entry)
            .transpose()
    }

    async fn webhook_activity(
        &self,
        webhook_id: i32,
        since: Millis,
    ) -> StoreResult<WebhookActivity> {
        let mut conn = self.reader().await?;
        let mut activity = WebhookActivity::default();
        // Both through the (webhook_id, started_at) index.
        if let Some(last) = conn
            .fetch_optional(
                "SELECT started_at, CAST(http_status AS BIGINT) AS http_status, error_class \
                 FROM attempts WHERE webhook_id = $1 ORDER BY started_at DESC, id DESC LIMIT 1",
                &[Arg::Int(webhook_id)],
            )
            .await?
        {
            activity.last_attempt = Some(last.long("started_at")?);
            activity.last_status = last.opt_long("http_status")?;
            activity.last_error = last.opt_text("error_class")?;
        }
        activity.failures = conn
            .fetch_one(
                "SELECT COUNT(*) AS n FROM attempts WHERE webhook_id = $1 AND started_at >= $2 \
                 AND (http_status IS NULL OR http_status < 200 OR http_status > 299)",
                &[Arg::Int(webhook_id), Arg::Long(since)],
            )
            .await?
            .long("n")?;
        Ok(activity)
    }
}
