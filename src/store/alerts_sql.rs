//! Writing notifications' rows (docs/DELIVERY.md, Notifications): the alerts a webhook's
//! transitions leave, inside the group-commit transaction that records the attempt causing
//! them, so each transition leaves its alerts exactly once, on every node, crash-safe.

use super::rows::{StoreRow, to_json};
use super::sql::{Arg, Conn};
use super::{AttemptRecord, StoreResult};
use crate::domain::alerts::{AlertKind, NotifySettings, alert_plan};
use crate::domain::{Millis, NotifyVia, NotifyWhen};

/// A mail's state, as stored in `alerts.mail_state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MailState {
    /// No mail for this alert.
    None = 0,
    /// To send (or being sent, while leased).
    Pending = 1,
    Sent = 2,
    /// Given up after its tries.
    Failed = 3,
}

/// Leaves the alerts of `kinds` (the transitions attempt `a` made) as its webhook's settings
/// ask (`domain::alerts::alert_plan`), inside the transaction recording the attempt. The
/// recipients are resolved now, so the mail goes where the settings said at the failure;
/// an associate without an e-mail address is skipped with a warning.
pub(crate) async fn record<C: Conn>(
    conn: &mut C,
    a: &AttemptRecord,
    kinds: &[AlertKind],
    now: Millis,
) -> StoreResult<()> {
    if kinds.is_empty() {
        return Ok(());
    }
    let Some(w) = conn
        .fetch_optional(
            "SELECT name, notify_via, notify_when, errors_email, error_emails, error_associates \
             FROM webhooks WHERE id = $1",
            &[Arg::Int(a.webhook_id)],
        )
        .await?
    else {
        return Ok(());
    };
    let error_emails: Vec<String> = w.json("error_emails")?;
    let associates: Vec<i32> = w.json("error_associates")?;
    let errors_email = w.opt_text("errors_email")?;
    let via = NotifyVia::from_number(w.long("notify_via")?);
    let associate_emails = if via.email() && !associates.is_empty() {
        associate_emails(conn, a.webhook_id, &associates).await?
    } else {
        Vec::new()
    };
    let settings = NotifySettings {
        via,
        when: NotifyWhen(w.long("notify_when")?.clamp(0, 3) as u8),
        error_emails: &error_emails,
        associate_emails: &associate_emails,
        errors_email: errors_email.as_deref(),
    };
    let name = w.text("name")?;
    for kind in kinds {
        let Some(plan) = alert_plan(*kind, &settings) else {
            continue;
        };
        let mail = if plan.recipients.is_empty() {
            MailState::None
        } else {
            MailState::Pending
        };
        conn.execute(
            "INSERT INTO alerts (webhook_id, webhook_name, kind, event_name, event_id, last_error, \
             created_at, in_app, mail_state, mail_to, mail_next_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $7)",
            &[
                Arg::Int(a.webhook_id),
                Arg::Text(&name),
                Arg::Text(kind.as_str()),
                Arg::Text(&a.log.event_name),
                Arg::Text(&a.log.event_id),
                Arg::Text(a.report.as_deref().unwrap_or_default()),
                Arg::Long(now),
                Arg::Bool(plan.in_app),
                Arg::Long(mail as i64),
                Arg::String(to_json(&plan.recipients)),
            ],
        )
        .await?;
        tracing::info!(
            webhook_id = a.webhook_id,
            kind = kind.as_str(),
            in_app = plan.in_app,
            recipients = plan.recipients.len(),
            "webhook alert recorded"
        );
    }
    Ok(())
}

/// The e-mail addresses of the users `ids` that have one.
async fn associate_emails<C: Conn>(
    conn: &mut C,
    webhook_id: i32,
    ids: &[i32],
) -> StoreResult<Vec<String>> {
    let ids: Vec<i64> = ids.iter().map(|id| i64::from(*id)).collect();
    let sql = format!("SELECT id, email FROM users WHERE id {}", C::id_in("$1"));
    let rows = conn.fetch_all(&sql, &[Arg::Ids(&ids)]).await?;
    let mut emails = Vec::new();
    for id in ids {
        let found = rows.iter().find(|r| r.long("id").ok() == Some(id));
        match found.map(|r| r.opt_text("email")).transpose()?.flatten() {
            Some(email) if !email.trim().is_empty() => emails.push(email),
            _ => tracing::warn!(
                webhook_id,
                associate_id = id,
                "an ErrorAssociates user has no e-mail address (hookwire user add --email): not mailed"
            ),
        }
    }
    Ok(emails)
}
