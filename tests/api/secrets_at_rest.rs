//! Webhook Secrets are encrypted at rest (docs/DELIVERY.md, "Secrets at rest"):
//! - a saved Secret is nowhere in the database (SQLite: neither the file nor its WAL), yet
//!   GetWebhook returns it and deliveries are signed with it, also after a restart;
//! - with SQLite the key file is created beside the database, readable by its owner only;
//! - a start with another key, or an unreadable key file, fails with a clear message;
//! - a Secret stored in plaintext (before encryption) is encrypted at start;
//! - PostgreSQL without a key file is a clear start-up error.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sqlx::Connection;

use crate::support::receiver::Receiver;
use crate::support::*;

const SECRET: &str = "s3cr3t-value";
const EVENT: &str = "contact.changed";

async fn save(server: &TestServer, ticket: &str, url: &str, secret: &str) -> i32 {
    let extra = format!("<tns:Secret>{secret}</tns:Secret><tns:State>Active</tns:State>");
    let reply = server
        .call(
            NS88,
            SOAP11,
            ticket,
            "SaveWebhook",
            &webhook_xml(0, "Secret hook", &[EVENT], url, &extra),
        )
        .await
        .ok();
    reply.text("WebhookId").unwrap().parse().unwrap()
}

/// The Secret GetWebhook returns.
async fn secret_of(server: &TestServer, ticket: &str, id: i32) -> Option<String> {
    let reply = server
        .call_on_webhook(NS88, SOAP11, ticket, "GetWebhook", id)
        .await
        .ok();
    reply.text("Secret")
}

/// Signals one event and checks the delivery's `X-SuperOffice-Signature` against `secret`.
async fn assert_delivery_signed_with(
    server: &TestServer,
    ticket: &str,
    receiver: &Receiver,
    secret: &str,
) {
    receiver.clear();
    server
        .call(
            NS88,
            SOAP11,
            ticket,
            "SignalEvent",
            &format!("<tns:EventName>{EVENT}</tns:EventName><tns:PrimaryKey>7</tns:PrimaryKey>"),
        )
        .await
        .ok();
    let delivery = &receiver.wait_for_requests(1, Duration::from_secs(20)).await[0];
    delivery
        .verify_superoffice(secret)
        .expect("the delivery is signed with the Secret");
}

/// The `secret` column of webhook `id`, read straight from the database.
async fn stored_secret(url: &str, id: i32) -> Option<String> {
    let sql = "SELECT secret FROM webhooks WHERE id = $1";
    if url.starts_with("sqlite:") {
        let mut db = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query_scalar(sql)
            .bind(id)
            .fetch_one(&mut db)
            .await
            .unwrap()
    } else {
        let mut db = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query_scalar(sql)
            .bind(id)
            .fetch_one(&mut db)
            .await
            .unwrap()
    }
}

/// Writes `secret` into webhook `id`'s row as it is, as a version before encryption did.
async fn store_plaintext_secret(url: &str, id: i32, secret: &str) {
    let literal = secret.replace('\'', "''");
    execute_sql(
        url,
        &format!("UPDATE webhooks SET secret = '{literal}' WHERE id = {id}"),
    )
    .await;
}

/// The SQLite database file of `url`, or None on PostgreSQL.
fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    url.strip_prefix("sqlite://").map(Into::into)
}

/// Asserts `text` is in no byte of the SQLite database file nor its WAL.
fn assert_not_in_sqlite_files(db: &std::path::Path, text: &str) {
    for suffix in ["", "-wal"] {
        let path = format!("{}{suffix}", db.display());
        let Ok(bytes) = std::fs::read(&path) else {
            continue; // no WAL at the moment
        };
        let found = bytes
            .windows(text.len())
            .any(|window| window == text.as_bytes());
        assert!(!found, "{path} holds the Secret {text:?} in plaintext");
    }
}

/// Asserts the stored value of webhook `id` is sealed and does not show `secret`.
async fn assert_sealed(url: &str, id: i32, secret: &str) {
    let stored = stored_secret(url, id).await.expect("a stored Secret");
    assert!(
        stored.starts_with("enc:v1:") && !stored.contains(secret),
        "the secret column holds {stored:?}"
    );
    if let Some(db) = sqlite_file(url) {
        assert_not_in_sqlite_files(&db, secret);
    }
}

/// Runs `hookwire serve` with `args` (no key file from the environment), expecting it to exit
/// with an error before it listens; returns its stderr.
fn serve_fails(args: &[&str]) -> String {
    let mut child = Command::new(binary())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .env_remove("HOOKWIRE_SECRET_KEY_FILE")
        .env("HOOKWIRE_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("HOOKWIRE_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start hookwire");
    let mut stderr = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`hookwire serve {}` kept running", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stderr = reader.join().expect("stderr reader");
    assert!(!status.success(), "exited with {status}: {stderr}");
    stderr
}

#[tokio::test]
async fn a_saved_secret_is_stored_encrypted_and_still_signs_deliveries() {
    let receiver = Receiver::start().await;
    let server = TestServer::start(&LOOPBACK);
    let url = server.database_url();
    let ticket = server.ticket().await;
    let id = save(&server, &ticket, &receiver.url("/hook"), SECRET).await;

    assert_sealed(&url, id, SECRET).await;
    assert_eq!(
        secret_of(&server, &ticket, id).await.as_deref(),
        Some(SECRET)
    );
    assert_delivery_signed_with(&server, &ticket, &receiver, SECRET).await;
    if let Some(db) = sqlite_file(&url) {
        let key = format!("{}.key", db.display());
        let meta = std::fs::metadata(&key).expect("the key file beside the database");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{key}");
        assert_not_in_sqlite_files(&db, SECRET);
    }

    // The same key after a restart.
    let server = server.restart();
    let ticket = server.ticket().await;
    assert_eq!(
        secret_of(&server, &ticket, id).await.as_deref(),
        Some(SECRET)
    );
    assert_delivery_signed_with(&server, &ticket, &receiver, SECRET).await;
    assert_sealed(&url, id, SECRET).await;
}

#[tokio::test]
async fn a_start_with_another_key_or_no_key_is_refused_with_a_clear_message() {
    // No webhook at all: the key is checked against the database itself.
    let mut server = TestServer::start(&[]);
    let url = server.database_url();
    server.kill();
    let dir = tempfile::tempdir().unwrap();
    let other = new_secret_key_file(dir.path());
    let other_path = other.display().to_string();
    let other_key = std::fs::read_to_string(&other).unwrap();

    let err = serve_fails(&["--database", &url, "--secret-key-file", &other_path]);
    assert!(
        err.contains(&format!("the secret key in {other_path} does not match"))
            && err.contains("this database was created with"),
        "{err}"
    );
    assert!(
        !err.contains(other_key.trim()),
        "the key was printed: {err}"
    );

    let missing = dir.path().join("missing.key").display().to_string();
    let err = serve_fails(&["--database", &url, "--secret-key-file", &missing]);
    assert!(
        err.contains(&format!("the secret key file {missing} does not exist")),
        "{err}"
    );

    let garbage = dir.path().join("garbage.key");
    std::fs::write(&garbage, "not a key\n").unwrap();
    let garbage = garbage.display().to_string();
    let err = serve_fails(&["--database", &url, "--secret-key-file", &garbage]);
    assert!(
        err.contains(&format!(
            "the secret key file {garbage} does not hold a key"
        )),
        "{err}"
    );

    // The right key still opens the database.
    let server = server.restart();
    server.ticket().await;
}

#[tokio::test]
async fn a_secret_stored_in_plaintext_is_encrypted_at_start() {
    let receiver = Receiver::start().await;
    let mut server = TestServer::start(&LOOPBACK);
    let url = server.database_url();
    let ticket = server.ticket().await;
    let id = save(&server, &ticket, &receiver.url("/hook"), "first").await;
    server.kill();
    let legacy = "legacy-plaintext-secret";
    store_plaintext_secret(&url, id, legacy).await;

    let server = server.restart();
    assert_sealed(&url, id, legacy).await;
    let ticket = server.ticket().await;
    assert_eq!(
        secret_of(&server, &ticket, id).await.as_deref(),
        Some(legacy)
    );
    assert_delivery_signed_with(&server, &ticket, &receiver, legacy).await;
}

#[test]
fn postgres_without_a_key_file_is_a_clear_start_up_error() {
    // Refused before any connection: no PostgreSQL server is needed to see it.
    let err = serve_fails(&["--database", "postgres://hookwire@127.0.0.1:1/hookwire"]);
    assert!(
        err.contains("PostgreSQL needs --secret-key-file")
            && err.contains("the same file on every node"),
        "{err}"
    );
}
