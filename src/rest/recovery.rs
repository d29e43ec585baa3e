//! The operator's actions on the delivery log over REST (docs/REST.md, Retry and Recover):
//! `POST /api/v1/Webhook/{id}/Deliveries/{deliveryId}/Retry` and
//! `POST /api/v1/Webhook/{id}/Recover`. The rules are the agent's (`agent/recovery.rs`).

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::deliveries::{AttemptJson, parse_delivery_id, parse_webhook_id};
use super::error::ApiError;
use super::extract::{ApiCaller, ApiPath, JsonBody};
use super::json::ErrorJson;
use super::members::{canonical_members, deserialized_members};
use crate::agent::RecoverWindow;
use crate::state::AppState;

/// Recover's window: deliveries created from `Since` to `Until` (ISO 8601; `Until` defaults
/// to now).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", default)]
pub struct RecoverBody {
    #[schema(example = "2026-11-29T12:00:00Z")]
    pub since: Option<String>,
    pub until: Option<String>,
}

/// How many deliveries Recover queued again.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct RecoveredJson {
    pub recovered: u64,
}

/// One attempt of the delivery now, whatever its state; answers that attempt.
#[utoipa::path(post, path = "/api/v1/Webhook/{id}/Deliveries/{deliveryId}/Retry", tag = "Webhook",
    params(("id" = i32, Path, description = "the webhook"),
           ("deliveryId" = i64, Path, description = "the delivery")),
    responses((status = 200, body = AttemptJson, description = "the attempt, failed or not"),
              (status = 400, body = ErrorJson), (status = 401, body = ErrorJson),
              (status = 403, body = ErrorJson), (status = 404, body = ErrorJson),
              (status = 409, body = ErrorJson, description = "it waits for an earlier delivery of its record")),
    security(("SOTicket" = []), ("Basic" = [])))]
pub async fn retry(
    State(state): State<AppState>,
    ApiPath((id, delivery)): ApiPath<(String, String)>,
    ApiCaller(who): ApiCaller,
) -> Result<Json<AttemptJson>, ApiError> {
    let attempt = state
        .agent
        .retry_delivery(&who, parse_webhook_id(&id)?, parse_delivery_id(&delivery)?)
        .await?;
    Ok(Json(attempt.into()))
}

/// Queues again every undelivered delivery of the window (dead letters included), due now.
#[utoipa::path(post, path = "/api/v1/Webhook/{id}/Recover", tag = "Webhook",
    params(("id" = i32, Path, description = "the webhook")),
    request_body = RecoverBody,
    responses((status = 200, body = RecoveredJson), (status = 400, body = ErrorJson),
              (status = 401, body = ErrorJson), (status = 403, body = ErrorJson),
              (status = 404, body = ErrorJson)),
    security(("SOTicket" = []), ("Basic" = [])))]
pub async fn recover(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiCaller(who): ApiCaller,
    body: JsonBody,
) -> Result<Json<RecoveredJson>, ApiError> {
    let mut value = body.required(r#"{"Since": "<ISO 8601>", "Until": "<ISO 8601, optional>"}"#)?;
    if !value.is_object() {
        return Err(ApiError::BadRequest(
            r#"the body must be a JSON object: {"Since": ..., "Until": ...}"#.into(),
        ));
    }
    canonical_members(&mut value, deserialized_members::<RecoverBody>());
    let body: RecoverBody = serde_path_to_error::deserialize(value).map_err(|e| {
        let member = e.path().to_string();
        ApiError::BadRequest(format!("{member}: {}", e.into_inner()))
    })?;
    let window = RecoverWindow {
        since: body.since,
        until: body.until,
    };
    let recovered = state
        .agent
        .recover(&who, parse_webhook_id(&id)?, &window)
        .await?;
    Ok(Json(RecoveredJson { recovered }))
}
