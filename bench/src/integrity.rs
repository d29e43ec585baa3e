//! The check over the whole run: the outbox is drained, nothing is dead, nothing stray, and
//! every expected delivery arrived exactly once (duplicates are counted).

use std::time::{Duration, Instant};

use crate::load::verify;
use crate::phases::{
    PHASE_DELIVERY_FANOUT, PHASE_DELIVERY_ONE, PHASE_INGEST_HOOKED, PHASE_LATENCY,
};
use crate::run::Bench;
use crate::stats::{mib, thousands};

/// Checks what arrived against what every phase sent, then adds the peak memory and the
/// integrity rows.
pub async fn integrity(b: &mut Bench<'_>) -> Result<(), String> {
    let Bench {
        plan,
        http,
        receiver,
        server,
        report,
        ..
    } = b;
    let expected_total = plan.delivery * 2 + plan.fanout * plan.fanout_hooks + plan.latency_events;
    let deadline = Instant::now() + plan.phase_timeout;
    let queue = loop {
        let q = server.queue(http).await?;
        if q.0 == 0 || Instant::now() >= deadline {
            break q;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    if queue != (0, expected_total as i64, 0) {
        return Err(format!(
            "/metrics after the run: pending {}, delivered {}, dead {}; expected 0, {expected_total}, 0",
            queue.0, queue.1, queue.2
        ));
    }
    let strays = receiver.strays();
    if !strays.is_empty() {
        return Err(format!(
            "the receiver got {} requests that were not expected deliveries, e.g. {}",
            strays.len(),
            strays[0]
        ));
    }
    let (mut duplicates, mut received, mut event_ids) = (0, 0, 0);
    let mut base = 1 + plan.ingest as i32;
    for (phase, hooks, n) in [
        (PHASE_INGEST_HOOKED, 1, plan.delivery),
        (PHASE_DELIVERY_ONE, 1, plan.delivery),
        (PHASE_DELIVERY_FANOUT, plan.fanout_hooks, plan.fanout),
        (PHASE_LATENCY, 1, plan.latency_events),
    ] {
        let v = verify(&receiver.arrivals(phase), hooks, base, n)
            .map_err(|e| format!("final check of phase {phase}: {e}"))?;
        duplicates += v.duplicates;
        received += v.received;
        event_ids += v.event_ids;
        base += n as i32;
    }
    let peak = server.memory()?;
    report.add(
        "memory, peak",
        format!("VmHWM {}", mib(peak.hwm_kib)),
        "≤ 128 MiB",
        Some(peak.hwm_kib <= 128 * 1024),
        format!(
            "whole run after the restart ({} SignalEvent, {} deliveries); VmRSS at the end {}",
            thousands((plan.ingest + 2 * plan.delivery + plan.fanout + plan.latency_events) as u64),
            thousands(expected_total as u64),
            mib(peak.rss_kib)
        ),
    );
    report.add(
        "integrity",
        format!(
            "{} of {} deliveries, {duplicates} duplicates",
            thousands(expected_total as u64),
            thousands(expected_total as u64)
        ),
        "–",
        None,
        format!(
            "every (webhook, PrimaryKey) once, {} distinct EventIds (one per event); /metrics: \
             0 pending, {} delivered, 0 dead; {} requests received",
            thousands(event_ids as u64),
            thousands(queue.1 as u64),
            thousands(received as u64)
        ),
    );
    Ok(())
}
