//! `Webhook.svc`: decodes the 8 operations, calls the agent, encodes the answer.

use axum::response::Response;

use super::SoapRequest;
use super::decode::{Params, webhook_filter, webhook_input};
use super::encode;
use super::envelope::RequestHeaders;
use super::fault::Fault;
use super::reply::{ExceptionInfo, reply};
use super::version::ServiceVersion;
use super::version::SoapVersion;
use crate::agent::{AgentError, WebhookAgent, WebhookFilter};
use crate::domain::{TypedValue, WebhookInput};

/// One decoded Webhook.svc call.
#[derive(Debug, Clone, PartialEq)]
pub enum WebhookCall {
    CreateDefaultWebhook,
    SaveWebhook(WebhookInput),
    DeleteWebhook(i32),
    GetWebhook(i32),
    GetAllWebhooks(WebhookFilter),
    TestWebhook(WebhookInput),
    SignalEvent {
        event_name: Option<String>,
        primary_key: i32,
        data: Vec<(String, TypedValue)>,
    },
    GetLastError(i32),
}

impl WebhookCall {
    fn operation(&self) -> &'static str {
        match self {
            WebhookCall::CreateDefaultWebhook => "CreateDefaultWebhook",
            WebhookCall::SaveWebhook(_) => "SaveWebhook",
            WebhookCall::DeleteWebhook(_) => "DeleteWebhook",
            WebhookCall::GetWebhook(_) => "GetWebhook",
            WebhookCall::GetAllWebhooks(_) => "GetAllWebhooks",
            WebhookCall::TestWebhook(_) => "TestWebhook",
            WebhookCall::SignalEvent { .. } => "SignalEvent",
            WebhookCall::GetLastError(_) => "GetLastError",
        }
    }
}

/// Decodes the operation element into a [`WebhookCall`].
pub fn decode_call(op: &Params, name: &str, version: SoapVersion) -> Result<WebhookCall, Fault> {
    let required_id = |p: &Params| -> Result<i32, Fault> {
        p.int("WebhookId")?
            .ok_or_else(|| Fault::sender(version, format!("{name}/WebhookId is required")))
    };
    Ok(match name {
        "CreateDefaultWebhook" => WebhookCall::CreateDefaultWebhook,
        "SaveWebhook" | "TestWebhook" => {
            let input = match op.nested("Webhook") {
                Some(w) => webhook_input(&w)?,
                None => {
                    return Err(Fault::sender(
                        version,
                        format!("{name}/Webhook is required"),
                    ));
                }
            };
            if name == "SaveWebhook" {
                WebhookCall::SaveWebhook(input)
            } else {
                WebhookCall::TestWebhook(input)
            }
        }
        "DeleteWebhook" => WebhookCall::DeleteWebhook(required_id(op)?),
        "GetWebhook" => WebhookCall::GetWebhook(required_id(op)?),
        "GetLastError" => WebhookCall::GetLastError(required_id(op)?),
        "GetAllWebhooks" => WebhookCall::GetAllWebhooks(webhook_filter(op)?),
        "SignalEvent" => WebhookCall::SignalEvent {
            event_name: op.string("EventName").flatten(),
            primary_key: op.int("PrimaryKey")?.unwrap_or(0),
            data: op.object_dictionary("Data")?.unwrap_or_default(),
        },
        _ => return Err(Fault::sender(version, String::new())),
    })
}

/// The names of the operations, for "unknown operation" messages.
pub const OPERATIONS: [&str; 8] = [
    "CreateDefaultWebhook",
    "SaveWebhook",
    "DeleteWebhook",
    "GetWebhook",
    "GetAllWebhooks",
    "TestWebhook",
    "SignalEvent",
    "GetLastError",
];

/// Runs a decoded call as `headers`' caller and writes the reply.
pub async fn execute(
    agent: &WebhookAgent,
    service: ServiceVersion,
    request: SoapRequest<WebhookCall>,
) -> Response {
    let SoapRequest {
        version,
        headers,
        call,
    } = request;
    let op = call.operation();
    let tns = service.namespace();
    let response_name = format!("tns:{op}Response");
    let outcome = run(agent, &headers, call).await;
    match outcome {
        Ok(answer) => reply(version, tns, None, |x| {
            x.open(&response_name);
            match &answer {
                Answer::Empty => {}
                Answer::Webhook(w) => encode::webhook(x, "tns:Response", w.as_deref(), service),
                Answer::Webhooks(list) => {
                    x.open("tns:Response");
                    for w in list {
                        encode::webhook(x, "tns:Webhook", Some(w), service);
                    }
                    x.close("tns:Response");
                }
                Answer::Result(r) => encode::webhook_result(x, "tns:Response", r),
                Answer::Text(t) => x.leaf("tns:Response", t),
            }
            x.close(&response_name);
        }),
        Err(e) => {
            if e.is_internal() {
                tracing::error!(operation = op, error = %e, "operation failed");
            }
            let message = e.client_message();
            let info = ExceptionInfo {
                message: &message,
                exception_type: e.exception_type(),
            };
            reply(version, tns, Some(info), |x| {
                x.open(&response_name);
                x.close(&response_name);
            })
        }
    }
}

/// What an operation answers, before encoding.
enum Answer {
    Empty,
    Webhook(Option<Box<crate::agent::WebhookCarrier>>),
    Webhooks(Vec<crate::agent::WebhookCarrier>),
    Result(crate::agent::WebhookResult),
    Text(String),
}

async fn run(
    agent: &WebhookAgent,
    headers: &RequestHeaders,
    call: WebhookCall,
) -> Result<Answer, AgentError> {
    let caller = agent
        .caller(headers.ticket.as_deref(), headers.app_token.as_deref())
        .await?;
    Ok(match call {
        WebhookCall::CreateDefaultWebhook => {
            Answer::Webhook(Some(Box::new(agent.create_default_webhook())))
        }
        WebhookCall::SaveWebhook(input) => {
            Answer::Webhook(Some(Box::new(agent.save_webhook(&caller, input).await?)))
        }
        WebhookCall::DeleteWebhook(id) => {
            agent.delete_webhook(&caller, id).await?;
            Answer::Empty
        }
        WebhookCall::GetWebhook(id) => {
            Answer::Webhook(agent.get_webhook(&caller, id).await?.map(Box::new))
        }
        WebhookCall::GetAllWebhooks(filter) => {
            Answer::Webhooks(agent.get_all_webhooks(&caller, &filter).await?)
        }
        WebhookCall::TestWebhook(input) => {
            Answer::Result(agent.test_webhook(&caller, input).await?)
        }
        WebhookCall::SignalEvent {
            event_name,
            primary_key,
            data,
        } => {
            agent
                .signal_event(&caller, event_name, primary_key, data)
                .await?;
            Answer::Empty
        }
        WebhookCall::GetLastError(id) => Answer::Text(agent.get_last_error(&caller, id).await?),
    })
}
