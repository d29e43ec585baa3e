//! What one delivery attempt and one SignalEvent record: counters, histograms, the attempt's
//! log line.

use std::time::Duration;

use super::recorder::{ATTEMPT_DURATION, DELIVERY_LATENCY};
use crate::delivery::sender::AttemptResult;
use crate::domain::{Event, now_millis};

/// A SignalEvent accepted (stored), and the deliveries it queued.
pub fn signal_accepted(queued: usize) {
    metrics::counter!("hookwire_signal_events_accepted_total").increment(1);
    metrics::counter!("hookwire_deliveries_queued_total")
        .increment(u64::try_from(queued).unwrap_or(u64::MAX));
}

/// One attempt (`attempt`: its number for this delivery, 1 for the first) of `event` to
/// webhook `webhook_id`, timed by the sender (`result.duration`): the attempt counters and histograms, the
/// SignalEvent→delivered latency when it succeeded, and one log line at `info`.
pub fn attempt(webhook_id: i32, event: &Event, attempt: u32, result: &AttemptResult) {
    let took = result.duration;
    let outcome = if result.success {
        "delivered"
    } else {
        "failed"
    };
    let class = status_class(result.status);
    metrics::counter!(
        "hookwire_delivery_attempts_total",
        "outcome" => outcome,
        "status_class" => class,
    )
    .increment(1);
    metrics::histogram!(ATTEMPT_DURATION, "outcome" => outcome).record(took.as_secs_f64());
    if result.success {
        // Millisecond clocks; a clock stepping back gives 0, not a negative latency.
        let waited = (now_millis() - event.occurred_at).max(0);
        metrics::histogram!(DELIVERY_LATENCY)
            .record(Duration::from_millis(waited.unsigned_abs()).as_secs_f64());
    }
    // Not the answer's text nor a transport error's: either may carry the target URL's
    // credentials or query (docs/OPERATIONS.md); LastError and the attempt log keep them.
    tracing::info!(
        webhook_id,
        event_id = %event.event_id,
        event = %event.name,
        attempt,
        status = result.status,
        status_class = class,
        outcome,
        duration_ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
        "delivery attempt"
    );
}

/// `2xx`..`5xx`, or `none` when no HTTP answer came (timeout, refused, TLS, policy).
fn status_class(status: Option<u16>) -> &'static str {
    match status {
        Some(100..=199) => "1xx",
        Some(200..=299) => "2xx",
        Some(300..=399) => "3xx",
        Some(400..=499) => "4xx",
        Some(_) => "5xx",
        None => "none",
    }
}
