//! In-app alerts (docs/REST.md, Alerts): the list, newest first and keyset paged, and marking
//! one read. The rules are here: valid parameters, who sees which alert (in online mode, an
//! application sees only its own webhooks' alerts). Adapters only translate.

use super::{AgentError, WebhookAgent};
use crate::auth::Caller;
use crate::domain::now_millis;
use crate::store::{AlertEntry, AlertQuery};

/// Alerts per page unless `limit` says otherwise, and the most it may say.
pub const DEFAULT_ALERT_LIMIT: i64 = 100;
pub const MAX_ALERT_LIMIT: i64 = 1000;

/// The list's parameters as given (each optional, each checked here).
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    pub unread: Option<String>,
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

/// One page, newest first; `next_cursor` fetches the rest.
#[derive(Debug, Clone)]
pub struct AlertPage {
    pub alerts: Vec<AlertEntry>,
    pub next_cursor: Option<String>,
}

impl WebhookAgent {
    /// The in-app alerts the caller may see, newest first, a page at a time.
    pub async fn alerts(
        &self,
        caller: &Caller,
        filter: &AlertFilter,
    ) -> Result<AlertPage, AgentError> {
        let mut query = parse_filter(filter)?;
        query.app_id = caller.app.as_ref().map(|app| app.id);
        let limit = query.limit;
        query.limit += 1; // one more tells whether another page follows
        let mut alerts = self.store.alerts(&query).await?;
        let more = i64::try_from(alerts.len()).unwrap_or(i64::MAX) > limit;
        alerts.truncate(usize::try_from(limit).unwrap_or(0));
        let next_cursor = more
            .then(|| alerts.last().map(|a| a.id.to_string()))
            .flatten();
        Ok(AlertPage {
            alerts,
            next_cursor,
        })
    }

    /// Marks alert `id` read and answers it.
    pub async fn read_alert(&self, caller: &Caller, id: i64) -> Result<AlertEntry, AgentError> {
        let missing = || AgentError::NotFound(format!("Alert {id} does not exist"));
        let alert = self.store.alert(id).await?.ok_or_else(missing)?;
        if let Some(app) = &caller.app
            && alert.app_id != Some(app.id)
        {
            return Err(AgentError::Forbidden(format!(
                "Alert {id} is about a webhook of another application; application '{}' may not use it",
                app.name
            )));
        }
        self.store.mark_alert_read(id, now_millis()).await?;
        self.store.alert(id).await?.ok_or_else(missing)
    }
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn parse_filter(f: &AlertFilter) -> Result<AlertQuery, AgentError> {
    let invalid = AgentError::Invalid;
    let unread_only = match given(&f.unread) {
        None => false,
        Some(v) if v.eq_ignore_ascii_case("true") => true,
        Some(v) if v.eq_ignore_ascii_case("false") => false,
        Some(v) => return Err(invalid(format!("unread '{v}' is not true or false"))),
    };
    let limit = match given(&f.limit) {
        None => DEFAULT_ALERT_LIMIT,
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=MAX_ALERT_LIMIT).contains(n))
            .ok_or_else(|| {
                invalid(format!(
                    "limit '{v}' is not a number from 1 to {MAX_ALERT_LIMIT}"
                ))
            })?,
    };
    let before = given(&f.cursor)
        .map(|v| {
            v.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                invalid(format!(
                    "cursor '{v}' is not a cursor this server gave (use NextCursor as it came)"
                ))
            })
        })
        .transpose()?;
    Ok(AlertQuery {
        app_id: None,
        unread_only,
        before,
        limit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(f: AlertFilter) -> String {
        match parse_filter(&f) {
            Err(AgentError::Invalid(m)) => m,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn every_bad_parameter_is_named() {
        let f = |unread: &str, limit: &str, cursor: &str| AlertFilter {
            unread: Some(unread.into()),
            limit: Some(limit.into()),
            cursor: Some(cursor.into()),
        };
        assert!(message(f("maybe", "", "")).starts_with("unread 'maybe'"));
        assert!(message(f("", "0", "")).starts_with("limit '0'"));
        assert!(message(f("", "", "x")).starts_with("cursor 'x'"));
        let q = parse_filter(&f("TRUE", "", "")).unwrap();
        assert!(q.unread_only);
        assert_eq!(q.limit, DEFAULT_ALERT_LIMIT);
    }
}
