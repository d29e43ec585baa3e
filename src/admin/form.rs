//! Creating and editing a webhook (docs/ADMIN.md, Create and edit): the form of every field,
//! saved through the agent's SaveWebhook (its save ping included), **Send test** (TestWebhook
//! with the form's current values, nothing saved) and **Generate / Regenerate secret**.
//!
//! A refused save shows the form again with what was typed and the agent's own message beside
//! the field it names ([`Field::named_in`]), or on top. The stored Secret is never on the page;
//! a regenerated one is shown once, on the answer of the POST that made it, and nowhere after.

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use super::form_fields::{DELIVERY_ORDERS, Field, WebhookForm};
use super::layout::{badge, csrf_field, error_page, page, time};
use super::session::{AdminCaller, Flash, see_other};
use super::webhook::{load, no_such_webhook, parse_id};
use crate::agent::{AgentError, WebhookCarrier, WebhookResult};
use crate::domain::{Millis, WebhookState};
use crate::state::AppState;

/// Where a form sends Send test: the same fields, plus which webhook it edits.
const TEST_PATH: &str = "/admin/webhooks/test";

/// What PerRecord promises, in the words of docs/DELIVERY.md "Ordered delivery".
const DELIVERY_ORDER_HINT: &str = "One record at a time: the events of one record (its entity \
     and PrimaryKey, e.g. contact 42) reach the target in the order they were accepted; a \
     later one waits until the one before is delivered or set aside (a dead letter, or Discard \
     on the Events tab). Different records still go in parallel. Events with PrimaryKey 0 are \
     not ordered.";

/// Everything a form page shows besides the fields.
#[derive(Default)]
struct View {
    /// The webhook edited, as stored; None for a new one.
    stored: Option<WebhookCarrier>,
    /// The agent's refusal, with the field it names.
    error: Option<(Option<Field>, String)>,
    /// Send test's answer.
    test: Option<WebhookResult>,
    /// A Secret just regenerated and until when the replaced one still signs.
    new_secret: Option<(String, Option<Millis>)>,
}

/// `GET /admin/webhooks/new`: the form with CreateDefaultWebhook's values.
pub async fn new(State(state): State<AppState>, session: AdminCaller) -> Response {
    let defaults = WebhookForm::of(&state.agent.create_default_webhook());
    render(&state, &session, 0, &defaults, View::default()).into_response()
}

/// `POST /admin/webhooks/new`: SaveWebhook of a new webhook.
pub async fn create(
    State(state): State<AppState>,
    session: AdminCaller,
    form: Result<Form<WebhookForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return unreadable_form();
    };
    save(&state, &session, 0, form, None).await
}

/// `GET /admin/webhooks/{id}/edit`: the form filled with the webhook.
pub async fn edit(
    State(state): State<AppState>,
    session: AdminCaller,
    Path(id): Path<String>,
) -> Response {
    match stored(&state, &session, &id).await {
        Ok((id, webhook)) => {
            let form = WebhookForm::of(&webhook);
            let view = View {
                stored: Some(webhook),
                ..View::default()
            };
            render(&state, &session, id, &form, view).into_response()
        }
        Err(refusal) => refusal,
    }
}

/// `POST /admin/webhooks/{id}/edit`: SaveWebhook replacing the webhook.
pub async fn update(
    State(state): State<AppState>,
    session: AdminCaller,
    Path(id): Path<String>,
    form: Result<Form<WebhookForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return unreadable_form();
    };
    match stored(&state, &session, &id).await {
        Ok((id, webhook)) => save(&state, &session, id, form, Some(webhook)).await,
        Err(refusal) => refusal,
    }
}

/// `POST /admin/webhooks/test`: TestWebhook with the form as it is (an edited webhook's
/// stored Secret signs it, as its deliveries would be); the form comes back as typed, with
/// the target's answer. Nothing is saved.
pub async fn test(
    State(state): State<AppState>,
    session: AdminCaller,
    form: Result<Form<WebhookForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return unreadable_form();
    };
    let (id, stored) = match form.id.trim() {
        "" | "0" => (0, None),
        id => match stored(&state, &session, id).await {
            Ok((id, webhook)) => (id, Some(webhook)),
            Err(refusal) => return refusal,
        },
    };
    let mut view = View {
        stored,
        ..View::default()
    };
    match form.to_input(id, view.stored.as_ref()) {
        Err(e) => view.error = Some((Some(e.field), e.message)),
        Ok(mut input) => {
            input.secret = view.stored.as_ref().map(|w| w.secret.clone());
            match state.agent.test_webhook(&session.caller, input).await {
                Ok(answer) => view.test = Some(answer),
                Err(e) => view.error = Some(refusal(&e)),
            }
        }
    }
    let status = if view.error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    (status, render(&state, &session, id, &form, view)).into_response()
}

/// `POST /admin/webhooks/{id}/secret`: a new random Secret (`WebhookAgent::rotate_secret`),
/// shown on this answer only.
pub async fn regenerate(
    State(state): State<AppState>,
    session: AdminCaller,
    Path(id): Path<String>,
) -> Response {
    let Some(id) = parse_id(&id) else {
        return no_such_webhook(&id);
    };
    let rotated = match state.agent.rotate_secret(&session.caller, id).await {
        Ok(rotated) => rotated,
        Err(e) => return agent_refused(&e),
    };
    match stored(&state, &session, &id.to_string()).await {
        Ok((id, webhook)) => {
            let form = WebhookForm::of(&webhook);
            let view = View {
                stored: Some(webhook),
                new_secret: Some((rotated.secret, rotated.previous_valid_until)),
                ..View::default()
            };
            render(&state, &session, id, &form, view).into_response()
        }
        Err(refusal) => refusal,
    }
}

/// Saves `form` as webhook `id`: to its edit page with a notice, or the form again with the
/// agent's message.
async fn save(
    state: &AppState,
    session: &AdminCaller,
    id: i32,
    form: WebhookForm,
    stored: Option<WebhookCarrier>,
) -> Response {
    let saved = match form.to_input(id, stored.as_ref()) {
        Err(e) => Err((Some(e.field), e.message)),
        Ok(input) => state
            .agent
            .save_webhook(&session.caller, input)
            .await
            .map_err(|e| refusal(&e)),
    };
    match saved {
        Ok(webhook) => see_other(
            &format!("/admin/webhooks/{}/edit", webhook.id),
            Some(Flash::notice(format!(
                "Webhook {} \u{201c}{}\u{201d} saved.",
                webhook.id,
                webhook.name.as_deref().unwrap_or_default()
            ))),
        ),
        Err(error) => {
            let view = View {
                stored,
                error: Some(error),
                ..View::default()
            };
            let page = render(state, session, id, &form, view);
            (StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
        }
    }
}

/// The agent's message and the field it names; a server fault is logged, not described.
fn refusal(e: &AgentError) -> (Option<Field>, String) {
    if e.is_internal() {
        tracing::error!(error = %e, "admin form: the agent failed");
    }
    let message = e.client_message();
    let field = match e {
        AgentError::Invalid(m) => Field::named_in(m),
        _ => None,
    };
    (field, message)
}

/// The webhook `id` names, as the caller may see it, or the page that says why not (the
/// webhook page's `load`).
async fn stored(
    state: &AppState,
    session: &AdminCaller,
    id: &str,
) -> Result<(i32, WebhookCarrier), Response> {
    load(state, session, id)
        .await
        .map(|webhook| (webhook.id, webhook))
}

fn agent_refused(e: &AgentError) -> Response {
    let (_, message) = refusal(e);
    let status = match e {
        AgentError::NotFound(_) => StatusCode::NOT_FOUND,
        AgentError::Forbidden(_) => StatusCode::FORBIDDEN,
        e if e.is_internal() => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    };
    error_page(status, "Webhook", &message)
}

fn unreadable_form() -> Response {
    error_page(
        StatusCode::BAD_REQUEST,
        "Not saved",
        "The form could not be read: send it from the webhook form.",
    )
}

/// The form page of webhook `id` (0: new) with `form`'s values.
fn render(
    state: &AppState,
    session: &AdminCaller,
    id: i32,
    form: &WebhookForm,
    view: View,
) -> super::layout::Page {
    let (title, action) = if id == 0 {
        ("New webhook".to_string(), "/admin/webhooks/new".to_string())
    } else {
        (
            format!("Edit webhook {id}"),
            format!("/admin/webhooks/{id}/edit"),
        )
    };
    let error_for = |field: Field| match &view.error {
        Some((Some(f), message)) if *f == field => Some(message.as_str()),
        _ => None,
    };
    let top_error = match &view.error {
        Some((None, message)) => Some(message.as_str()),
        _ => None,
    };
    let body = html! {
        h1 { (title) }
        @if let Some(message) = top_error {
            p.flash.error #form-error role="alert" { (message) }
        }
        @if let Some((secret, until)) = &view.new_secret { (new_secret(secret, *until)) }
        @if let Some(answer) = &view.test { (test_answer(answer)) }
        form.webhook method="post" action=(action) {
            (csrf_field(session))
            input type="hidden" name="id" value=(id);
            input type="hidden" name="state_was" value=(form.state_was);
            (text_field(Field::Name, "Name", "", &form.name, error_for(Field::Name), true))
            label for="description" { "Description" }
            textarea #description name="description" rows="2" { (form.description) }
            (text_field(Field::Events, "Events",
                "Event names separated by commas or spaces; custom names are allowed, and \
                 patterns such as contact.* or * (every event).",
                &form.events, error_for(Field::Events), true))
            (text_field(Field::TargetUrl, "Destination URL",
                "Where events are POSTed (https unless this server allows http targets).",
                &form.target_url, error_for(Field::TargetUrl), true))
            div.check {
                input #active type="checkbox" name="active" checked[form.active.is_some()];
                label for="active" { "Active" }
            }
            @if let Some(webhook) = &view.stored { (delivery_status(state, webhook)) }
            fieldset {
                legend { "Error notification" }
                (area_field(Field::ErrorEmails, "Recipients",
                    "E-mail addresses, separated by commas, spaces or lines.",
                    &form.error_emails, error_for(Field::ErrorEmails)))
                p.group { "Notify via" }
                (checkbox("notify_email", "E-mail", form.notify_email.is_some()))
                (checkbox("notify_in_app", "In-app alert", form.notify_in_app.is_some()))
                p.group { "Notify when" }
                (checkbox("when_first_failure", "First failure", form.when_first_failure.is_some()))
                (checkbox("when_disabled", "Disabled", form.when_disabled.is_some()))
                (text_field(Field::ErrorAssociates, "Also notify users (optional)",
                    "User ids, separated by commas; each is mailed at the address of hookwire \
                     user add --email.",
                    &form.error_associates, error_for(Field::ErrorAssociates), false))
            }
            fieldset {
                legend { "Advanced" }
                (select_field(Field::DeliveryOrder, "Delivery order", DELIVERY_ORDER_HINT,
                    &DELIVERY_ORDERS, &form.delivery_order, error_for(Field::DeliveryOrder)))
                (area_field(Field::Headers, "Custom headers",
                    "One a line: Name: value. Sent with every delivery.",
                    &form.headers, error_for(Field::Headers)))
                (area_field(Field::Properties, "Custom properties",
                    "One a line: key=value. Added to every delivery's body.",
                    &form.properties, error_for(Field::Properties)))
            }
            div.buttons {
                button.primary #save type="submit" { "Save" }
                button #send-test type="submit" formaction=(TEST_PATH) { "Send test" }
                a.button href="/admin" { "Cancel" }
            }
        }
        (secret_section(session, id, view.stored.as_ref()))
    };
    page(&title, session, body)
}

/// A one-line field with its label, hint and the agent's message about it.
fn text_field(
    field: Field,
    label: &str,
    hint: &str,
    value: &str,
    error: Option<&str>,
    required: bool,
) -> Markup {
    let id = field.id();
    let described = described_by(id, hint, error);
    html! {
        label for=(id) { (label) @if required { span.hint { " (required)" } } }
        input id=(id) name=(id) type=(if field == Field::TargetUrl { "url" } else { "text" })
            value=(value) required[required] aria-invalid=[error.map(|_| "true")]
            aria-describedby=[described];
        (hint_and_error(id, hint, error))
    }
}

/// A text area with its label, hint and the agent's message about it.
fn area_field(field: Field, label: &str, hint: &str, value: &str, error: Option<&str>) -> Markup {
    let id = field.id();
    let described = described_by(id, hint, error);
    html! {
        label for=(id) { (label) }
        textarea id=(id) name=(id) rows="3" aria-invalid=[error.map(|_| "true")]
            aria-describedby=[described] { (value) }
        (hint_and_error(id, hint, error))
    }
}

/// A choice among `options` (value, words) with its label, hint and the agent's message
/// about it.
fn select_field(
    field: Field,
    label: &str,
    hint: &str,
    options: &[(&str, &str)],
    value: &str,
    error: Option<&str>,
) -> Markup {
    let id = field.id();
    let described = described_by(id, hint, error);
    html! {
        label for=(id) { (label) }
        select id=(id) name=(id) aria-invalid=[error.map(|_| "true")]
            aria-describedby=[described] {
            @for (choice, words) in options {
                option value=(choice) selected[value.eq_ignore_ascii_case(choice)] { (words) }
            }
        }
        (hint_and_error(id, hint, error))
    }
}

fn described_by(id: &str, hint: &str, error: Option<&str>) -> Option<String> {
    let ids: Vec<String> = [
        (!hint.is_empty()).then(|| format!("{id}-hint")),
        error.map(|_| format!("{id}-error")),
    ]
    .into_iter()
    .flatten()
    .collect();
    (!ids.is_empty()).then(|| ids.join(" "))
}

fn hint_and_error(id: &str, hint: &str, error: Option<&str>) -> Markup {
    html! {
        @if !hint.is_empty() { p.hint id=(format!("{id}-hint")) { (hint) } }
        @if let Some(message) = error {
            p.field-error id=(format!("{id}-error")) role="alert" { (message) }
        }
    }
}

fn checkbox(name: &str, label: &str, checked: bool) -> Markup {
    html! {
        div.check {
            input id=(name) type="checkbox" name=(name) checked[checked];
            label for=(name) { (label) }
        }
    }
}

/// Under the Active toggle of a saved webhook: its state and last delivery.
fn delivery_status(state: &AppState, webhook: &WebhookCarrier) -> Markup {
    html! {
        p.status #delivery-status {
            (badge(webhook.state, webhook.activity.failures, webhook.usage.consecutive_errors,
                   state.failures_to_disable))
            " Last delivery: " (time(webhook.activity.last_attempt))
            @if let Some(result) = webhook.last_result() { " (" (result) ")" }
            @if webhook.state == WebhookState::TooManyErrors {
                " Tick Active and save to restart it."
            }
        }
    }
}

/// Send test's answer: the target's status line, headers and body, or why there was none.
fn test_answer(answer: &WebhookResult) -> Markup {
    let (class, verdict) = if answer.success {
        ("test-answer ok", "The target accepted the test.")
    } else {
        ("test-answer failed", "The target did not accept the test.")
    };
    html! {
        section class=(class) #test-answer aria-labelledby="test-answer-title" {
            h2 #test-answer-title { "Send test" }
            p { (verdict) " Nothing was saved." }
            pre { (answer.message) }
        }
    }
}

/// The Secret just made, shown this once, and what receivers get meanwhile.
fn new_secret(secret: &str, previous_valid_until: Option<Millis>) -> Markup {
    html! {
        section.new-secret role="status" aria-labelledby="new-secret-title" {
            h2 #new-secret-title { "New secret" }
            p { code #new-secret { (secret) } }
            p { "Copy it now: it is not shown again." }
            @if let Some(until) = previous_valid_until {
                p #grace-note {
                    "Until " (time(Some(until))) " deliveries carry two webhook-signature \
                     signatures, the new secret's and the previous one's, so receivers can \
                     switch without losing events. X-SuperOffice-Signature is signed with the \
                     new secret from now on."
                }
            } @else {
                p #grace-note { "From now on deliveries are signed with the new secret only." }
            }
        }
    }
}

/// Generate / Regenerate: its own form (forms do not nest), for a saved webhook.
fn secret_section(session: &AdminCaller, id: i32, stored: Option<&WebhookCarrier>) -> Markup {
    let has_secret = stored.is_some_and(|w| w.secret.is_some());
    html! {
        section.secret aria-labelledby="secret-title" {
            h2 #secret-title { "Secret" }
            @if id == 0 {
                p { "Save the webhook first; then generate its secret here." }
            } @else {
                p {
                    @if has_secret { "A secret signs this webhook's deliveries. It is not shown." }
                    @else { "This webhook has no secret: its deliveries are not signed." }
                }
                form method="post" action=(format!("/admin/webhooks/{id}/secret")) {
                    (csrf_field(session))
                    button #regenerate type="submit" {
                        @if has_secret { "Regenerate secret" } @else { "Generate secret" }
                    }
                }
            }
        }
    }
}
