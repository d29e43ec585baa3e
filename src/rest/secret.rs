//! `POST /api/v1/Webhook/{id}/Secret`: Generate / Regenerate a webhook's Secret, hookwire's own
//! (docs/REST.md, Secret). The rules are the agent's (`agent/secret_rotation.rs`).

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::deliveries::parse_webhook_id;
use super::error::ApiError;
use super::extract::{ApiCaller, ApiPath};
use super::json::ErrorJson;
use crate::domain::wire_date;
use crate::state::AppState;

/// The new Secret, shown this once, and until when the replaced one still signs.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct NewSecretJson {
    /// 40 letters and digits.
    pub secret: String,
    /// ISO 8601 UTC; null when no replaced Secret signs (there was none, or no grace).
    #[schema(example = "2026-11-30T12:00:00.000Z")]
    pub previous_valid_until: Option<String>,
}

/// Gives the webhook a new random Secret; the replaced one keeps signing `webhook-signature`
/// (beside the new one) for `--secret-grace-secs`.
#[utoipa::path(post, path = "/api/v1/Webhook/{id}/Secret", tag = "Webhook",
    params(("id" = i32, Path, description = "the webhook")),
    responses((status = 200, body = NewSecretJson), (status = 400, body = ErrorJson),
              (status = 401, body = ErrorJson), (status = 403, body = ErrorJson),
              (status = 404, body = ErrorJson)),
    security(("SOTicket" = []), ("Basic" = [])))]
pub async fn regenerate(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiCaller(who): ApiCaller,
) -> Result<Json<NewSecretJson>, ApiError> {
    let new = state
        .agent
        .rotate_secret(&who, parse_webhook_id(&id)?)
        .await?;
    Ok(Json(NewSecretJson {
        secret: new.secret,
        previous_valid_until: new.previous_valid_until.map(|t| wire_date(Some(t))),
    }))
}
