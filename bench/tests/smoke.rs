//! `hookwire-bench --smoke` runs end to end against the hookwire binary of this build: every
//! phase completes, every delivery is checked, and the result table is printed. With
//! `HOOKWIRE_TEST_DATABASE_URL` set it runs on PostgreSQL (`--postgres`).
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
    bench.arg("--smoke");
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
    assert!(
        stdout.contains("| Measure | Result | Target | Met | Counts |"),
        "no table header:\n{stdout}"
    );
    for row in [
        "| start-up, new database |",
        "| start-up, existing database |",
        "| memory, idle |",
        "| ingest, no subscriber |",
        "| ingest, 1 webhook |",
        "| delivery, 1 webhook |",
        "| delivery, 10 webhooks |",
        "| latency at ",
        "| memory, peak |",
        "| integrity |",
        "| shutdown |",
    ] {
        assert!(stdout.contains(row), "no row {row:?}:\n{stdout}");
    }
    assert!(!stdout.contains("FAILED"), "{stdout}");
    let backend = if postgres.is_some() {
        "- database: PostgreSQL"
    } else {
        "- database: SQLite"
    };
    assert!(stdout.contains(backend), "no {backend:?}:\n{stdout}");
}
