//! The check over the whole run: the outbox is drained, nothing is dead, nothing stray, and
//! every expected delivery arrived exactly once (duplicates are counted).

use std::time::{Duration, Instant};

use crate::cluster::CLUSTER_NODES;
use crate::load::verify;
use crate::run::Bench;
use crate::stats::{mib, thousands};
use crate::value::{Num, Value};

/// Checks what arrived against what every phase sent, then adds the peak memory and the
/// integrity rows.
pub async fn integrity(b: &mut Bench<'_>) -> Result<(), String> {
    let signalled = b.signalled();
    let Bench {
        plan,
        http,
        receiver,
        server,
        report,
        expected,
        ..
    } = b;
    let expected_total: usize = expected.iter().map(|e| e.hooks * e.n).sum();
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
    for e in expected.iter() {
        let v = verify(&receiver.arrivals(e.phase), e.hooks, e.base, e.n)
            .map_err(|err| format!("final check of phase {}: {err}", e.phase))?;
        duplicates += v.duplicates;
        received += v.received;
        event_ids += v.event_ids;
    }
    let peak = server.memory()?;
    report.add(
        "memory, peak",
        Value::new("VmHWM {}", [Num::Kib(peak.hwm_kib)]),
        "≤ 128 MiB",
        Some(peak.hwm_kib <= 128 * 1024),
        None,
        format!(
            "whole run after the restart ({} SignalEvent, {} deliveries{}); VmRSS at the end {}",
            thousands(signalled as u64),
            thousands(expected_total as u64),
            if plan.on_postgres {
                format!(", those of the {CLUSTER_NODES}-node phase shared with the other nodes")
            } else {
                String::new()
            },
            mib(peak.rss_kib)
        ),
    );
    let total = expected_total as u64;
    report.add(
        "integrity",
        Value::new(
            "{} of {} deliveries, {} duplicates",
            [
                Num::Count(total),
                Num::Count(total),
                Num::Count(duplicates as u64),
            ],
        ),
        "–",
        None,
        None,
        format!(
            "every (webhook, event) once, {} distinct EventIds (one per event); /metrics: \
             0 pending, {} delivered, 0 dead; {} requests received",
            thousands(event_ids as u64),
            thousands(queue.1 as u64),
            thousands(received as u64)
        ),
    );
    Ok(())
}
