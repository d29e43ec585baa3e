//! Notifications' rows (docs/DELIVERY.md, Notifications), read and updated: the [`Alerts`]
//! trait for every backend, with the in-app list and its Read mark, and the notifier's mail
//! queue (lease, sent, retry, failed). The rows are written by `alerts_sql`, inside the group
//! commit that records the attempt causing them.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::Notify;

use super::StoreResult;
use super::alerts_sql::MailState;
use super::backend::Backend;
use super::rows::{StoreRow, from_json};
use super::sql::{Arg, Conn};
use crate::domain::Millis;

/// An alert as the in-app list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertEntry {
    pub id: i64,
    pub webhook_id: i32,
    pub webhook_name: String,
    pub kind: String,
    pub event: String,
    pub event_id: String,
    pub last_error: String,
    pub created: Millis,
    /// When it was marked read; None: unread.
    pub read: Option<Millis>,
    /// The application owning its webhook now; None: none, or the webhook is gone.
    pub app_id: Option<i64>,
}

/// A page request over the in-app alerts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertQuery {
    /// Only alerts of this application's webhooks.
    pub app_id: Option<i64>,
    pub unread_only: bool,
    /// Alerts older than this one (the keyset cursor).
    pub before: Option<i64>,
    pub limit: i64,
}

/// A mail leased for sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingMail {
    pub alert: AlertEntry,
    pub recipients: Vec<String>,
    /// Tries so far, this one included.
    pub tries: i32,
}

#[async_trait]
pub trait Alerts: Send + Sync + 'static {
    /// In-app alerts passing `query`, newest first.
    async fn alerts(&self, query: &AlertQuery) -> StoreResult<Vec<AlertEntry>>;
    /// One in-app alert; None when there is none with that id.
    async fn alert(&self, id: i64) -> StoreResult<Option<AlertEntry>>;
    /// Marks an alert read (the first time only); false when there is no such alert.
    async fn mark_alert_read(&self, id: i64, now: Millis) -> StoreResult<bool>;
    /// Leases up to `limit` pending mails due at `now` until `lease_until`, counting the try.
    async fn claim_mails(
        &self,
        now: Millis,
        lease_until: Millis,
        limit: i64,
    ) -> StoreResult<Vec<PendingMail>>;
    /// A mail went out.
    async fn mail_sent(&self, id: i64) -> StoreResult<()>;
    /// A try failed: pending again from `next_at`, or, with None, failed for good.
    async fn mail_not_sent(&self, id: i64, next_at: Option<Millis>, error: &str)
    -> StoreResult<()>;
    /// Woken after a commit that may have queued a mail (one that recorded a failed attempt).
    fn mail_queued(&self) -> Arc<Notify>;
}

const ALERT_COLUMNS: &str = "a.id, a.webhook_id, a.webhook_name, a.kind, a.event_name, \
    a.event_id, a.last_error, a.created_at, a.read_at, CAST(w.app_id AS BIGINT) AS app_id";

fn entry(row: &impl StoreRow) -> StoreResult<AlertEntry> {
    Ok(AlertEntry {
        id: row.long("id")?,
        webhook_id: row.int("webhook_id")?,
        webhook_name: row.text("webhook_name")?,
        kind: row.text("kind")?,
        event: row.text("event_name")?,
        event_id: row.text("event_id")?,
        last_error: row.text("last_error")?,
        created: row.long("created_at")?,
        read: row.opt_long("read_at")?,
        app_id: row.opt_long("app_id")?,
    })
}

#[async_trait]
impl<B: Backend> Alerts for B {
    async fn alerts(&self, q: &AlertQuery) -> StoreResult<Vec<AlertEntry>> {
        let sql = format!(
            "SELECT {ALERT_COLUMNS} FROM alerts a LEFT JOIN webhooks w ON w.id = a.webhook_id \
             WHERE a.in_app = $1 AND (CAST($2 AS BIGINT) IS NULL OR a.id < $2) \
             AND (CAST($3 AS BIGINT) IS NULL OR CAST(w.app_id AS BIGINT) = $3) \
             AND ($4 = FALSE OR a.read_at IS NULL) ORDER BY a.id DESC LIMIT $5"
        );
        let rows = self
            .reader()
            .await?
            .fetch_all(
                &sql,
                &[
                    Arg::Bool(true),
                    Arg::OptLong(q.before),
                    Arg::OptLong(q.app_id),
                    Arg::Bool(q.unread_only),
                    Arg::Long(q.limit),
                ],
            )
            .await?;
        rows.iter().map(entry).collect()
    }

    async fn alert(&self, id: i64) -> StoreResult<Option<AlertEntry>> {
        let sql = format!(
            "SELECT {ALERT_COLUMNS} FROM alerts a LEFT JOIN webhooks w ON w.id = a.webhook_id \
             WHERE a.id = $1 AND a.in_app = $2"
        );
        let row = self
            .reader()
            .await?
            .fetch_optional(&sql, &[Arg::Long(id), Arg::Bool(true)])
            .await?;
        row.as_ref().map(entry).transpose()
    }

    async fn mark_alert_read(&self, id: i64, now: Millis) -> StoreResult<bool> {
        let changed = self
            .writer()
            .await?
            .execute(
                "UPDATE alerts SET read_at = COALESCE(read_at, $1) WHERE id = $2 AND in_app = $3",
                &[Arg::Long(now), Arg::Long(id), Arg::Bool(true)],
            )
            .await?;
        Ok(changed > 0)
    }

    async fn claim_mails(
        &self,
        now: Millis,
        lease_until: Millis,
        limit: i64,
    ) -> StoreResult<Vec<PendingMail>> {
        let mut conn = self.writer().await?;
        let sql = format!(
            "UPDATE alerts SET mail_locked_until = $1, mail_tries = mail_tries + 1 \
             WHERE id IN (SELECT id FROM alerts WHERE mail_state = $2 AND mail_next_at <= $3 \
               AND mail_locked_until <= $3 ORDER BY id LIMIT $4 {}) RETURNING id",
            <ConnOfBackend<B> as Conn>::SKIP_LOCKED
        );
        let leased = conn
            .fetch_all(
                &sql,
                &[
                    Arg::Long(lease_until),
                    Arg::Long(MailState::Pending as i64),
                    Arg::Long(now),
                    Arg::Long(limit),
                ],
            )
            .await?
            .iter()
            .map(|r| r.long("id"))
            .collect::<StoreResult<Vec<i64>>>()?;
        if leased.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {ALERT_COLUMNS}, a.mail_to, CAST(a.mail_tries AS BIGINT) AS tries \
             FROM alerts a LEFT JOIN webhooks w ON w.id = a.webhook_id WHERE a.id {} ORDER BY a.id",
            <ConnOfBackend<B> as Conn>::id_in("$1")
        );
        let rows = conn.fetch_all(&sql, &[Arg::Ids(&leased)]).await?;
        rows.iter()
            .map(|row| {
                Ok(PendingMail {
                    alert: entry(row)?,
                    recipients: from_json(&row.text("mail_to")?, "alerts.mail_to")?,
                    tries: i32::try_from(row.long("tries")?).unwrap_or(i32::MAX),
                })
            })
            .collect()
    }

    async fn mail_sent(&self, id: i64) -> StoreResult<()> {
        self.writer()
            .await?
            .execute(
                "UPDATE alerts SET mail_state = $1, mail_locked_until = 0, mail_error = NULL WHERE id = $2",
                &[Arg::Long(MailState::Sent as i64), Arg::Long(id)],
            )
            .await?;
        Ok(())
    }

    async fn mail_not_sent(
        &self,
        id: i64,
        next_at: Option<Millis>,
        error: &str,
    ) -> StoreResult<()> {
        let state = if next_at.is_some() {
            MailState::Pending
        } else {
            MailState::Failed
        };
        self.writer()
            .await?
            .execute(
                "UPDATE alerts SET mail_state = $1, mail_next_at = COALESCE($2, mail_next_at), \
                 mail_locked_until = 0, mail_error = $3 WHERE id = $4",
                &[
                    Arg::Long(state as i64),
                    Arg::OptLong(next_at),
                    Arg::Text(error),
                    Arg::Long(id),
                ],
            )
            .await?;
        Ok(())
    }

    fn mail_queued(&self) -> Arc<Notify> {
        self.commits().mail_queued()
    }
}

type ConnOfBackend<B> = super::backend::ConnOf<B>;
