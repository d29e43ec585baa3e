//! Black-box test support: the real `hookwire` binary on a random port with its own database
//! (`database.rs`), and helpers to speak to it over real HTTP: SOAP (`soap.rs`), REST
//! (`rest.rs`), SignalEvent (`signal.rs`); receivers of its deliveries (`receiver.rs`); the
//! admin page over HTTP (`admin.rs`) and in a real headless Chromium (`browser.rs`).
//!
//! The database is a SQLite file in a temporary directory, unless `HOOKWIRE_TEST_DATABASE_URL`
//! names a PostgreSQL server (`postgres://user@host:port/db`): then every fresh server gets a
//! new database `hw_<random hex>` on that server (hookwire creates it on first use), dropped
//! with `psql`, when it is on PATH, once the last server using it is gone (kept, and named on
//! stderr, when the test panicked). `TestServer::node` and `TestServer::start_on` start more
//! processes on one database, for multi-node tests. The servers of one PostgreSQL database
//! share a secret key file (`HOOKWIRE_SECRET_KEY_FILE`); SQLite servers use the default one
//! beside the database file.
#![allow(dead_code)] // a test file of its own (`mod support;`) uses only part of this module

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

pub mod admin;
pub mod browser;
mod database;
pub mod order_receiver;
pub mod receiver;
pub mod rest;
pub mod signal;
pub mod smtp;
mod soap;

pub use database::*;
pub use soap::*;

pub const ADMIN_PASSWORD: &str = "admin-test-pw";

/// The `hookwire` binary cargo built for these tests.
/// Arguments that let a server deliver to receivers on loopback, with no save ping.
pub const LOOPBACK: [&str; 4] = [
    "--allow-http-targets",
    "--allow-targets",
    "127.0.0.0/8",
    "--no-save-ping",
];

pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_hookwire"))
}
/// A running server process. Killed on drop.
pub struct TestServer {
    child: Child,
    pub base: String,
    database_url: String,
    /// The database `start` created (shared by `node`s); None after `start_on`.
    database: Option<Arc<TestDatabase>>,
    extra_args: Vec<String>,
    pub http: reqwest::Client,
    /// The server's stderr, when captured (`start_capturing_log`).
    log: Option<Arc<std::sync::Mutex<Vec<u8>>>>,
}

impl TestServer {
    /// A fresh server on a new database, with `args` added to `hookwire serve`.
    pub fn start(args: &[&str]) -> TestServer {
        let db = TestDatabase::fresh();
        Self::spawn(db.url().to_string(), Some(db), to_strings(args))
    }

    /// A server on database `url`, which the caller keeps alive, with `args` added (on
    /// PostgreSQL, `--secret-key-file` among them).
    pub fn start_on(url: &str, args: &[&str]) -> TestServer {
        Self::spawn(url.to_string(), None, to_strings(args))
    }

    /// Another server process on this server's database (one more node), with `args` added.
    /// The database lives until the last server on it is dropped.
    pub fn node(&self, args: &[&str]) -> TestServer {
        Self::spawn(
            self.database_url.clone(),
            self.database.clone(),
            to_strings(args),
        )
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The `--database` URL this server runs on (for CLI commands and other nodes).
    pub fn database_url(&self) -> String {
        self.database_url.clone()
    }

    /// A fresh server logging at `info`, its stderr kept for [`TestServer::log`] instead of shown.
    pub fn start_capturing_log(args: &[&str]) -> TestServer {
        let db = TestDatabase::fresh();
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        Self::spawn_with_log(db.url().to_string(), Some(db), to_strings(args), Some(log))
    }

    fn spawn(
        database_url: String,
        database: Option<Arc<TestDatabase>>,
        extra_args: Vec<String>,
    ) -> TestServer {
        Self::spawn_with_log(database_url, database, extra_args, None)
    }

    fn spawn_with_log(
        database_url: String,
        database: Option<Arc<TestDatabase>>,
        extra_args: Vec<String>,
        log: Option<Arc<std::sync::Mutex<Vec<u8>>>>,
    ) -> TestServer {
        let mut child = Command::new(binary())
            .arg("serve")
            .args(["--listen", "127.0.0.1:0", "--database", &database_url])
            .args(&extra_args)
            .envs(database.iter().flat_map(|db| db.secret_key_env()))
            .env("HOOKWIRE_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("HOOKWIRE_LOG", if log.is_some() { "info" } else { "warn" })
            .stdout(Stdio::piped())
            .stderr(if log.is_some() {
                Stdio::piped()
            } else {
                Stdio::inherit()
            })
            .spawn()
            .expect("start hookwire");
        if let (Some(log), Some(mut stderr)) = (log.clone(), child.stderr.take()) {
            std::thread::spawn(move || {
                let mut chunk = [0u8; 8192];
                while let Ok(n @ 1..) = std::io::Read::read(&mut stderr, &mut chunk) {
                    if let Ok(mut log) = log.lock() {
                        log.extend_from_slice(&chunk[..n]);
                    }
                }
            });
        }
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            let Some(line) = lines.next() else {
                panic!(
                    "`hookwire serve --database {database_url} {}` exited before listening \
                     (its stderr is above)",
                    extra_args.join(" ")
                );
            };
            if let Some(url) = line
                .expect("read stdout")
                .strip_prefix("hookwire listening on ")
            {
                break url.trim().to_string();
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        TestServer {
            child,
            base,
            database_url,
            database,
            extra_args,
            http: reqwest::Client::new(),
            log,
        }
    }

    /// What the server wrote to stderr so far (empty unless started by `start_capturing_log`).
    pub fn log(&self) -> String {
        self.log
            .as_ref()
            .and_then(|log| {
                log.lock()
                    .ok()
                    .map(|l| String::from_utf8_lossy(&l).into_owned())
            })
            .unwrap_or_default()
    }

    /// The server process's resident memory (`VmRSS` of `/proc/PID/status`), in KiB.
    pub fn rss_kib(&self) -> u64 {
        self.proc_status_kib("VmRSS")
    }

    /// The server process's peak resident memory so far (`VmHWM`), in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        self.proc_status_kib("VmHWM")
    }

    fn proc_status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("read /proc/PID/status of the server");
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no {field} in /proc/PID/status: {status}"))
    }

    /// Kills the process with SIGKILL (no shutdown of any kind) and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits (at most `within`) for the process to exit; returns its status.
    pub async fn terminate(
        &mut self,
        within: std::time::Duration,
    ) -> Option<std::process::ExitStatus> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = std::time::Instant::now() + within;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            // An async sleep: receivers in this test's runtime must keep answering meanwhile.
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        None
    }

    /// Stops the process (SIGKILL) and starts a new one on the same database.
    pub fn restart(mut self) -> TestServer {
        self.kill();
        Self::spawn(
            self.database_url.clone(),
            self.database.clone(),
            std::mem::take(&mut self.extra_args),
        )
    }

    /// Stops the process (SIGKILL) and starts a new one on the same database, logging at
    /// `info` with its stderr kept for [`TestServer::log`].
    pub fn restart_capturing_log(mut self) -> TestServer {
        self.kill();
        Self::spawn_with_log(
            self.database_url.clone(),
            self.database.clone(),
            std::mem::take(&mut self.extra_args),
            Some(Arc::new(std::sync::Mutex::new(Vec::new()))),
        )
    }

    /// Runs a `hookwire` CLI command on this server's database (`--database` added, and its
    /// secret key file on PostgreSQL): (success, stdout, stderr).
    pub fn cli(&self, args: &[&str]) -> (bool, String, String) {
        let out = Command::new(binary())
            .args(args)
            .args(["--database", &self.database_url])
            .envs(self.database.iter().flat_map(|db| db.secret_key_env()))
            .env("HOOKWIRE_LOG", "warn")
            .output()
            .expect("run hookwire");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
    /// Sends raw bytes over a fresh TCP connection and reads the answer until the server closes.
    pub async fn raw_http(&self, request: &[u8]) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = self.base.trim_start_matches("http://");
        let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        stream.write_all(request).await.expect("write");
        let mut answer = Vec::new();
        let read = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            stream.read_to_end(&mut answer),
        );
        assert!(
            read.await.is_ok(),
            "the server did not close the connection within 10 s"
        );
        String::from_utf8_lossy(&answer).into_owned()
    }

    /// A memory figure of the server process from `/proc/<pid>/status`, in KiB: `VmRSS` (now)
    /// or `VmHWM` (the peak since start, which a transient allocation cannot hide from).
    pub fn memory_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("read /proc/<pid>/status");
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no {field} in /proc/<pid>/status: {status}"))
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn to_strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}
/// Runs a `hookwire` CLI command (not `serve`) and returns (success, stdout, stderr).
pub fn cli(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(binary())
        .args(args)
        .env("HOOKWIRE_LOG", "warn")
        .output()
        .expect("run hookwire");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
