//! How much each phase does: the defaults, the smoke counts and the command-line overrides.

use std::time::Duration;

use crate::Args;

/// The counts of one run.
pub struct Plan {
    pub ingest: usize,
    pub delivery: usize,
    pub fanout: usize,
    pub fanout_hooks: usize,
    pub latency_rate: u32,
    pub latency_events: usize,
    /// The second latency phase: a rate close to what one webhook can take.
    pub fast_latency_rate: u32,
    pub fast_latency_events: usize,
    pub phase_timeout: Duration,
    pub concurrency: usize,
    /// Whether the run is on PostgreSQL (then it has the several-node phase too).
    pub on_postgres: bool,
}

impl Plan {
    pub fn new(a: &Args) -> Plan {
        let pick = |v: Option<usize>, full: usize, smoke: usize| {
            v.unwrap_or(if a.smoke { smoke } else { full }).max(1)
        };
        let latency_rate = a
            .latency_rate
            .unwrap_or(if a.smoke { 200 } else { 1000 })
            .max(1);
        let fast_latency_rate = a
            .fast_latency_rate
            .unwrap_or(if a.smoke { 500 } else { 5000 })
            .max(1);
        let latency_secs = a.latency_secs.unwrap_or(if a.smoke { 1.0 } else { 5.0 });
        // Both latency phases last `latency_secs`: the count is bounded by rate x length.
        let events = |rate: u32| ((f64::from(rate) * latency_secs).round() as usize).max(1);
        Plan {
            ingest: pick(a.ingest_events, 50_000, 200),
            delivery: pick(a.delivery_events, 20_000, 200),
            fanout: pick(a.fanout_events, 5_000, 50),
            fanout_hooks: a.fanout_webhooks.max(1),
            latency_rate,
            latency_events: events(latency_rate),
            fast_latency_rate,
            fast_latency_events: events(fast_latency_rate),
            phase_timeout: Duration::from_secs(a.phase_timeout_secs.unwrap_or(if a.smoke {
                20
            } else {
                300
            })),
            concurrency: a.concurrency.max(1),
            on_postgres: a.postgres.is_some(),
        }
    }
}
