//! The webhook list, the admin page's home (`/admin`, docs/ADMIN.md "The list"): the columns
//! of NetServer 12.1's panel, sorted by any of them and filtered by name, status and event,
//! all as query parameters (links and a GET form, so it works without JavaScript). The table
//! body refreshes itself every 3 s (htmx asks this same handler for the body alone).

use std::cmp::Ordering;
use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use super::layout::{badge, csrf_field, error_page, page, plain_error, time};
use super::session::AdminCaller;
use crate::agent::{WebhookCarrier, WebhookFilter};
use crate::domain::WebhookState;
use crate::state::AppState;

/// The id of the table body htmx refreshes.
const ROWS_ID: &str = "webhook-rows";

/// The longest filter text used; anything longer matches nothing anyway.
const MAX_FILTER_CHARS: usize = 400;

/// A column of the list, by its query-parameter key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Name,
    Status,
    Target,
    Events,
    LastDelivery,
    LastResult,
    Failures,
}

impl Column {
    const ALL: [Column; 7] = [
        Column::Name,
        Column::Status,
        Column::Target,
        Column::Events,
        Column::LastDelivery,
        Column::LastResult,
        Column::Failures,
    ];

    fn key(self) -> &'static str {
        match self {
            Column::Name => "name",
            Column::Status => "status",
            Column::Target => "target",
            Column::Events => "events",
            Column::LastDelivery => "last-delivery",
            Column::LastResult => "last-result",
            Column::Failures => "failures",
        }
    }

    /// The header, as docs/ADMIN.md names it.
    fn header(self) -> &'static str {
        match self {
            Column::Name => "Name",
            Column::Status => "Status",
            Column::Target => "Target",
            Column::Events => "Events",
            Column::LastDelivery => "Last delivery",
            Column::LastResult => "Last result",
            Column::Failures => "Failures (24 h)",
        }
    }

    fn order(self, a: &WebhookCarrier, b: &WebhookCarrier) -> Ordering {
        match self {
            Column::Name => name_key(a).cmp(&name_key(b)),
            Column::Status => Status::of(a).cmp(&Status::of(b)),
            Column::Target => a.target_url.cmp(&b.target_url),
            Column::Events => a.events.len().cmp(&b.events.len()),
            Column::LastDelivery => a.activity.last_attempt.cmp(&b.activity.last_attempt),
            Column::LastResult => a.last_result().cmp(&b.last_result()),
            Column::Failures => a.activity.failures.cmp(&b.activity.failures),
        }
    }
}

fn name_key(w: &WebhookCarrier) -> String {
    w.name.as_deref().unwrap_or_default().to_lowercase()
}

/// What the badge says, in the order the Status column sorts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Status {
    Active,
    Failing,
    Stopped,
    Disabled,
}

impl Status {
    const ALL: [Status; 4] = [
        Status::Active,
        Status::Failing,
        Status::Stopped,
        Status::Disabled,
    ];

    fn of(w: &WebhookCarrier) -> Status {
        match w.state {
            WebhookState::Active if w.activity.failures > 0 => Status::Failing,
            WebhookState::Active => Status::Active,
            WebhookState::TooManyErrors => Status::Disabled,
            WebhookState::Stopped | WebhookState::Unknown => Status::Stopped,
        }
    }

    fn key(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Failing => "failing",
            Status::Stopped => "stopped",
            Status::Disabled => "disabled",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Status::Active => "Active",
            Status::Failing => "Active with failures",
            Status::Stopped => "Stopped",
            Status::Disabled => "Disabled",
        }
    }
}

/// The list's query: sort column and direction, filters.
#[derive(Debug, Clone)]
struct ListQuery {
    sort: Column,
    descending: bool,
    name: String,
    status: Option<Status>,
    event: String,
}

impl ListQuery {
    /// Reads the parameters; an unknown column, direction or status is an error naming it.
    fn parse(params: &HashMap<String, String>) -> Result<ListQuery, String> {
        let text = |key: &str| -> String {
            let value = params.get(key).map(|v| v.trim()).unwrap_or_default();
            value.chars().take(MAX_FILTER_CHARS).collect()
        };
        let sort = match params.get("sort").map(|s| s.trim()) {
            None | Some("") => Column::Name,
            Some(key) => Column::ALL
                .into_iter()
                .find(|c| c.key() == key)
                .ok_or_else(|| format!("sort: there is no column '{}'", shorten(key)))?,
        };
        let descending = match params.get("dir").map(|s| s.trim()) {
            None | Some("") | Some("asc") => false,
            Some("desc") => true,
            Some(other) => return Err(format!("dir: '{}' is not asc or desc", shorten(other))),
        };
        let status = match params.get("status").map(|s| s.trim()) {
            None | Some("") => None,
            Some(key) => Some(
                Status::ALL
                    .into_iter()
                    .find(|s| s.key() == key)
                    .ok_or_else(|| format!("status: there is no status '{}'", shorten(key)))?,
            ),
        };
        Ok(ListQuery {
            sort,
            descending,
            name: text("name"),
            status,
            event: text("event"),
        })
    }

    /// This query as a URL query string, sorted by `sort` in direction `descending`.
    fn href(&self, sort: Column, descending: bool) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.append_pair("sort", sort.key());
        query.append_pair("dir", if descending { "desc" } else { "asc" });
        for (key, value) in [("name", self.name.as_str()), ("event", self.event.as_str())] {
            if !value.is_empty() {
                query.append_pair(key, value);
            }
        }
        if let Some(status) = self.status {
            query.append_pair("status", status.key());
        }
        format!("/admin?{}", query.finish())
    }

    fn keeps(&self, w: &WebhookCarrier) -> bool {
        (self.name.is_empty() || name_key(w).contains(&self.name.to_lowercase()))
            && self.status.is_none_or(|s| s == Status::of(w))
    }
}

fn shorten(text: &str) -> String {
    text.chars().take(40).collect()
}

/// `GET /admin`: the list; for htmx's refresh (`HX-Target: webhook-rows`), its body alone.
pub async fn list(
    State(state): State<AppState>,
    session: AdminCaller,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let query = match ListQuery::parse(&params) {
        Ok(query) => query,
        Err(why) => {
            let message = format!("The list cannot be shown: {why}.");
            return error_page(StatusCode::BAD_REQUEST, "Webhooks", &message);
        }
    };
    // The event filter is the agent's: which webhooks receive an event, patterns included.
    let filter = WebhookFilter {
        event: Some(query.event.clone()).filter(|e| !e.is_empty()),
        ..WebhookFilter::default()
    };
    let mut webhooks = match state.agent.get_all_webhooks(&session.caller, &filter).await {
        Ok(webhooks) => webhooks,
        Err(e) => {
            tracing::error!(error = %e, "admin list: the webhooks could not be read");
            return error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Webhooks",
                "The webhooks could not be read: try again shortly.",
            );
        }
    };
    webhooks.retain(|w| query.keeps(w));
    // Ties keep name order whichever way the column sorts.
    webhooks.sort_by(|a, b| {
        let by_column = query.sort.order(a, b);
        let by_column = if query.descending {
            by_column.reverse()
        } else {
            by_column
        };
        by_column
            .then_with(|| Column::Name.order(a, b))
            .then_with(|| a.id.cmp(&b.id))
    });
    let rows = rows(&webhooks, &query, &session, state.failures_to_disable);
    let refresh = headers
        .get("hx-target")
        .is_some_and(|t| t.as_bytes() == ROWS_ID.as_bytes());
    if refresh {
        return rows.into_response();
    }
    let body = html! {
        h1 { "Webhooks" }
        (filters(&query))
        div.table-wrap {
            table.webhooks {
                thead { tr { @for column in Column::ALL { (header(&query, column)) } th { "Actions" } } }
                (rows)
            }
        }
    };
    page("Webhooks", &session, body).into_response()
}

/// The filter form: a GET, so the filters are in the URL and work without JavaScript.
fn filters(query: &ListQuery) -> Markup {
    html! {
        form.filters method="get" action="/admin" role="search" {
            input type="hidden" name="sort" value=(query.sort.key());
            input type="hidden" name="dir" value=(if query.descending { "desc" } else { "asc" });
            label for="filter-name" { "Name" }
            input #filter-name type="search" name="name" value=(query.name);
            label for="filter-status" { "Status" }
            select #filter-status name="status" {
                option value="" selected[query.status.is_none()] { "Any" }
                @for status in Status::ALL {
                    option value=(status.key()) selected[query.status == Some(status)] {
                        (status.label())
                    }
                }
            }
            label for="filter-event" { "Event" }
            input #filter-event type="search" name="event" value=(query.event)
                placeholder="contact.created";
            button type="submit" { "Filter" }
            a href="/admin" { "Clear" }
        }
    }
}

/// A column header: a link sorting by it (the other way round when it already sorts); the
/// stylesheet draws the direction from `aria-sort`, which screen readers announce.
fn header(query: &ListQuery, column: Column) -> Markup {
    let sorted = query.sort == column;
    let descending = sorted && !query.descending;
    let aria = match (sorted, query.descending) {
        (false, _) => "none",
        (true, false) => "ascending",
        (true, true) => "descending",
    };
    html! {
        th aria-sort=(aria) {
            a href=(query.href(column, descending)) { (column.header()) }
        }
    }
}

/// The table body, polling itself every 3 s with the same query.
fn rows(
    webhooks: &[WebhookCarrier],
    query: &ListQuery,
    session: &AdminCaller,
    limit: i32,
) -> Markup {
    html! {
        tbody #(ROWS_ID) hx-get=(query.href(query.sort, query.descending)) hx-trigger="every 3s"
            hx-target="this" hx-swap="outerHTML" {
            @if webhooks.is_empty() {
                tr { td colspan="8" { "No webhook matches." } }
            }
            @for w in webhooks { (row(w, session, limit)) }
        }
    }
}

fn row(w: &WebhookCarrier, session: &AdminCaller, limit: i32) -> Markup {
    let name = w.name.as_deref().unwrap_or_default();
    let changed_by = w
        .updated_associate
        .as_ref()
        .map_or("unknown", |a| a.name.as_str());
    let changed = format!("changed by {changed_by} at {}", time(w.updated));
    let link = format!("/admin/webhooks/{}", w.id);
    let action = |verb: &str| format!("/admin/webhooks/{}/{verb}", w.id);
    let status = Status::of(w);
    html! {
        tr data-webhook-id=(w.id) title=(changed) {
            td.name { a href=(link) title=(changed) { (name) } }
            td.status {
                (badge(w.state, w.activity.failures, w.usage.consecutive_errors, limit))
                @if status == Status::Disabled {
                    @if let Some(error) = &w.usage.last_error {
                        " " span.last-error title=(error) { (plain_error(error)) }
                    }
                }
            }
            td.target { (w.target_url.as_deref().unwrap_or_default()) }
            td.number.events title=(w.events.join(", ")) { (w.events.len()) }
            td.last-delivery { (time(w.activity.last_attempt)) }
            td.last-result { (w.last_result().unwrap_or_else(|| "none".to_string())) }
            td.number.failures { (w.activity.failures) }
            td.actions {
                a.button href=(action("edit")) { "Edit" }
                " "
                (post_button(&action("copy"), "Copy", session))
                " "
                @match w.state {
                    WebhookState::Active => (post_button(&action("stop"), "Stop", session)),
                    WebhookState::TooManyErrors => {
                        (post_button(&action("restart"), "Restart", session))
                        " "
                        (post_button(&action("stop"), "Stop", session))
                    }
                    _ => (post_button(&action("activate"), "Activate", session)),
                }
                " "
                a.button.danger href=(action("delete")) { "Delete" }
            }
        }
    }
}

/// A row action: a POST form of one button (works without JavaScript).
fn post_button(action: &str, label: &str, session: &AdminCaller) -> Markup {
    html! {
        form method="post" action=(action) {
            (csrf_field(session))
            button type="submit" { (label) }
        }
    }
}
