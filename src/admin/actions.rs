//! The list's row actions (docs/ADMIN.md "The list"): Copy, Stop, Activate, Restart and
//! Delete, each a POST answered 303 back to the list (or, for Stop, Activate and Restart, to
//! the webhook's own page when the form came from there) with a message, each one agent call.
//! Delete asks first, on a page of its own, so it needs no JavaScript either.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use maud::html;

use super::layout::{csrf_field, page};
use super::session::{AdminCaller, Flash, see_other};
use super::webhook::{no_such_webhook, parse_id};
use crate::agent::AgentError;
use crate::domain::WebhookState;
use crate::state::AppState;

/// Where every action returns.
const LIST: &str = "/admin";

/// `POST /admin/webhooks/{id}/copy`: a new webhook "NAME (copy)", Stopped.
pub async fn copy(
    State(state): State<AppState>,
    session: AdminCaller,
    Path(id): Path<String>,
) -> Response {
    let Some(id) = parse_id(&id) else {
        return no_such_webhook(&id);
    };
    let copied = state.agent.copy_webhook(&session.caller, id).await;
    done(copied.map(|w| {
        format!(
            "Copied as \"{}\" (Stopped).",
            w.name.as_deref().unwrap_or_default()
        )
    }))
}

/// The form of Stop, Activate and Restart: `back=page` when posted from the webhook's page.
#[derive(Debug, Default, serde::Deserialize)]
pub struct StateForm {
    #[serde(default)]
    back: Option<String>,
}

type Back = Form<StateForm>;

/// `POST /admin/webhooks/{id}/stop`.
pub async fn stop(s: State<AppState>, a: AdminCaller, id: Path<String>, f: Back) -> Response {
    set_state(s, a, id, f, WebhookState::Stopped, "stopped").await
}

/// `POST /admin/webhooks/{id}/activate`.
pub async fn activate(s: State<AppState>, a: AdminCaller, id: Path<String>, f: Back) -> Response {
    set_state(s, a, id, f, WebhookState::Active, "active again").await
}

/// `POST /admin/webhooks/{id}/restart`: a disabled webhook back to Active, its counters reset
/// and its parked deliveries due now (the agent's rule for a save to Active).
pub async fn restart(s: State<AppState>, a: AdminCaller, id: Path<String>, f: Back) -> Response {
    set_state(s, a, id, f, WebhookState::Active, "restarted").await
}

async fn set_state(
    State(state): State<AppState>,
    session: AdminCaller,
    Path(id): Path<String>,
    Form(form): Back,
    to: WebhookState,
    done_words: &str,
) -> Response {
    let Some(id) = parse_id(&id) else {
        return no_such_webhook(&id);
    };
    let saved = state.agent.set_webhook_state(&session.caller, id, to).await;
    // Only the webhook's own page, never a path the form names: no open redirect.
    let back = match form.back.as_deref() {
        Some("page") => format!("/admin/webhooks/{id}"),
        _ => LIST.to_string(),
    };
    let flash = flash_of(
        saved.map(|w| format!("{} is {done_words}.", w.name.as_deref().unwrap_or_default())),
    );
    see_other(&back, Some(flash))
}

/// `GET /admin/webhooks/{id}/delete`: are you sure?
pub async fn confirm_delete(
    State(state): State<AppState>,
    session: AdminCaller,
    Path(id): Path<String>,
) -> Response {
    let Some(id) = parse_id(&id) else {
        return no_such_webhook(&id);
    };
    let webhook = match state.agent.get_webhook(&session.caller, id).await {
        Ok(Some(webhook)) => webhook,
        Ok(None) => return no_such_webhook(&id.to_string()),
        Err(e) => return done(Err(e)),
    };
    let name = webhook.name.as_deref().unwrap_or_default();
    let body = html! {
        h1 { "Delete " (name) "?" }
        p { "The webhook and its undelivered events are removed. This cannot be undone." }
        form method="post" action=(format!("/admin/webhooks/{id}/delete")) {
            (csrf_field(&session))
            button.danger type="submit" { "Delete " (name) }
            " "
            a href=(LIST) { "Cancel" }
        }
    };
    page("Delete webhook", &session, body).into_response()
}

/// `POST /admin/webhooks/{id}/delete`.
pub async fn delete(
    State(state): State<AppState>,
    session: AdminCaller,
    Path(id): Path<String>,
) -> Response {
    let Some(id) = parse_id(&id) else {
        return no_such_webhook(&id);
    };
    let name = match state.agent.get_webhook(&session.caller, id).await {
        Ok(Some(webhook)) => webhook.name.unwrap_or_default(),
        _ => format!("Webhook {id}"),
    };
    let deleted = state.agent.delete_webhook(&session.caller, id).await;
    done(deleted.map(|()| format!("{name} is deleted.")))
}

/// Back to the list, saying what was done or, in the agent's words, why not.
fn done(result: Result<String, AgentError>) -> Response {
    see_other(LIST, Some(flash_of(result)))
}

/// What was done or, in the agent's words, why not.
fn flash_of(result: Result<String, AgentError>) -> Flash {
    match result {
        Ok(message) => Flash::notice(message),
        Err(AgentError::Store(e)) => {
            tracing::error!(error = %e, "admin action: the store failed");
            Flash::error("The database is not answering: nothing was changed. Try again shortly.")
        }
        Err(e) => Flash::error(format!("Not done: {e}")),
    }
}
