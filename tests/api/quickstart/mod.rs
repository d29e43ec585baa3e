//! The quick start (`docs/QUICKSTART.md`) works when pasted: these tests run its code blocks as
//! written, so it cannot rot.
//!
//! What a block is comes from the words after its language in the fence (```` ```sh server ````);
//! rendered pages show only the language:
//! - `sh install`: how to get `hookwire` on PATH. Not run: the binary cargo built for this test
//!   is put first on PATH instead.
//! - `sh server`: terminal 1, run in the background; ready once it prints `hookwire listening on`.
//! - `python receiver.py`: saved as `receiver.py` in the working directory.
//! - `sh receiver`: terminal 2, run in the background; ready once it prints `receiving on`.
//! - `sh`: terminal 3, in page order in one `bash -e -o pipefail` session (so variables carry
//!   over as in a terminal, and any failing command fails the test).
//! - `text receiver-output`: what terminal 2 shows in the end (lines in any order).
//! - `js`: the Node signature check, run by `node` on a request hookwire really sent.
//! - anything else (C#, PHP, plain `text`): not run.
//!
//! The only changes to the text: port `8080` becomes the server's port and port `9000` a free
//! port for the receiver. Every process runs in a fresh directory without the caller's
//! `HOOKWIRE_*` variables; `hookwire serve` gets `HOOKWIRE_LISTEN=127.0.0.1:0` and
//! `HOOKWIRE_DATABASE` = this test's own database (SQLite, or PostgreSQL as in the other tests).

mod terminals;

use std::path::Path;
use std::process::Command;

use crate::support::receiver::Receiver;
use crate::support::{TestDatabase, TestServer};
use terminals::{Background, Shell};
/// The ports the page uses for hookwire and for the receiver.
const DOC_SERVER_PORT: &str = "8080";
const DOC_RECEIVER_PORT: &str = "9000";

#[test]
fn the_quick_start_delivers_verified_events_signalled_over_soap_and_rest() {
    let blocks = quickstart_blocks();
    let db = TestDatabase::fresh();
    let dir = tempfile::tempdir().expect("temp dir");
    let receiver_port = free_port().to_string();
    let mut server_port: Option<String> = None;
    let mut expected_output = None;
    // Declared after `db`: dropped (killed) before the database is.
    let mut server: Option<Background> = None;
    let mut receiver: Option<Background> = None;
    let mut shell: Option<Shell> = None;

    for block in &blocks {
        let ports = |code: &str| {
            let port = server_port
                .as_deref()
                .unwrap_or_else(|| panic!("{block}: comes before the `sh server` block"));
            let code = replace_port(code, DOC_SERVER_PORT, port);
            replace_port(&code, DOC_RECEIVER_PORT, &receiver_port)
        };
        match block.info.as_str() {
            "sh install" => {} // the test's binary is on PATH instead
            "sh server" => {
                // PostgreSQL needs a secret key file (SQLite makes its own beside the file).
                let key = db
                    .secret_key_env()
                    .map(|(_, file)| file.to_string_lossy().into_owned());
                let mut env = vec![
                    ("HOOKWIRE_LISTEN", "127.0.0.1:0"),
                    ("HOOKWIRE_DATABASE", db.url()),
                ];
                if let Some(key) = &key {
                    env.push(("HOOKWIRE_SECRET_KEY_FILE", key.as_str()));
                }
                let mut started =
                    Background::start("terminal 1 (hookwire serve)", &block.code, dir.path(), &env);
                let line = started.wait_for_line("hookwire listening on ");
                let port = line.rsplit(':').next().unwrap_or_default().trim();
                server_port = Some(port.to_string());
                server = Some(started);
            }
            "python receiver.py" => {
                std::fs::write(dir.path().join("receiver.py"), ports(&block.code))
                    .expect("write receiver.py");
            }
            "sh receiver" => {
                let code = ports(&block.code);
                let mut started =
                    Background::start("terminal 2 (receiver)", &code, dir.path(), &[]);
                started.wait_for_line("receiving on ");
                receiver = Some(started);
            }
            "sh" => {
                let code = ports(&block.code);
                let shell = shell.get_or_insert_with(|| Shell::start(dir.path()));
                shell.run(&block.to_string(), &code);
            }
            "text receiver-output" => expected_output = Some(ports(&block.code)),
            info if info.starts_with("sh") || info.starts_with("python") => {
                panic!("{block}: unknown block kind `{info}` (see tests/api/quickstart/mod.rs)")
            }
            _ => {} // other languages: shown, not run
        }
    }

    let expected = expected_output
        .unwrap_or_else(|| panic!("docs/QUICKSTART.md has no `text receiver-output` block"));
    let mut expected: Vec<&str> = expected.lines().collect();
    let receiver = receiver
        .as_mut()
        .unwrap_or_else(|| panic!("docs/QUICKSTART.md has no `sh receiver` block"));
    let others = format!(
        "terminal 3:\n{}\n{}",
        shell.as_ref().map(Shell::transcript).unwrap_or_default(),
        server
            .as_ref()
            .map(Background::transcript)
            .unwrap_or_default(),
    );
    let seen = receiver.wait_for_lines(expected.len(), &others);
    let transcript = format!("{others}\n{}", receiver.transcript());
    let mut seen_sorted: Vec<&str> = seen.iter().map(String::as_str).collect();
    expected.sort_unstable();
    seen_sorted.sort_unstable();
    assert_eq!(
        seen_sorted, expected,
        "the receiver's output is not what the quick start shows\n{transcript}"
    );
    // The outcome the page promises, whatever its wording: the event signalled over SOAP and
    // the one signalled over REST both reached the receiver, signature verified, with their data.
    for (how, line) in [
        (
            "SOAP",
            r#"verified contact.created #42 {"name": "Acme Inc"}"#,
        ),
        ("REST", r#"verified contact.created #43 {"name": "Globex"}"#),
    ] {
        assert!(
            seen.iter().any(|l| l == line),
            "the event signalled over {how} is not printed as `{line}`\n{transcript}"
        );
    }
}

#[tokio::test]
async fn the_node_check_accepts_what_hookwire_signs_and_refuses_anything_else() {
    let node = Command::new("node").arg("--version").output();
    assert!(
        node.is_ok_and(|o| o.status.success()),
        "node is not on PATH: install Node.js (apt-get install nodejs) to run this test"
    );
    let blocks = quickstart_blocks();
    let snippet = blocks
        .iter()
        .find(|b| b.info == "js")
        .unwrap_or_else(|| panic!("docs/QUICKSTART.md has no `js` block"));

    // A request hookwire really signed: the test ping of TestWebhook, with the page's Secret.
    let secret = "my-webhook-secret";
    let server = TestServer::start(&["--allow-http-targets", "--allow-targets", "127.0.0.0/8"]);
    let receiver = Receiver::start().await;
    let answer = server
        .http
        .post(server.url("/api/v1/Webhook/Test"))
        .basic_auth("admin", Some(crate::support::ADMIN_PASSWORD))
        .header("Content-Type", "application/json")
        .body(
            serde_json::json!({
                "Name": "node check", "Events": ["contact.created"],
                "TargetUrl": receiver.url("/"), "Secret": secret,
            })
            .to_string(),
        )
        .send()
        .await
        .expect("TestWebhook");
    assert_eq!(
        answer.status(),
        200,
        "TestWebhook: {:?}",
        answer.text().await
    );
    let requests = receiver.requests();
    let [ping] = requests.as_slice() else {
        panic!("expected one test ping, got {} requests", requests.len());
    };
    let body = ping.body.to_vec();
    let signature = ping
        .header("X-SuperOffice-Signature")
        .unwrap_or_else(|| panic!("the ping is not signed: {}", ping.summary()))
        .to_string();

    let dir = tempfile::tempdir().expect("temp dir");
    let script = dir.path().join("check.js");
    let harness = "\nconst fs = require(\"node:fs\");\n\
                   const [secret, bodyFile, signature] = process.argv.slice(2);\n\
                   process.stdout.write(String(isSignedBy(secret, fs.readFileSync(bodyFile), signature)));\n";
    std::fs::write(&script, format!("{}{harness}", snippet.code)).expect("write check.js");
    let mut tampered = body.clone();
    if let Some(last_brace) = tampered.iter().rposition(|&b| b == b'}') {
        tampered.insert(last_brace, b' '); // same JSON, other bytes
    }
    let mut wrong_signature = signature.clone();
    wrong_signature.replace_range(0..1, if signature.starts_with('A') { "B" } else { "A" });

    for (case, body, signature, expected) in [
        ("hookwire's request", &body, signature.as_str(), "true"),
        (
            "a body changed by one space",
            &tampered,
            &signature,
            "false",
        ),
        ("a wrong signature", &body, &wrong_signature, "false"),
        ("no signature", &body, "", "false"),
    ] {
        let body_file = dir.path().join("body");
        std::fs::write(&body_file, body).expect("write body");
        let out = Command::new("node")
            .arg(&script)
            .args([secret, &body_file.display().to_string(), signature])
            .output()
            .expect("run node");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout == expected,
            "{case}: the Node check answered {stdout:?}, expected {expected}; stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A fenced code block of the quick start.
struct Block {
    /// The words after the opening fence, e.g. `sh server`.
    info: String,
    code: String,
    /// The line of the opening fence (1-based).
    line: usize,
}

impl std::fmt::Display for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "docs/QUICKSTART.md:{} ```{}", self.line, self.info)
    }
}

/// The fenced code blocks of `docs/QUICKSTART.md`, in page order.
fn quickstart_blocks() -> Vec<Block> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/QUICKSTART.md");
    let page = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for (n, line) in page.lines().enumerate() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(info)) => {
                open = Some(Block {
                    info: info.split_whitespace().collect::<Vec<_>>().join(" "),
                    code: String::new(),
                    line: n + 1,
                })
            }
            (Some(_), Some(rest)) if rest.trim().is_empty() => blocks.extend(open.take()),
            (Some(block), _) => {
                block.code.push_str(line);
                block.code.push('\n');
            }
            (None, None) => {}
        }
    }
    if let Some(block) = open {
        panic!("{block}: never closed");
    }
    blocks
}

/// `text` with every whole number `from` (not part of a longer number) replaced by `to`.
fn replace_port(text: &str, from: &str, to: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(from) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + from.len()..].chars().next();
        out.push_str(&rest[..at]);
        if before.is_some_and(|c| c.is_ascii_digit()) || after.is_some_and(|c| c.is_ascii_digit()) {
            out.push_str(from);
        } else {
            out.push_str(to);
        }
        rest = &rest[at + from.len()..];
    }
    out.push_str(rest);
    out
}

/// A port nothing listens on right now, for the receiver the page starts.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}
