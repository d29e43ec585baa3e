//! Agent RPC `/api/v1/Agents/Webhook/{Method}`: the 8 operations by name, parameters from the
//! JSON body or the query string, names case-insensitive (docs/REST.md). Decodes into an
//! `agent::Operation` and encodes its `Answer`.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::error::ApiError;
use super::extract::{ApiCaller, ApiPath, JsonBody, QueryParams};
use super::json::{ErrorJson, WebhookBody, WebhookJson, WebhookResultJson};
use crate::agent::{Answer, Operation, OperationName};
use crate::domain::TypedValue;
use crate::state::AppState;

/// The `{Method}` of the path: an operation's name in any case, else 404.
pub struct AgentMethod(OperationName);

impl<S: Send + Sync> FromRequestParts<S> for AgentMethod {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let ApiPath(method) = ApiPath::<String>::from_request_parts(parts, state).await?;
        OperationName::parse(&method)
            .map(AgentMethod)
            .ok_or_else(|| {
                ApiError::NotFound(format!(
                    "the Webhook agent has no method '{}'; methods are {}",
                    method.to_ascii_lowercase(),
                    OperationName::NAMES.join(", ")
                ))
            })
    }
}

/// The parameters of one call: body members over query parameters, by lower-cased name.
struct Params(HashMap<String, Value>);

impl Params {
    /// `query` has lower-cased names already ([`QueryParams`]).
    fn new(query: HashMap<String, String>, body: Option<Value>) -> Result<Params, ApiError> {
        let mut map: HashMap<String, Value> = query
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        match body {
            None | Some(Value::Null) => {}
            Some(Value::Object(members)) => {
                map.extend(
                    members
                        .into_iter()
                        .map(|(k, v)| (k.to_ascii_lowercase(), v)),
                );
            }
            Some(_) => {
                return Err(ApiError::BadRequest(
                    "the body must be a JSON object of parameters".into(),
                ));
            }
        }
        Ok(Params(map))
    }

    fn string(&self, name: &str) -> Option<String> {
        match self.0.get(&name.to_ascii_lowercase())? {
            Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
            Value::Null | Value::String(_) => None,
            other => Some(other.to_string()),
        }
    }

    fn int(&self, name: &str) -> Result<Option<i32>, ApiError> {
        match self.0.get(&name.to_ascii_lowercase()) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .and_then(|i| i32::try_from(i).ok())
                .map(Some)
                .ok_or_else(|| ApiError::BadRequest(int_problem(name, &n.to_string()))),
            Some(Value::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| ApiError::BadRequest(int_problem(name, s))),
            Some(other) => Err(ApiError::BadRequest(format!(
                "{name} {other} is not an int"
            ))),
        }
    }

    fn required_int(&self, name: &str) -> Result<i32, ApiError> {
        self.int(name)?
            .ok_or_else(|| ApiError::BadRequest(format!("{name} is required")))
    }

    /// The `Webhook` parameter, or the body itself when it is the carrier.
    fn webhook(&self) -> Result<crate::domain::WebhookInput, ApiError> {
        let value = match self.0.get("webhook") {
            Some(v @ Value::Object(_)) => v.clone(),
            _ => Value::Object(
                self.0
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect::<Map<_, _>>(),
            ),
        };
        WebhookBody::parse(value)
            .and_then(WebhookBody::into_input)
            .map_err(ApiError::BadRequest)
    }
}

/// Calls one WebhookAgent method.
#[utoipa::path(post, path = "/api/v1/Agents/Webhook/{method}", tag = "Agents",
    params(("method" = String, Path, description = "the operation's name, in any case")),
    request_body(content = Object, description = "the method's parameters (also accepted in the query string)"),
    responses((status = 200, description = "the method's result"), (status = 204, description = "void methods"),
              (status = 400, body = ErrorJson), (status = 401, body = ErrorJson), (status = 403, body = ErrorJson),
              (status = 404, body = ErrorJson), (status = 413, body = ErrorJson), (status = 415, body = ErrorJson)),
    security(("SOTicket" = []), ("Basic" = [])))]
pub async fn call(
    State(state): State<AppState>,
    AgentMethod(name): AgentMethod,
    ApiCaller(who): ApiCaller,
    QueryParams(query): QueryParams,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let operation = decode(name, &Params::new(query, body)?)?;
    let asked = operation.webhook_id();
    Ok(match state.agent.dispatch(&who, operation).await? {
        Answer::Webhook(w) => Json(WebhookJson::from(&*w)).into_response(),
        Answer::MaybeWebhook(Some(w)) => Json(WebhookJson::from(&*w)).into_response(),
        Answer::MaybeWebhook(None) => {
            return Err(ApiError::NotFound(format!(
                "Webhook {} does not exist",
                asked.unwrap_or_default()
            )));
        }
        Answer::Webhooks(all) => {
            Json(all.iter().map(WebhookJson::from).collect::<Vec<_>>()).into_response()
        }
        Answer::TestResult(r) => Json(WebhookResultJson::from(r)).into_response(),
        Answer::Text(t) => Json(t).into_response(),
        Answer::Done => StatusCode::NO_CONTENT.into_response(),
    })
}

/// The call `name` with its parameters from `p`.
fn decode(name: OperationName, p: &Params) -> Result<Operation, ApiError> {
    Ok(match name {
        OperationName::CreateDefaultWebhook => Operation::CreateDefaultWebhook,
        OperationName::SaveWebhook => Operation::SaveWebhook(p.webhook()?),
        OperationName::TestWebhook => Operation::TestWebhook(p.webhook()?),
        OperationName::DeleteWebhook => Operation::DeleteWebhook {
            webhook_id: p.required_int("WebhookId")?,
        },
        OperationName::GetWebhook => Operation::GetWebhook {
            webhook_id: p.required_int("WebhookId")?,
        },
        OperationName::GetLastError => Operation::GetLastError {
            webhook_id: p.required_int("WebhookId")?,
        },
        OperationName::GetAllWebhooks => Operation::GetAllWebhooks(
            super::json::webhook_filter(
                "StatusFilter",
                p.string("NameFilter"),
                p.string("EventFilter"),
                p.string("StatusFilter"),
            )
            .map_err(ApiError::BadRequest)?,
        ),
        OperationName::SignalEvent => Operation::SignalEvent {
            event_name: p.string("EventName"),
            primary_key: p.int("PrimaryKey")?.unwrap_or(0),
            data: match p.0.get("data") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Object(map)) => map
                    .iter()
                    .map(|(k, v)| (k.clone(), TypedValue::from_json(v)))
                    .collect(),
                Some(_) => return Err(ApiError::BadRequest("Data must be a JSON object".into())),
            },
        },
    })
}

/// Why `text` is no `int` for member `name`: out of its range, or not a whole number at all.
pub(super) fn int_problem(name: &str, text: &str) -> String {
    match crate::domain::out_of_range("int", text) {
        Some(range) => format!("{name} {range}"),
        None => format!("{name} '{text}' is not an int"),
    }
}
