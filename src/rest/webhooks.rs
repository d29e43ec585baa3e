//! RESTful `/api/v1/Webhook`: the same operations as SOAP, resource style (docs/REST.md, Routes).

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::error::ApiError;
use super::extract::{ApiCaller, ApiPath, JsonBody, QueryParams, base_url};
use super::json::{ErrorJson, WebhookBody, WebhookJson, WebhookResultJson, WebhookWithLinks};
use super::patch;
use crate::agent::{Precondition, WebhookCarrier};
use crate::domain::TypedValue;
use crate::state::AppState;

/// The carrier with `_Links`, trimmed to `$select` when given.
fn with_links(
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    w: &WebhookCarrier,
) -> Response {
    let out = WebhookWithLinks {
        webhook: WebhookJson::from(w),
        links: super::json::LinksJson {
            self_link: format!("{}/api/v1/Webhook/{}", base_url(headers), w.id),
        },
    };
    let mut value = serde_json::to_value(out).unwrap_or(Value::Null);
    if let (Some(select), Value::Object(map)) = (query.get("$select"), &mut value) {
        let keep: Vec<&str> = select
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        map.retain(|k, _| {
            k == "WebhookId" || k == "_Links" || keep.iter().any(|s| s.eq_ignore_ascii_case(k))
        });
    }
    Json(value).into_response()
}

/// What POST, PUT and `Test` take.
const A_WEBHOOK: &str = "a Webhook as JSON";

fn parse_id(raw: &str) -> Result<i32, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::BadRequest(format!("'{raw}' is not a webhook id (an integer)")))
}

fn webhook_input(value: Value, id: i32) -> Result<crate::domain::WebhookInput, ApiError> {
    let mut input = WebhookBody::parse(value)
        .and_then(WebhookBody::into_input)
        .map_err(ApiError::BadRequest)?;
    input.webhook_id = id;
    Ok(input)
}

/// CreateDefaultWebhook.
#[utoipa::path(get, path = "/api/v1/Webhook/default", tag = "Webhook",
    responses((status = 200, body = WebhookJson), (status = 401, body = ErrorJson)),
    security(("SOTicket" = []), ("Basic" = [])))]
pub async fn default_webhook(
    State(state): State<AppState>,
    _caller: ApiCaller,
) -> Result<Response, ApiError> {
    Ok(Json(WebhookJson::from(&state.agent.create_default_webhook())).into_response())
}

/// GetAllWebhooks.
#[utoipa::path(get, path = "/api/v1/Webhook", tag = "Webhook",
    params(("nameFilter" = Option<String>, Query, description = "webhooks with this name (case-insensitive)"),
           ("eventFilter" = Option<String>, Query, description = "webhooks that receive this event"),
           ("statusFilter" = Option<String>, Query, description = "Unknown (no filter), Active, Stopped, TooManyErrors")),
    responses((status = 200, body = Vec<WebhookJson>), (status = 400, body = ErrorJson), (status = 401, body = ErrorJson)),
    security(("SOTicket" = []), ("Basic" = [])))]
pub async fn list(
    State(state): State<AppState>,
    ApiCaller(who): ApiCaller,
    QueryParams(query): QueryParams,
) -> Result<Response, ApiError> {
    let non_empty = |k: &str| query.get(k).filter(|v| !v.trim().is_empty()).cloned();
    let filter = super::json::webhook_filter(
        "statusFilter",
        non_empty("namefilter"),
        non_empty("eventfilter"),
        non_empty("statusfilter"),
    )
    .map_err(ApiError::BadRequest)?;
    let all = state.agent.get_all_webhooks(&who, &filter).await?;
    Ok(Json(all.iter().map(WebhookJson::from).collect::<Vec<_>>()).into_response())
}

/// SaveWebhook (create).
#[utoipa::path(post, path = "/api/v1/Webhook", tag = "Webhook", request_body = WebhookBody,
    params(("$select" = Option<String>, Query, description = "comma-separated members to keep")),
    responses((status = 200, body = WebhookWithLinks), (status = 400, body = ErrorJson), (status = 401, body = ErrorJson),
              (status = 413, body = ErrorJson), (status = 415, body = ErrorJson)),
    security(("SOTicket" = []), ("Basic" = [])))]
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiCaller(who): ApiCaller,
    QueryParams(query): QueryParams,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let value = body.required(A_WEBHOOK)?;
    let saved = state
        .agent
        .save_webhook(&who, webhook_input(value, 0)?)
        .await?;
    Ok(with_links(&headers, &query, &saved))
}

/// GetWebhook.
#[utoipa::path(get, path = "/api/v1/Webhook/{id}", tag = "Webhook",
    params(("id" = i32, Path), ("$select" = Option<String>, Query)),
    responses((status = 200, body = WebhookWithLinks), (status = 400, body = ErrorJson), (status = 401, body = ErrorJson),
              (status = 403, body = ErrorJson), (status = 404, body = ErrorJson)),
    security(("SOTicket" = []), ("Basic" = [])))]
pub async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    ApiCaller(who): ApiCaller,
    QueryParams(query): QueryParams,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    match state.agent.get_webhook(&who, id).await? {
        Some(w) => Ok(with_links(&headers, &query, &w)),
        None => Err(ApiError::NotFound(format!("Webhook {id} does not exist"))),
    }
}

/// SaveWebhook (update).
#[utoipa::path(put, path = "/api/v1/Webhook/{id}", tag = "Webhook", request_body = WebhookBody,
    params(("id" = i32, Path), ("$select" = Option<String>, Query)),
    responses((status = 200, body = WebhookWithLinks), (status = 400, body = ErrorJson), (status = 401, body = ErrorJson),
              (status = 403, body = ErrorJson), (status = 404, body = ErrorJson), (status = 413, body = ErrorJson), (status = 415, body = ErrorJson)),
    security(("SOTicket" = []), ("Basic" = [])))]
pub async fn put(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    ApiCaller(who): ApiCaller,
    QueryParams(query): QueryParams,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let value = body.required(A_WEBHOOK)?;
    let id = parse_id(&id)?;
    if id <= 0 {
        return Err(ApiError::NotFound(format!("Webhook {id} does not exist")));
    }
    let saved = state
        .agent
        .save_webhook(&who, webhook_input(value, id)?)
        .await?;
    Ok(with_links(&headers, &query, &saved))
}

/// Get, apply a JSON Patch or JSON Merge Patch, SaveWebhook.
#[utoipa::path(patch, path = "/api/v1/Webhook/{id}", tag = "Webhook",
    request_body(content = Object, description = "a JSON Patch array (application/json-patch+json) or a JSON Merge Patch object"),
    params(("id" = i32, Path), ("$select" = Option<String>, Query),
           ("If-Unmodified-Since" = Option<String>, Header, description = "HTTP date; 412 when the webhook changed after it")),
    responses((status = 200, body = WebhookWithLinks), (status = 400, body = ErrorJson), (status = 401, body = ErrorJson),
              (status = 403, body = ErrorJson), (status = 404, body = ErrorJson), (status = 409, body = ErrorJson),
              (status = 412, body = ErrorJson), (status = 413, body = ErrorJson), (status = 415, body = ErrorJson)),
    security(("SOTicket" = []), ("Basic" = [])))]
pub async fn patch(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    ApiCaller(who): ApiCaller,
    QueryParams(query): QueryParams,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let document = body.required("a JSON Patch or Merge Patch")?;
    let id = parse_id(&id)?;
    // RFC 9110 §13.1.4: an invalid date is ignored.
    let precondition = headers
        .get(header::IF_UNMODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|since| chrono::DateTime::parse_from_rfc2822(since.trim()).ok())
        .map(|since| Precondition::UnmodifiedSince {
            seconds: since.timestamp(),
        });
    let limit = state.max_body_bytes;
    let saved = state
        .agent
        .update_webhook(&who, id, precondition, |current| {
            let mut value = serde_json::to_value(WebhookJson::from(current)).unwrap_or(Value::Null);
            patch::apply(&mut value, &document, limit).map_err(|e| match e {
                patch::PatchError::Invalid(m) => ApiError::BadRequest(m),
                patch::PatchError::TestFailed(m) => ApiError::Conflict(m),
                patch::PatchError::TooLarge(m) => ApiError::OverLimit(m),
            })?;
            // `patch::apply` leaves a removed top-level member as null, so it clears, not keeps.
            webhook_input(value, id)
        })
        .await?;
    Ok(with_links(&headers, &query, &saved))
}

/// DeleteWebhook.
#[utoipa::path(delete, path = "/api/v1/Webhook/{id}", tag = "Webhook", params(("id" = i32, Path)),
    responses((status = 204), (status = 400, body = ErrorJson), (status = 401, body = ErrorJson), (status = 403, body = ErrorJson), (status = 404, body = ErrorJson)),
    security(("SOTicket" = []), ("Basic" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiCaller(who): ApiCaller,
) -> Result<Response, ApiError> {
    state.agent.delete_webhook(&who, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// TestWebhook.
#[utoipa::path(post, path = "/api/v1/Webhook/Test", tag = "Webhook", request_body = WebhookBody,
    responses((status = 200, body = WebhookResultJson), (status = 400, body = ErrorJson), (status = 401, body = ErrorJson),
              (status = 413, body = ErrorJson), (status = 415, body = ErrorJson)),
    security(("SOTicket" = []), ("Basic" = [])))]
pub async fn test(
    State(state): State<AppState>,
    ApiCaller(who): ApiCaller,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let value = body.required(A_WEBHOOK)?;
    let result = state
        .agent
        .test_webhook(&who, webhook_input(value, 0)?)
        .await?;
    Ok(Json(WebhookResultJson::from(result)).into_response())
}

/// `POST /api/v1/Webhook/{eventName}/{primaryKey}` (SignalEvent) and
/// `GET /api/v1/Webhook/{id}/LastError` share one route shape.
#[utoipa::path(post, path = "/api/v1/Webhook/{eventName}/{primaryKey}", tag = "Webhook",
    request_body(content = Object, description = "the event data: an object of any JSON values"),
    params(("eventName" = String, Path), ("primaryKey" = i32, Path)),
    responses((status = 204), (status = 400, body = ErrorJson), (status = 401, body = ErrorJson),
              (status = 413, body = ErrorJson), (status = 415, body = ErrorJson)),
    security(("SOTicket" = []), ("Basic" = [])))]
pub async fn signal(
    State(state): State<AppState>,
    ApiPath((event, key)): ApiPath<(String, String)>,
    ApiCaller(who): ApiCaller,
    JsonBody(data): JsonBody,
) -> Result<Response, ApiError> {
    let primary_key: i32 = key
        .parse()
        .map_err(|_| ApiError::BadRequest(super::agents::int_problem("primaryKey", &key)))?;
    let data = match data {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(map)) => map
            .into_iter()
            .map(|(k, v)| (k, TypedValue::from_json(&v)))
            .collect(),
        Some(_) => {
            return Err(ApiError::BadRequest(
                "the body must be a JSON object (the event data)".into(),
            ));
        }
    };
    state
        .agent
        .signal_event(&who, Some(event), primary_key, data)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// GetLastError.
#[utoipa::path(get, path = "/api/v1/Webhook/{id}/LastError", tag = "Webhook", params(("id" = i32, Path)),
    responses((status = 200, body = String), (status = 400, body = ErrorJson), (status = 401, body = ErrorJson), (status = 403, body = ErrorJson), (status = 404, body = ErrorJson)),
    security(("SOTicket" = []), ("Basic" = [])))]
pub async fn last_error(
    State(state): State<AppState>,
    ApiPath((id, what)): ApiPath<(String, String)>,
    ApiCaller(who): ApiCaller,
) -> Result<Response, ApiError> {
    if !what.eq_ignore_ascii_case("LastError") {
        return Err(ApiError::NotFound(format!(
            "no resource /api/v1/Webhook/{id}/{what}"
        )));
    }
    let text = state.agent.get_last_error(&who, parse_id(&id)?).await?;
    Ok(Json(text).into_response())
}
