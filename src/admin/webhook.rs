//! One webhook's page (`/admin/webhooks/{id}`, docs/ADMIN.md "One webhook"): every field of
//! the definition (the Secret only as set or not), its counters and LastError, its status
//! badge and its actions. Send test pings the stored definition through the agent's
//! TestWebhook and shows the target's answer on the page.
//!
//! Stop, Activate, Restart and Delete post to the list's row actions
//! (`/admin/webhooks/{id}/{verb}`), written once for both pages (Stop, Activate and Restart
//! come back here: `back=page`); Edit is the form's page.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use super::form_fields::delivery_order_words;
use super::layout::{badge, csrf_field, error_page, page, time};
use super::session::AdminCaller;
use crate::agent::{AgentError, WebhookCarrier, WebhookResult};
use crate::domain::{WebhookInput, WebhookState};
use crate::state::AppState;

/// The tabs of a webhook's pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Details,
    Events,
}

/// `GET /admin/webhooks/{id}`.
pub async fn show(
    State(state): State<AppState>,
    session: AdminCaller,
    Path(raw): Path<String>,
) -> Response {
    match load(&state, &session, &raw).await {
        Ok(webhook) => details_page(&state, &session, &webhook, None),
        Err(response) => response,
    }
}

/// `POST /admin/webhooks/{id}/send-test`: pings the stored definition (its URL, Secret,
/// headers and properties) with the `test` event, as TestWebhook does, and shows the page with
/// the target's answer. Nothing is saved, so the answer is the page itself, not a redirect.
pub async fn send_test(
    State(state): State<AppState>,
    session: AdminCaller,
    Path(raw): Path<String>,
) -> Response {
    let webhook = match load(&state, &session, &raw).await {
        Ok(webhook) => webhook,
        Err(response) => return response,
    };
    let input = WebhookInput {
        webhook_id: webhook.id,
        name: Some(webhook.name.clone()),
        events: Some(webhook.events.clone()),
        target_url: Some(webhook.target_url.clone()),
        secret: Some(webhook.secret.clone()),
        headers: Some(webhook.headers.clone()),
        properties: Some(webhook.properties.clone()),
        ..WebhookInput::default()
    };
    let result = match state.agent.test_webhook(&session.caller, input).await {
        Ok(result) => result,
        // The stored definition no longer passes a rule (say http targets were turned off).
        Err(AgentError::Invalid(why)) => WebhookResult {
            success: false,
            message: format!("Not sent: {why}"),
        },
        Err(e) => return agent_error(e),
    };
    details_page(&state, &session, &webhook, Some(&result))
}

/// The webhook `raw` names, as the caller may see it, or the page saying why not.
pub async fn load(
    state: &AppState,
    session: &AdminCaller,
    raw: &str,
) -> Result<WebhookCarrier, Response> {
    let id = parse_id(raw).ok_or_else(|| no_such_webhook(raw))?;
    match state.agent.get_webhook(&session.caller, id).await {
        Ok(Some(webhook)) => Ok(webhook),
        Ok(None) => Err(no_such_webhook(raw)),
        Err(e) => Err(agent_error(e)),
    }
}

/// A webhook id from the path: a positive integer.
pub fn parse_id(raw: &str) -> Option<i32> {
    raw.parse::<i32>().ok().filter(|id| *id > 0)
}

/// The 404 page of a path naming no webhook.
pub fn no_such_webhook(raw: &str) -> Response {
    let shown: String = raw.chars().take(40).collect();
    error_page(
        StatusCode::NOT_FOUND,
        "No such webhook",
        &format!("There is no webhook {shown}."),
    )
}

/// The page for an agent's refusal, in the agent's words (a store failure is logged, not shown).
pub fn agent_error(e: AgentError) -> Response {
    let status = match &e {
        AgentError::NotFound(_) => StatusCode::NOT_FOUND,
        AgentError::Forbidden(_) => StatusCode::FORBIDDEN,
        AgentError::Invalid(_) => StatusCode::BAD_REQUEST,
        AgentError::Conflict(_) => StatusCode::CONFLICT,
        _ if e.is_internal() => {
            tracing::error!(error = %e, "admin page: the store failed");
            return error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Not available",
                "The database is not answering: try again shortly.",
            );
        }
        _ => StatusCode::CONFLICT,
    };
    error_page(status, "Not done", &e.client_message())
}

/// The heading, badge and tabs every page of one webhook starts with.
pub fn header(state: &AppState, webhook: &WebhookCarrier, current: Tab) -> Markup {
    let id = webhook.id;
    let tab = |which: Tab, href: String, label: &str| {
        html! {
            @if which == current {
                a href=(href) aria-current="page" { (label) }
            } @else {
                a href=(href) { (label) }
            }
        }
    };
    html! {
        p.crumbs { a href="/admin" { "Webhooks" } " / " }
        h1 {
            (webhook.name.as_deref().unwrap_or_default()) " "
            (badge(webhook.state, webhook.activity.failures,
                   webhook.usage.consecutive_errors, state.failures_to_disable))
        }
        nav.tabs aria-label="Webhook" {
            (tab(Tab::Details, format!("/admin/webhooks/{id}"), "Details"))
            (tab(Tab::Events, format!("/admin/webhooks/{id}/events"), "Events"))
        }
    }
}

fn details_page(
    state: &AppState,
    session: &AdminCaller,
    w: &WebhookCarrier,
    test: Option<&WebhookResult>,
) -> Response {
    let title = w.name.as_deref().unwrap_or("Webhook").to_string();
    let body = html! {
        (header(state, w, Tab::Details))
        (actions(session, w))
        @if let Some(test) = test { (test_result(test)) }
        div.columns {
            section aria-labelledby="definition" {
                h2 #definition { "Definition" }
                (definition(w))
            }
            section aria-labelledby="counters" {
                h2 #counters { "Delivery status" }
                (counters(w))
            }
        }
    };
    page(&title, session, body).into_response()
}

/// Edit, Send test, Stop or Activate, Restart (only when Disabled), Delete (asks first).
fn actions(session: &AdminCaller, w: &WebhookCarrier) -> Markup {
    let id = w.id;
    let post = |verb: &str, label: &str, class: &str| {
        html! {
            form.inline method="post" action=(format!("/admin/webhooks/{id}/{verb}")) {
                (csrf_field(session))
                // Stop, Activate and Restart come back here.
                input type="hidden" name="back" value="page";
                button class=(class) type="submit" { (label) }
            }
        }
    };
    html! {
        div.actions {
            a.button href=(format!("/admin/webhooks/{id}/edit")) { "Edit" }
            (post("send-test", "Send test", ""))
            @match w.state {
                WebhookState::Active => (post("stop", "Stop", "")),
                WebhookState::TooManyErrors => (post("restart", "Restart", "primary")),
                _ => (post("activate", "Activate", "")),
            }
            a.button.danger href=(format!("/admin/webhooks/{id}/delete")) { "Delete…" }
        }
    }
}

/// The target's answer to Send test: status line, headers and body, or the transport error.
fn test_result(result: &WebhookResult) -> Markup {
    let (class, role, verdict) = if result.success {
        ("flash notice", "status", "The target accepted the test.")
    } else {
        (
            "flash error",
            "alert",
            "The target did not accept the test.",
        )
    };
    html! {
        section.test-result aria-labelledby="test-result" {
            h2 #test-result { "Send test" }
            p class=(class) role=(role) { (verdict) }
            pre.answer { (result.message) }
        }
    }
}

fn definition(w: &WebhookCarrier) -> Markup {
    let who = |a: &Option<crate::domain::Associate>| {
        a.as_ref()
            .map(|a| format!(" by {}", a.name))
            .unwrap_or_default()
    };
    let secret = match (&w.secret, w.previous_secret_valid_until) {
        (None, _) => "Not set".to_string(),
        (Some(_), None) => "Set (not shown)".to_string(),
        (Some(_), Some(until)) => format!(
            "Set (not shown); the replaced one also signs until {}",
            time(Some(until))
        ),
    };
    let recipients: Vec<String> = w
        .errors_email
        .iter()
        .chain(w.error_emails.iter())
        .cloned()
        .collect();
    let associates: Vec<String> = w
        .error_associates
        .iter()
        .map(|(id, a)| {
            a.as_ref()
                .map_or_else(|| format!("#{id}"), |a| a.name.clone())
        })
        .collect();
    html! {
        dl.fields {
            dt { "Name" } dd { (w.name.as_deref().unwrap_or_default()) }
            dt { "Description" } dd { (w.description.as_deref().unwrap_or("—")) }
            dt { "State" } dd { (w.state.as_str()) }
            dt { "Events" }
            dd { ul.plain { @for e in &w.events { li { code { (e) } } } } }
            dt { "Target URL" } dd { code { (w.target_url.as_deref().unwrap_or_default()) } }
            dt { "Secret" } dd { (secret) }
            dt { "Type" } dd { (w.kind.as_deref().unwrap_or_default()) }
            dt { "Delivery order" }
            dd.delivery-order { (delivery_order_words(w.delivery_order)) }
            dt { "Custom headers" }
            dd {
                @if w.headers.is_empty() { "None" }
                ul.plain { @for (k, v) in &w.headers { li { code { (k) ": " (v) } } } }
            }
            dt { "Custom properties" }
            dd {
                @if w.properties.is_empty() { "None" }
                ul.plain { @for (k, v) in &w.properties { li { code { (k) " = " (v.lexical()) } } } }
            }
            dt { "Error recipients" }
            dd { @if recipients.is_empty() { "None" } @else { (recipients.join(", ")) } }
            dt { "Associates notified" }
            dd { @if associates.is_empty() { "None" } @else { (associates.join(", ")) } }
            dt { "Notify via" } dd { (w.notify_via.to_wire()) }
            dt { "Notify when" } dd { (w.notify_when.to_wire()) }
            dt { "Registered" } dd { (time(w.registered)) (who(&w.registered_associate)) }
            dt { "Updated" } dd { (time(w.updated)) (who(&w.updated_associate)) }
        }
    }
}

fn counters(w: &WebhookCarrier) -> Markup {
    let u = &w.usage;
    html! {
        dl.fields.counters {
            dt { "TotalCalls" } dd.total-calls { (u.total_calls) }
            dt { "TotalErrors" } dd.total-errors { (u.total_errors) }
            dt { "ConsecutiveErrors" } dd.consecutive-errors { (u.consecutive_errors) }
            dt { "LastError" }
            dd.last-error {
                @match u.last_error.as_deref().filter(|e| !e.is_empty()) {
                    Some(e) => pre.answer { (e) },
                    None => "None",
                }
            }
            dt { "Last delivery" } dd { (time(w.activity.last_attempt)) }
            dt { "Last result" } dd { (w.last_result().unwrap_or_else(|| "—".into())) }
            dt { "Failures (24 h)" } dd { (w.activity.failures) }
        }
    }
}
