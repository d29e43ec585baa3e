//! In-app alerts (docs/REST.md, Alerts): the list, newest first and keyset paged, and marking
//! one read. The rules are here: valid parameters, who sees which alert (in online mode, an
//! application sees only its own webhooks' alerts). Adapters only translate.

use super::paging::{self, given};
use super::{AgentError, WebhookAgent};
use crate::auth::Caller;
use crate::domain::now_millis;
use crate::store::{AlertEntry, AlertQuery};

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
        let (alerts, next_cursor) = paging::page(self.store.alerts(&query).await?, limit, |a| a.id);
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

fn parse_filter(f: &AlertFilter) -> Result<AlertQuery, AgentError> {
    let invalid = AgentError::Invalid;
    let unread_only = match given(&f.unread) {
        None => false,
        Some(v) if v.eq_ignore_ascii_case("true") => true,
        Some(v) if v.eq_ignore_ascii_case("false") => false,
        Some(v) => return Err(invalid(format!("unread '{v}' is not true or false"))),
    };
    let limit = paging::limit(&f.limit)?;
    let before = paging::cursor(&f.cursor)?;
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
        assert_eq!(q.limit, paging::DEFAULT_LIMIT);
    }
}
