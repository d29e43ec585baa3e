//! What every REST handler reads: the caller, path parameters, the JSON body, case-insensitive
//! parameters.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use axum::body::Bytes;
use axum::extract::path::ErrorKind;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{ConnectInfo, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::ApiError;
use crate::auth::{AuthError, Caller};
use crate::state::AppState;

tokio::task_local! {
    /// The client address of the request being handled, for throttling failed Basic logins.
    /// Set around every REST handler by [`with_client_address`], so that no handler has to
    /// pass it to [`caller`].
    static CLIENT_ADDRESS: Option<IpAddr>;
}

/// Middleware: runs the rest of the request with its peer address in [`CLIENT_ADDRESS`].
pub async fn with_client_address(request: Request, next: Next) -> Response {
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    CLIENT_ADDRESS.scope(client, next.run(request)).await
}

/// Authenticates `Authorization: SOTicket <ticket>` or `Basic`, with `SO-AppToken`.
pub async fn caller(state: &AppState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let app_token = headers.get("so-apptoken").and_then(|v| v.to_str().ok());
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim();
    let (scheme, credentials) = authorization.split_once(' ').unwrap_or((authorization, ""));
    let credentials = credentials.trim();
    if scheme.eq_ignore_ascii_case("SOTicket") {
        return Ok(state.agent.caller(Some(credentials), app_token).await?);
    }
    if scheme.eq_ignore_ascii_case("Basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(credentials)
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        let client = CLIENT_ADDRESS.try_with(|client| *client).ok().flatten();
        let Some((user, password)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
            return Err(ApiError::Agent(AuthError::WrongPassword.into()));
        };
        return Ok(state
            .agent
            .auth()
            .caller_with_password(user, password, app_token, client)
            .await
            .map_err(crate::agent::AgentError::from)?);
    }
    Err(ApiError::Agent(AuthError::MissingTicket.into()))
}

/// The path parameters (axum's `Path`), with a path that does not decode, such as `%FF`
/// (not UTF-8), answered in the JSON error form instead of axum's plain text.
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(ApiPath(value)),
            Err(PathRejection::FailedToDeserializePathParams(e))
                if matches!(e.kind(), ErrorKind::InvalidUtf8InPathParam { .. }) =>
            {
                Err(ApiError::BadRequest(format!(
                    "the path {} is not valid UTF-8 once percent-decoded",
                    parts.uri.path()
                )))
            }
            Err(e) => Err(ApiError::BadRequest(e.body_text())),
        }
    }
}

/// The JSON body, checked: `None` when empty; 413 over the limit, 415 for non-JSON types,
/// 400 for malformed JSON.
pub fn json_body(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    limit: usize,
) -> Result<Option<Value>, ApiError> {
    let body = body.map_err(|_| ApiError::TooLarge(limit))?;
    if body.len() > limit {
        return Err(ApiError::TooLarge(limit));
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    if let Some(ct) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    {
        let essence = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let json = essence == "application/json"
            || essence == "text/json"
            || (essence.starts_with("application/") && essence.ends_with("+json"));
        if !json {
            return Err(ApiError::UnsupportedMediaType(format!(
                "Content-Type '{ct}' is not JSON; use application/json"
            )));
        }
    }
    serde_json::from_slice(&body)
        .map(Some)
        .map_err(|e| ApiError::BadRequest(format!("the body is not valid JSON: {e}")))
}

/// Query parameters by lower-cased name.
pub fn lower_keys(query: HashMap<String, String>) -> HashMap<String, String> {
    query
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect()
}

/// The absolute URL base clients reached us by, for `_Links`.
pub fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}
