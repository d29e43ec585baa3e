//! One run: a scratch database, the receiver, hookwire started twice (new and existing
//! database), the phases in order, the integrity check and the shutdown.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::Args;
use crate::cluster::{self, CLUSTER_NODES, NodeSpec};
use crate::integrity::integrity;
use crate::ordered;
use crate::phases::{
    self, PHASE_DELIVERY_FANOUT, PHASE_DELIVERY_ONE, PHASE_LATENCY, PHASE_LATENCY_FAST,
};
use crate::plan::Plan;
use crate::postgres_cpu::PostgresCpu;
use crate::receiver::Receiver;
use crate::report::Report;
use crate::server::{Server, Soap};
use crate::stats::mib;
use crate::value::{Num, Value};

/// The deliveries one phase made: one per webhook `0..hooks` of receiver phase `phase` and
/// per event number `base..base + n` (the PrimaryKey too, but in the phases that spread
/// events over records).
pub struct Expected {
    pub phase: usize,
    pub hooks: usize,
    pub base: i32,
    pub n: usize,
}

/// What the phases share.
pub struct Bench<'a> {
    pub plan: &'a Plan,
    pub http: reqwest::Client,
    pub receiver: Receiver,
    pub server: Server,
    /// Logged in as the admin user.
    pub soap: Soap,
    /// The PostgreSQL server's processes, when on PostgreSQL and found on this machine.
    pub postgres: Option<PostgresCpu>,
    pub report: &'a mut Report,
    /// The next event number (and PrimaryKey) no phase has signalled: each phase takes its
    /// own range, so that every delivery names its phase's events only.
    next_pk: i32,
    /// What every phase so far expects to arrive, for the final check.
    pub expected: Vec<Expected>,
}

impl Bench<'_> {
    /// The first of `n` new event numbers.
    pub fn take_pks(&mut self, n: usize) -> i32 {
        let base = self.next_pk;
        self.next_pk += n as i32;
        base
    }

    /// The first of `n` new event numbers, each to be delivered to webhooks `0..hooks` of
    /// receiver phase `phase`.
    pub fn expect(&mut self, phase: usize, hooks: usize, n: usize) -> i32 {
        let base = self.take_pks(n);
        self.expected.push(Expected {
            phase,
            hooks,
            base,
            n,
        });
        base
    }

    /// SignalEvent calls made so far.
    pub fn signalled(&self) -> usize {
        (self.next_pk - 1) as usize
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
pub async fn run(args: &Args, binary: &Path, report: &mut Report) -> Result<(), String> {
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
    let postgres = match &args.postgres {
        Some(url) => match PostgresCpu::locate(url).await {
            Ok(pg) => {
                report.note(format!(
                    "PG CPUs: the postmaster (pid {}) and all its processes",
                    pg.postmaster()
                ));
                Some(pg)
            }
            Err(e) => {
                report.note(format!("PG CPUs: not measured ({e})"));
                None
            }
        },
        None => None,
    };
    let spec = NodeSpec {
        binary,
        database: &database,
        server_args: &server_args,
    };
    let result = run_on(&spec, postgres, report, &plan).await;
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

/// The phases, on a server started as `spec` says.
async fn run_on(
    spec: &NodeSpec<'_>,
    postgres: Option<PostgresCpu>,
    report: &mut Report,
    plan: &Plan,
) -> Result<(), String> {
    let NodeSpec {
        binary,
        database,
        server_args,
    } = *spec;
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
        Value::new("{} to 200 on /health", [Num::Time(first.startup)]),
        "–",
        None,
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
    let server = Server::start(binary, database, server_args, &http, start_timeout).await?;
    let idle = server.memory()?;
    report.add(
        "start-up, existing database",
        Value::new("{} to 200 on /health", [Num::Time(server.startup)]),
        "–",
        None,
        None,
        "1 restart on the same file".into(),
    );
    report.add(
        "memory, idle",
        Value::new("VmRSS {}", [Num::Kib(idle.rss_kib)]),
        "≤ 20 MiB",
        Some(idle.rss_kib <= 20 * 1024),
        None,
        format!(
            "right after that start-up (VmHWM so far {})",
            mib(idle.hwm_kib)
        ),
    );

    let soap = Soap::login(&http, &server.base).await?;
    let mut b = Bench {
        plan,
        http,
        receiver,
        server,
        soap,
        postgres,
        report,
        next_pk: 1,
        expected: Vec::new(),
    };
    phases::ingest_unsubscribed(&mut b).await?;
    b.server.check_alive()?;
    phases::ingest_hooked(&mut b).await?;
    b.server.check_alive()?;
    phases::delivery(&mut b, PHASE_DELIVERY_ONE, 1, plan.delivery, &[]).await?;
    b.server.check_alive()?;
    phases::delivery(
        &mut b,
        PHASE_DELIVERY_FANOUT,
        plan.fanout_hooks,
        plan.fanout,
        &[],
    )
    .await?;
    b.server.check_alive()?;
    phases::latency(
        &mut b,
        PHASE_LATENCY,
        plan.latency_rate,
        plan.latency_events,
    )
    .await?;
    b.server.check_alive()?;
    phases::latency(
        &mut b,
        PHASE_LATENCY_FAST,
        plan.fast_latency_rate,
        plan.fast_latency_events,
    )
    .await?;
    b.server.check_alive()?;
    if plan.on_postgres {
        cluster::cluster(&mut b, spec).await?;
        b.server.check_alive()?;
    } else {
        b.report.note(format!(
            "{CLUSTER_NODES}-node phase skipped: SQLite serves one process per file (run with \
             --postgres URL)"
        ));
    }
    // Last, so that the phases before it measure what they always did.
    ordered::ordered_delivery(&mut b).await?;
    b.server.check_alive()?;
    integrity(&mut b).await?;
    shutdown(b).await
}

/// SIGTERM to the server: it must exit cleanly.
async fn shutdown(b: Bench<'_>) -> Result<(), String> {
    let Bench {
        mut server, report, ..
    } = b;
    let (status, took) = server.terminate(Duration::from_secs(30)).await?;
    if !status.success() {
        return Err(format!("hookwire exited with {status} on SIGTERM"));
    }
    report.add(
        "shutdown",
        Value::new("{} from SIGTERM to exit", [Num::Time(took)]),
        "–",
        None,
        None,
        format!(
            "exit code {}, outbox empty",
            status.code().map_or("none".into(), |c| c.to_string())
        ),
    );
    Ok(())
}
