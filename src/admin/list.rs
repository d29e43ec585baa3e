//! The webhook list, the admin page's home (`/admin`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::html;

use super::layout::{badge, error_page, page, time};
use super::session::AdminCaller;
use crate::agent::WebhookFilter;
use crate::state::AppState;

/// `GET /admin`: every webhook the caller sees, with its status.
pub async fn list(State(state): State<AppState>, session: AdminCaller) -> Response {
    let webhooks = match state
        .agent
        .get_all_webhooks(&session.caller, &WebhookFilter::default())
        .await
    {
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
    let body = html! {
        h1 { "Webhooks" }
        div.table-wrap {
            table {
                thead { tr { th { "Name" } th { "Status" } th { "Target" } th { "Last delivery" } } }
                tbody {
                    @for w in &webhooks {
                        tr {
                            td { (w.name.as_deref().unwrap_or_default()) }
                            td { (badge(w.state, w.activity.failures, w.usage.consecutive_errors,
                                        state.failures_to_disable)) }
                            td { (w.target_url.as_deref().unwrap_or_default()) }
                            td { (time(w.activity.last_attempt)) }
                        }
                    }
                }
            }
        }
    };
    page("Webhooks", &session, body).into_response()
}
