//! In-app alerts (`/admin/alerts`, docs/ADMIN.md, Alerts): the agent's alerts of failing
//! webhooks (first failure, disabled), newest first, unread ones marked, each linking to its
//! webhook, with Mark read; and the unread count the navigation polls (`layout::alert_count`).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;

use super::layout::{alert_count, csrf_field, error_page, page, time};
use super::session::{AdminCaller, Flash, see_other};
use crate::agent::AlertFilter;
use crate::state::AppState;

const ALERTS_PATH: &str = "/admin/alerts";

/// The page asked for: older alerts after `cursor` (the previous page's last).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AlertsQuery {
    cursor: Option<String>,
}

/// `GET /admin/alerts`: one page of alerts, newest first.
pub async fn list(
    State(state): State<AppState>,
    session: AdminCaller,
    Query(query): Query<AlertsQuery>,
) -> Response {
    let filter = AlertFilter {
        cursor: query.cursor,
        ..AlertFilter::default()
    };
    let alerts = match state.agent.alerts(&session.caller, &filter).await {
        Ok(alerts) => alerts,
        Err(e) if e.is_internal() => {
            tracing::error!(error = %e, "admin alerts: the alerts could not be read");
            return error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Alerts",
                "The alerts could not be read: try again shortly.",
            );
        }
        Err(e) => return error_page(StatusCode::BAD_REQUEST, "Alerts", &e.client_message()),
    };
    let body = html! {
        h1 { "Alerts" }
        @if alerts.alerts.is_empty() {
            p #no-alerts { "No alerts. Webhooks whose error notification asks for in-app \
                            alerts leave one here when they fail." }
        } @else {
            div.table-wrap {
                table.alerts {
                    thead { tr {
                        th { "Time" } th { "Webhook" } th { "What happened" } th { "Event" }
                        th { "Last error" } th { "Read" }
                    } }
                    tbody {
                        @for alert in &alerts.alerts {
                            tr.alert.unread[alert.read.is_none()] id=(format!("alert-{}", alert.id)) {
                                td { (time(Some(alert.created))) }
                                td { a href=(format!("/admin/webhooks/{}", alert.webhook_id)) {
                                    (alert.webhook_name) } }
                                td { (kind(&alert.kind)) }
                                td { (alert.event) }
                                td.error-text { (alert.last_error) }
                                td.actions {
                                    @if let Some(read) = alert.read {
                                        span.read { "Read " (time(Some(read))) }
                                    } @else {
                                        strong.unread-mark { "Unread" }
                                        form method="post"
                                            action=(format!("{ALERTS_PATH}/{}/read", alert.id)) {
                                            (csrf_field(&session))
                                            button type="submit" { "Mark read" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if let Some(cursor) = &alerts.next_cursor {
                p { a href=(format!("{ALERTS_PATH}?cursor={cursor}")) { "Older alerts" } }
            }
        }
    };
    page("Alerts", &session, body).into_response()
}

/// The kind of an alert in plain words.
fn kind(kind: &str) -> &str {
    match kind {
        "first-failure" => "First failure",
        "disabled" => "Disabled after failures",
        other => other,
    }
}

/// `POST /admin/alerts/{id}/read`: marks the alert read, back to the list.
pub async fn mark_read(
    State(state): State<AppState>,
    session: AdminCaller,
    Path(id): Path<String>,
) -> Response {
    let Some(id) = id.trim().parse::<i64>().ok().filter(|id| *id > 0) else {
        let id: String = id.chars().take(20).collect();
        return see_other(
            ALERTS_PATH,
            Some(Flash::error(format!("There is no alert {id}."))),
        );
    };
    let flash = match state.agent.read_alert(&session.caller, id).await {
        Ok(_) => Flash::notice(format!("Alert {id} marked read.")),
        Err(e) => {
            if e.is_internal() {
                tracing::error!(error = %e, "admin alerts: an alert could not be marked read");
            }
            Flash::error(e.client_message())
        }
    };
    see_other(ALERTS_PATH, Some(flash))
}

/// `GET /admin/alerts/count`: the navigation's unread count alone, which htmx swaps in.
pub async fn count(session: AdminCaller) -> Response {
    alert_count(session.unread_alerts).into_response()
}
