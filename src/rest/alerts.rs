//! `/api/v1/Alerts`: in-app alerts over REST (docs/REST.md, Alerts). The rules are the
//! agent's (`agent/alerts.rs`); this only translates.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::error::ApiError;
use super::extract::{ApiCaller, ApiPath, QueryParams};
use super::json::ErrorJson;
use crate::agent::AlertFilter;
use crate::domain::Millis;
use crate::state::AppState;
use crate::store::AlertEntry;

/// One alert: a webhook's first failure after a success, or its switch to TooManyErrors.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct AlertJson {
    pub alert_id: i64,
    pub webhook_id: i32,
    /// The webhook's Name when the alert was made.
    pub webhook_name: String,
    /// `first-failure` or `disabled`.
    pub kind: String,
    /// The event of the attempt that caused it, and its EventId.
    pub event: String,
    pub event_id: String,
    /// The attempt's LastError.
    pub last_error: String,
    pub created: String,
    /// When it was marked read (ISO 8601, UTC); null while unread.
    pub read: Option<String>,
}

/// A page of alerts, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct AlertPageJson {
    pub alerts: Vec<AlertJson>,
    /// Pass as `cursor` for the next page; null on the last one.
    pub next_cursor: Option<String>,
}

fn iso(millis: Millis) -> Option<String> {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(millis)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
}

impl From<AlertEntry> for AlertJson {
    fn from(a: AlertEntry) -> Self {
        AlertJson {
            alert_id: a.id,
            webhook_id: a.webhook_id,
            webhook_name: a.webhook_name,
            kind: a.kind,
            event: a.event,
            event_id: a.event_id,
            last_error: a.last_error,
            created: iso(a.created).unwrap_or_default(),
            read: a.read.and_then(iso),
        }
    }
}

/// The in-app alerts the caller may see.
#[utoipa::path(get, path = "/api/v1/Alerts", tag = "Alerts",
    params(("unread" = Option<bool>, Query, description = "true: only alerts not marked read"),
           ("limit" = Option<i64>, Query, description = "alerts per page, 1 to 1000 (default 100)"),
           ("cursor" = Option<String>, Query, description = "NextCursor of the previous page")),
    responses((status = 200, description = "newest first", body = AlertPageJson),
              (status = 400, body = ErrorJson), (status = 401, body = ErrorJson)),
    security(("SOTicket" = []), ("Basic" = [])))]
pub async fn list(
    State(state): State<AppState>,
    ApiCaller(who): ApiCaller,
    QueryParams(query): QueryParams,
) -> Result<Json<AlertPageJson>, ApiError> {
    let take = |name: &str| query.get(name).cloned();
    let filter = AlertFilter {
        unread: take("unread"),
        limit: take("limit"),
        cursor: take("cursor"),
    };
    let page = state.agent.alerts(&who, &filter).await?;
    Ok(Json(AlertPageJson {
        alerts: page.alerts.into_iter().map(AlertJson::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Marks an alert read; answers it.
#[utoipa::path(post, path = "/api/v1/Alerts/{id}/Read", tag = "Alerts",
    params(("id" = i64, Path, description = "the alert")),
    responses((status = 200, body = AlertJson), (status = 400, body = ErrorJson),
              (status = 401, body = ErrorJson), (status = 403, body = ErrorJson),
              (status = 404, body = ErrorJson)),
    security(("SOTicket" = []), ("Basic" = [])))]
pub async fn read(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiCaller(who): ApiCaller,
) -> Result<Json<AlertJson>, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::BadRequest(format!("'{id}' is not an alert id (an integer)")))?;
    Ok(Json(state.agent.read_alert(&who, id).await?.into()))
}
