//! What an operator sees: one `serve` per SQLite file (a second is refused, naming the file and
//! the first one's pid, while CLI commands keep working beside it), database errors that name
//! the path and the cause, CLI commands that refuse a missing SQLite file instead of creating
//! it, a start on a port in use that creates nothing and prints no password, the start-up
//! summary, and the https-only refusal naming `--allow-http-targets`.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::support::*;

/// Upper bound of a wait for a process to print or exit; never the subject of a test.
const WAIT: Duration = Duration::from_secs(60);

/// A `hookwire serve` process whose output the test reads.
struct Serve {
    child: Child,
    stdout: mpsc::Receiver<String>,
    /// Stdout lines read so far.
    seen: Vec<String>,
    stderr: std::thread::JoinHandle<String>,
}

impl Serve {
    /// `hookwire serve --database DB --listen LISTEN ARGS`; no `HOOKWIRE_ADMIN_PASSWORD`, so a
    /// created admin's password would be printed.
    fn spawn(database: &str, listen: &str, args: &[&str]) -> Serve {
        Self::spawn_with_env(database, listen, args, None)
    }

    /// [`Serve::spawn`] on a test database, with the secret key file it needs on PostgreSQL.
    fn spawn_on(db: &TestDatabase, listen: &str, args: &[&str]) -> Serve {
        Self::spawn_with_env(db.url(), listen, args, db.secret_key_env())
    }

    fn spawn_with_env(
        database: &str,
        listen: &str,
        args: &[&str],
        env: Option<(&'static str, PathBuf)>,
    ) -> Serve {
        let mut child = Command::new(binary())
            .args(["serve", "--listen", listen, "--database", database])
            .args(args)
            .envs(env)
            .env_remove("HOOKWIRE_ADMIN_PASSWORD")
            .env("HOOKWIRE_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start hookwire");
        let out = child.stdout.take().expect("stdout");
        let (tx, stdout) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut err = child.stderr.take().expect("stderr");
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = err.read_to_string(&mut text);
            text
        });
        Serve {
            child,
            stdout,
            seen: Vec::new(),
            stderr,
        }
    }

    /// Reads stdout until the process prints its address (`Some(base URL)`) or closes stdout
    /// by exiting (`None`).
    fn listening(&mut self) -> Option<String> {
        loop {
            match self.stdout.recv_timeout(WAIT) {
                Ok(line) => {
                    let base = line
                        .strip_prefix("hookwire listening on ")
                        .map(|b| b.trim().to_string());
                    self.seen.push(line);
                    if base.is_some() {
                        return base;
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => return None,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let _ = self.child.kill();
                    panic!(
                        "hookwire serve neither listened nor exited: {:?}",
                        self.seen
                    );
                }
            }
        }
    }

    /// Stops the process if it still runs (SIGTERM), then returns its status and everything it
    /// printed on stdout and stderr.
    fn finish(mut self) -> (ExitStatus, String, String) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
        }
        while let Ok(line) = self.stdout.recv_timeout(WAIT) {
            self.seen.push(line);
        }
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill(); // it ignored SIGTERM for a whole WAIT
        }
        let status = self.child.wait().expect("wait for hookwire");
        let stderr = self.stderr.join().unwrap_or_default();
        (status, self.seen.join("\n"), stderr)
    }
}

/// The file of a `sqlite://PATH` URL.
fn sqlite_path(url: &str) -> PathBuf {
    PathBuf::from(url.strip_prefix("sqlite://").expect("a sqlite:// URL"))
}

/// The names of the entries of `dir`.
fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

#[tokio::test]
async fn a_second_serve_on_one_sqlite_file_is_refused_and_cli_commands_still_work() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("hookwire.db");
    let url = format!("sqlite://{}", file.display());
    let mut first = TestServer::start_on(&url, &[]);

    let mut second = Serve::spawn(&url, "127.0.0.1:0", &[]);
    let listening = second.listening();
    let (status, out, err) = second.finish();
    assert!(
        listening.is_none() && !status.success(),
        "a second serve started on {url}: {out}\n{err}"
    );
    assert!(
        err.contains(&format!("database {} is in use", file.display()))
            && err.contains(&format!("(pid {})", first.pid()))
            && err.contains("use PostgreSQL for several nodes"),
        "{err}"
    );
    assert!(!out.contains("password"), "{out}");

    // The first server goes on serving, and CLI commands work beside it.
    let health = first.http.get(first.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let (ok, out, err) = cli(&[
        "user",
        "add",
        "carol",
        "--password",
        "carol-pw",
        "--database",
        &url,
    ]);
    assert!(ok && out.contains("created user 'carol'"), "{out}{err}");
    first.login_as(NS88, "carol", "carol-pw").await.ok();
    let (ok, token, err) = cli(&["app", "add", "beside", "--database", &url]);
    assert!(ok && !token.trim().is_empty(), "{err}");
    let (ok, listed, err) = cli(&["dead-letters", "list", "--database", &url]);
    assert!(ok && listed.starts_with("delivery\t"), "{listed}{err}");

    // The lock dies with its process: a new server takes the file over.
    first.kill();
    let again = TestServer::start_on(&url, &[]);
    again.login_as(NS88, "carol", "carol-pw").await.ok();
}

#[test]
fn an_unusable_sqlite_path_names_the_path_and_the_cause() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("no-such-dir").join("hookwire.db");
    let plain_file = dir.path().join("plain-file");
    std::fs::write(&plain_file, b"not a directory").expect("write file");
    let under_file = plain_file.join("hookwire.db");
    let cases = [
        (
            &missing,
            format!(
                "directory {} does not exist",
                dir.path().join("no-such-dir").display()
            ),
        ),
        (
            &under_file,
            format!("{} is not a directory", plain_file.display()),
        ),
    ];
    for (path, cause) in &cases {
        let url = format!("sqlite://{}", path.display());
        let expected = format!("cannot open SQLite database {}: {cause}", path.display());

        let mut serve = Serve::spawn(&url, "127.0.0.1:0", &[]);
        let listening = serve.listening();
        let (status, out, err) = serve.finish();
        assert!(listening.is_none() && !status.success(), "{out}{err}");
        assert!(err.contains(&expected), "serve: want {expected:?} in {err}");
        assert!(!out.contains("password"), "{out}");

        let (ok, _, err) = cli(&["user", "add", "bob", "--database", &url]);
        assert!(!ok, "user add succeeded on {url}");
        assert!(
            err.contains(&expected),
            "user add: want {expected:?} in {err}"
        );
    }
    assert_eq!(entries(dir.path()), ["plain-file"], "something was created");

    // A URL naming no file at all.
    let (ok, _, err) = cli(&["user", "add", "bob", "--database", "sqlite://"]);
    assert!(
        !ok && err.contains("unsupported database URL 'sqlite://'"),
        "{err}"
    );
}

#[test]
fn a_cli_command_on_a_missing_sqlite_file_refuses_and_creates_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("typo.db");
    let url = format!("sqlite://{}", file.display());
    let commands: [&[&str]; 4] = [
        &["user", "add", "bob", "--password", "pw"],
        &["app", "add", "crm"],
        &["dead-letters", "list"],
        &["dead-letters", "replay"],
    ];
    for command in commands {
        let mut args = command.to_vec();
        args.extend(["--database", &url]);
        let (ok, out, err) = cli(&args);
        assert!(!ok, "{command:?} succeeded on a missing file: {out}");
        assert!(
            err.contains(&format!(
                "cannot open SQLite database {}: it does not exist",
                file.display()
            )) && err.contains("hookwire serve"),
            "{command:?}: {err}"
        );
    }
    assert!(
        entries(dir.path()).is_empty(),
        "files were created: {:?}",
        entries(dir.path())
    );
}

#[tokio::test]
async fn a_start_on_a_port_in_use_creates_nothing_and_prints_no_password() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let db = TestDatabase::fresh();

    let mut serve = Serve::spawn_on(&db, &addr, &[]);
    let listening = serve.listening();
    let (status, out, err) = serve.finish();
    assert!(listening.is_none() && !status.success(), "{out}{err}");
    assert!(
        err.contains(&format!("cannot listen on {addr}")) && err.contains("--listen"),
        "{err}"
    );
    assert!(!out.contains("password"), "a password was printed: {out}");
    if !db.is_postgres() {
        let file = sqlite_path(db.url());
        let dir = file.parent().expect("a directory");
        assert!(
            entries(dir).is_empty(),
            "files were created: {:?}",
            entries(dir)
        );
    }

    // Nothing was created: the first start that works creates the admin user.
    let mut serve = Serve::spawn_on(&db, "127.0.0.1:0", &[]);
    assert!(serve.listening().is_some(), "{:?}", serve.seen);
    let (_, out, err) = serve.finish();
    assert!(
        out.starts_with("created user 'admin' with password "),
        "{out}{err}"
    );
}

/// The value of summary line `key:` in `out`.
fn summary_value<'a>(out: &'a str, key: &str) -> &'a str {
    let prefix = format!("{key}:");
    out.lines()
        .find_map(|l| l.trim_start().strip_prefix(prefix.as_str()))
        .unwrap_or_else(|| panic!("no '{key}:' line in the summary: {out}"))
        .trim()
}

#[tokio::test]
async fn serve_prints_one_start_up_summary() {
    let db = TestDatabase::fresh();

    let mut serve = Serve::spawn_on(&db, "127.0.0.1:0", &[]);
    let base = serve.listening().expect("listening");
    let (_, out, err) = serve.finish();
    assert_eq!(
        out.matches("hookwire listening on ").count(),
        1,
        "{out}{err}"
    );
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let database = summary_value(&out, "database");
    if db.is_postgres() {
        assert!(database.starts_with("PostgreSQL postgres://"), "{out}");
    } else {
        let file = sqlite_path(db.url());
        assert!(
            database.starts_with(&format!("SQLite {}", file.display())),
            "{out}"
        );
    }
    let targets = summary_value(&out, "targets");
    assert!(
        targets.contains("https only") && targets.contains("--allow-http-targets"),
        "{out}"
    );
    assert!(targets.contains("public addresses only"), "{out}");
    assert_eq!(
        summary_value(&out, "dispatcher").split(' ').next(),
        Some("on")
    );

    let args = [
        "--allow-http-targets",
        "--allow-targets",
        "127.0.0.0/8,10.0.0.0/8",
        "--no-dispatcher",
    ];
    let mut serve = Serve::spawn_on(&db, "127.0.0.1:0", &args);
    serve.listening().expect("listening");
    let (_, out, _) = serve.finish();
    let targets = summary_value(&out, "targets");
    assert!(
        targets.contains("https and http") && targets.contains("127.0.0.0/8, 10.0.0.0/8"),
        "{out}"
    );
    assert_eq!(
        summary_value(&out, "dispatcher").split(' ').next(),
        Some("off")
    );
}

#[tokio::test]
async fn an_http_target_on_an_https_only_server_names_the_flag() {
    let server = TestServer::start(&["--no-save-ping"]);
    let ticket = server.ticket().await;
    let (_, message) = server
        .call(
            NS88,
            SOAP11,
            &ticket,
            "SaveWebhook",
            &webhook_xml(0, "plain", &["contact.created"], "http://example.com/h", ""),
        )
        .await
        .exception();
    assert!(
        message.contains("must use https") && message.contains("--allow-http-targets"),
        "{message}"
    );
}
