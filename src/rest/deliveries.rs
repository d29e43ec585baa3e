//! `/api/v1/Webhook/{id}/Deliveries`: the delivery log over REST (docs/REST.md, Deliveries),
//! as JSON or, with `Accept: text/csv`, CSV. The rules are the agent's (`agent/deliveries.rs`);
//! this only translates.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::error::ApiError;
use super::extract::{ApiCaller, ApiPath, QueryParams};
use super::json::ErrorJson;
use crate::agent::{DeliveryDetail, DeliveryFilter, deliveries_csv};
use crate::domain::Millis;
use crate::state::AppState;
use crate::store::{AttemptEntry, DeliverySummary};

/// One delivery in the list.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct DeliveryJson {
    pub delivery_id: i64,
    pub event_id: String,
    pub event: String,
    pub primary_key: i64,
    /// `pending`, `waiting` (behind an earlier delivery of its record), `retrying`,
    /// `delivered`, `parked` or `dead`.
    pub status: String,
    /// Attempts made.
    pub attempts: i64,
    /// The HTTP status of the last attempt; null without one or when it got no answer.
    pub last_status: Option<i64>,
    /// When the last attempt started (ISO 8601, UTC).
    pub last_attempt: Option<String>,
    /// When it is due, while queued.
    pub next_attempt: Option<String>,
    pub created: String,
}

/// A page of deliveries, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct DeliveryPageJson {
    pub deliveries: Vec<DeliveryJson>,
    /// Pass as `cursor` for the next page; null on the last one.
    pub next_cursor: Option<String>,
}

/// One attempt of a delivery.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct AttemptJson {
    pub attempt: i64,
    /// `automatic`, `manual` or `test`.
    pub trigger: String,
    pub started: Option<String>,
    pub duration_ms: i64,
    /// The HTTP status; null when the receiver did not answer.
    pub status: Option<i64>,
    /// `timeout`, `connect`, `tls`, `refused-by-policy` or `other` when it did not.
    pub error: Option<String>,
    /// The answer's status line, headers and body (cut at 4 KiB), or the transport error.
    pub response: String,
    pub next_attempt: Option<String>,
}

/// One delivery with its attempts, oldest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct DeliveryDetailJson {
    #[serde(flatten)]
    pub delivery: DeliveryJson,
    pub attempt_log: Vec<AttemptJson>,
}

fn iso(millis: Millis) -> Option<String> {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(millis)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
}

impl From<DeliverySummary> for DeliveryJson {
    fn from(d: DeliverySummary) -> Self {
        DeliveryJson {
            delivery_id: d.delivery_id,
            event_id: d.event_id,
            event: d.event,
            primary_key: d.primary_key,
            status: d.state.as_str().to_string(),
            attempts: d.attempts,
            last_status: d.last_status,
            last_attempt: d.last_attempt.and_then(iso),
            next_attempt: d.next_attempt.and_then(iso),
            created: iso(d.created).unwrap_or_default(),
        }
    }
}

impl From<AttemptEntry> for AttemptJson {
    fn from(a: AttemptEntry) -> Self {
        AttemptJson {
            attempt: a.attempt,
            trigger: a.trigger,
            started: iso(a.started),
            duration_ms: a.duration_ms,
            status: a.status,
            error: a.error,
            response: a.response,
            next_attempt: a.next_attempt.and_then(iso),
        }
    }
}

pub(super) fn parse_webhook_id(raw: &str) -> Result<i32, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::BadRequest(format!("'{raw}' is not a webhook id (an integer)")))
}

pub(super) fn parse_delivery_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::BadRequest(format!("'{raw}' is not a delivery id (an integer)")))
}

fn wants_csv(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',').any(|t| {
                t.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .eq_ignore_ascii_case("text/csv")
            })
        })
}

/// A webhook's deliveries.
#[utoipa::path(get, path = "/api/v1/Webhook/{id}/Deliveries", tag = "Webhook",
    params(("id" = i32, Path, description = "the webhook"),
           ("status" = Option<String>, Query, description = "pending, waiting, retrying, delivered, parked or dead"),
           ("event" = Option<String>, Query, description = "deliveries of this event"),
           ("from" = Option<String>, Query, description = "created at or after (ISO 8601)"),
           ("to" = Option<String>, Query, description = "created at or before (ISO 8601)"),
           ("limit" = Option<i64>, Query, description = "deliveries per page, 1 to 1000 (default 100)"),
           ("cursor" = Option<String>, Query, description = "NextCursor of the previous page")),
    responses((status = 200, description = "newest first; `Accept: text/csv` answers CSV with a header line",
               content((DeliveryPageJson = "application/json"), (String = "text/csv"))),
              (status = 400, body = ErrorJson), (status = 401, body = ErrorJson),
              (status = 403, body = ErrorJson), (status = 404, body = ErrorJson)),
    security(("SOTicket" = []), ("Basic" = [])))]
pub async fn list(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiCaller(who): ApiCaller,
    QueryParams(query): QueryParams,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let take = |name: &str| query.get(name).cloned();
    let filter = DeliveryFilter {
        status: take("status"),
        event: take("event"),
        from: take("from"),
        to: take("to"),
        limit: take("limit"),
        cursor: take("cursor"),
    };
    let page = state
        .agent
        .deliveries(&who, parse_webhook_id(&id)?, &filter)
        .await?;
    if wants_csv(&headers) {
        let mut response = deliveries_csv(&page.deliveries).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("text/csv; charset=utf-8"),
        );
        if let Some(next) = page
            .next_cursor
            .as_deref()
            .and_then(|c| header::HeaderValue::from_str(c).ok())
        {
            response.headers_mut().insert("x-next-cursor", next);
        }
        return Ok(response);
    }
    let page = DeliveryPageJson {
        deliveries: page
            .deliveries
            .into_iter()
            .map(DeliveryJson::from)
            .collect(),
        next_cursor: page.next_cursor,
    };
    Ok(Json(page).into_response())
}

/// One delivery with its attempt log.
#[utoipa::path(get, path = "/api/v1/Webhook/{id}/Deliveries/{deliveryId}", tag = "Webhook",
    params(("id" = i32, Path, description = "the webhook"),
           ("deliveryId" = i64, Path, description = "the delivery")),
    responses((status = 200, body = DeliveryDetailJson), (status = 400, body = ErrorJson),
              (status = 401, body = ErrorJson), (status = 403, body = ErrorJson),
              (status = 404, body = ErrorJson)),
    security(("SOTicket" = []), ("Basic" = [])))]
pub async fn get(
    State(state): State<AppState>,
    ApiPath((id, delivery)): ApiPath<(String, String)>,
    ApiCaller(who): ApiCaller,
) -> Result<Response, ApiError> {
    let delivery_id = parse_delivery_id(&delivery)?;
    let detail = state
        .agent
        .delivery(&who, parse_webhook_id(&id)?, delivery_id)
        .await?;
    Ok(Json(DeliveryDetailJson::from(detail)).into_response())
}

/// Sets a queued delivery aside on the dead-letter list ("discarded by an operator"), so the
/// next delivery of its record may go; answers the delivery as it is then.
#[utoipa::path(post, path = "/api/v1/Webhook/{id}/Deliveries/{deliveryId}/Discard", tag = "Webhook",
    params(("id" = i32, Path, description = "the webhook"),
           ("deliveryId" = i64, Path, description = "the delivery")),
    responses((status = 200, body = DeliveryDetailJson), (status = 400, body = ErrorJson),
              (status = 401, body = ErrorJson), (status = 403, body = ErrorJson),
              (status = 404, body = ErrorJson),
              (status = 409, body = ErrorJson, description = "delivered, dead, or being sent")),
    security(("SOTicket" = []), ("Basic" = [])))]
pub async fn discard(
    State(state): State<AppState>,
    ApiPath((id, delivery)): ApiPath<(String, String)>,
    ApiCaller(who): ApiCaller,
) -> Result<Json<DeliveryDetailJson>, ApiError> {
    let detail = state
        .agent
        .discard_delivery(&who, parse_webhook_id(&id)?, parse_delivery_id(&delivery)?)
        .await?;
    Ok(Json(DeliveryDetailJson::from(detail)))
}

impl From<DeliveryDetail> for DeliveryDetailJson {
    fn from(DeliveryDetail { delivery, attempts }: DeliveryDetail) -> Self {
        DeliveryDetailJson {
            delivery: DeliveryJson::from(delivery),
            attempt_log: attempts.into_iter().map(AttemptJson::from).collect(),
        }
    }
}
