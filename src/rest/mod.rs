//! The REST adapter: NetServer's RESTful `/api/v1/Webhook` and Agent RPC
//! `/api/v1/Agents/Webhook/{Method}` over the same `WebhookAgent` as SOAP, with an OpenAPI 3
//! description generated from the handlers (`/api/openapi.json`) and a browsable page
//! (`/api/docs/`, Swagger UI served from the binary, no network needed).
//!
//! - `json`: the carriers' JSON forms, `members`: their member names read from the types;
//! - `extract`: the extractors (caller, body, parameters);
//! - `webhooks` (RESTful) and `agents` (RPC): the handlers; `patch`: JSON Patch / Merge Patch;
//! - `deliveries`: the delivery log (list, CSV, one delivery with its attempts);
//!   `recovery`: an operator's Retry of one delivery and Recover of a time window;
//! - `secret`: Generate / Regenerate a webhook's Secret;
//! - `alerts`: in-app alerts (list, mark read);
//! - `error`: one JSON error form and the status codes of docs/REST.md (Errors).

mod agents;
mod alerts;
mod deliveries;
mod error;
mod extract;
pub mod json;
mod members;
mod patch;
mod recovery;
mod secret;
mod webhooks;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::routing::{get, post};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use crate::state::AppState;

/// The OpenAPI description, generated from the handlers' annotations.
#[derive(OpenApi)]
#[openapi(
    info(title = "hookwire REST API", description = "The SuperOffice NetServer Webhook agent, REST twins of the SOAP operations."),
    paths(
        webhooks::default_webhook, webhooks::list, webhooks::create, webhooks::get, webhooks::put,
        webhooks::patch, webhooks::delete, webhooks::test, webhooks::signal, webhooks::last_error,
        agents::call, deliveries::list, deliveries::get, deliveries::discard, recovery::retry, recovery::recover,
        secret::regenerate, alerts::list, alerts::read
    ),
    components(schemas(json::WebhookJson, json::WebhookWithLinks, json::WebhookBody, json::WebhookResultJson,
                       json::AssociateJson, json::ListItemJson, json::LinksJson, json::ErrorJson,
                       deliveries::DeliveryPageJson, deliveries::DeliveryJson, deliveries::DeliveryDetailJson,
                       deliveries::AttemptJson, recovery::RecoverBody, recovery::RecoveredJson,
                       alerts::AlertJson, alerts::AlertPageJson, secret::NewSecretJson)),
    modifiers(&Security, &AgentMethods),
    tags((name = "Webhook", description = "RESTful /api/v1/Webhook"), (name = "Agents", description = "Agent RPC"),
          (name = "Alerts", description = "In-app alerts of failing webhooks"))
)]
pub struct ApiDoc;

struct Security;

/// Names the Agent RPC methods (`agent::OperationName`) in the description of `{method}`.
struct AgentMethods;

impl Modify for AgentMethods {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let names = crate::agent::OperationName::NAMES.join(", ");
        let method = openapi
            .paths
            .paths
            .get_mut("/api/v1/Agents/Webhook/{method}")
            .and_then(|item| item.post.as_mut())
            .and_then(|operation| operation.parameters.as_mut())
            .and_then(|parameters| {
                parameters.iter_mut().find_map(|p| match p {
                    utoipa::openapi::RefOr::T(p) if p.name == "method" => Some(p),
                    _ => None,
                })
            });
        if let Some(method) = method {
            method.description = Some(format!("{names} (any case)"));
        }
    }
}

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "SOTicket",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "`SOTicket <ticket>` (a ticket from SoPrincipal.svc); `SO-AppToken` carries the application token",
            ))),
        );
        components.add_security_scheme(
            "Basic",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)),
        );
    }
}

/// The REST routes. `max_body_bytes` is enforced by the handlers, which answer 413 as JSON.
pub fn router(max_body_bytes: usize) -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/Webhook",
            get(webhooks::list).post(webhooks::create),
        )
        .route("/api/v1/Webhook/default", get(webhooks::default_webhook))
        .route("/api/v1/Webhook/Test", post(webhooks::test))
        .route(
            "/api/v1/Webhook/{id}",
            get(webhooks::get)
                .put(webhooks::put)
                .patch(webhooks::patch)
                .delete(webhooks::delete),
        )
        .route(
            "/api/v1/Webhook/{id}/{part}",
            get(webhooks::last_error).post(webhooks::signal),
        )
        .route("/api/v1/Webhook/{id}/Deliveries", get(deliveries::list))
        .route(
            "/api/v1/Webhook/{id}/Deliveries/{delivery}",
            get(deliveries::get),
        )
        .route(
            "/api/v1/Webhook/{id}/Deliveries/{delivery}/Retry",
            post(recovery::retry),
        )
        .route(
            "/api/v1/Webhook/{id}/Deliveries/{delivery}/Discard",
            post(deliveries::discard),
        )
        .route("/api/v1/Webhook/{id}/Recover", post(recovery::recover))
        .route("/api/v1/Webhook/{id}/Secret", post(secret::regenerate))
        .route("/api/v1/Agents/Webhook/{method}", post(agents::call))
        .route("/api/v1/Alerts", get(alerts::list))
        .route("/api/v1/Alerts/{id}/Read", post(alerts::read))
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body_bytes.saturating_add(1)))
        .merge(SwaggerUi::new("/api/docs").url("/api/openapi.json", ApiDoc::openapi()))
}

async fn method_not_allowed(request: Request) -> error::ApiError {
    error::ApiError::MethodNotAllowed(format!(
        "{} is not allowed on {}",
        request.method(),
        request.uri().path()
    ))
}

/// The answer for paths under `/api` that name no resource.
pub async fn not_found(request: Request) -> axum::response::Response {
    use axum::response::IntoResponse;
    error::ApiError::NotFound(format!("no REST resource at {}", request.uri().path()))
        .into_response()
}

/// A body `crate::body_deadline` did not read, in the JSON error form.
pub fn body_error(problem: &crate::body_deadline::BodyProblem) -> axum::response::Response {
    use crate::body_deadline::BodyProblem;
    use axum::response::IntoResponse;
    match problem {
        BodyProblem::TooLarge(limit) => error::ApiError::TooLarge(*limit),
        BodyProblem::TimedOut(_) => error::ApiError::RequestTimeout(problem.message()),
        BodyProblem::Unreadable(_) => error::ApiError::BadRequest(problem.message()),
    }
    .into_response()
}

/// Whether a path belongs to the REST API (after `canonical_path`).
pub fn is_rest_path(path: &str) -> bool {
    path.starts_with("/api/") || path == "/api"
}

/// Rewrites the fixed segments of REST paths to their canonical case before routing, since
/// NetServer (IIS) matches paths case-insensitively. Path values (ids, event names) are kept.
pub fn canonical_path(mut request: Request) -> Request {
    let path = request.uri().path();
    let tenant_then_api = path
        .split('/')
        .nth(2)
        .is_some_and(|s| s.eq_ignore_ascii_case("api"));
    let api_first = path
        .split('/')
        .nth(1)
        .is_some_and(|s| s.eq_ignore_ascii_case("api"));
    if !api_first && !tenant_then_api {
        return request;
    }
    let mut segments: Vec<&str> = path.split('/').collect();
    // An Online tenant prefix (`/Cust12345/api/v1/...`) names the tenant; one server is one tenant.
    if segments.len() > 2 && segments[2].eq_ignore_ascii_case("api") {
        segments.remove(1);
    }
    let last = segments.len() - 1;
    let canonical: Vec<String> = segments
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let fixed: &[&str] = match i {
                1 => &["api"],
                2 => &["v1", "openapi.json", "docs"],
                3 => &["Webhook", "Agents", "Alerts"],
                4 if segments
                    .get(3)
                    .is_some_and(|s| s.eq_ignore_ascii_case("agents")) =>
                {
                    &["Webhook"]
                }
                4 if i == last => &["default", "Test"],
                _ => &[],
            };
            fixed
                .iter()
                .find(|f| f.eq_ignore_ascii_case(s))
                .map_or_else(|| s.to_string(), |f| f.to_string())
        })
        .collect();
    let new_path = canonical.join("/");
    if new_path != path {
        let rebuilt = match request.uri().query() {
            Some(q) => format!("{new_path}?{q}"),
            None => new_path,
        };
        if let Ok(uri) = rebuilt.parse() {
            *request.uri_mut() = uri;
        }
    }
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(path: &str) -> String {
        let req = Request::builder()
            .uri(path)
            .body(axum::body::Body::empty())
            .unwrap();
        canonical_path(req).uri().to_string()
    }

    #[test]
    fn the_openapi_description_names_every_agent_method() {
        let doc = ApiDoc::openapi().to_json().unwrap_or_default();
        let names = crate::agent::OperationName::NAMES.join(", ");
        assert!(doc.contains(&format!("{names} (any case)")), "{doc}");
    }

    #[test]
    fn fixed_segments_are_case_insensitive_values_are_kept() {
        assert_eq!(canon("/API/V1/webhook/DEFAULT"), "/api/v1/Webhook/default");
        assert_eq!(
            canon("/api/v1/agents/WEBHOOK/getWebhook?id=1"),
            "/api/v1/Agents/Webhook/getWebhook?id=1"
        );
        assert_eq!(canon("/api/v1/webhook/test"), "/api/v1/Webhook/Test");
        assert_eq!(canon("/api/v1/webhook/test/0"), "/api/v1/Webhook/test/0");
        assert_eq!(
            canon("/Remote/Services88/Webhook.svc"),
            "/Remote/Services88/Webhook.svc"
        );
        assert_eq!(canon("/Cust123/api/v1/webhook/1"), "/api/v1/Webhook/1");
        assert_eq!(canon("/API"), "/api");
        assert_eq!(canon("/Cust123/Api"), "/api");
        assert_eq!(
            canon("/Cust1/Remote/Services88/Webhook.svc"),
            "/Cust1/Remote/Services88/Webhook.svc"
        );
    }
}
