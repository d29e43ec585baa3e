//! What an operator sees: `/metrics` is valid Prometheus text whose counters match what a real
//! receiver saw, and `--log-format json` writes one JSON object per line, with one line per
//! delivery attempt. docs/OPERATIONS.md. SQLite, and PostgreSQL with
//! `HOOKWIRE_TEST_DATABASE_URL`.

use std::time::{Duration, Instant};

use serde_json::Value;

mod prometheus_text;

use prometheus_text::{Samples, parse_prometheus, sum, value};

use crate::support::receiver::Receiver;
use crate::support::signal::{Signal, signal_event};
use crate::support::{NS88, SOAP11, TestServer, webhook_xml};

const LOOPBACK: [&str; 4] = [
    "--allow-http-targets",
    "--allow-targets",
    "127.0.0.0/8",
    "--no-save-ping",
];

async fn scrape(server: &TestServer) -> (String, Samples) {
    let response = server
        .http
        .get(server.url("/metrics"))
        .send()
        .await
        .expect("GET /metrics");
    assert_eq!(response.status(), 200);
    let text = response.text().await.expect("the body");
    let samples = parse_prometheus(&text);
    (text, samples)
}

async fn register(server: &TestServer, ticket: &str, url: &str) -> String {
    server
        .call(
            NS88,
            SOAP11,
            ticket,
            "SaveWebhook",
            &webhook_xml(0, "observed", &["order.*"], url, ""),
        )
        .await
        .ok()
        .text("WebhookId")
        .expect("a WebhookId")
}

async fn signal_all(server: &TestServer, ticket: &str, n: u32) {
    let endpoint = server.url("/Remote/Services88/Webhook.svc");
    for pk in 1..=n {
        match signal_event(&server.http, &endpoint, ticket, "order.created", pk).await {
            Signal::Accepted => {}
            other => panic!("SignalEvent {pk}: {other:?}"),
        }
    }
}

/// Scrapes until `done` holds (the dispatcher records an attempt's metrics just before its
/// outcome is stored, so the receiver may see a request a moment before the counters do).
async fn scrape_until(server: &TestServer, done: impl Fn(&Samples) -> bool) -> Samples {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (text, samples) = scrape(server).await;
        if done(&samples) {
            return samples;
        }
        assert!(
            Instant::now() < deadline,
            "/metrics never got there:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn metrics_are_prometheus_text_and_count_what_the_receiver_saw() {
    let server = TestServer::start(&LOOPBACK);
    let receiver = Receiver::start().await;
    receiver.fail_first(2, 500);
    let ticket = server.ticket().await;
    register(&server, &ticket, &receiver.url("/orders")).await;
    const EVENTS: u32 = 5;
    signal_all(&server, &ticket, EVENTS).await;
    receiver
        .wait_until(
            |reqs| {
                let ids: std::collections::HashSet<_> =
                    reqs.iter().filter_map(|r| r.event_id()).collect();
                ids.len() == EVENTS as usize && reqs.len() == EVENTS as usize + 2
            },
            Duration::from_secs(30),
        )
        .await;
    // Routes of each family, each once: a WSDL, a 404, the health check.
    let wsdl = server.url("/Remote/Services88/Webhook.svc?wsdl");
    assert_eq!(server.http.get(wsdl).send().await.unwrap().status(), 200);
    let nowhere = server.url("/nowhere");
    assert_eq!(server.http.get(nowhere).send().await.unwrap().status(), 404);
    let health = server.url("/health");
    assert_eq!(server.http.get(health).send().await.unwrap().status(), 200);

    let m = scrape_until(&server, |m| {
        value(m, r#"hookwire_deliveries{status="delivered"}"#) == f64::from(EVENTS)
    })
    .await;
    let seen = receiver.len() as f64;
    let delivered = f64::from(EVENTS);
    assert_eq!(
        value(&m, "hookwire_signal_events_accepted_total{}"),
        delivered
    );
    assert_eq!(value(&m, "hookwire_deliveries_queued_total{}"), delivered);
    // Attempts: every request the receiver saw, by what it answered.
    assert_eq!(sum(&m, "hookwire_delivery_attempts_total", &[]), seen);
    let attempts = |outcome: &str, class: &str| {
        value(
            &m,
            &format!(
                "hookwire_delivery_attempts_total{{outcome=\"{outcome}\",status_class=\"{class}\"}}"
            ),
        )
    };
    assert_eq!(attempts("failed", "5xx"), 2.0);
    assert_eq!(attempts("delivered", "2xx"), delivered);
    assert_eq!(
        sum(&m, "hookwire_delivery_attempt_duration_seconds_count", &[]),
        seen
    );
    assert_eq!(
        value(
            &m,
            r#"hookwire_delivery_attempt_duration_seconds_count{outcome="failed"}"#
        ),
        2.0
    );
    assert_eq!(
        value(&m, "hookwire_delivery_latency_seconds_count{}"),
        delivered
    );
    assert!(value(&m, "hookwire_delivery_latency_seconds_sum{}") > 0.0);
    // The queue and the webhooks, read at scrape time.
    assert_eq!(value(&m, r#"hookwire_deliveries{status="pending"}"#), 0.0);
    assert_eq!(value(&m, r#"hookwire_deliveries{status="dead"}"#), 0.0);
    assert_eq!(value(&m, "hookwire_oldest_due_delivery_age_seconds{}"), 0.0);
    assert_eq!(value(&m, r#"hookwire_webhooks{state="Active"}"#), 1.0);
    assert_eq!(value(&m, r#"hookwire_webhooks{state="Stopped"}"#), 0.0);
    assert_eq!(
        value(&m, r#"hookwire_webhooks{state="TooManyErrors"}"#),
        0.0
    );
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        value(&m, &format!("hookwire_build_info{{version=\"{version}\"}}")),
        1.0
    );
    // HTTP: login, SaveWebhook and the signals on .svc endpoints; one of each other family.
    let http = |family: &str, status: u16| {
        value(
            &m,
            &format!("hookwire_http_requests_total{{family=\"{family}\",status=\"{status}\"}}"),
        )
    };
    assert_eq!(http("soap", 200), f64::from(2 + EVENTS));
    assert_eq!(http("wsdl", 200), 1.0);
    assert_eq!(http("other", 404), 1.0);
    assert_eq!(http("health", 200), 1.0);
    let scrapes = http("metrics", 200);
    let (_, again) = scrape(&server).await;
    assert_eq!(
        value(
            &again,
            r#"hookwire_http_requests_total{family="metrics",status="200"}"#
        ),
        scrapes + 1.0,
        "each scrape counts once"
    );
}

#[tokio::test]
async fn the_oldest_due_delivery_ages_until_its_webhook_stops() {
    // A node that does not deliver: what is signalled stays due, unclaimed.
    let mut args = LOOPBACK.to_vec();
    args.push("--no-dispatcher");
    let server = TestServer::start(&args);
    let receiver = Receiver::start().await;
    let ticket = server.ticket().await;
    let id = register(&server, &ticket, &receiver.url("/orders")).await;
    signal_all(&server, &ticket, 2).await;
    let m = scrape_until(&server, |m| {
        value(m, "hookwire_oldest_due_delivery_age_seconds{}") > 0.0
    })
    .await;
    assert_eq!(value(&m, r#"hookwire_deliveries{status="pending"}"#), 2.0);
    assert_eq!(value(&m, "hookwire_signal_events_accepted_total{}"), 2.0);
    assert_eq!(sum(&m, "hookwire_delivery_attempts_total", &[]), 0.0);

    // Stopped, its deliveries wait on purpose: nothing is late any more.
    server
        .call(
            NS88,
            SOAP11,
            &ticket,
            "SaveWebhook",
            &webhook_xml(
                id.parse().expect("a numeric id"),
                "observed",
                &["order.*"],
                &receiver.url("/orders"),
                "<tns:State>Stopped</tns:State>",
            ),
        )
        .await
        .ok();
    let (_, stopped) = scrape(&server).await;
    assert_eq!(
        value(&stopped, "hookwire_oldest_due_delivery_age_seconds{}"),
        0.0
    );
    assert_eq!(
        value(&stopped, r#"hookwire_webhooks{state="Stopped"}"#),
        1.0
    );
    assert_eq!(value(&stopped, r#"hookwire_webhooks{state="Active"}"#), 0.0);
    assert!(receiver.is_empty());
}

#[tokio::test]
async fn json_logs_are_one_object_per_line_with_a_line_per_attempt() {
    let mut args = LOOPBACK.to_vec();
    args.extend(["--log-format", "json"]);
    let server = TestServer::start_capturing_log(&args);
    let receiver = Receiver::start().await;
    receiver.fail_first(1, 500);
    let ticket = server.ticket().await;
    let id = register(&server, &ticket, &receiver.url("/orders")).await;
    signal_all(&server, &ticket, 1).await;
    let requests = receiver.wait_for_requests(2, Duration::from_secs(30)).await;
    let event_id = requests[0].event_id().expect("an EventId").to_string();

    let deadline = Instant::now() + Duration::from_secs(10);
    let attempts = loop {
        let log = server.log();
        let lines: Vec<Value> = log
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}")))
            .collect();
        assert!(lines.iter().all(Value::is_object), "{log}");
        let attempts: Vec<Value> = lines
            .into_iter()
            .filter(|l| l["fields"]["message"] == "delivery attempt")
            .collect();
        if attempts.len() >= 2 {
            break attempts;
        }
        assert!(Instant::now() < deadline, "no two attempt lines in:\n{log}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(attempts.len(), 2, "{attempts:#?}");
    for (line, (number, status, outcome)) in attempts
        .iter()
        .zip([(1, 500, "failed"), (2, 200, "delivered")])
    {
        assert_eq!(line["level"], "INFO", "{line}");
        let f = &line["fields"];
        assert_eq!(f["webhook_id"].to_string(), id, "{line}");
        assert_eq!(f["event_id"], event_id.as_str(), "{line}");
        assert_eq!(f["event"], "order.created", "{line}");
        assert_eq!(f["attempt"], number, "{line}");
        assert_eq!(f["status"], status, "{line}");
        assert_eq!(f["outcome"], outcome, "{line}");
        assert!(f["duration_ms"].is_u64(), "{line}");
    }
}
