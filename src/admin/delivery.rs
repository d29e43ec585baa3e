//! One delivery of the Events tab (`/admin/webhooks/{id}/events/{deliveryId}`): what was
//! sent, every attempt (time, duration, status or transport error, the head of the answer),
//! Retry, one attempt now through `WebhookAgent::retry_delivery`, and Discard, a queued
//! delivery set aside on the dead-letter list through `WebhookAgent::discard_delivery` (so the
//! next delivery of its record may go, docs/ADMIN.md "Events").

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use super::layout::{csrf_field, error_page, page, time};
use super::session::{AdminCaller, Flash, see_other};
use super::webhook::{Tab, agent_error, header as webhook_header, load, no_such_webhook, parse_id};
use crate::agent::{AgentError, DeliveryDetail};
use crate::state::AppState;
use crate::store::{AttemptEntry, DeliveryState};

/// Why a waiting delivery has no Retry: the agent refuses it, as sending it would overtake
/// the earlier delivery of its record.
const WAITING_WHY: &str = "It waits for an earlier delivery of the same record (Delivery \
     order: one record at a time): retry or discard that one first.";

/// An HTTP status with its reason: `500 Internal Server Error`.
pub fn status_words(code: i64) -> String {
    u16::try_from(code)
        .ok()
        .and_then(|c| StatusCode::from_u16(c).ok())
        .and_then(|c| c.canonical_reason())
        .map_or_else(|| code.to_string(), |why| format!("{code} {why}"))
}

/// The Retry button of a delivery in `state`: disabled, saying why, on a waiting one.
pub fn retry_form(
    session: &AdminCaller,
    webhook_id: i32,
    delivery_id: i64,
    state: DeliveryState,
) -> Markup {
    if state == DeliveryState::Waiting {
        return html! { button.retry type="button" disabled title=(WAITING_WHY) { "Retry" } };
    }
    let action = format!("{}/retry", delivery_path(webhook_id, delivery_id));
    html! {
        form.inline.retry method="post" action=(action) {
            (csrf_field(session))
            button type="submit" { "Retry" }
        }
    }
}

/// The Discard button of a delivery, on a queued one only (pending, waiting, retrying,
/// parked): the agent refuses the others.
pub fn discard_form(
    session: &AdminCaller,
    webhook_id: i32,
    delivery_id: i64,
    state: DeliveryState,
) -> Markup {
    let queued = !matches!(state, DeliveryState::Delivered | DeliveryState::Dead);
    let action = format!("{}/discard", delivery_path(webhook_id, delivery_id));
    html! {
        @if queued {
            form.inline.discard method="post" action=(action) {
                (csrf_field(session))
                button.danger type="submit"
                    title="Set it aside on the dead-letter list, unsent; the next delivery of its record may go" {
                    "Discard"
                }
            }
        }
    }
}

fn delivery_path(webhook_id: i32, delivery_id: i64) -> String {
    format!("/admin/webhooks/{webhook_id}/events/{delivery_id}")
}

fn parse_delivery(raw: &str) -> Option<i64> {
    raw.parse::<i64>().ok().filter(|id| *id > 0)
}

/// The webhook and delivery ids of an action's path, or the page saying which is not one.
fn parse_ids(raw_id: &str, raw_delivery: &str) -> Result<(i32, i64), Box<Response>> {
    let id = parse_id(raw_id).ok_or_else(|| Box::new(no_such_webhook(raw_id)))?;
    let delivery_id =
        parse_delivery(raw_delivery).ok_or_else(|| Box::new(no_such_delivery(raw_delivery)))?;
    Ok((id, delivery_id))
}

fn no_such_delivery(raw: &str) -> Response {
    let shown: String = raw.chars().take(40).collect();
    error_page(
        StatusCode::NOT_FOUND,
        "No such delivery",
        &format!("There is no delivery {shown}."),
    )
}

/// `GET /admin/webhooks/{id}/events/{deliveryId}`.
pub async fn show(
    State(state): State<AppState>,
    session: AdminCaller,
    Path((raw_id, raw_delivery)): Path<(String, String)>,
) -> Response {
    let Some(delivery_id) = parse_delivery(&raw_delivery) else {
        return no_such_delivery(&raw_delivery);
    };
    let webhook = match load(&state, &session, &raw_id).await {
        Ok(webhook) => webhook,
        Err(response) => return response,
    };
    let DeliveryDetail {
        delivery: d,
        attempts,
    } = match state
        .agent
        .delivery(&session.caller, webhook.id, delivery_id)
        .await
    {
        Ok(detail) => detail,
        Err(e) => return agent_error(e),
    };
    let body = html! {
        (webhook_header(&state, &webhook, Tab::Events))
        h2 { "Delivery " (d.delivery_id) }
        p { a href=(format!("/admin/webhooks/{}/events", webhook.id)) { "← All deliveries" } }
        dl.fields {
            dt { "Event" } dd { code { (d.event) } }
            dt { "EventId" } dd.event-id { code { (d.event_id) } }
            dt { "PrimaryKey" } dd { (d.primary_key) }
            dt { "Status" } dd.status { span class=(format!("state {}", d.state.as_str())) { (d.state.as_str()) } }
            dt { "Attempts" } dd { (d.attempts) }
            dt { "Created" } dd { (time(Some(d.created))) }
            dt { "Next attempt" } dd { (time(d.next_attempt).replace("never", "none planned")) }
        }
        div.actions {
            (retry_form(&session, webhook.id, d.delivery_id, d.state))
            (discard_form(&session, webhook.id, d.delivery_id, d.state))
        }
        @if d.state == DeliveryState::Waiting { p.hint #waiting-why { (WAITING_WHY) } }
        h3 { "Attempts" }
        @if attempts.is_empty() { p.empty { "Not tried yet." } }
        @else {
            div.table-wrap {
                table.attempts {
                    thead {
                        tr {
                            th scope="col" { "#" }
                            th scope="col" { "Time" }
                            th scope="col" { "Duration" }
                            th scope="col" { "Result" }
                            th scope="col" { "Trigger" }
                            th scope="col" { "Answer" }
                        }
                    }
                    tbody { @for a in &attempts { (attempt_row(a)) } }
                }
            }
        }
    };
    let title = format!("Delivery {}", d.delivery_id);
    page(&title, &session, body).into_response()
}

fn attempt_row(a: &AttemptEntry) -> Markup {
    html! {
        tr {
            td { (a.attempt) }
            td { (time(Some(a.started))) }
            td { (a.duration_ms) " ms" }
            td.result { (result_words(a)) }
            td { (a.trigger) }
            td { pre.answer { (a.response) } }
        }
    }
}

/// An attempt's result: its HTTP status, or the transport error class when it got no answer.
fn result_words(a: &AttemptEntry) -> String {
    match (a.status, &a.error) {
        (Some(code), _) => status_words(code),
        (None, Some(error)) => error.clone(),
        (None, None) => "no answer".to_string(),
    }
}

/// `POST /admin/webhooks/{id}/events/{deliveryId}/retry`: one attempt now, then the delivery's
/// page, where that attempt is the last one listed, with its result in the message.
pub async fn retry(
    State(state): State<AppState>,
    session: AdminCaller,
    Path((raw_id, raw_delivery)): Path<(String, String)>,
) -> Response {
    let (id, delivery_id) = match parse_ids(&raw_id, &raw_delivery) {
        Ok(ids) => ids,
        Err(page) => return *page,
    };
    let attempt = match state
        .agent
        .retry_delivery(&session.caller, id, delivery_id)
        .await
    {
        Ok(attempt) => attempt,
        // Waiting for its record's turn (a page older than the delivery's state).
        Err(AgentError::Conflict(why)) => {
            let flash = Flash::error(format!("Not retried: {why}."));
            return see_other(&delivery_path(id, delivery_id), Some(flash));
        }
        Err(e) => return agent_error(e),
    };
    let ok = attempt.status.is_some_and(|s| (200..300).contains(&s));
    let flash = if ok {
        Flash::notice(format!(
            "Retried: attempt {} was delivered ({}, {} ms).",
            attempt.attempt,
            result_words(&attempt),
            attempt.duration_ms
        ))
    } else {
        Flash::error(format!(
            "Retried: attempt {} failed ({}, {} ms).",
            attempt.attempt,
            result_words(&attempt),
            attempt.duration_ms
        ))
    };
    see_other(&delivery_path(id, delivery_id), Some(flash))
}

/// `POST /admin/webhooks/{id}/events/{deliveryId}/discard`: the queued delivery goes to the
/// dead-letter list unsent ("discarded by an operator"), then its page, saying so.
pub async fn discard(
    State(state): State<AppState>,
    session: AdminCaller,
    Path((raw_id, raw_delivery)): Path<(String, String)>,
) -> Response {
    let (id, delivery_id) = match parse_ids(&raw_id, &raw_delivery) {
        Ok(ids) => ids,
        Err(page) => return *page,
    };
    let flash = match state
        .agent
        .discard_delivery(&session.caller, id, delivery_id)
        .await
    {
        Ok(_) => Flash::notice(format!(
            "Discarded: delivery {delivery_id} is a dead letter now, unsent; the next \
             delivery of its record may go."
        )),
        // Delivered, dead already, or being sent right now: the agent says which.
        Err(AgentError::Conflict(why)) => Flash::error(format!("Not discarded: {why}.")),
        Err(e) => return agent_error(e),
    };
    see_other(&delivery_path(id, delivery_id), Some(flash))
}
