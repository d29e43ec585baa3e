//! `hookwire user list|passwd|remove` and `hookwire app list|revoke` (README.md, "First
//! start"), run beside a running server on its database: a new password ends the old one and
//! the user's tickets, a removed user can no longer log in, a revoked application's token is
//! refused while its webhooks stay its own.

use std::time::Duration;

use crate::support::*;

/// Upper bound of a wait for the server to drop a ticket it trusted a moment ago; never the
/// subject of a test.
const WAIT: Duration = Duration::from_secs(60);

/// `hookwire ARGS --database URL`, asserting success; its stdout.
fn run(url: &str, args: &[&str]) -> String {
    let mut all = args.to_vec();
    all.extend(["--database", url]);
    let (ok, out, err) = cli(&all);
    assert!(ok, "hookwire {} failed: {err}", all.join(" "));
    out
}

/// `hookwire ARGS --database URL`, asserting failure; its stderr.
fn refused(url: &str, args: &[&str]) -> String {
    let mut all = args.to_vec();
    all.extend(["--database", url]);
    let (ok, out, err) = cli(&all);
    assert!(!ok, "hookwire {} succeeded: {out}", all.join(" "));
    err
}

async fn ticket_for(server: &TestServer, user: &str, password: &str) -> Option<String> {
    server
        .login_as(NS88, user, password)
        .await
        .text("Ticket")
        .filter(|t| !t.is_empty())
}

async fn ticket_works(server: &TestServer, ticket: &str) -> bool {
    server
        .call(NS88, SOAP11, ticket, "GetAllWebhooks", "")
        .await
        .succeeded()
}

/// The status of a REST call with `Authorization: Basic`.
async fn basic(server: &TestServer, user: &str, password: &str) -> u16 {
    server
        .http
        .get(server.url("/api/v1/Webhook"))
        .basic_auth(user, Some(password))
        .send()
        .await
        .expect("GET /api/v1/Webhook")
        .status()
        .as_u16()
}

/// Waits until the server refuses `ticket` (it trusts a checked ticket for a few seconds).
async fn until_refused(server: &TestServer, ticket: &str) -> bool {
    let start = std::time::Instant::now();
    while start.elapsed() < WAIT {
        if !ticket_works(server, ticket).await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

#[tokio::test]
async fn users_are_listed_given_a_new_password_and_removed_beside_a_running_server() {
    let server = TestServer::start(&[]);
    let db = server.database_url();
    run(
        &db,
        &[
            "user",
            "add",
            "Bob",
            "--password",
            "old-pw",
            "--full-name",
            "Bob B",
        ],
    );
    let listed = run(&db, &["user", "list"]);
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(
        lines.first(),
        Some(&"id\tname\tfull_name\tcreated\temail"),
        "{listed}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("1\tadmin\t")),
        "{listed}"
    );
    assert!(
        lines.iter().any(|l| l.contains("\tBob\tBob B\t")),
        "{listed}"
    );

    let old_ticket = ticket_for(&server, "bob", "old-pw")
        .await
        .expect("bob logs in");
    assert!(ticket_works(&server, &old_ticket).await);
    assert_eq!(basic(&server, "bob", "old-pw").await, 200);

    // Any letter case finds the user; the answer names it as stored.
    let out = run(&db, &["user", "passwd", "BOB", "--password", "new-pw"]);
    assert_eq!(out.trim(), "password of 'Bob' changed");
    assert_eq!(
        ticket_for(&server, "bob", "old-pw").await,
        None,
        "old password"
    );
    let new_ticket = ticket_for(&server, "bob", "new-pw")
        .await
        .expect("new password");
    // REST's Basic credentials, verified a moment ago with the old password, no longer pass.
    assert_eq!(basic(&server, "bob", "old-pw").await, 401);
    assert_eq!(basic(&server, "bob", "new-pw").await, 200);
    assert!(
        until_refused(&server, &old_ticket).await,
        "a ticket from before the new password kept working"
    );

    // Without --password a new one is generated and printed once.
    let out = run(&db, &["user", "passwd", "bob"]);
    let generated = out
        .trim()
        .strip_prefix("new password of 'Bob': ")
        .unwrap_or_else(|| panic!("{out}"));
    assert!(ticket_for(&server, "bob", generated).await.is_some());
    assert!(until_refused(&server, &new_ticket).await);

    let bob = ticket_for(&server, "bob", generated)
        .await
        .expect("logs in");
    let out = run(&db, &["user", "remove", "bob"]);
    assert_eq!(out.trim(), "removed user 'Bob'");
    assert_eq!(ticket_for(&server, "bob", generated).await, None);
    assert!(
        until_refused(&server, &bob).await,
        "a removed user's ticket"
    );
    assert!(!run(&db, &["user", "list"]).contains("Bob"));

    let err = refused(&db, &["user", "remove", "bob"]);
    assert!(err.contains("no user named 'bob'"), "{err}");
    let err = refused(&db, &["user", "passwd", "nobody", "--password", "x"]);
    assert!(err.contains("no user named 'nobody'"), "{err}");
    // The admin was never touched.
    assert!(ticket_for(&server, "admin", ADMIN_PASSWORD).await.is_some());
}

#[tokio::test]
async fn a_revoked_application_token_is_refused_and_its_webhooks_stay_its_own() {
    let server = TestServer::start(&["--online", "--no-save-ping"]);
    let db = server.database_url();
    let token = run(&db, &["app", "add", "crm"]).trim().to_string();
    run(&db, &["app", "add", "erp"]);
    let ticket = server.ticket().await;
    server
        .call_with_token(
            NS88,
            SOAP11,
            &ticket,
            Some(&token),
            "SaveWebhook",
            &webhook_xml(
                0,
                "crm hook",
                &["contact.created"],
                "https://example.com/crm",
                "",
            ),
        )
        .await
        .ok();
    let listed = run(&db, &["app", "list"]);
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(
        lines.first(),
        Some(&"id\tname\tstate\twebhooks\tcreated"),
        "{listed}"
    );
    assert!(
        lines.iter().any(|l| l.contains("\tcrm\tactive\t1\t")),
        "{listed}"
    );
    assert!(
        lines.iter().any(|l| l.contains("\terp\tactive\t0\t")),
        "{listed}"
    );

    let out = run(&db, &["app", "revoke", "crm"]);
    assert_eq!(out.trim(), "revoked application 'crm'");
    let (kind, message) = server
        .call_with_token(NS88, SOAP11, &ticket, Some(&token), "GetAllWebhooks", "")
        .await
        .exception();
    assert!(
        !kind.is_empty() && !message.is_empty(),
        "the revoked token was refused without a reason"
    );
    let listed = run(&db, &["app", "list"]);
    assert!(listed.contains("\tcrm\trevoked\t1\t"), "{listed}");
    assert!(listed.contains("\terp\tactive\t0\t"), "{listed}");

    let out = run(&db, &["app", "revoke", "crm"]);
    assert_eq!(out.trim(), "application 'crm' was already revoked");
    let err = refused(&db, &["app", "revoke", "nope"]);
    assert!(err.contains("no application named 'nope'"), "{err}");
}
