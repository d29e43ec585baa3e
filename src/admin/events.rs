//! A webhook's Events tab (`/admin/webhooks/{id}/events`, docs/ADMIN.md "Events"): the
//! delivery log through `WebhookAgent::deliveries`, its filters and pages as query parameters
//! (so a filtered page is a link and works without JavaScript), Export CSV of the same rows,
//! Recover of a time window, and the dead letters (the `dead` status filter).
//!
//! The table refreshes itself every 3 s: htmx polls the same URL with `HX-Request`, which is
//! answered with the table alone. The Status column shows the log's own states (docs/ADMIN.md
//! says how NetServer's words map to them): the page adds no state of its own.

use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::delivery::{discard_form, retry_form, status_words};
use super::layout::{csrf_field, error_page, page, time};
use super::session::{AdminCaller, Flash, see_other};
use super::webhook::{Tab, agent_error, header as webhook_header, load, no_such_webhook, parse_id};
use crate::agent::{AgentError, DeliveryFilter, DeliveryPage, RecoverWindow, deliveries_csv};
use crate::state::AppState;
use crate::store::{DeliveryState, DeliverySummary};

/// The most earlier-page cursors a URL carries for Previous; past that, Previous goes back
/// less far (to the oldest kept), which keeps URLs short.
const MAX_TRAIL: usize = 50;

/// The Events tab's query: the agent's filters as typed, plus `trail`, the cursors of the
/// pages before this one (comma-separated, oldest first) for Previous: paging is by key, so
/// only the way forward is in a cursor.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EventsQuery {
    status: String,
    event: String,
    from: String,
    to: String,
    limit: String,
    cursor: String,
    trail: String,
}

impl EventsQuery {
    fn filter(&self) -> DeliveryFilter {
        let some = |v: &str| Some(v.to_string()).filter(|v| !v.trim().is_empty());
        DeliveryFilter {
            status: some(&self.status),
            event: some(&self.event),
            from: some(&as_iso(&self.from)),
            to: some(&as_iso(&self.to)),
            limit: some(&self.limit),
            cursor: some(&self.cursor),
        }
    }

    /// The earlier pages' cursors, when they are cursors at all (else none: Previous then
    /// goes to the first page).
    fn trail(&self) -> Vec<&str> {
        let trail: Vec<&str> = self.trail.split(',').filter(|c| !c.is_empty()).collect();
        let valid = trail
            .iter()
            .all(|c| c.len() <= 20 && c.bytes().all(|b| b.is_ascii_digit()));
        if valid {
            let skip = trail.len().saturating_sub(MAX_TRAIL);
            trail.into_iter().skip(skip).collect()
        } else {
            Vec::new()
        }
    }

    /// This query's URL under `path` with another cursor and trail: the filters are kept.
    fn url(&self, path: &str, cursor: Option<&str>, trail: &[&str]) -> String {
        let trail = trail.join(",");
        let pairs = [
            ("status", self.status.as_str()),
            ("event", self.event.as_str()),
            ("from", self.from.as_str()),
            ("to", self.to.as_str()),
            ("limit", self.limit.as_str()),
            ("cursor", cursor.unwrap_or_default()),
            ("trail", trail.as_str()),
        ];
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs.iter().filter(|(_, v)| !v.trim().is_empty()))
            .finish();
        if query.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{query}")
        }
    }

    fn here(&self, path: &str) -> String {
        let trail = self.trail();
        self.url(path, Some(&self.cursor), &trail)
    }
}

/// A time as the forms take it, made ISO 8601 for the agent: a space may stand for the `T`,
/// and seconds may be left out (`2026-11-29 12:00`); no offset means UTC, as the agent reads it.
fn as_iso(typed: &str) -> String {
    let t = typed.trim();
    let bytes = t.as_bytes();
    let mut iso = t.to_string();
    if bytes.len() >= 16 && bytes[10] == b' ' && bytes[4] == b'-' {
        iso.replace_range(10..11, "T");
    }
    if iso.len() == 16 && iso.as_bytes()[13] == b':' {
        iso.push_str(":00");
    }
    iso
}

fn events_path(id: i32) -> String {
    format!("/admin/webhooks/{id}/events")
}

/// `GET /admin/webhooks/{id}/events`: the page, or with `HX-Request` (the 3-second refresh)
/// the table alone.
pub async fn list(
    State(state): State<AppState>,
    session: AdminCaller,
    Path(raw): Path<String>,
    headers: HeaderMap,
    query: Result<Query<EventsQuery>, QueryRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return bad_query();
    };
    let Some(id) = parse_id(&raw) else {
        return no_such_webhook(&raw);
    };
    let page_of = state
        .agent
        .deliveries(&session.caller, id, &query.filter())
        .await;
    if headers.contains_key("hx-request") {
        return match page_of {
            Ok(found) => table(&session, id, &query, &found).into_response(),
            Err(e) => problem(&e).into_response(),
        };
    }
    let webhook = match load(&state, &session, &raw).await {
        Ok(webhook) => webhook,
        Err(response) => return response,
    };
    let (listed, refused) = match page_of {
        Ok(found) => (Some(found), None),
        Err(AgentError::Invalid(why)) => (None, Some(why)),
        Err(e) => return agent_error(e),
    };
    let body = html! {
        (webhook_header(&state, &webhook, Tab::Events))
        (filters(id, &query))
        @if let Some(why) = &refused {
            p.flash.error role="alert" { (why) }
        }
        @if let Some(found) = &listed { (table(&session, id, &query, found)) }
        (recover_form(&session, id))
    };
    let title = format!("Events · {}", webhook.name.as_deref().unwrap_or_default());
    page(&title, &session, body).into_response()
}

/// `GET /admin/webhooks/{id}/events.csv`: the rows the Events tab shows for the same query,
/// as the agent's CSV export, downloaded as a file.
pub async fn export_csv(
    State(state): State<AppState>,
    session: AdminCaller,
    Path(raw): Path<String>,
    query: Result<Query<EventsQuery>, QueryRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return bad_query();
    };
    let Some(id) = parse_id(&raw) else {
        return no_such_webhook(&raw);
    };
    match state
        .agent
        .deliveries(&session.caller, id, &query.filter())
        .await
    {
        Ok(found) => {
            let disposition = format!("attachment; filename=\"webhook-{id}-deliveries.csv\"");
            let mut response = deliveries_csv(&found.deliveries).into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            );
            if let Ok(value) = HeaderValue::from_str(&disposition) {
                headers.insert(header::CONTENT_DISPOSITION, value);
            }
            response
        }
        Err(e) => agent_error(e),
    }
}

/// Recover's form fields.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RecoverForm {
    since: String,
    until: String,
}

/// `POST /admin/webhooks/{id}/recover`: queues again the window's undelivered deliveries,
/// dead letters included (`WebhookAgent::recover`), and back to the Events tab saying how many.
pub async fn recover(
    State(state): State<AppState>,
    session: AdminCaller,
    Path(raw): Path<String>,
    form: Result<Form<RecoverForm>, FormRejection>,
) -> Response {
    let Some(id) = parse_id(&raw) else {
        return no_such_webhook(&raw);
    };
    let Ok(Form(form)) = form else {
        return bad_query();
    };
    let window = RecoverWindow {
        since: Some(as_iso(&form.since)),
        until: Some(as_iso(&form.until)),
    };
    let flash = match state.agent.recover(&session.caller, id, &window).await {
        Ok(1) => Flash::notice("1 delivery queued again."),
        Ok(n) => Flash::notice(format!("{n} deliveries queued again.")),
        Err(AgentError::Invalid(why)) => Flash::error(format!("Not recovered: {why}.")),
        Err(e) => return agent_error(e),
    };
    see_other(&events_path(id), Some(flash))
}

fn bad_query() -> Response {
    error_page(
        StatusCode::BAD_REQUEST,
        "Not understood",
        "The address's parameters could not be read: use the page's own forms and links.",
    )
}

/// An error inside the refreshed table, in the agent's words.
fn problem(e: &AgentError) -> Markup {
    if e.is_internal() {
        tracing::error!(error = %e, "admin events: the store failed");
    }
    html! { div #deliveries { p.flash.error role="alert" { (e.client_message()) } } }
}

fn filters(id: i32, q: &EventsQuery) -> Markup {
    let dead = format!("{}?status=dead", events_path(id));
    html! {
        form.filters method="get" action=(events_path(id)) role="search" {
            label {
                "Status "
                select name="status" {
                    option value="" { "Any" }
                    @for s in DeliveryState::ALL {
                        option value=(s.as_str()) selected[q.status.eq_ignore_ascii_case(s.as_str())] {
                            (s.as_str())
                        }
                    }
                }
            }
            label { "Event " input type="text" name="event" value=(q.event) size="18"; }
            label {
                "From " input type="text" name="from" value=(q.from) size="20"
                    placeholder="2026-11-29T12:00:00Z";
            }
            label {
                "To " input type="text" name="to" value=(q.to) size="20"
                    placeholder="UTC unless an offset is given";
            }
            @if !q.limit.is_empty() { input type="hidden" name="limit" value=(q.limit); }
            button type="submit" { "Filter" }
            a href=(events_path(id)) { "Clear" }
            a.dead-letters href=(dead) { "Dead letters" }
            a.button.export href=(q.url(&format!("/admin/webhooks/{id}/events.csv"),
                                         Some(&q.cursor), &q.trail())) download {
                "Export CSV"
            }
        }
    }
}

/// The table of one page with its pager: what the 3-second refresh replaces.
fn table(session: &AdminCaller, id: i32, q: &EventsQuery, found: &DeliveryPage) -> Markup {
    let path = events_path(id);
    let trail = q.trail();
    let previous = (!q.cursor.trim().is_empty()).then(|| {
        let (back, rest) = trail
            .split_last()
            .map_or((None, &[][..]), |(b, r)| (Some(*b), r));
        q.url(&path, back, rest)
    });
    let next = found.next_cursor.as_deref().map(|c| {
        let mut onward = trail.clone();
        if !q.cursor.trim().is_empty() {
            onward.push(q.cursor.trim());
        }
        q.url(&path, Some(c), &onward)
    });
    html! {
        div #deliveries hx-get=(q.here(&path)) hx-trigger="every 3s" hx-swap="outerHTML" {
            div.table-wrap {
                table.deliveries {
                    thead {
                        tr {
                            th scope="col" { "Timestamp" }
                            th scope="col" { "Event" }
                            th scope="col" { "Status" }
                            th scope="col" { "Attempts" }
                            th scope="col" { "Error code" }
                            th scope="col" { span.visually-hidden { "Actions" } }
                        }
                    }
                    tbody {
                        @for d in &found.deliveries { (row(session, id, d)) }
                    }
                }
            }
            @if found.deliveries.is_empty() { p.empty { "No delivery matches." } }
            nav.pager aria-label="Pages" {
                @if let Some(previous) = &previous { a rel="prev" href=(previous) { "← Previous" } }
                @if let Some(next) = &next { a rel="next" href=(next) { "Next →" } }
            }
        }
    }
}

fn row(session: &AdminCaller, id: i32, d: &DeliverySummary) -> Markup {
    let state = d.state.as_str();
    let error_code = match (d.last_status, d.attempts) {
        (Some(code), _) => status_words(code),
        (None, 0) => "—".to_string(),
        // The log's summary keeps only HTTP statuses; the delivery's page names the error.
        (None, _) => "no answer".to_string(),
    };
    html! {
        tr data-delivery=(d.delivery_id) {
            td { a href=(format!("/admin/webhooks/{id}/events/{}", d.delivery_id)) { (time(Some(d.created))) } }
            td { code { (d.event) } }
            td { span class=(format!("state {state}")) { (state) } }
            td.attempts { (d.attempts) }
            td.error-code { (error_code) }
            td.actions {
                @if d.state != DeliveryState::Delivered {
                    (retry_form(session, id, d.delivery_id, d.state))
                }
                " "
                (discard_form(session, id, d.delivery_id, d.state))
            }
        }
    }
}

fn recover_form(session: &AdminCaller, id: i32) -> Markup {
    html! {
        section.recover aria-labelledby="recover" {
            h2 #recover { "Recover a time window" }
            p.hint {
                "Queues again, due now, every delivery created in the window that is not "
                "delivered, dead letters included. Times are UTC unless they carry an offset."
            }
            form method="post" action=(format!("/admin/webhooks/{id}/recover")) {
                (csrf_field(session))
                label for="since" { "Since" }
                input #since type="text" name="since" required placeholder="2026-11-29T12:00:00Z";
                label for="until" { "Until " span.hint { "(empty: now)" } }
                input #until type="text" name="until";
                button type="submit" { "Recover" }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_times_become_iso() {
        assert_eq!(as_iso(" 2026-11-29 12:00 "), "2026-11-29T12:00:00");
        assert_eq!(as_iso("2026-11-29T12:00"), "2026-11-29T12:00:00");
        assert_eq!(as_iso("2026-11-29T12:00:05Z"), "2026-11-29T12:00:05Z");
        assert_eq!(as_iso("yesterday"), "yesterday");
        assert_eq!(as_iso("é"), "é");
    }

    #[test]
    fn previous_pages_are_a_bounded_trail_of_cursors() {
        let q = EventsQuery {
            status: "dead".into(),
            cursor: "9".into(),
            trail: "30,20".into(),
            ..EventsQuery::default()
        };
        assert_eq!(q.trail(), ["30", "20"]);
        assert_eq!(
            q.url("/p", Some("20"), &["30"]),
            "/p?status=dead&cursor=20&trail=30"
        );
        let long = EventsQuery {
            trail: vec!["1"; 80].join(","),
            ..EventsQuery::default()
        };
        assert_eq!(long.trail().len(), MAX_TRAIL);
        let bad = EventsQuery {
            trail: "1,x".into(),
            ..EventsQuery::default()
        };
        assert!(bad.trail().is_empty());
    }
}
