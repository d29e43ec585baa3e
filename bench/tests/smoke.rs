//! `hookwire-bench --smoke --runs 2` runs end to end against the hookwire binary of this build:
//! every phase completes, every delivery is checked, each run's table is printed and then the
//! table of medians. With `HOOKWIRE_TEST_DATABASE_URL` set it runs on PostgreSQL
//! (`--postgres`), with the 3-node phase and PostgreSQL's CPU. The ordered-delivery phase
//! (DeliveryOrder Any, then PerRecord) must find each record's events in signal order.
//!
//! The bench finds `hookwire` as a user's run does: beside itself in `target/debug`, built
//! first by cargo (the bench sees cargo's `CARGO` and `CARGO_MANIFEST_DIR`), so the binary is
//! this checkout's even when only this package's tests run.

use std::process::Command;

#[test]
fn bench_smoke_run_prints_the_table() {
    let postgres = std::env::var("HOOKWIRE_TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.trim().is_empty());
    let mut bench = Command::new(env!("CARGO_BIN_EXE_hookwire-bench"));
    bench.args(["--smoke", "--runs", "2"]);
    if let Some(url) = &postgres {
        bench.args(["--postgres", url]);
    }
    let out = bench.output().expect("run hookwire-bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "hookwire-bench --smoke failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    let header =
        "| Measure | Result | Target | Met | hookwire CPUs | PG CPUs | bench CPUs | Counts |";
    assert_eq!(
        stdout.matches(header).count(),
        2,
        "one table per run:\n{stdout}"
    );
    let medians = "| Measure | Result (median of 2) | hookwire CPUs | PG CPUs | bench CPUs |";
    let (_, median_table) = stdout
        .split_once(medians)
        .unwrap_or_else(|| panic!("no table of medians:\n{stdout}"));
    let mut rows = vec![
        "| start-up, new database |",
        "| start-up, existing database |",
        "| memory, idle |",
        "| ingest, no subscriber |",
        "| ingest, 1 webhook |",
        "| delivery, 1 webhook |",
        "| delivery, 10 webhooks |",
        "| latency at 200/s |",
        "| latency at 500/s |",
        "| delivery, 1 webhook, Any, 100 records |",
        "| delivery, 1 webhook, PerRecord |",
        "| memory, peak |",
        "| integrity |",
        "| shutdown |",
    ];
    if postgres.is_some() {
        rows.extend([
            "| 3 nodes, delivery, 1 webhook |",
            "| 3 nodes, delivery, 10 webhooks |",
        ]);
    } else {
        assert!(
            stdout.contains("- 3-node phase skipped: SQLite"),
            "no note that the 3-node phase needs PostgreSQL:\n{stdout}"
        );
        assert!(!stdout.contains("| 3 nodes,"), "{stdout}");
    }
    for row in rows {
        assert_eq!(
            stdout.matches(row).count(),
            3,
            "row {row:?} in each run's table and the medians:\n{stdout}"
        );
        assert!(
            median_table.contains(row),
            "no median of {row:?}:\n{stdout}"
        );
    }
    // Every phase that runs load has the CPU of hookwire and of the bench; PostgreSQL's only
    // on PostgreSQL.
    let ingest = median_table
        .lines()
        .find(|l| l.starts_with("| ingest, 1 webhook |"))
        .unwrap_or_default();
    let cells: Vec<&str> = ingest.split('|').map(str::trim).collect();
    assert!(
        cells[2].contains("/s; p50 ") && cells[2].contains(", p99 "),
        "{ingest}"
    );
    assert!(cells[3].parse::<f64>().is_ok(), "hookwire CPUs: {ingest}");
    assert_eq!(
        cells[4].parse::<f64>().is_ok(),
        postgres.is_some(),
        "PG CPUs: {ingest}"
    );
    assert!(cells[5].parse::<f64>().is_ok(), "bench CPUs: {ingest}");
    assert!(!stdout.contains("FAILED"), "{stdout}");
    // The PerRecord phase checks each record's order at the receiver, in each run.
    assert_eq!(
        stdout.matches("; order kept: yes (100 records) |").count(),
        2,
        "{stdout}"
    );
    let per_record = median_table
        .lines()
        .find(|l| l.starts_with("| delivery, 1 webhook, PerRecord |"))
        .unwrap_or_default();
    assert!(per_record.contains(" % of Any |"), "{per_record}");
    let backend = if postgres.is_some() {
        "- database: PostgreSQL"
    } else {
        "- database: SQLite"
    };
    assert!(stdout.contains(backend), "no {backend:?}:\n{stdout}");
    assert_eq!(
        stdout
            .matches("- load average (1 min) at the start: ")
            .count(),
        2,
        "the load average at the start of each run:\n{stdout}"
    );
}
