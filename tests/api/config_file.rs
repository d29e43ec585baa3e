//! `hookwire serve --config FILE` (README.md, "Configuration file"): the file sets any serve
//! option, a HOOKWIRE_* variable beats the file and a flag beats both; `hookwire config example`
//! prints a file that `serve` takes as it is; a bad file (unknown key, wrong type, missing) is
//! refused with an error naming the file, the line and the key.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::support::*;

/// A `hookwire serve` that printed its start-up summary; killed on drop.
#[derive(Debug)]
struct Running {
    child: std::process::Child,
    summary: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl std::fmt::Display for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.summary)
    }
}

impl std::ops::Deref for Running {
    type Target = str;
    fn deref(&self) -> &str {
        &self.summary
    }
}

/// `hookwire serve ARGS` with `env` added, read until its start-up summary is printed
/// (`Ok`) or it exits (`Err(stderr)`).
fn serve(db: &TestDatabase, args: &[&str], env: &[(&str, &str)]) -> Result<Running, String> {
    let mut child = Command::new(binary())
        .arg("serve")
        .args(args)
        .envs(db.secret_key_env())
        .envs(env.iter().copied())
        .env("HOOKWIRE_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("HOOKWIRE_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start hookwire");
    let stdout = child.stdout.take().expect("stdout");
    let mut summary = Vec::new();
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        let last = line.trim_start().starts_with("api:");
        if line.starts_with("hookwire listening on ") || !summary.is_empty() {
            summary.push(line);
        }
        if last {
            break;
        }
    }
    if summary.is_empty() {
        let mut stderr = String::new();
        let _ = child
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut stderr);
        let _ = child.wait();
        return Err(stderr);
    }
    Ok(Running {
        child,
        summary: summary.join("\n"),
    })
}

/// Writes `text` to a new file in a temporary directory (kept as long as the returned guard).
fn config_file(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("hookwire.toml");
    std::fs::write(&path, text).expect("write the config file");
    (dir, path)
}

fn arg(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 temp path")
}

/// The base URL of a summary's first line.
fn base_url(summary: &str) -> &str {
    summary
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("hookwire listening on "))
        .expect("the address line")
        .trim()
}

async fn health(summary: &str) -> reqwest::StatusCode {
    reqwest::get(format!("{}/health", base_url(summary)))
        .await
        .expect("GET /health")
        .status()
}

#[tokio::test]
async fn the_printed_example_is_taken_by_serve_as_it_is() {
    let (ok, example, stderr) = cli(&["config", "example"]);
    assert!(ok, "config example failed: {stderr}");
    for line in [
        "listen = \"127.0.0.1:8080\"",
        "database = \"sqlite://hookwire.db\"",
        "retry_delays_ms = [1000, 4000]",
        "max_body_bytes = 1048576",
        "online = false",
        "# --max-body-bytes, HOOKWIRE_MAX_BODY_BYTES",
        "# Largest request body accepted, in bytes",
        "# admin_password = \"\"",
    ] {
        assert!(
            example.lines().any(|l| l == line),
            "no line {line:?} in the example:\n{example}"
        );
    }
    let (_dir, path) = config_file(&example);
    let db = TestDatabase::fresh();
    let summary = serve(
        &db,
        &[
            "--config",
            arg(&path),
            "--listen",
            "127.0.0.1:0",
            "--database",
            db.url(),
        ],
        &[],
    )
    .expect("serve takes the example");
    assert!(summary.contains("api:        on"), "{}", &*summary);
    assert_eq!(health(&summary).await, reqwest::StatusCode::OK);
}

#[tokio::test]
async fn the_file_sets_options_no_flag_or_variable_sets() {
    let db = TestDatabase::fresh();
    let (_dir, path) = config_file(&format!(
        "listen = \"127.0.0.1:0\"\ndatabase = \"{}\"\nallow_targets = [\"10.0.0.0/8\"]\n\
         no_api = true\n",
        db.url()
    ));
    let summary = serve(&db, &["--config", arg(&path)], &[]).expect("serve starts");
    assert!(
        summary.contains("public addresses and 10.0.0.0/8"),
        "{summary}"
    );
    assert!(summary.contains("api:        off"), "{}", &*summary);
    assert_eq!(health(&summary).await, reqwest::StatusCode::OK);
}

#[tokio::test]
async fn a_variable_beats_the_file_and_a_flag_beats_both() {
    let db = TestDatabase::fresh();
    let (_dir, path) = config_file("allow_targets = [\"10.0.0.0/8\"]\n");
    let base = ["--listen", "127.0.0.1:0", "--database", db.url()];
    // The file named by HOOKWIRE_CONFIG, the variable beating it:
    let from_env = serve(
        &db,
        &base,
        &[
            ("HOOKWIRE_CONFIG", arg(&path)),
            ("HOOKWIRE_ALLOW_TARGETS", "10.1.0.0/16"),
        ],
    )
    .expect("serve starts");
    assert!(
        from_env.contains("public addresses and 10.1.0.0/16"),
        "{from_env}"
    );
    drop(from_env); // SQLite takes one `serve` at a time
    // A flag beating the variable and the file:
    let mut args = base.to_vec();
    args.extend(["--config", arg(&path), "--allow-targets", "10.2.0.0/16"]);
    let from_flag =
        serve(&db, &args, &[("HOOKWIRE_ALLOW_TARGETS", "10.1.0.0/16")]).expect("serve starts");
    assert!(
        from_flag.contains("public addresses and 10.2.0.0/16"),
        "{from_flag}"
    );
}

/// `serve --config FILE` refused: its stderr.
fn refused(text: &str) -> (String, PathBuf, tempfile::TempDir) {
    let db = TestDatabase::fresh();
    let (dir, path) = config_file(text);
    let stderr = serve(
        &db,
        &[
            "--config",
            arg(&path),
            "--listen",
            "127.0.0.1:0",
            "--database",
            db.url(),
        ],
        &[],
    )
    .expect_err("serve refuses the file");
    (stderr, path, dir)
}

#[test]
fn an_unknown_key_is_refused_naming_it_the_file_and_the_line() {
    let (stderr, path, _dir) = refused("listen = \"127.0.0.1:0\"\nlisen = \"127.0.0.1:0\"\n");
    assert!(
        stderr.contains(&format!("{}, line 2: unknown key `lisen`", path.display())),
        "{stderr}"
    );
}

#[test]
fn a_value_of_the_wrong_type_is_refused_naming_the_key_and_the_type() {
    let (stderr, path, _dir) = refused("max_body_bytes = \"big\"\n");
    assert!(
        stderr.contains(&format!(
            "{}, line 1: `max_body_bytes` must be an integer, not a string",
            path.display()
        )),
        "{stderr}"
    );
    let (stderr, _, _dir) = refused("listen = \"nowhere\"\n");
    assert!(
        stderr.contains("`listen`: invalid value 'nowhere'"),
        "{stderr}"
    );
}

#[test]
fn options_that_exclude_each_other_are_refused_from_the_file_too() {
    let (stderr, _, _dir) = refused("no_api = true\nno_dispatcher = true\n");
    assert!(
        stderr.contains("`no_dispatcher` and `no_api` cannot both be set"),
        "{stderr}"
    );
}

#[test]
fn a_missing_file_is_refused_naming_it() {
    let db = TestDatabase::fresh();
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("absent.toml");
    let stderr = serve(
        &db,
        &["--config", arg(&missing), "--database", db.url()],
        &[],
    )
    .expect_err("serve refuses a missing file");
    assert!(
        stderr.contains(&format!(
            "cannot read the config file {}",
            missing.display()
        )),
        "{stderr}"
    );
}
