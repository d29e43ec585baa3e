//! The measured phases, each on the server the run started: ingest without and with a
//! subscriber, end-to-end delivery (1 webhook and fan-out, on one node or several), latency at
//! a fixed rate.

use std::time::{Duration, Instant};

use crate::cluster::Node;
use crate::cpu::CpuMeter;
use crate::load::{Keys, SendLog, closed_loop, open_loop, verify};
use crate::run::Bench;
use crate::server::Server;
use crate::stats::{ms, per_sec, summary, thousands};
use crate::value::{Num, Value};

/// Phase numbers (receiver paths `/h/{phase}/{hook}`).
pub const PHASE_INGEST_HOOKED: usize = 1;
pub const PHASE_DELIVERY_ONE: usize = 2;
pub const PHASE_DELIVERY_FANOUT: usize = 3;
pub const PHASE_LATENCY: usize = 4;
pub const PHASE_LATENCY_FAST: usize = 5;
pub const PHASE_CLUSTER_ONE: usize = 6;
pub const PHASE_CLUSTER_FANOUT: usize = 7;
pub const PHASE_ORDER_ANY: usize = 8;
pub const PHASE_ORDER_PER_RECORD: usize = 9;

/// Runs `fut`, failing with `what` timed out if it is not done by `deadline`.
pub async fn by<T>(
    deadline: Instant,
    what: &str,
    fut: impl Future<Output = Result<T, String>>,
) -> Result<T, String> {
    let left = deadline.saturating_duration_since(Instant::now());
    tokio::time::timeout(left, fut)
        .await
        .map_err(|_| format!("{what}: timed out (phase limit reached)"))?
}

/// "{}/s; p50 {}, p99 {}, max {}" of a closed-loop run.
fn ingest_value(r: f64, latencies: &mut [Duration]) -> (Value, Duration) {
    let (p50, p99, max) = summary(latencies);
    let value = Value::new(
        "{}/s; p50 {}, p99 {}, max {}",
        [Num::Rate(r), Num::Time(p50), Num::Time(p99), Num::Time(max)],
    );
    (value, p99)
}

/// Ingest, nobody subscribed: every SignalEvent accepted, no delivery made.
pub async fn ingest_unsubscribed(b: &mut Bench<'_>) -> Result<(), String> {
    let n = b.plan.ingest;
    let base = b.take_pks(n);
    let Bench {
        plan,
        http,
        receiver,
        server,
        soap,
        postgres,
        report,
        ..
    } = b;
    let c = plan.concurrency;
    let deadline = Instant::now() + plan.phase_timeout;
    let cpu = CpuMeter::start(&[server], postgres.as_ref())?;
    let run = by(
        deadline,
        "ingest without subscriber",
        closed_loop(
            std::slice::from_ref(soap),
            "bench.unsubscribed",
            Keys::Unique(base),
            n,
            c,
            None,
        ),
    )
    .await?;
    let cpu = cpu.read()?;
    let r = per_sec(n, run.elapsed);
    let mut latencies = run.latencies;
    let (value, p99) = ingest_value(r, &mut latencies);
    let queue = server.queue(http).await?;
    if queue != (0, 0, 0) || receiver.requests() != 0 {
        return Err(format!(
            "events nobody subscribed to made deliveries: queue {queue:?}, receiver got {}",
            receiver.requests()
        ));
    }
    report.add(
        "ingest, no subscriber",
        value,
        "≥ 20,000/s, p99 ≤ 10 ms",
        Some(r >= 20_000.0 && p99 <= Duration::from_millis(10)),
        Some(cpu),
        format!(
            "{} SignalEvent over {c} keep-alive connections in {}, all accepted",
            thousands(n as u64),
            ms(run.elapsed)
        ),
    );
    Ok(())
}

/// Ingest with one subscribed webhook (each event stored with a delivery).
pub async fn ingest_hooked(b: &mut Bench<'_>) -> Result<(), String> {
    let n = b.plan.delivery;
    let phase = PHASE_INGEST_HOOKED;
    let base = b.expect(phase, 1, n);
    let Bench {
        plan,
        receiver,
        server,
        soap,
        postgres,
        report,
        ..
    } = b;
    let c = plan.concurrency;
    let deadline = Instant::now() + plan.phase_timeout;
    soap.save_webhook("bench ingest", "bench.ingest", &receiver.url(phase, 0))
        .await?;
    let cpu = CpuMeter::start(&[server], postgres.as_ref())?;
    let run = by(
        deadline,
        "ingest with 1 webhook",
        closed_loop(
            std::slice::from_ref(soap),
            "bench.ingest",
            Keys::Unique(base),
            n,
            c,
            None,
        ),
    )
    .await?;
    let cpu = cpu.read()?;
    receiver
        .wait_distinct(phase, n, deadline)
        .await
        .map_err(|e| format!("ingest with 1 webhook: {e}"))?;
    let v = verify(&receiver.arrivals(phase), 1, base, n)
        .map_err(|e| format!("ingest with 1 webhook: {e}"))?;
    let r = per_sec(n, run.elapsed);
    let mut latencies = run.latencies;
    let (value, p99) = ingest_value(r, &mut latencies);
    report.add(
        "ingest, 1 webhook",
        value,
        "≥ 20,000/s, p99 ≤ 10 ms",
        Some(r >= 20_000.0 && p99 <= Duration::from_millis(10)),
        Some(cpu),
        format!(
            "{} SignalEvent over {c} connections in {} (CPUs: while signalling); then all {} \
             deliveries arrived ({} duplicates)",
            thousands(n as u64),
            ms(run.elapsed),
            thousands(v.expected as u64),
            v.duplicates
        ),
    );
    Ok(())
}

/// End-to-end delivery throughput of `n` events to `hooks` webhooks, on receiver phase `phase`.
/// The events are signalled round-robin to the run's server and the `extra` nodes (on the
/// same database); the CPU is that of all of them.
pub async fn delivery(
    b: &mut Bench<'_>,
    phase: usize,
    hooks: usize,
    n: usize,
    extra: &[Node],
) -> Result<(), String> {
    let base = b.expect(phase, hooks, n);
    let Bench {
        plan,
        receiver,
        server,
        soap,
        postgres,
        report,
        ..
    } = b;
    let c = plan.concurrency;
    let deadline = Instant::now() + plan.phase_timeout;
    let event = format!("bench.delivery{phase}");
    for hook in 0..hooks {
        soap.save_webhook(
            &format!("bench delivery {phase}/{hook}"),
            &event,
            &receiver.url(phase, hook),
        )
        .await?;
    }
    let nodes = 1 + extra.len();
    let webhooks = format!("{hooks} webhook{}", if hooks == 1 { "" } else { "s" });
    let what = if extra.is_empty() {
        format!("delivery, {webhooks}")
    } else {
        format!("{nodes} nodes, delivery, {webhooks}")
    };
    let mut soaps = vec![soap.clone()];
    soaps.extend(extra.iter().map(|node| node.soap.clone()));
    let mut servers: Vec<&Server> = vec![server];
    servers.extend(extra.iter().map(|node| &node.server));
    let cpu = CpuMeter::start(&servers, postgres.as_ref())?;
    let run = by(
        deadline,
        &what,
        closed_loop(&soaps, &event, Keys::Unique(base), n, c, None),
    )
    .await?;
    let expected = n * hooks;
    receiver
        .wait_distinct(phase, expected, deadline)
        .await
        .map_err(|e| format!("{what}: {e}"))?;
    let cpu = cpu.read()?;
    let v =
        verify(&receiver.arrivals(phase), hooks, base, n).map_err(|e| format!("{what}: {e}"))?;
    let total = v.last_arrival.saturating_duration_since(run.started);
    let r = per_sec(expected, total);
    let spread = if extra.is_empty() {
        String::new()
    } else {
        format!(", round-robin to {nodes} nodes on one database; hookwire CPUs: the {nodes} summed")
    };
    // Issue targets: 10,000/s to one webhook, 15,000/s fanned out (docs/PERFORMANCE.md).
    let (target, goal) = if hooks == 1 {
        ("≥ 10,000/s", 10_000.0)
    } else {
        ("≥ 15,000/s", 15_000.0)
    };
    report.add(
        what,
        Value::new("{}/s end to end", [Num::Rate(r)]),
        target,
        Some(r >= goal),
        Some(cpu),
        format!(
            "{} events x {hooks} = {} deliveries, all received in {} from the first \
             SignalEvent (signalling took {}{spread}; {} duplicates)",
            thousands(n as u64),
            thousands(expected as u64),
            ms(total),
            ms(run.elapsed),
            v.duplicates
        ),
    );
    Ok(())
}

/// Latency at `rate` events/s for `n` events, open loop: SignalEvent to the receiver, per
/// event, on receiver phase `phase`.
pub async fn latency(b: &mut Bench<'_>, phase: usize, rate: u32, n: usize) -> Result<(), String> {
    let base = b.expect(phase, 1, n);
    let Bench {
        plan,
        receiver,
        server,
        soap,
        postgres,
        report,
        ..
    } = b;
    let deadline = Instant::now() + plan.phase_timeout;
    let event = format!("bench.latency{phase}");
    let what = format!("latency at {}/s", thousands(u64::from(rate)));
    soap.save_webhook(&format!("bench {what}"), &event, &receiver.url(phase, 0))
        .await?;
    let log = SendLog::new(n);
    let cpu = CpuMeter::start(&[server], postgres.as_ref())?;
    let run = by(
        deadline,
        &what,
        open_loop(soap, &event, base, n, rate, log.clone()),
    )
    .await?;
    receiver
        .wait_distinct(phase, n, deadline)
        .await
        .map_err(|e| format!("{what}: {e}"))?;
    let cpu = cpu.read()?;
    let v = verify(&receiver.arrivals(phase), 1, base, n).map_err(|e| format!("{what}: {e}"))?;
    let mut e2e = Vec::with_capacity(n);
    for (i, at) in v.first_arrivals.iter().enumerate() {
        let sent = log
            .get(i)
            .ok_or_else(|| format!("{what}: call {i} has no send time"))?;
        e2e.push(at.saturating_duration_since(sent));
    }
    // Whether delivery kept pace: the median of the first and of the last second.
    let window = (rate as usize).min(n);
    let mut head = e2e[..window].to_vec();
    let mut tail = e2e[n - window..].to_vec();
    let (head50, _, _) = summary(&mut head);
    let (tail50, _, _) = summary(&mut tail);
    let (p50, p99, max) = summary(&mut e2e);
    let mut calls = run.latencies;
    let (c50, c99, _) = summary(&mut calls);
    report.add(
        what,
        Value::new(
            "SignalEvent → receiver p50 {}, p99 {}, max {}",
            [Num::Time(p50), Num::Time(p99), Num::Time(max)],
        ),
        // 10 ms at 1,000/s, 50 ms at 5,000/s (docs/PERFORMANCE.md).
        if rate <= 1_000 {
            "p99 ≤ 10 ms"
        } else {
            "p99 ≤ 50 ms"
        },
        Some(p99 <= Duration::from_millis(if rate <= 1_000 { 10 } else { 50 })),
        Some(cpu),
        format!(
            "{} events in {}, open loop (max schedule lag {}); p50 of the first second \
             {}, of the last {}; SignalEvent answered p50 {}, p99 {}; {} duplicates",
            thousands(n as u64),
            ms(run.elapsed),
            ms(run.max_lag),
            ms(head50),
            ms(tail50),
            ms(c50),
            ms(c99),
            v.duplicates
        ),
    );
    Ok(())
}
