//! `hookwire-bench`: starts the real `hookwire` binary on a temporary SQLite file and a fast
//! in-process webhook receiver on loopback, then measures start-up, memory, SignalEvent
//! ingest, end-to-end delivery throughput and latency, and prints a markdown table.
//!
//! Every load is bounded in count and time, and every delivery is checked: each expected
//! (webhook, event) arrives, nothing unexpected does, duplicates are reported. Any
//! failure, missing delivery or timeout exits non-zero. See `docs/PERFORMANCE.md`.
//!
//! `cargo run --release -p hookwire-bench -- [--smoke] [--hookwire PATH]`

mod cluster;
mod cpu;
mod integrity;
mod load;
mod locate;
mod order_check;
mod ordered;
mod phases;
mod plan;
mod postgres_cpu;
mod proc_stat;
mod receiver;
mod report;
mod run;
mod server;
mod stats;
mod value;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use locate::locate;
use report::Report;

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
    /// Events per second of the second latency phase (default 5000; smoke 500).
    #[arg(long)]
    fast_latency_rate: Option<u32>,
    /// Length of each latency phase in seconds (default 5; smoke 1).
    #[arg(long)]
    latency_secs: Option<f64>,
    /// Hard limit of each phase, in seconds (default 300; smoke 20).
    #[arg(long)]
    phase_timeout_secs: Option<u64>,
    /// Under cargo, do not build `hookwire` first (`cargo run -p hookwire-bench` builds only this).
    #[arg(long)]
    no_build: bool,
    /// Run on PostgreSQL: a server URL (e.g. postgres://postgres@127.0.0.1:54329/postgres); the
    /// bench creates a fresh database on it. Default: a SQLite file in a temporary directory.
    #[arg(long)]
    postgres: Option<String>,
    /// Repeat the whole measurement N times (a fresh server and database each time), then
    /// print the median of each cell.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    runs: u32,
    /// An extra argument for `hookwire serve` (repeatable), e.g. `--server-arg=--per-webhook-in-flight=32`.
    #[arg(long, allow_hyphen_values = true)]
    server_arg: Vec<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let backend = if args.postgres.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let binary = match locate(args.hookwire.as_deref(), !args.no_build) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("hookwire-bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("hookwire-bench: benchmarking {}", binary.display());
    let mut reports = Vec::new();
    for run in 1..=args.runs {
        let label = if args.runs == 1 {
            String::new()
        } else {
            format!("run {run} of {}", args.runs)
        };
        let mut report = Report::new(args.smoke, backend, label);
        let result = run::run(&args, &binary, &mut report).await;
        report.print(Some(&binary));
        println!();
        if let Err(e) = result {
            eprintln!("hookwire-bench: FAILED: {e}");
            println!("**FAILED**: {e}");
            return ExitCode::FAILURE;
        }
        reports.push(report);
    }
    if reports.len() > 1 {
        Report::print_medians(&reports, Some(&binary));
    }
    ExitCode::SUCCESS
}
