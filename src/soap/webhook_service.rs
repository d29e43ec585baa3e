//! `Webhook.svc`: decodes the 8 operations (`agent::Operation`), has the agent run them, encodes
//! the answer.

use axum::response::Response;

use super::SoapRequest;
use super::decode::{Params, webhook_filter, webhook_input};
use super::encode;
use super::fault::Fault;
use super::reply::{ExceptionInfo, reply};
use super::version::ServiceVersion;
use super::version::SoapVersion;
use crate::agent::{Answer, Operation, OperationName, WebhookAgent};
use crate::domain::WebhookInput;

/// Decodes the operation element `name` (one of [`OperationName::NAMES`]) into an [`Operation`].
pub fn decode_call(op: &Params, name: &str, version: SoapVersion) -> Result<Operation, Fault> {
    let Some(which) = OperationName::parse(name) else {
        return Err(Fault::sender(version, format!("unknown operation {name}")));
    };
    let required_id = |p: &Params| -> Result<i32, Fault> {
        p.int("WebhookId")?
            .ok_or_else(|| Fault::sender(version, format!("{name}/WebhookId is required")))
    };
    let webhook = |p: &Params| -> Result<WebhookInput, Fault> {
        match p.nested("Webhook") {
            Some(w) => webhook_input(&w),
            None => Err(Fault::sender(
                version,
                format!("{name}/Webhook is required"),
            )),
        }
    };
    Ok(match which {
        OperationName::CreateDefaultWebhook => Operation::CreateDefaultWebhook,
        OperationName::SaveWebhook => Operation::SaveWebhook(webhook(op)?),
        OperationName::TestWebhook => Operation::TestWebhook(webhook(op)?),
        OperationName::DeleteWebhook => Operation::DeleteWebhook {
            webhook_id: required_id(op)?,
        },
        OperationName::GetWebhook => Operation::GetWebhook {
            webhook_id: required_id(op)?,
        },
        OperationName::GetLastError => Operation::GetLastError {
            webhook_id: required_id(op)?,
        },
        OperationName::GetAllWebhooks => Operation::GetAllWebhooks(webhook_filter(op)?),
        OperationName::SignalEvent => Operation::SignalEvent {
            event_name: op.string("EventName").flatten(),
            primary_key: op.int("PrimaryKey")?.unwrap_or(0),
            data: op.object_dictionary("Data")?.unwrap_or_default(),
        },
    })
}

/// Runs a decoded call as `headers`' caller and writes the reply.
pub async fn execute(
    agent: &WebhookAgent,
    service: ServiceVersion,
    request: SoapRequest<Operation>,
) -> Response {
    let SoapRequest {
        version,
        headers,
        call,
    } = request;
    let op = call.name().as_str();
    let tns = service.namespace();
    let response_name = format!("tns:{op}Response");
    let outcome = match agent
        .caller(headers.ticket.as_deref(), headers.app_token.as_deref())
        .await
    {
        Ok(caller) => agent.dispatch(&caller, call).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(answer) => reply(version, tns, None, |x| {
            x.open(&response_name);
            match &answer {
                Answer::Done => {}
                Answer::Webhook(w) => encode::webhook(x, "tns:Response", Some(w), service),
                Answer::MaybeWebhook(w) => {
                    encode::webhook(x, "tns:Response", w.as_deref(), service)
                }
                Answer::Webhooks(list) => {
                    x.open("tns:Response");
                    for w in list {
                        encode::webhook(x, "tns:Webhook", Some(w), service);
                    }
                    x.close("tns:Response");
                }
                Answer::TestResult(r) => encode::webhook_result(x, "tns:Response", r),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soap::wsdl::webhook_wsdl;

    /// The WSDL lists the operations as data; it must list exactly the agent's.
    #[test]
    fn the_wsdl_describes_exactly_the_agents_operations() {
        for version in [ServiceVersion::V87, ServiceVersion::V88] {
            let wsdl = webhook_wsdl(version, "http://localhost/Webhook.svc");
            let mut described: Vec<&str> = wsdl
                .split("<wsdl:operation name=\"")
                .skip(1)
                .filter_map(|rest| rest.split('"').next())
                .collect();
            described.sort_unstable();
            described.dedup();
            let mut names = OperationName::NAMES.to_vec();
            names.sort_unstable();
            assert_eq!(described, names, "{version:?}");
        }
    }
}
