//! `hookwire webhook list|show|stop|restart|order|delete` (README.md, "Operator commands"),
//! run beside a running server on its database: a webhook its receiver disabled shows as
//! TooManyErrors, `restart` makes it Active and its parked deliveries reach the receiver once
//! it is healthy, `stop` and `delete` are what SOAP's GetWebhook then answers, `order` sets
//! DeliveryOrder alone as REST then answers (a value it does not know is refused naming the
//! ones it does), and an unknown id is refused by name.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::support::receiver::Receiver;
use crate::support::signal::{Signal, signal_event};
use crate::support::*;

/// Upper bound of every wait; never the subject of a test.
const WAIT: Duration = Duration::from_secs(60);
const EVENT: &str = "contact.created";

fn start() -> TestServer {
    TestServer::start(&[
        "--allow-http-targets",
        "--allow-targets",
        "127.0.0.0/8",
        "--no-save-ping",
        "--retry-delays-ms",
        "50",
        "--cycle-backoff-secs",
        "1",
        "--failures-to-disable",
        "3",
        "--poll-interval-ms",
        "100",
    ])
}

/// `hookwire ARGS` on the server's database, asserting success; its stdout.
fn run(server: &TestServer, args: &[&str]) -> String {
    let (ok, out, err) = server.cli(args);
    assert!(ok, "hookwire {} failed: {err}", args.join(" "));
    out
}

async fn save_webhook(server: &TestServer, ticket: &str, target: &str) -> i32 {
    let saved = server
        .call(
            NS88,
            SOAP11,
            ticket,
            "SaveWebhook",
            &webhook_xml(
                0,
                "cli hook",
                &[EVENT],
                target,
                "<tns:State>Active</tns:State>",
            ),
        )
        .await
        .ok();
    saved
        .text("WebhookId")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("SaveWebhook gave no WebhookId: {}", saved.body))
}

async fn get_webhook(server: &TestServer, ticket: &str, id: i32) -> Reply {
    server
        .call_on_webhook(NS88, SOAP11, ticket, "GetWebhook", id)
        .await
        .ok()
}

/// The line of webhook `id` in `webhook list`, split at its tabs.
fn listed(list: &str, id: i32) -> Vec<String> {
    let line = list
        .lines()
        .find(|l| l.split('\t').next() == Some(id.to_string().as_str()))
        .unwrap_or_else(|| panic!("webhook {id} not in the list:\n{list}"));
    line.split('\t').map(str::to_string).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_revives_a_disabled_webhook_and_its_parked_deliveries_arrive() {
    let receiver = Receiver::start().await;
    receiver.set_status(500);
    let server = start();
    let ticket = server.ticket().await;
    let target = receiver.url("/cli");
    let id = save_webhook(&server, &ticket, &target).await;
    let http = reqwest::Client::new();
    let endpoint = server.url("/Remote/Services88/Webhook.svc");
    for pk in 1..=3 {
        match signal_event(&http, &endpoint, &ticket, EVENT, pk).await {
            Signal::Accepted => {}
            other => panic!("SignalEvent {pk}: {other:?}"),
        }
    }

    let deadline = Instant::now() + WAIT;
    while get_webhook(&server, &ticket, id)
        .await
        .text("State")
        .as_deref()
        != Some("TooManyErrors")
    {
        assert!(Instant::now() < deadline, "never disabled");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let row = listed(&run(&server, &["webhook", "list"]), id);
    assert_eq!(row[1], "cli hook", "{row:?}");
    assert_eq!(row[2], "TooManyErrors", "{row:?}");
    assert_eq!(row[3], target, "{row:?}");
    assert_eq!(row[4], EVENT, "{row:?}");
    let consecutive: i32 = row[7].parse().expect("consecutive_errors is a number");
    assert!(consecutive >= 3, "{row:?}");

    let shown = run(&server, &["webhook", "show", &id.to_string()]);
    assert!(shown.contains("State: TooManyErrors\n"), "{shown}");
    let last_error = shown
        .lines()
        .find_map(|l| l.strip_prefix("LastError: "))
        .unwrap_or_default();
    assert!(
        last_error.contains("500"),
        "LastError names the status:\n{shown}"
    );
    assert!(shown.contains(&format!("TargetUrl: {target}\n")), "{shown}");

    // The receiver heals; the disabled webhook's deliveries wait until the operator restarts it.
    receiver.set_status(200);
    receiver.clear();
    let restarted = run(&server, &["webhook", "restart", &id.to_string()]);
    assert_eq!(restarted.trim(), format!("webhook {id} is Active"));
    let got = get_webhook(&server, &ticket, id).await;
    assert_eq!(got.text("State").as_deref(), Some("Active"), "{}", got.body);
    assert_eq!(
        got.text("ConsecutiveErrors").as_deref(),
        Some("0"),
        "a restart resets the counters: {}",
        got.body
    );

    let want: BTreeSet<i64> = (1..=3).collect();
    let deadline = Instant::now() + WAIT;
    loop {
        let delivered: BTreeSet<i64> = receiver
            .requests()
            .iter()
            .filter(|r| r.json()["Event"] == EVENT)
            .filter_map(|r| r.json()["PrimaryKey"].as_i64())
            .collect();
        if delivered == want {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "after the restart: delivered {delivered:?}, {}",
            get_webhook(&server, &ticket, id).await.body
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_and_delete_are_what_get_webhook_answers_and_an_unknown_id_is_refused() {
    let receiver = Receiver::start().await;
    let server = start();
    let ticket = server.ticket().await;
    let id = save_webhook(&server, &ticket, &receiver.url("/cli")).await;

    let stopped = run(&server, &["webhook", "stop", &id.to_string()]);
    assert_eq!(stopped.trim(), format!("webhook {id} is Stopped"));
    let got = get_webhook(&server, &ticket, id).await;
    assert_eq!(
        got.text("State").as_deref(),
        Some("Stopped"),
        "{}",
        got.body
    );

    let deleted = run(&server, &["webhook", "delete", &id.to_string()]);
    assert_eq!(deleted.trim(), format!("webhook {id} deleted"));
    let gone = get_webhook(&server, &ticket, id).await;
    assert!(gone.response_is_nil(), "deleted: {}", gone.body);
    assert!(
        !listed_ids(&run(&server, &["webhook", "list"])).contains(&id),
        "deleted webhook still listed"
    );

    let unknown = (id + 1000).to_string();
    for command in ["show", "stop", "restart", "delete"] {
        let (ok, out, err) = server.cli(&["webhook", command, &unknown]);
        assert!(!ok, "webhook {command} {unknown} succeeded: {out}");
        assert!(
            err.contains(&format!("no webhook with id {unknown}")),
            "webhook {command} {unknown}: {err}"
        );
    }
}

fn listed_ids(list: &str) -> Vec<i32> {
    list.lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next()?.parse().ok())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_sets_the_delivery_order_alone_and_a_bad_value_names_the_choices() {
    let receiver = Receiver::start().await;
    let server = start();
    let ticket = server.ticket().await;
    let id = save_webhook(&server, &ticket, &receiver.url("/cli")).await;
    let path = format!("/api/v1/Webhook/{id}");
    let before = server.get_json(&path).await;
    assert_eq!(before["DeliveryOrder"], "Any", "{before}");

    let said = run(
        &server,
        &["webhook", "order", &id.to_string(), "per-record"],
    );
    assert_eq!(
        said.trim(),
        format!("webhook {id} DeliveryOrder is PerRecord")
    );
    let after = server.get_json(&path).await;
    assert_eq!(after["DeliveryOrder"], "PerRecord", "{after}");
    for kept in ["Name", "State", "TargetUrl", "Events", "Registered"] {
        assert_eq!(after[kept], before[kept], "{kept} changed: {after}");
    }
    let shown = run(&server, &["webhook", "show", &id.to_string()]);
    assert!(shown.contains("DeliveryOrder: PerRecord\n"), "{shown}");

    let said = run(&server, &["webhook", "order", &id.to_string(), "any"]);
    assert_eq!(said.trim(), format!("webhook {id} DeliveryOrder is Any"));
    assert_eq!(server.get_json(&path).await["DeliveryOrder"], "Any");

    let (ok, out, err) = server.cli(&["webhook", "order", &id.to_string(), "sideways"]);
    assert!(!ok, "order sideways succeeded: {out}");
    assert!(
        err.contains("'sideways'") && err.contains("any, per-record"),
        "{err}"
    );
    assert_eq!(server.get_json(&path).await["DeliveryOrder"], "Any");

    let unknown = (id + 1000).to_string();
    let (ok, out, err) = server.cli(&["webhook", "order", &unknown, "any"]);
    assert!(!ok, "order of webhook {unknown} succeeded: {out}");
    assert!(
        err.contains(&format!("no webhook with id {unknown}")),
        "{err}"
    );
}
