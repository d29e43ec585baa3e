//! Errors of the agent's operations, with the NetServer exception type each is reported as.

use crate::auth::AuthError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The caller could not be authenticated.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The input breaks a rule; the message names the field.
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    /// SaveWebhook's test ping got no 2xx: nothing was saved.
    #[error("{0}")]
    PingFailed(String),
    /// The webhook changed after the version a precondition held for (REST's
    /// `If-Unmodified-Since`), or kept changing while an update was computed from it.
    #[error("{0}")]
    PreconditionFailed(String),
    /// The request does not fit the thing's state now (a delivery waiting for its record's
    /// turn, one being sent): the message says what would.
    #[error("{0}")]
    Conflict(String),
    /// The caller may not touch this webhook.
    #[error("{0}")]
    Forbidden(String),
    /// The webhook's stored row cannot be decoded: an error on that webhook alone.
    #[error(
        "Webhook {0} cannot be read ({1}); delete it (DeleteWebhook still works) and register it again"
    )]
    Unreadable(i32, String),
    /// The store failed: not the client's fault.
    #[error("internal error: {0}")]
    Store(#[from] StoreError),
}

impl AgentError {
    /// The `ExceptionType` NetServer clients see (a .NET-style exception name).
    pub fn exception_type(&self) -> &'static str {
        match self {
            AgentError::Auth(AuthError::Store(_))
            | AgentError::Store(_)
            | AgentError::Unreadable(..) => "SoServerException",
            AgentError::Auth(
                AuthError::MissingTicket | AuthError::UnknownTicket | AuthError::ExpiredTicket,
            ) => "SoSessionException",
            AgentError::Auth(AuthError::UserNameTooLong) | AgentError::Invalid(_) => {
                "ArgumentException"
            }
            AgentError::Auth(_) | AgentError::Forbidden(_) => "SoSecurityException",
            AgentError::NotFound(_) => "NotFoundException",
            AgentError::PingFailed(_) => "WebhookTestFailedException",
            AgentError::PreconditionFailed(_) => "PreconditionFailedException",
            AgentError::Conflict(_) => "InvalidOperationException",
        }
    }

    /// Whether the server, not the client, is at fault.
    pub fn is_internal(&self) -> bool {
        matches!(
            self,
            AgentError::Store(_) | AgentError::Auth(AuthError::Store(_))
        )
    }

    /// The message shown to clients. Internal errors are logged, not described.
    pub fn client_message(&self) -> String {
        if self.is_internal() {
            "The server could not complete the request (storage error); it was logged".into()
        } else {
            self.to_string()
        }
    }
}
