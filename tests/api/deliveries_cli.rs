//! `hookwire deliveries list|retry|discard|recover|dead-letters|replay` (README.md, "Operator
//! commands") beside a running server on its database: the log as a table and as CSV, a
//! retried dead delivery and a recovered window reach the receiver with their EventIds and
//! count towards nothing, a discarded delivery waiting behind its record's failing one is a
//! dead letter, unsent, and a delivered one cannot be discarded, bad arguments are refused by
//! name, and the old `dead-letters` names still work.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::receiver::{Answer, Receiver};
use crate::support::rest::Api;
use crate::support::*;

/// Upper bound of every wait; never the subject of a test.
const WAIT: Duration = Duration::from_secs(30);

async fn start() -> Api {
    Api::start(&[
        "--allow-http-targets",
        "--allow-targets",
        "127.0.0.0/8",
        "--no-save-ping",
        "--retry-delays-ms",
        "10,10",
        "--retention-secs",
        "1",
        "--failures-to-disable",
        "100",
        "--poll-interval-ms",
        "100",
    ])
    .await
}

/// `hookwire ARGS` on the server's database, asserting success; its stdout.
fn run(api: &Api, args: &[&str]) -> String {
    let (ok, out, err) = api.server.cli(args);
    assert!(ok, "hookwire {} failed: {err}", args.join(" "));
    out
}

/// `hookwire ARGS`, asserting failure; its stderr.
fn refused(api: &Api, args: &[&str]) -> String {
    let (ok, out, err) = api.server.cli(args);
    assert!(!ok, "hookwire {} should fail: {out}", args.join(" "));
    err
}

/// The rows of `deliveries list` (header dropped), split at their tabs.
fn rows(table: &str) -> Vec<Vec<String>> {
    table
        .lines()
        .skip(1)
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

/// `deliveries list` until `done` holds for its rows.
async fn list_when(
    api: &Api,
    args: &[&str],
    done: impl Fn(&[Vec<String>]) -> bool,
) -> Vec<Vec<String>> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let listed = rows(&run(api, args));
        if done(&listed) {
            return listed;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never got there: {listed:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn counters(webhook: &Value) -> Value {
    json!([
        webhook["State"],
        webhook["TotalCalls"],
        webhook["TotalErrors"],
        webhook["ConsecutiveErrors"]
    ])
}

#[tokio::test]
async fn list_retry_recover_and_the_dead_letter_names() {
    let receiver = Receiver::start().await;
    receiver.set_answer(Answer::status(500));
    let api = start().await;
    let created = api
        .create(json!({"Name": "cli", "Events": ["contact.created"],
                       "TargetUrl": receiver.url("/in"), "State": "Active"}))
        .await;
    let id = rest::id_of(&created).to_string();
    for key in 1..=3 {
        api.signal("contact.created", key).await;
    }
    // One failed cycle, and the next would start after the 1 s retention window: dead.
    let list = ["deliveries", "list", "--webhook", &id];
    let dead = list_when(&api, &list, |r| {
        r.len() == 3 && r.iter().all(|d| d[4] == "dead")
    })
    .await;
    for d in &dead {
        assert_eq!(d.len(), 10, "{d:?}");
        assert_eq!(d[2], "contact.created", "{d:?}");
        assert_ne!(d[5], "0", "attempted: {d:?}");
        assert_eq!(d[6], "500", "{d:?}");
    }
    let keys: Vec<&str> = dead.iter().map(|d| d[3].as_str()).collect();
    assert_eq!(keys, ["3", "2", "1"], "newest first");

    // Filters, paging and CSV.
    let one = api
        .server
        .cli(&["deliveries", "list", "--webhook", &id, "--limit", "1"]);
    assert!(one.0, "{}", one.2);
    assert_eq!(rows(&one.1).len(), 1);
    assert!(
        one.2.contains("more: --cursor "),
        "the next page: {}",
        one.2
    );
    let cursor = one
        .2
        .trim()
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .to_string();
    let next = run(
        &api,
        &["deliveries", "list", "--webhook", &id, "--cursor", &cursor],
    );
    assert_eq!(rows(&next).len(), 2, "{next}");
    let none = run(
        &api,
        &[
            "deliveries",
            "list",
            "--webhook",
            &id,
            "--status",
            "delivered",
        ],
    );
    assert!(rows(&none).is_empty(), "{none}");
    let csv = run(&api, &["deliveries", "list", "--webhook", &id, "--csv"]);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "DeliveryId,EventId,Event,PrimaryKey,Status,Attempts,LastStatus,LastAttempt,NextAttempt,Created"
    );
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(
        lines[1].starts_with(&format!(
            "{},{},contact.created,3,dead,",
            dead[0][0], dead[0][1]
        )),
        "{csv}"
    );

    // The dead-letter list under its new and its old name.
    for args in [
        ["deliveries", "dead-letters", "--webhook", &id],
        ["dead-letters", "list", "--webhook", &id],
    ] {
        let listed = run(&api, &args);
        assert_eq!(listed.lines().count(), 4, "{}: {listed}", args.join(" "));
    }

    let before = counters(&api.fetch(rest::id_of(&created)).await);
    receiver.set_answer(Answer::ok());
    receiver.clear();

    // Retry one dead delivery: it arrives with its EventId, logged as manual.
    let (retried, retried_event) = (dead[2][0].clone(), dead[2][1].clone());
    let said = run(&api, &["deliveries", "retry", &retried]);
    assert!(
        said.contains(&format!("delivery {retried} queued")),
        "{said}"
    );
    let seen = receiver.wait_for_requests(1, WAIT).await;
    assert_eq!(seen[0].event_id(), Some(retried_event.as_str()));
    let listed = list_when(&api, &list, |r| r.iter().any(|d| d[4] == "delivered")).await;
    let delivered: Vec<&Vec<String>> = listed.iter().filter(|d| d[4] == "delivered").collect();
    assert_eq!(delivered.len(), 1, "{listed:?}");
    assert_eq!(delivered[0][0], retried);
    let log = api
        .get(&format!("/api/v1/Webhook/{id}/Deliveries/{retried}"))
        .send()
        .await
        .ok();
    assert_eq!(log["AttemptLog"][3]["Trigger"], "manual", "{log}");

    // Recover the window: the other two, and only those.
    let since = "2000-01-01T00:00:00Z";
    let said = run(
        &api,
        &["deliveries", "recover", "--webhook", &id, "--since", since],
    );
    assert!(said.starts_with("2 deliveries"), "{said}");
    list_when(&api, &list, |r| r.iter().all(|d| d[4] == "delivered")).await;
    let events: HashSet<String> = receiver.event_ids().into_iter().collect();
    let all: HashSet<String> = dead.iter().map(|d| d[1].clone()).collect();
    assert_eq!(events, all, "{}", receiver.summary());
    assert_eq!(
        receiver.requests().len(),
        3,
        "each once: {}",
        receiver.summary()
    );
    assert_eq!(counters(&api.fetch(rest::id_of(&created)).await), before);

    // The old replay name still works (nothing dead left).
    let said = run(&api, &["dead-letters", "replay", "--webhook", &id]);
    assert!(said.starts_with("0 dead deliveries"), "{said}");
}

#[tokio::test]
async fn discard_sets_a_waiting_delivery_aside_and_refuses_a_delivered_one() {
    let receiver = Receiver::start().await;
    // One quick failed cycle, then the next is a minute away: the first stays retrying.
    let api = Api::start(&[
        "--allow-http-targets",
        "--allow-targets",
        "127.0.0.0/8",
        "--no-save-ping",
        "--retry-delays-ms",
        "10,10",
        "--failures-to-disable",
        "100",
        "--poll-interval-ms",
        "100",
    ])
    .await;
    let created = api
        .create(json!({"Name": "ordered", "Events": ["contact.changed"],
                       "TargetUrl": receiver.url("/in"), "State": "Active",
                       "DeliveryOrder": "PerRecord"}))
        .await;
    let id = rest::id_of(&created).to_string();
    let list = ["deliveries", "list", "--webhook", &id];
    api.signal("contact.changed", 1).await;
    let delivered = list_when(&api, &list, |r| r.len() == 1 && r[0][4] == "delivered").await;
    let delivered = delivered[0][0].clone();

    // Record 2's first delivery fails; the one after it waits.
    receiver.set_answer(Answer::status(500));
    api.signal("contact.changed", 2).await;
    api.signal("contact.changed", 2).await;
    let queued = list_when(&api, &list, |r| {
        r.len() == 3 && r[0][4] == "waiting" && r[1][4] == "retrying" && r[1][5] == "3"
    })
    .await;
    let (waiting, waiting_event) = (queued[0][0].clone(), queued[0][1].clone());

    let said = run(&api, &["deliveries", "discard", "--webhook", &id, &waiting]);
    assert_eq!(
        said.trim(),
        format!("delivery {waiting} discarded: a dead letter now, unsent")
    );
    let after = rows(&run(&api, &list));
    assert_eq!(after[0][0], waiting);
    assert_eq!(after[0][4], "dead", "{after:?}");
    assert_eq!(
        after[1][4], "retrying",
        "the failing one is untouched: {after:?}"
    );
    let dead = run(&api, &["deliveries", "dead-letters", "--webhook", &id]);
    let line = dead
        .lines()
        .find(|l| l.starts_with(&format!("{waiting}\t")))
        .unwrap_or_else(|| panic!("{waiting} not a dead letter: {dead}"));
    assert!(line.ends_with("\tdiscarded by an operator"), "{line}");
    assert!(
        !receiver.event_ids().contains(&waiting_event),
        "a discarded delivery is not sent: {}",
        receiver.summary()
    );

    // Not queued: a dead letter, a delivered delivery (the CLI and REST say the same).
    let err = refused(&api, &["deliveries", "discard", "--webhook", &id, &waiting]);
    assert!(
        err.contains(&format!(
            "delivery {waiting} is dead: only a queued delivery can be discarded"
        )),
        "{err}"
    );
    let why = format!("delivery {delivered} is delivered: only a queued delivery can be discarded");
    let err = refused(
        &api,
        &["deliveries", "discard", "--webhook", &id, &delivered],
    );
    assert!(err.contains(&why), "{err}");
    api.post(&format!(
        "/api/v1/Webhook/{id}/Deliveries/{delivered}/Discard"
    ))
    .send()
    .await
    .error(409, "InvalidOperationException", &why);
    let err = refused(&api, &["deliveries", "discard", "--webhook", &id, "987654"]);
    assert!(err.contains("987654"), "{err}");
}

#[tokio::test]
async fn bad_arguments_are_refused_by_name() {
    let api = start().await;
    let err = refused(&api, &["deliveries", "retry", "987654"]);
    assert!(err.contains("delivery 987654 was not queued"), "{err}");
    let err = refused(&api, &["deliveries", "list", "--webhook", "77"]);
    assert!(err.contains("Webhook 77 does not exist"), "{err}");
    let created = api
        .create(json!({"Name": "x", "Events": ["a.b"], "TargetUrl": "http://127.0.0.1:9/", "State": "Active"}))
        .await;
    let id = rest::id_of(&created).to_string();
    let err = refused(
        &api,
        &["deliveries", "list", "--webhook", &id, "--status", "lost"],
    );
    assert!(err.contains("status 'lost' is not one of"), "{err}");
    let err = refused(
        &api,
        &["deliveries", "list", "--webhook", &id, "--limit", "0"],
    );
    assert!(err.contains("limit '0'"), "{err}");
    let err = refused(
        &api,
        &[
            "deliveries",
            "recover",
            "--webhook",
            &id,
            "--since",
            "yesterday",
        ],
    );
    assert!(
        err.contains("Since 'yesterday' is not an ISO 8601"),
        "{err}"
    );
    let err = refused(
        &api,
        &[
            "deliveries",
            "recover",
            "--webhook",
            &id,
            "--since",
            "2026-11-29T12:00:00Z",
            "--until",
            "2026-11-29T11:00:00Z",
        ],
    );
    assert!(err.contains("is after Until"), "{err}");
    let err = refused(&api, &["deliveries", "retry", "first"]);
    assert!(err.contains("first"), "{err}");
}

#[tokio::test]
async fn a_missing_sqlite_file_is_refused_not_created() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let path = dir.path().join("absent.db");
    let url = format!("sqlite://{}", path.display());
    let (ok, _, err) = cli(&["deliveries", "list", "--webhook", "1", "--database", &url]);
    assert!(!ok && !err.is_empty(), "{err}");
    assert!(!path.exists(), "the command created {}", path.display());
}
