//! The extractors every REST handler takes instead of reading the request by hand: the
//! authenticated caller ([`ApiCaller`]), path parameters ([`ApiPath`]), the JSON body
//! ([`JsonBody`]) and case-insensitive query parameters ([`QueryParams`]), each rejecting a
//! request in the JSON error form.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use axum::body::Bytes;
use axum::extract::path::ErrorKind;
use axum::extract::rejection::PathRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use base64::Engine;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::ApiError;
use crate::auth::{AuthError, Caller};
use crate::state::AppState;

/// The authenticated caller of a REST request: `Authorization: SOTicket <ticket>` or `Basic`
/// (user:password), with `SO-AppToken`. A handler that takes it runs only for a caller who
/// authenticated; the others are answered 401 (429 while `Basic` logins are throttled).
pub struct ApiCaller(pub Caller);

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // The client address throttles failed `Basic` logins, as SOAP's logins are.
        let client = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip());
        caller(state, &parts.headers, client).await.map(ApiCaller)
    }
}

async fn caller(
    state: &AppState,
    headers: &HeaderMap,
    client: Option<IpAddr>,
) -> Result<Caller, ApiError> {
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

/// The JSON body: `None` when empty; 413 over `--max-body-bytes`, 415 for a Content-Type that
/// is not JSON, 400 for malformed JSON. It reads the body, so it is a handler's last argument.
pub struct JsonBody(pub Option<Value>);

impl JsonBody {
    /// The body, or 400 saying it is required and what it should be.
    pub fn required(self, what: &str) -> Result<Value, ApiError> {
        self.0
            .ok_or_else(|| ApiError::BadRequest(format!("the body is required: {what}")))
    }
}

impl FromRequest<AppState> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let limit = state.max_body_bytes;
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = Bytes::from_request(request, state)
            .await
            .map_err(|_| ApiError::TooLarge(limit))?;
        json_body(content_type.as_deref(), &body, limit).map(JsonBody)
    }
}

fn json_body(
    content_type: Option<&str>,
    body: &Bytes,
    limit: usize,
) -> Result<Option<Value>, ApiError> {
    if body.len() > limit {
        return Err(ApiError::TooLarge(limit));
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    if let Some(ct) = content_type {
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
    serde_json::from_slice(body)
        .map(Some)
        .map_err(|e| ApiError::BadRequest(format!("the body is not valid JSON: {e}")))
}

/// The query parameters by lower-cased name (NetServer's parameter names are case-insensitive).
pub struct QueryParams(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let Query(query) = Query::<HashMap<String, String>>::try_from_uri(&parts.uri)
            .map_err(|e| ApiError::BadRequest(e.body_text()))?;
        Ok(QueryParams(
            query
                .into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v))
                .collect(),
        ))
    }
}

/// The absolute URL base clients reached us by, for `_Links`.
pub fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}
