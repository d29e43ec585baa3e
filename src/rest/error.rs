//! REST errors: one JSON body (`{"Error", "ErrorType", "Message"}`) and the status that fits.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::json::ErrorJson;
use crate::agent::AgentError;
use crate::auth::AuthError;

/// `WWW-Authenticate` of 401 answers: both schemes hookwire accepts.
const CHALLENGE: &str = "SOTicket realm=\"hookwire\", Basic realm=\"hookwire\"";

/// What a REST call without credentials is told (the agent's message is SOAP's).
const HOW_TO_AUTHENTICATE: &str = "No credentials were given: send Authorization: SOTicket <ticket> \
    (a Ticket from SoPrincipal.svc AuthenticateUsernamePassword) or Authorization: Basic \
    <base64 of user:password>";

#[derive(Debug)]
pub enum ApiError {
    Agent(AgentError),
    BadRequest(String),
    NotFound(String),
    /// A JSON Patch `test` operation failed.
    Conflict(String),
    TooLarge(usize),
    /// The body did not arrive in time (`crate::body_deadline`).
    RequestTimeout(String),
    /// A small request asks for more than a limit allows (a JSON Patch that grows the webhook
    /// past `--max-body-bytes`); the message names the limit.
    OverLimit(String),
    MethodNotAllowed(String),
    UnsupportedMediaType(String),
}

impl From<AgentError> for ApiError {
    fn from(e: AgentError) -> Self {
        ApiError::Agent(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry_after = match &self {
            ApiError::Agent(AgentError::Auth(AuthError::Throttled { retry_after_secs })) => {
                Some(*retry_after_secs)
            }
            _ => None,
        };
        let (status, error_type, message) = match self {
            ApiError::Agent(e) => {
                let status = match &e {
                    AgentError::Auth(AuthError::Store(_))
                    | AgentError::Store(_)
                    | AgentError::Unreadable(..) => StatusCode::INTERNAL_SERVER_ERROR,
                    AgentError::Auth(AuthError::Throttled { .. }) => StatusCode::TOO_MANY_REQUESTS,
                    AgentError::Auth(AuthError::UserNameTooLong) => StatusCode::BAD_REQUEST,
                    AgentError::Auth(_) => StatusCode::UNAUTHORIZED,
                    AgentError::Forbidden(_) => StatusCode::FORBIDDEN,
                    AgentError::NotFound(_) => StatusCode::NOT_FOUND,
                    AgentError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
                    AgentError::Conflict(_) => StatusCode::CONFLICT,
                    AgentError::Invalid(_) | AgentError::PingFailed(_) => StatusCode::BAD_REQUEST,
                };
                if e.is_internal() {
                    tracing::error!(error = %e, "REST request failed");
                }
                let message = match &e {
                    AgentError::Auth(AuthError::MissingTicket) => HOW_TO_AUTHENTICATE.into(),
                    _ => e.client_message(),
                };
                (status, e.exception_type().to_string(), message)
            }
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, "ArgumentException".into(), m),
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, "NotFoundException".into(), m),
            ApiError::Conflict(m) => (StatusCode::CONFLICT, "PatchTestFailedException".into(), m),
            ApiError::TooLarge(limit) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "ArgumentException".into(),
                format!("the request body is larger than {limit} bytes"),
            ),
            ApiError::RequestTimeout(m) => {
                (StatusCode::REQUEST_TIMEOUT, "TimeoutException".into(), m)
            }
            ApiError::OverLimit(m) => {
                (StatusCode::PAYLOAD_TOO_LARGE, "ArgumentException".into(), m)
            }
            ApiError::MethodNotAllowed(m) => (
                StatusCode::METHOD_NOT_ALLOWED,
                "NotSupportedException".into(),
                m,
            ),
            ApiError::UnsupportedMediaType(m) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "ArgumentException".into(),
                m,
            ),
        };
        let body = ErrorJson {
            error: status.canonical_reason().unwrap_or("Error").to_string(),
            error_type,
            message,
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static(CHALLENGE),
            );
        }
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
        }
        response
    }
}
