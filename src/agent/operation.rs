//! The 8 operations of NetServer's Webhook agent, once: their names, what each is called with
//! and what each answers, and the one place that runs them ([`WebhookAgent::dispatch`]).
//!
//! The SOAP adapter (`Webhook.svc`) and REST's Agent RPC (`/api/v1/Agents/Webhook/{Method}`)
//! only decode a request into an [`Operation`] and encode the [`Answer`] in their wire format;
//! neither spells an operation's name nor chooses the agent method itself. Adding an operation
//! is a variant here, and the compiler then points at every decoder and encoder that must learn
//! it. (The shape of mini-redis's `Command`.) The WSDL (`soap/wsdl/webhook.wsdl`) also lists the
//! operations, as data; a test in `soap/webhook_service.rs` keeps it and [`OperationName::ALL`]
//! the same.

use std::fmt;

use super::{AgentError, WebhookAgent, WebhookCarrier, WebhookFilter, WebhookResult};
use crate::auth::Caller;
use crate::domain::{TypedValue, WebhookInput};

/// The name of an operation, as SOAP's operation element and Agent RPC's `{Method}` say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OperationName {
    CreateDefaultWebhook,
    SaveWebhook,
    DeleteWebhook,
    GetWebhook,
    GetAllWebhooks,
    TestWebhook,
    SignalEvent,
    GetLastError,
}

impl OperationName {
    /// Every operation, in the WSDL's order.
    pub const ALL: [OperationName; 8] = [
        OperationName::CreateDefaultWebhook,
        OperationName::SaveWebhook,
        OperationName::DeleteWebhook,
        OperationName::GetWebhook,
        OperationName::GetAllWebhooks,
        OperationName::TestWebhook,
        OperationName::SignalEvent,
        OperationName::GetLastError,
    ];

    /// The names of [`Self::ALL`], as SOAP compares them (exactly).
    pub const NAMES: [&'static str; 8] = {
        let mut names = [""; 8];
        let mut i = 0;
        while i < names.len() {
            names[i] = Self::ALL[i].as_str();
            i += 1;
        }
        names
    };

    pub const fn as_str(self) -> &'static str {
        match self {
            OperationName::CreateDefaultWebhook => "CreateDefaultWebhook",
            OperationName::SaveWebhook => "SaveWebhook",
            OperationName::DeleteWebhook => "DeleteWebhook",
            OperationName::GetWebhook => "GetWebhook",
            OperationName::GetAllWebhooks => "GetAllWebhooks",
            OperationName::TestWebhook => "TestWebhook",
            OperationName::SignalEvent => "SignalEvent",
            OperationName::GetLastError => "GetLastError",
        }
    }

    /// The operation `name` names, in any case (REST paths are case-insensitive on NetServer).
    pub fn parse(name: &str) -> Option<OperationName> {
        Self::ALL
            .into_iter()
            .find(|op| op.as_str().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for OperationName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One call of an operation, with its arguments, decoded from either wire.
#[derive(Debug, Clone, PartialEq)]
pub enum Operation {
    CreateDefaultWebhook,
    SaveWebhook(WebhookInput),
    DeleteWebhook {
        webhook_id: i32,
    },
    GetWebhook {
        webhook_id: i32,
    },
    GetAllWebhooks(WebhookFilter),
    TestWebhook(WebhookInput),
    SignalEvent {
        event_name: Option<String>,
        primary_key: i32,
        data: Vec<(String, TypedValue)>,
    },
    GetLastError {
        webhook_id: i32,
    },
}

impl Operation {
    pub fn name(&self) -> OperationName {
        match self {
            Operation::CreateDefaultWebhook => OperationName::CreateDefaultWebhook,
            Operation::SaveWebhook(_) => OperationName::SaveWebhook,
            Operation::DeleteWebhook { .. } => OperationName::DeleteWebhook,
            Operation::GetWebhook { .. } => OperationName::GetWebhook,
            Operation::GetAllWebhooks(_) => OperationName::GetAllWebhooks,
            Operation::TestWebhook(_) => OperationName::TestWebhook,
            Operation::SignalEvent { .. } => OperationName::SignalEvent,
            Operation::GetLastError { .. } => OperationName::GetLastError,
        }
    }

    /// The webhook the call names by id, for messages about it.
    pub fn webhook_id(&self) -> Option<i32> {
        match self {
            Operation::DeleteWebhook { webhook_id }
            | Operation::GetWebhook { webhook_id }
            | Operation::GetLastError { webhook_id } => Some(*webhook_id),
            Operation::SaveWebhook(input) => Some(input.webhook_id),
            _ => None,
        }
    }
}

/// What an operation answers, before a wire encodes it.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// CreateDefaultWebhook, SaveWebhook: the webhook.
    Webhook(Box<WebhookCarrier>),
    /// GetWebhook: the webhook, or `None` for an unknown id (NetServer answers a nil Response).
    MaybeWebhook(Option<Box<WebhookCarrier>>),
    /// GetAllWebhooks.
    Webhooks(Vec<WebhookCarrier>),
    /// TestWebhook.
    TestResult(WebhookResult),
    /// GetLastError: the text, empty when there was none.
    Text(String),
    /// DeleteWebhook, SignalEvent: nothing (void).
    Done,
}

impl WebhookAgent {
    /// Runs one operation as `caller`.
    pub async fn dispatch(
        &self,
        caller: &Caller,
        operation: Operation,
    ) -> Result<Answer, AgentError> {
        Ok(match operation {
            Operation::CreateDefaultWebhook => {
                Answer::Webhook(Box::new(self.create_default_webhook()))
            }
            Operation::SaveWebhook(input) => {
                Answer::Webhook(Box::new(self.save_webhook(caller, input).await?))
            }
            Operation::DeleteWebhook { webhook_id } => {
                self.delete_webhook(caller, webhook_id).await?;
                Answer::Done
            }
            Operation::GetWebhook { webhook_id } => {
                Answer::MaybeWebhook(self.get_webhook(caller, webhook_id).await?.map(Box::new))
            }
            Operation::GetAllWebhooks(filter) => {
                Answer::Webhooks(self.get_all_webhooks(caller, &filter).await?)
            }
            Operation::TestWebhook(input) => {
                Answer::TestResult(self.test_webhook(caller, input).await?)
            }
            Operation::SignalEvent {
                event_name,
                primary_key,
                data,
            } => {
                self.signal_event(caller, event_name, primary_key, data)
                    .await?;
                Answer::Done
            }
            Operation::GetLastError { webhook_id } => {
                Answer::Text(self.get_last_error(caller, webhook_id).await?)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_listed_once_and_parse_in_any_case() {
        for op in OperationName::ALL {
            assert_eq!(OperationName::parse(op.as_str()), Some(op));
            assert_eq!(
                OperationName::parse(&op.as_str().to_ascii_uppercase()),
                Some(op)
            );
        }
        assert_eq!(OperationName::NAMES[1], "SaveWebhook");
        assert_eq!(
            OperationName::parse("getwebhook"),
            Some(OperationName::GetWebhook)
        );
        assert_eq!(OperationName::parse("GetWebhooks"), None);
        assert_eq!(OperationName::parse(""), None);
    }
}
