//! Black-box test support: the real `hookwire` binary on a random port with its own database,
//! and helpers to speak SOAP to it over real HTTP.
//!
//! The database is a SQLite file in a temporary directory, unless `HOOKWIRE_TEST_DATABASE_URL`
//! names a PostgreSQL server (`postgres://user@host:port/db`): then every fresh server gets a
//! new database `hw_<random hex>` on that server (hookwire creates it on first use), dropped
//! with `psql`, when it is on PATH, once the last server using it is gone (kept, and named on
//! stderr, when the test panicked). `TestServer::node` and `TestServer::start_on` start more
//! processes on one database, for multi-node tests. The servers of one PostgreSQL database
//! share a secret key file (`HOOKWIRE_SECRET_KEY_FILE`); SQLite servers use the default one
//! beside the database file.
#![allow(dead_code)] // each test binary uses a different part of this module

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

pub const NS87: &str = "http://www.superoffice.net/ws/crm/NetServer/Services87";
pub const NS88: &str = "http://www.superoffice.net/ws/crm/NetServer/Services88";
pub const SOAP11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub const SOAP12: &str = "http://www.w3.org/2003/05/soap-envelope";
pub const ADMIN_PASSWORD: &str = "admin-test-pw";

/// The `hookwire` binary cargo built for these tests.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_hookwire"))
}

/// The variable naming a PostgreSQL server to run the tests on (unset: SQLite).
pub const DATABASE_URL_VAR: &str = "HOOKWIRE_TEST_DATABASE_URL";

/// `HOOKWIRE_TEST_DATABASE_URL` when it names a PostgreSQL server; None when it is unset or
/// empty (the tests then use SQLite). Panics on any other value, so that a typo cannot
/// silently run the suite on SQLite.
pub fn postgres_admin_url() -> Option<String> {
    let url = std::env::var(DATABASE_URL_VAR).ok()?;
    let url = url.trim();
    if url.is_empty() {
        return None;
    }
    assert!(
        url.starts_with("postgres://") || url.starts_with("postgresql://"),
        "{DATABASE_URL_VAR}={url:?} is not a postgres:// URL (unset it to test on SQLite)"
    );
    Some(url.to_string())
}

/// `admin_url` with its database replaced by `name` (user, host, port and query kept).
pub fn postgres_url_with_database(admin_url: &str, name: &str) -> String {
    let mut url = url::Url::parse(admin_url)
        .unwrap_or_else(|e| panic!("{DATABASE_URL_VAR}={admin_url:?} is not a URL: {e}"));
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// One test's database: a SQLite file in a temporary directory, or a new PostgreSQL database
/// (see the module doc). Shared by every server started on it; removed when the last one goes.
pub struct TestDatabase {
    url: String,
    /// (admin URL, database name) on PostgreSQL.
    postgres: Option<(String, String)>,
    /// The secret key file every server on a PostgreSQL database is given (SQLite servers use
    /// the default, beside the database file).
    secret_key_file: Option<PathBuf>,
    /// The SQLite file's directory, or the key file's.
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    /// A database nobody has used yet (hookwire creates and migrates it on first use).
    pub fn fresh() -> Arc<TestDatabase> {
        let db = match postgres_admin_url() {
            Some(admin) => {
                let name = format!("hw_{}", uuid::Uuid::new_v4().simple());
                let dir = tempfile::tempdir().expect("temp dir");
                TestDatabase {
                    url: postgres_url_with_database(&admin, &name),
                    postgres: Some((admin, name)),
                    secret_key_file: Some(new_secret_key_file(dir.path())),
                    _dir: Some(dir),
                }
            }
            None => {
                let dir = tempfile::tempdir().expect("temp dir");
                TestDatabase {
                    url: format!("sqlite://{}", dir.path().join("hookwire.db").display()),
                    postgres: None,
                    secret_key_file: None,
                    _dir: Some(dir),
                }
            }
        };
        Arc::new(db)
    }

    /// The URL to pass as `--database`.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }

    /// The environment that gives `hookwire serve` this database's secret key file, if it
    /// needs one (`Command::envs`).
    pub fn secret_key_env(&self) -> Option<(&'static str, PathBuf)> {
        let file = self.secret_key_file.clone()?;
        Some(("HOOKWIRE_SECRET_KEY_FILE", file))
    }
}

/// Writes a new random secret key file (32 bytes, base64) in `dir`; returns its path.
pub fn new_secret_key_file(dir: &std::path::Path) -> PathBuf {
    use base64::Engine;
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).expect("random key");
    let path = dir.join(format!("{}.key", uuid::Uuid::new_v4().simple()));
    let text = base64::engine::general_purpose::STANDARD.encode(key) + "\n";
    std::fs::write(&path, text).expect("write key file");
    path
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((admin, name)) = &self.postgres else {
            return; // the TempDir removes the SQLite file
        };
        if std::thread::panicking() {
            eprintln!("test database kept for inspection: {}", self.url);
            return;
        }
        // Best effort: without psql the database stays (a throwaway cluster goes whole). A
        // backend of a killed server may take a moment to go: try a few times.
        let mut error = String::new();
        for _ in 0..3 {
            let Ok(out) = Command::new("psql")
                .args(["-X", "-q", "-w", "-d", admin, "-c"])
                .arg(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .stdin(Stdio::null())
                .output()
            else {
                return; // no psql
            };
            if out.status.success() {
                return;
            }
            error = String::from_utf8_lossy(&out.stderr).trim().to_string();
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
        eprintln!("could not drop test database {name}: {error}");
    }
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

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// POSTs `body` to `path` with the content type of `soap` version (1.1 adds a SOAPAction).
    pub async fn post_soap(&self, path: &str, soap: &str, action: &str, body: String) -> Reply {
        let request = self.http.post(self.url(path)).body(body);
        let request = if soap == SOAP12 {
            request.header(
                "Content-Type",
                format!("application/soap+xml; charset=utf-8; action=\"{action}\""),
            )
        } else {
            request
                .header("Content-Type", "text/xml; charset=utf-8")
                .header("SOAPAction", format!("\"{action}\""))
        };
        Reply::from(request.send().await.expect("send")).await
    }

    /// Logs in through SoPrincipal.svc and returns the ticket.
    pub async fn login_as(&self, ns: &str, user: &str, password: &str) -> Reply {
        let body = format!(
            "<tns:AuthenticateUsernamePassword><tns:UserName>{user}</tns:UserName><tns:Password>{password}</tns:Password></tns:AuthenticateUsernamePassword>"
        );
        let ver = version_segment(ns);
        self.post_soap(
            &format!("/Remote/{ver}/SoPrincipal.svc"),
            SOAP11,
            &format!("{ns}/SoPrincipal/AuthenticateUsernamePassword"),
            envelope(SOAP11, ns, "", &body),
        )
        .await
    }

    pub async fn ticket(&self) -> String {
        let reply = self.login_as(NS88, "admin", ADMIN_PASSWORD).await;
        reply.text("Ticket").expect("login gives a ticket")
    }

    /// Calls a Webhook.svc operation: `body` is the operation element's content.
    pub async fn call(&self, ns: &str, soap: &str, ticket: &str, op: &str, body: &str) -> Reply {
        self.call_with_token(ns, soap, ticket, None, op, body).await
    }

    /// A call whose only parameter is `WebhookId` (GetWebhook, DeleteWebhook, GetLastError).
    pub async fn call_on_webhook(
        &self,
        ns: &str,
        soap: &str,
        ticket: &str,
        op: &str,
        id: impl std::fmt::Display,
    ) -> Reply {
        let body = format!("<tns:WebhookId>{id}</tns:WebhookId>");
        self.call(ns, soap, ticket, op, &body).await
    }

    pub async fn call_with_token(
        &self,
        ns: &str,
        soap: &str,
        ticket: &str,
        app_token: Option<&str>,
        op: &str,
        body: &str,
    ) -> Reply {
        let token = app_token
            .map(|t| format!("<tns:ApplicationToken>{t}</tns:ApplicationToken>"))
            .unwrap_or_default();
        let header =
            format!("{token}<tns:Credentials><tns:Ticket>{ticket}</tns:Ticket></tns:Credentials>");
        let op_xml = format!("<tns:{op}>{body}</tns:{op}>");
        self.post_soap(
            &format!("/Remote/{}/Webhook.svc", version_segment(ns)),
            soap,
            &format!("{ns}/Webhook/{op}"),
            envelope(soap, ns, &header, &op_xml),
        )
        .await
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

    /// `GET path` over REST as `admin` (Basic), its JSON body.
    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        let response = self
            .http
            .get(self.url(path))
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .send()
            .await
            .expect("GET over REST");
        let text = response.text().await.expect("the body");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("GET {path}: not JSON ({e}): {text}"))
    }

    /// The delivery queue counts from `/metrics`: (pending, delivered, dead).
    pub async fn queue(&self) -> (i64, i64, i64) {
        let text = self
            .http
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("metrics body");
        let get = |status: &str| -> i64 {
            let key = format!("hookwire_deliveries{{status=\"{status}\"}} ");
            text.lines()
                .find_map(|l| l.strip_prefix(&key))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or_else(|| panic!("no {key} in {text}"))
        };
        (get("pending"), get("delivered"), get("dead"))
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

pub fn version_segment(ns: &str) -> &'static str {
    if ns == NS87 {
        "Services87"
    } else {
        "Services88"
    }
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

/// A SOAP envelope with `tns` bound to `ns`, header blocks inside `<Header>`.
pub fn envelope(soap: &str, ns: &str, header: &str, body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\
         <s:Envelope xmlns:s=\"{soap}\" xmlns:tns=\"{ns}\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" \
         xmlns:arr=\"http://schemas.microsoft.com/2003/10/Serialization/Arrays\">\
         <s:Header>{header}</s:Header><s:Body>{body}</s:Body></s:Envelope>"
    )
}

/// A webhook carrier's XML, with the given members.
pub fn webhook_xml(id: i32, name: &str, events: &[&str], target: &str, extra: &str) -> String {
    let events: String = events
        .iter()
        .map(|e| format!("<arr:string>{e}</arr:string>"))
        .collect();
    format!(
        "<tns:Webhook><tns:WebhookId>{id}</tns:WebhookId><tns:Name>{name}</tns:Name>\
         <tns:Events>{events}</tns:Events><tns:TargetUrl>{target}</tns:TargetUrl>{extra}</tns:Webhook>"
    )
}

/// An HTTP answer, with XML helpers.
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

impl Reply {
    pub async fn from(response: reqwest::Response) -> Reply {
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let body = response.text().await.expect("body");
        Reply {
            status,
            content_type,
            body,
        }
    }

    pub fn doc(&self) -> roxmltree::Document<'_> {
        roxmltree::Document::parse(&self.body)
            .unwrap_or_else(|e| panic!("reply is not XML ({e}): {}", self.body))
    }

    /// Text of the first element with local name `local`.
    pub fn text(&self, local: &str) -> Option<String> {
        let doc = self.doc();
        doc.descendants()
            .find(|n| n.is_element() && n.tag_name().name() == local)
            .map(|n| n.text().unwrap_or("").to_string())
    }

    /// Texts of every element with local name `local`.
    pub fn texts(&self, local: &str) -> Vec<String> {
        let doc = self.doc();
        doc.descendants()
            .filter(|n| n.is_element() && n.tag_name().name() == local)
            .map(|n| n.text().unwrap_or("").to_string())
            .collect()
    }

    pub fn has(&self, local: &str) -> bool {
        self.text(local).is_some()
    }

    /// `Succeeded` header, asserting it is present.
    pub fn succeeded(&self) -> bool {
        match self.text("Succeeded").as_deref() {
            Some("true") => true,
            Some("false") => false,
            other => panic!("no Succeeded header ({other:?}): {}", self.body),
        }
    }

    /// Panics with the exception if the call did not succeed.
    pub fn ok(self) -> Reply {
        assert_eq!(self.status, 200, "{}", self.body);
        assert!(
            self.succeeded(),
            "call failed: {:?} {:?}",
            self.text("ExceptionType"),
            self.text("Message")
        );
        self
    }

    pub fn exception(&self) -> (String, String) {
        assert_eq!(self.status, 200, "{}", self.body);
        assert!(!self.succeeded(), "expected an exception: {}", self.body);
        (
            self.text("ExceptionType").unwrap_or_default(),
            self.text("Message").unwrap_or_default(),
        )
    }

    /// A fault's text (1.1 faultstring or 1.2 Reason/Text) and code.
    pub fn fault(&self) -> (String, String) {
        let code = self
            .text("faultcode")
            .or_else(|| self.text("Value"))
            .unwrap_or_else(|| panic!("not a fault: {}", self.body));
        let text = self
            .text("faultstring")
            .or_else(|| self.text("Text"))
            .unwrap_or_default();
        (code, text)
    }

    /// Whether the `Response` element is `xsi:nil`.
    pub fn response_is_nil(&self) -> bool {
        let doc = self.doc();
        let response = doc
            .descendants()
            .find(|n| n.is_element() && n.tag_name().name() == "Response")
            .unwrap_or_else(|| panic!("no Response: {}", self.body));
        response.attribute(("http://www.w3.org/2001/XMLSchema-instance", "nil")) == Some("true")
    }

    /// The `Response` subtree as (path, text) pairs, for comparing two carriers.
    pub fn response_fields(&self) -> Vec<(String, String)> {
        let doc = self.doc();
        let response = doc
            .descendants()
            .find(|n| n.is_element() && n.tag_name().name() == "Response")
            .unwrap_or_else(|| panic!("no Response: {}", self.body));
        let mut out = Vec::new();
        for n in response.descendants().filter(|n| n.is_element()) {
            let path: Vec<&str> = n
                .ancestors()
                .take_while(|a| *a != response)
                .filter(|a| a.is_element())
                .map(|a| a.tag_name().name())
                .collect();
            let path: Vec<&str> = path.into_iter().rev().collect();
            let ty = n
                .attribute(("http://www.w3.org/2001/XMLSchema-instance", "type"))
                .unwrap_or("");
            out.push((
                format!("{} {ty}", path.join("/")),
                n.text().unwrap_or("").trim().to_string(),
            ));
        }
        out
    }
}

pub mod receiver;
pub mod signal;

/// Runs one SQL statement on the server's database, as an operator's tool (or a bug) could.
pub async fn execute_sql(database_url: &str, sql: &str) {
    use sqlx::Connection;
    if database_url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(database_url)
            .await
            .expect("open the SQLite database");
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
            .execute(&mut conn)
            .await
            .expect("run the SQL");
    } else {
        let mut conn = sqlx::PgConnection::connect(database_url)
            .await
            .expect("connect to PostgreSQL");
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
            .execute(&mut conn)
            .await
            .expect("run the SQL");
    }
}
