//! The process's one metrics recorder (`metrics` facade, Prometheus exporter without its own
//! listener: `/metrics` is served by our router).

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub(super) const ATTEMPT_DURATION: &str = "hookwire_delivery_attempt_duration_seconds";
pub(super) const DELIVERY_LATENCY: &str = "hookwire_delivery_latency_seconds";

/// An attempt lasts at most the attempt timeout (default 10 s).
const ATTEMPT_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// SignalEvent to delivered: milliseconds when all is well, up to the retention window (days)
/// through retries.
const LATENCY_BUCKETS: &[f64] = &[
    0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0, 60.0, 300.0, 1800.0, 3600.0, 21600.0, 86400.0,
];

/// Histogram samples wait in the recorder until rendered; without scrapes, upkeep drains
/// them so memory stays bounded.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the recorder (once per process; later calls return the same handle) and starts
/// its upkeep. Must run inside the Tokio runtime.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = buckets(PrometheusBuilder::new()).build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics stays empty");
            }
            let upkeep = handle.clone();
            tokio::spawn(async move {
                let mut every = tokio::time::interval(UPKEEP_EVERY);
                loop {
                    every.tick().await;
                    upkeep.run_upkeep();
                }
            });
            describe();
            handle
        })
        .clone()
}

/// Histograms as Prometheus histograms (buckets), not the exporter's default summaries.
fn buckets(builder: PrometheusBuilder) -> PrometheusBuilder {
    // Fails only for an empty list of buckets, which these are not; summaries would do then.
    builder
        .set_buckets_for_metric(Matcher::Full(ATTEMPT_DURATION.into()), ATTEMPT_BUCKETS)
        .and_then(|b| {
            b.set_buckets_for_metric(Matcher::Full(DELIVERY_LATENCY.into()), LATENCY_BUCKETS)
        })
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "histogram buckets refused; reporting summaries");
            PrometheusBuilder::new()
        })
}

/// Every series' HELP line, and the series that exist from the start: build info, and the
/// unlabelled counters at 0 (so a rate over them starts from the process's start).
fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "hookwire_http_requests_total",
        "HTTP requests answered, by route family (soap, wsdl, rest, health, metrics, other) and status."
    );
    describe_counter!(
        "hookwire_signal_events_accepted_total",
        "SignalEvent calls accepted (the event is stored)."
    );
    describe_counter!(
        "hookwire_deliveries_queued_total",
        "Deliveries queued by accepted SignalEvents (one per subscribed webhook)."
    );
    describe_counter!(
        "hookwire_delivery_attempts_total",
        "Delivery attempts by outcome (delivered, failed) and status class (2xx..5xx, none: no HTTP answer)."
    );
    describe_histogram!(
        ATTEMPT_DURATION,
        "How long one delivery attempt took, by outcome."
    );
    describe_histogram!(
        DELIVERY_LATENCY,
        "From SignalEvent to the receiver's 2xx, retries included."
    );
    describe_gauge!(
        "hookwire_deliveries",
        "Deliveries in the outbox by status (read from the database at scrape time)."
    );
    describe_gauge!(
        "hookwire_oldest_due_delivery_age_seconds",
        "How long the oldest delivery due for an Active webhook has waited; 0 when none is late."
    );
    describe_gauge!("hookwire_webhooks", "Webhooks by state (at scrape time).");
    describe_gauge!(
        "hookwire_build_info",
        "Always 1; the version label is this server's version."
    );
    metrics::gauge!("hookwire_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    metrics::counter!("hookwire_signal_events_accepted_total").absolute(0);
    metrics::counter!("hookwire_deliveries_queued_total").absolute(0);
}

/// The handle `/metrics` renders, installing the recorder if nothing did yet.
pub(super) fn handle() -> PrometheusHandle {
    HANDLE.get().cloned().unwrap_or_else(install)
}
