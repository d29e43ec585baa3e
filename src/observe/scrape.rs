//! `GET /metrics`: the counters and histograms recorded so far, plus gauges read from the
//! store at scrape time (so every node of a PostgreSQL cluster reports the shared queue).

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::domain::{WebhookState, now_millis};
use crate::state::AppState;

/// Every state, so a state with no webhook reads 0 instead of vanishing.
const STATES: [WebhookState; 4] = [
    WebhookState::Unknown,
    WebhookState::Active,
    WebhookState::Stopped,
    WebhookState::TooManyErrors,
];

/// Prometheus text (format 0.0.4); 503 when the database does not answer.
pub async fn metrics(State(state): State<AppState>) -> Response {
    match read_gauges(&state).await {
        Ok(()) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            super::recorder::handle().render(),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "metrics failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

async fn read_gauges(state: &AppState) -> Result<(), crate::store::StoreError> {
    let queue = state.store.queue_stats().await?;
    for (status, n) in [
        ("pending", queue.pending),
        ("delivered", queue.delivered),
        ("dead", queue.dead),
    ] {
        metrics::gauge!("hookwire_deliveries", "status" => status).set(n as f64);
    }
    let age_ms = queue
        .oldest_due
        .map_or(0, |due| (now_millis() - due).max(0));
    metrics::gauge!("hookwire_oldest_due_delivery_age_seconds").set(age_ms as f64 / 1000.0);
    let webhooks = state.store.webhooks().await?;
    for s in STATES {
        let n = webhooks.iter().filter(|w| w.state == s).count();
        metrics::gauge!("hookwire_webhooks", "state" => s.as_str()).set(n as f64);
    }
    Ok(())
}
