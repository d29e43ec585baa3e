//! `hookwire-bench`: starts the real `hookwire` binary on a temporary SQLite file and a fast
//! in-process webhook receiver on loopback, then measures start-up, memory, SignalEvent
//! ingest, end-to-end delivery throughput and latency, and prints a markdown table.
//!
//! Every load is bounded in count and time, and every delivery is checked: each expected
//! (webhook, PrimaryKey) arrives, nothing unexpected does, duplicates are reported. Any
//! failure, missing delivery or timeout exits non-zero. See `docs/PERFORMANCE.md`.
//!
//! `cargo run --release --bin hookwire-bench -- [--smoke] [--hookwire PATH]`

mod load;
mod receiver;
mod server;
mod stats;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;

use load::{SendLog, closed_loop, open_loop, verify};
use receiver::Receiver;
use server::{Server, Soap};
use stats::{mib, ms, per_sec, rate, summary, thousands};

/// Benchmark of hookwire: ingest, delivery, latency, start-up and memory.
#[derive(Parser, Debug)]
#[command(name = "hookwire-bench")]
struct Args {
    /// Tiny counts (a few seconds in all); every delivery is still checked.
    #[arg(long)]
    smoke: bool,
    /// The hookwire binary (default: `hookwire` next to this executable).
    #[arg(long)]
    hookwire: Option<PathBuf>,
    /// Concurrent connections of the closed-loop phases.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// SignalEvent calls of the ingest phase without subscriber (default 50000; smoke 200).
    #[arg(long)]
    ingest_events: Option<usize>,
    /// Events of the ingest-with-webhook and 1-webhook delivery phases (default 20000; smoke 200).
    #[arg(long)]
    delivery_events: Option<usize>,
    /// Events of the 10-webhook delivery phase (default 5000; smoke 50).
    #[arg(long)]
    fanout_events: Option<usize>,
    /// Webhooks of the fan-out delivery phase.
    #[arg(long, default_value_t = 10)]
    fanout_webhooks: usize,
    /// Events per second of the latency phase (default 1000; smoke 200).
    #[arg(long)]
    latency_rate: Option<u32>,
    /// Length of the latency phase in seconds (default 5; smoke 1).
    #[arg(long)]
    latency_secs: Option<f64>,
    /// Hard limit of each phase, in seconds (default 300; smoke 20).
    #[arg(long)]
    phase_timeout_secs: Option<u64>,
    /// Under `cargo run`, do not build `hookwire` first (`--bin hookwire-bench` builds only this).
    #[arg(long)]
    no_build: bool,
    /// Run on PostgreSQL: a server URL (e.g. postgres://postgres@127.0.0.1:54329/postgres); the
    /// bench creates a fresh database on it. Default: a SQLite file in a temporary directory.
    #[arg(long)]
    postgres: Option<String>,
    /// An extra argument for `hookwire serve` (repeatable), e.g. `--server-arg=--per-webhook-in-flight=32`.
    #[arg(long, allow_hyphen_values = true)]
    server_arg: Vec<String>,
}

/// The counts of one run.
struct Plan {
    ingest: usize,
    delivery: usize,
    fanout: usize,
    fanout_hooks: usize,
    latency_rate: u32,
    latency_events: usize,
    phase_timeout: Duration,
    concurrency: usize,
}

impl Plan {
    fn new(a: &Args) -> Plan {
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

/// One line of the result table.
struct Row {
    measure: String,
    result: String,
    target: &'static str,
    /// Whether the target is met (None: no target).
    met: Option<bool>,
    counts: String,
}

struct Report {
    smoke: bool,
    /// "SQLite" or "PostgreSQL".
    backend: &'static str,
    rows: Vec<Row>,
}

impl Report {
    fn add(
        &mut self,
        measure: impl Into<String>,
        result: String,
        target: &'static str,
        met: Option<bool>,
        counts: String,
    ) {
        let row = Row {
            measure: measure.into(),
            result,
            target,
            met,
            counts,
        };
        eprintln!(
            "hookwire-bench: {}: {} ({})",
            row.measure, row.result, row.counts
        );
        self.rows.push(row);
    }

    fn print(&self, binary: Option<&Path>) {
        println!(
            "## hookwire-bench results ({})",
            if self.smoke { "smoke" } else { "full" }
        );
        println!();
        println!("- machine: {}", machine());
        println!("- database: {}", self.backend);
        println!("- load average (1 min) at the end: {}", loadavg());
        if let Some(b) = binary {
            println!("- hookwire: `{}`", b.display());
        }
        if cfg!(debug_assertions) {
            println!("- note: hookwire-bench itself is a debug build");
        }
        println!();
        println!("| Measure | Result | Target | Met | Counts |");
        println!("|---|---|---|---|---|");
        for r in &self.rows {
            let met = match (r.met, self.smoke) {
                (None, _) => "–",
                (Some(_), true) => "n/a (smoke)",
                (Some(true), false) => "yes",
                (Some(false), false) => "**no**",
            };
            println!(
                "| {} | {} | {} | {met} | {} |",
                r.measure, r.result, r.target, r.counts
            );
        }
    }
}

/// CPUs, CPU model and memory of this machine.
fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or_else(
            || "unknown".into(),
            |kib| format!("{:.1} GiB", kib as f64 / 1048576.0),
        );
    format!("{cpus} CPUs ({model}), {mem} RAM")
}

/// The hookwire binary: `--hookwire`, else `hookwire` beside this executable. Under
/// `cargo run` (which sets `CARGO` and `CARGO_MANIFEST_DIR`), that one is first built with
/// this executable's profile, since `cargo run --bin hookwire-bench` builds only the bench.
fn locate(arg: Option<&Path>, build: bool) -> Result<PathBuf, String> {
    if let Some(p) = arg {
        return if p.is_file() {
            Ok(p.to_path_buf())
        } else {
            Err(format!("--hookwire {}: no such file", p.display()))
        };
    }
    let exe = std::env::current_exe().map_err(|e| format!("cannot find my own path: {e}"))?;
    let dir = exe.parent().unwrap_or(Path::new("."));
    if build {
        build_sibling(dir)?;
    }
    let candidate = dir.join(format!("hookwire{}", std::env::consts::EXE_SUFFIX));
    if candidate.is_file() {
        Ok(candidate)
    } else {
        Err(format!(
            "no hookwire binary at {}: build both with `cargo build --release --bins`, \
             or pass --hookwire PATH",
            candidate.display()
        ))
    }
}

/// Runs `cargo build --bin hookwire` for the profile of `dir` (`target/<profile>`) when this
/// process was started by `cargo run`; does nothing otherwise.
fn build_sibling(dir: &Path) -> Result<(), String> {
    let (Some(cargo), Some(manifest_dir)) = (
        std::env::var_os("CARGO"),
        std::env::var_os("CARGO_MANIFEST_DIR"),
    ) else {
        return Ok(());
    };
    let profile = match dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") => "dev",
        Some(other) => other,
        None => return Ok(()),
    };
    let manifest = Path::new(&manifest_dir).join("Cargo.toml");
    eprintln!("hookwire-bench: cargo build --profile {profile} --bin hookwire");
    let status = std::process::Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "--bin",
            "hookwire",
            "--profile",
            profile,
        ])
        .arg("--manifest-path")
        .arg(&manifest)
        .status()
        .map_err(|e| format!("cannot run cargo to build hookwire: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("building hookwire failed ({status})"))
    }
}

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<TempDir, String> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path =
            std::env::temp_dir().join(format!("hookwire-bench-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path)
            .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        Ok(TempDir(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `fut`, failing with `what` timed out if it is not done by `deadline`.
async fn by<T>(
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

/// The 1-minute load average.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// Phase numbers (receiver paths `/h/{phase}/{hook}`).
const PHASE_INGEST_HOOKED: usize = 1;
const PHASE_DELIVERY_ONE: usize = 2;
const PHASE_DELIVERY_FANOUT: usize = 3;
const PHASE_LATENCY: usize = 4;

/// `server_url` with its database path replaced by a new name, which hookwire creates.
fn fresh_postgres_database(server_url: &str) -> Result<String, String> {
    let mut url =
        url::Url::parse(server_url).map_err(|e| format!("--postgres: not a URL ({e})"))?;
    if !matches!(url.scheme(), "postgres" | "postgresql") {
        return Err("--postgres: the URL must start with postgres://".into());
    }
    url.set_path(&format!("hwbench_{}", uuid::Uuid::new_v4().simple()));
    Ok(url.to_string())
}

/// The whole run; rows are added as phases finish, so a failure still shows what was measured.
async fn run(args: &Args, binary: &Path, report: &mut Report) -> Result<(), String> {
    let plan = Plan::new(args);
    let dir = TempDir::new()?;
    let mut server_args = args.server_arg.clone();
    let database = match &args.postgres {
        Some(url) => {
            // PostgreSQL needs a secret key file (SQLite makes one beside its database).
            server_args.extend(["--secret-key-file".into(), new_key_file(&dir)?]);
            fresh_postgres_database(url)?
        }
        None => format!("sqlite://{}", dir.0.join("hookwire.db").display()),
    };
    let result = run_on(&server_args, binary, report, &plan, &database).await;
    if args.postgres.is_some() {
        // The bench's database goes with the run (the SQLite file goes with its directory).
        use sqlx::migrate::MigrateDatabase;
        if let Err(e) = sqlx::Postgres::force_drop_database(&database).await {
            eprintln!("hookwire-bench: could not drop the bench database: {e}");
        }
    }
    result
}

/// A new secret key file in `dir`; returns its path.
fn new_key_file(dir: &TempDir) -> Result<String, String> {
    use base64::Engine;
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| format!("no random key: {e}"))?;
    let path = dir.0.join("secret.key");
    let text = base64::engine::general_purpose::STANDARD.encode(key) + "\n";
    std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path.display().to_string())
}

/// The phases, on `database`, `hookwire serve` given `server_args`.
async fn run_on(
    server_args: &[String],
    binary: &Path,
    report: &mut Report,
    plan: &Plan,
    database: &str,
) -> Result<(), String> {
    let http = reqwest::Client::builder()
        .http1_only()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(4 * plan.concurrency + 64)
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    let receiver = Receiver::start().await?;
    let start_timeout = Duration::from_secs(30);

    // Start-up: on a new database (migrations, admin password hashed), then again on it.
    let mut first = Server::start(binary, database, server_args, &http, start_timeout).await?;
    report.add(
        "start-up, new database",
        format!("{} to 200 on /health", ms(first.startup)),
        "–",
        None,
        format!(
            "1 start: creates and migrates the {} database, hashes the admin password",
            report.backend
        ),
    );
    let (status, _) = first.terminate(Duration::from_secs(30)).await?;
    if !status.success() {
        return Err(format!(
            "the first hookwire exited with {status} on SIGTERM"
        ));
    }
    drop(first);
    let mut server = Server::start(binary, database, server_args, &http, start_timeout).await?;
    let idle = server.memory()?;
    report.add(
        "start-up, existing database",
        format!("{} to 200 on /health", ms(server.startup)),
        "–",
        None,
        "1 restart on the same file".into(),
    );
    report.add(
        "memory, idle",
        format!("VmRSS {}", mib(idle.rss_kib)),
        "≤ 20 MiB",
        Some(idle.rss_kib <= 20 * 1024),
        format!(
            "right after that start-up (VmHWM so far {})",
            mib(idle.hwm_kib)
        ),
    );

    let soap = Soap::login(&http, &server.base).await?;
    let mut pk_next: i32 = 1;
    let mut take_pks = |n: usize| {
        let base = pk_next;
        pk_next += n as i32;
        base
    };
    let c = plan.concurrency;

    // Ingest, nobody subscribed.
    {
        let n = plan.ingest;
        let deadline = Instant::now() + plan.phase_timeout;
        let base = take_pks(n);
        let cpu = CpuMeter::start(&server)?;
        let run = by(
            deadline,
            "ingest without subscriber",
            closed_loop(&soap, "bench.unsubscribed", base, n, c, None),
        )
        .await?;
        let cpu = cpu.read(&server)?;
        let mut lat = run.latencies;
        let (p50, p99, max) = summary(&mut lat);
        let r = per_sec(n, run.elapsed);
        let queue = server.queue(&http).await?;
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
    }
    server.check_alive()?;

    // Ingest with one subscribed webhook (each event stored with a delivery).
    {
        let n = plan.delivery;
        let deadline = Instant::now() + plan.phase_timeout;
        let base = take_pks(n);
        let phase = PHASE_INGEST_HOOKED;
        soap.save_webhook("bench ingest", "bench.ingest", &receiver.url(phase, 0))
            .await?;
        let cpu = CpuMeter::start(&server)?;
        let run = by(
            deadline,
            "ingest with 1 webhook",
            closed_loop(&soap, "bench.ingest", base, n, c, None),
        )
        .await?;
        let cpu = cpu.read(&server)?;
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
    }
    server.check_alive()?;

    // End-to-end delivery throughput, 1 webhook and fan-out.
    for (phase, hooks, n) in [
        (PHASE_DELIVERY_ONE, 1, plan.delivery),
        (PHASE_DELIVERY_FANOUT, plan.fanout_hooks, plan.fanout),
    ] {
        let deadline = Instant::now() + plan.phase_timeout;
        let base = take_pks(n);
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
        let cpu = CpuMeter::start(&server)?;
        let run = by(
            deadline,
            &what,
            closed_loop(&soap, &event, base, n, c, None),
        )
        .await?;
        let expected = n * hooks;
        receiver
            .wait_distinct(phase, expected, deadline)
            .await
            .map_err(|e| format!("{what}: {e}"))?;
        let cpu = cpu.read(&server)?;
        let v = verify(&receiver.arrivals(phase), hooks, base, n)
            .map_err(|e| format!("{what}: {e}"))?;
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
        server.check_alive()?;
    }

    // Latency at a fixed rate, open loop.
    {
        let n = plan.latency_events;
        let phase = PHASE_LATENCY;
        let deadline = Instant::now() + plan.phase_timeout;
        let base = take_pks(n);
        soap.save_webhook("bench latency", "bench.latency", &receiver.url(phase, 0))
            .await?;
        let log = SendLog::new(n);
        let cpu = CpuMeter::start(&server)?;
        let run = by(
            deadline,
            "latency",
            open_loop(
                &soap,
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
        let cpu = cpu.read(&server)?;
        let v =
            verify(&receiver.arrivals(phase), 1, base, n).map_err(|e| format!("latency: {e}"))?;
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
    }
    server.check_alive()?;

    // Integrity over the whole run: the outbox is drained, nothing is dead, nothing stray.
    let expected_total = plan.delivery * 2 + plan.fanout * plan.fanout_hooks + plan.latency_events;
    let deadline = Instant::now() + plan.phase_timeout;
    let queue = loop {
        let q = server.queue(&http).await?;
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
    let (status, took) = server.terminate(Duration::from_secs(30)).await?;
    if !status.success() {
        return Err(format!("hookwire exited with {status} on SIGTERM"));
    }
    report.add(
        "shutdown",
        format!("{} from SIGTERM to exit", ms(took)),
        "–",
        None,
        format!(
            "exit code {}, outbox empty",
            status.code().map_or("none".into(), |c| c.to_string())
        ),
    );
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let mut report = Report {
        smoke: args.smoke,
        backend: if args.postgres.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        rows: Vec::new(),
    };
    let binary = match locate(args.hookwire.as_deref(), !args.no_build) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("hookwire-bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("hookwire-bench: benchmarking {}", binary.display());
    let result = run(&args, &binary, &mut report).await;
    report.print(Some(&binary));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hookwire-bench: FAILED: {e}");
            println!();
            println!("**FAILED**: {e}");
            ExitCode::FAILURE
        }
    }
}
