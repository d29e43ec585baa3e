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
    pub phase_timeout: Duration,
    pub concurrency: usize,
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
        let latency_secs = a.latency_secs.unwrap_or(if a.smoke { 1.0 } else { 5.0 });
        Plan {
            ingest: pick(a.ingest_events, 50_000, 200),
            delivery: pick(a.delivery_events, 20_000, 200),
            fanout: pick(a.fanout_events, 5_000, 50),
            fanout_hooks: a.fanout_webhooks.max(1),
            latency_rate,
            latency_events: ((f64::from(latency_rate) * latency_secs).round() as usize).max(1),
            phase_timeout: Duration::from_secs(a.phase_timeout_secs.unwrap_or(if a.smoke {
                20
            } else {
                300
            })),
            concurrency: a.concurrency.max(1),
        }
    }
}
