//! The measured phases, each on the server the run started: ingest without and with a
//! subscriber, end-to-end delivery (1 webhook and fan-out), latency at a fixed rate.

use std::time::{Duration, Instant};

use crate::load::{SendLog, closed_loop, open_loop, verify};
use crate::run::Bench;
use crate::server::{self, Server};
use crate::stats::{ms, per_sec, rate, summary, thousands};

/// Phase numbers (receiver paths `/h/{phase}/{hook}`).
pub const PHASE_INGEST_HOOKED: usize = 1;
pub const PHASE_DELIVERY_ONE: usize = 2;
pub const PHASE_DELIVERY_FANOUT: usize = 3;
pub const PHASE_LATENCY: usize = 4;

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

/// CPU used by hookwire and by this process over a stretch of the run.
struct CpuMeter {
    server: Duration,
    bench: Duration,
    at: Instant,
}

impl CpuMeter {
    fn start(server: &Server) -> Result<CpuMeter, String> {
        Ok(CpuMeter {
            server: server.cpu_time()?,
            bench: server::cpu_time_of("self")?,
            at: Instant::now(),
        })
    }

    /// "CPUs used: hookwire X, bench Y" since `start`.
    fn read(&self, server: &Server) -> Result<String, String> {
        let wall = self.at.elapsed().as_secs_f64().max(1e-9);
        let hookwire = (server.cpu_time()? - self.server).as_secs_f64() / wall;
        let bench = (server::cpu_time_of("self")? - self.bench).as_secs_f64() / wall;
        Ok(format!(
            "CPUs used: hookwire {hookwire:.2}, bench {bench:.2}"
        ))
    }
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
        report,
        ..
    } = b;
    let c = plan.concurrency;
    let deadline = Instant::now() + plan.phase_timeout;
    let cpu = CpuMeter::start(server)?;
    let run = by(
        deadline,
        "ingest without subscriber",
        closed_loop(soap, "bench.unsubscribed", base, n, c, None),
    )
    .await?;
    let cpu = cpu.read(server)?;
    let mut lat = run.latencies;
    let (p50, p99, max) = summary(&mut lat);
    let r = per_sec(n, run.elapsed);
    let queue = server.queue(http).await?;
    if queue != (0, 0, 0) || receiver.requests() != 0 {
        return Err(format!(
            "events nobody subscribed to made deliveries: queue {queue:?}, receiver got {}",
            receiver.requests()
        ));
    }
    report.add(
        "ingest, no subscriber",
        format!(
            "{}/s; p50 {}, p99 {}, max {}",
            rate(r),
            ms(p50),
            ms(p99),
            ms(max)
        ),
        "≥ 20,000/s, p99 ≤ 10 ms",
        Some(r >= 20_000.0 && p99 <= Duration::from_millis(10)),
        format!(
            "{} SignalEvent over {c} keep-alive connections in {}, all accepted; {cpu}",
            thousands(n as u64),
            ms(run.elapsed)
        ),
    );
    Ok(())
}

/// Ingest with one subscribed webhook (each event stored with a delivery).
pub async fn ingest_hooked(b: &mut Bench<'_>) -> Result<(), String> {
    let n = b.plan.delivery;
    let base = b.take_pks(n);
    let Bench {
        plan,
        receiver,
        server,
        soap,
        report,
        ..
    } = b;
    let c = plan.concurrency;
    let deadline = Instant::now() + plan.phase_timeout;
    let phase = PHASE_INGEST_HOOKED;
    soap.save_webhook("bench ingest", "bench.ingest", &receiver.url(phase, 0))
        .await?;
    let cpu = CpuMeter::start(server)?;
    let run = by(
        deadline,
        "ingest with 1 webhook",
        closed_loop(soap, "bench.ingest", base, n, c, None),
    )
    .await?;
    let cpu = cpu.read(server)?;
    receiver
        .wait_distinct(phase, n, deadline)
        .await
        .map_err(|e| format!("ingest with 1 webhook: {e}"))?;
    let v = verify(&receiver.arrivals(phase), 1, base, n)
        .map_err(|e| format!("ingest with 1 webhook: {e}"))?;
    let mut lat = run.latencies;
    let (p50, p99, max) = summary(&mut lat);
    let r = per_sec(n, run.elapsed);
    report.add(
        "ingest, 1 webhook",
        format!(
            "{}/s; p50 {}, p99 {}, max {}",
            rate(r),
            ms(p50),
            ms(p99),
            ms(max)
        ),
        "≥ 20,000/s, p99 ≤ 10 ms",
        Some(r >= 20_000.0 && p99 <= Duration::from_millis(10)),
        format!(
            "{} SignalEvent over {c} connections in {} ({cpu}); then all {} deliveries \
             arrived ({} duplicates)",
            thousands(n as u64),
            ms(run.elapsed),
            thousands(v.expected as u64),
            v.duplicates
        ),
    );
    Ok(())
}

/// End-to-end delivery throughput of `n` events to `hooks` webhooks, on receiver phase `phase`.
pub async fn delivery(
    b: &mut Bench<'_>,
    phase: usize,
    hooks: usize,
    n: usize,
) -> Result<(), String> {
    let base = b.take_pks(n);
    let Bench {
        plan,
        receiver,
        server,
        soap,
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
    let what = format!("delivery, {hooks} webhook(s)");
    let cpu = CpuMeter::start(server)?;
    let run = by(deadline, &what, closed_loop(soap, &event, base, n, c, None)).await?;
    let expected = n * hooks;
    receiver
        .wait_distinct(phase, expected, deadline)
        .await
        .map_err(|e| format!("{what}: {e}"))?;
    let cpu = cpu.read(server)?;
    let v =
        verify(&receiver.arrivals(phase), hooks, base, n).map_err(|e| format!("{what}: {e}"))?;
    let total = v.last_arrival.saturating_duration_since(run.started);
    let r = per_sec(expected, total);
    report.add(
        format!(
            "delivery, {hooks} webhook{}",
            if hooks == 1 { "" } else { "s" }
        ),
        format!("{}/s end to end", rate(r)),
        "≥ 10,000/s",
        Some(r >= 10_000.0),
        format!(
            "{} events x {hooks} = {} deliveries, all received in {} from the first \
             SignalEvent (signalling took {}; {} duplicates); {cpu}",
            thousands(n as u64),
            thousands(expected as u64),
            ms(total),
            ms(run.elapsed),
            v.duplicates
        ),
    );
    Ok(())
}

/// Latency at a fixed rate, open loop: SignalEvent to the receiver, per event.
pub async fn latency(b: &mut Bench<'_>) -> Result<(), String> {
    let n = b.plan.latency_events;
    let base = b.take_pks(n);
    let Bench {
        plan,
        receiver,
        server,
        soap,
        report,
        ..
    } = b;
    let phase = PHASE_LATENCY;
    let deadline = Instant::now() + plan.phase_timeout;
    soap.save_webhook("bench latency", "bench.latency", &receiver.url(phase, 0))
        .await?;
    let log = SendLog::new(n);
    let cpu = CpuMeter::start(server)?;
    let run = by(
        deadline,
        "latency",
        open_loop(
            soap,
            "bench.latency",
            base,
            n,
            plan.latency_rate,
            log.clone(),
        ),
    )
    .await?;
    receiver
        .wait_distinct(phase, n, deadline)
        .await
        .map_err(|e| format!("latency: {e}"))?;
    let cpu = cpu.read(server)?;
    let v = verify(&receiver.arrivals(phase), 1, base, n).map_err(|e| format!("latency: {e}"))?;
    let mut e2e: Vec<Duration> = v
        .first_arrivals
        .iter()
        .enumerate()
        .map(|(i, at)| {
            let sent = log.get(i).expect("every call was sent");
            at.saturating_duration_since(sent)
        })
        .collect();
    // Whether delivery kept pace: the median of the first and of the last second.
    let window = (plan.latency_rate as usize).min(n);
    let mut head = e2e[..window].to_vec();
    let mut tail = e2e[n - window..].to_vec();
    let (head50, _, _) = summary(&mut head);
    let (tail50, _, _) = summary(&mut tail);
    let (p50, p99, max) = summary(&mut e2e);
    let mut calls = run.latencies;
    let (c50, c99, _) = summary(&mut calls);
    report.add(
        format!("latency at {}/s", thousands(u64::from(plan.latency_rate))),
        format!(
            "SignalEvent → receiver p50 {}, p99 {}, max {}",
            ms(p50),
            ms(p99),
            ms(max)
        ),
        "p99 ≤ 50 ms",
        Some(p99 <= Duration::from_millis(50)),
        format!(
            "{} events in {}, open loop (max schedule lag {}); p50 of the first second \
             {}, of the last {}; SignalEvent answered p50 {}, p99 {}; {} duplicates; {cpu}",
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
