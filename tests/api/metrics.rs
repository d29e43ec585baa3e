//! What an operator sees: `/metrics` is valid Prometheus text whose counters match what a real
//! receiver saw, and `--log-format json` writes one JSON object per line, with one line per
//! delivery attempt. docs/OPERATIONS.md. SQLite, and PostgreSQL with
//! `HOOKWIRE_TEST_DATABASE_URL`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::receiver::Receiver;
use crate::support::signal::{Signal, signal_event};
use crate::support::{NS88, SOAP11, TestServer, webhook_xml};

const LOOPBACK: [&str; 4] = [
    "--allow-http-targets",
    "--allow-targets",
    "127.0.0.0/8",
    "--no-save-ping",
];

/// Samples by series: the metric name and its labels, sorted (`name{a="1",b="2"}`).
type Samples = BTreeMap<String, f64>;

/// Parses the Prometheus text exposition format (0.0.4) strictly: every line a comment, a
/// `# HELP`/`# TYPE` line or a sample; one TYPE per family, before its samples; names and
/// label names valid; label values quoted with only `\\`, `\"`, `\n` escapes; no series twice;
/// histogram buckets cumulative, ending in `+Inf` equal to `_count`. Panics naming the line.
fn parse_prometheus(text: &str) -> Samples {
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut samples = Samples::new();
    for (n, line) in text.lines().enumerate() {
        let at = || format!("line {}: {line:?}", n + 1);
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            let mut words = comment.trim_start().splitn(3, ' ');
            match (words.next(), words.next(), words.next()) {
                (Some("TYPE"), Some(name), Some(kind)) => {
                    assert!(valid_name(name), "bad metric name, {}", at());
                    assert!(
                        ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                        "unknown type, {}",
                        at()
                    );
                    assert!(
                        types.insert(name.to_string(), kind.to_string()).is_none(),
                        "TYPE twice, {}",
                        at()
                    );
                    assert!(
                        !samples.keys().any(|k| family_of(k, &types) == Some(name)),
                        "TYPE after its samples, {}",
                        at()
                    );
                }
                (Some("HELP"), Some(name), _) => {
                    assert!(valid_name(name), "bad metric name, {}", at())
                }
                _ => {} // a plain comment
            }
            continue;
        }
        let (series, value) = parse_sample(line).unwrap_or_else(|why| panic!("{why}, {}", at()));
        assert!(
            samples.insert(series.clone(), value).is_none(),
            "series twice, {}",
            at()
        );
        assert!(
            family_of(&series, &types).is_some(),
            "sample without a TYPE, {}",
            at()
        );
    }
    check_histograms(&samples, &types);
    samples
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// `name{labels} value [timestamp]` as (`name{sorted labels}`, value).
fn parse_sample(line: &str) -> Result<(String, f64), String> {
    let name_end = line.find(['{', ' ']).ok_or("no value")?;
    let name = &line[..name_end];
    if !valid_name(name) {
        return Err("bad metric name".into());
    }
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(inner) = rest.strip_prefix('{') {
        let mut chars = inner.char_indices().peekable();
        loop {
            let (start, c) = chars.next().ok_or("unterminated labels")?;
            if c == '}' {
                rest = &inner[start + 1..];
                break;
            }
            if c == ',' && !labels.is_empty() {
                continue;
            }
            let eq = inner[start..].find('=').ok_or("label without =")? + start;
            let label = &inner[start..eq];
            if !valid_name(label) || label.contains(':') {
                return Err(format!("bad label name {label:?}"));
            }
            while chars.peek().is_some_and(|(i, _)| *i <= eq) {
                chars.next();
            }
            if chars.next().map(|(_, c)| c) != Some('"') {
                return Err("label value not quoted".into());
            }
            let mut value = String::new();
            loop {
                match chars.next().ok_or("unterminated label value")?.1 {
                    '"' => break,
                    '\\' => match chars.next().ok_or("dangling escape")?.1 {
                        '\\' => value.push('\\'),
                        '"' => value.push('"'),
                        'n' => value.push('\n'),
                        other => return Err(format!("bad escape \\{other}")),
                    },
                    '\n' => return Err("newline in label value".into()),
                    other => value.push(other),
                }
            }
            labels.push(format!("{label}={value:?}"));
        }
    }
    let mut words = rest
        .strip_prefix(' ')
        .ok_or("no space before value")?
        .split(' ');
    let value = match words.next().ok_or("no value")? {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        v => v.parse().map_err(|e| format!("bad value {v:?}: {e}"))?,
    };
    if let Some(ts) = words.next() {
        ts.parse::<i64>()
            .map_err(|e| format!("bad timestamp: {e}"))?;
    }
    if words.next().is_some() {
        return Err("text after the timestamp".into());
    }
    let mut sorted = labels.clone();
    sorted.sort();
    if sorted
        .windows(2)
        .any(|w| label_name(&w[0]) == label_name(&w[1]))
    {
        return Err("label twice".into());
    }
    Ok((format!("{name}{{{}}}", sorted.join(",")), value))
}

fn label_name(label: &str) -> &str {
    label.split('=').next().unwrap_or_default()
}

/// The declared family a series belongs to (histogram and summary series carry suffixes).
fn family_of<'a>(series: &str, types: &'a BTreeMap<String, String>) -> Option<&'a str> {
    let name = &series[..series.find('{').unwrap_or(series.len())];
    types.iter().find_map(|(family, kind)| {
        let suffixes: &[&str] = match kind.as_str() {
            "histogram" => &["_bucket", "_sum", "_count"],
            "summary" => &["", "_sum", "_count"],
            _ => &[""],
        };
        suffixes
            .iter()
            .any(|s| name.strip_suffix(s) == Some(family.as_str()))
            .then_some(family.as_str())
    })
}

/// Each histogram series: buckets cumulative in `le` order, the last `+Inf`, equal to `_count`.
fn check_histograms(samples: &Samples, types: &BTreeMap<String, String>) {
    for (family, _) in types.iter().filter(|(_, kind)| *kind == "histogram") {
        let prefix = format!("{family}_bucket{{");
        let mut by_series: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
        for (series, value) in samples.range(prefix.clone()..) {
            let Some(labels) = series.strip_prefix(&prefix) else {
                break;
            };
            let labels = labels.trim_end_matches('}');
            let (le, others): (Vec<&str>, Vec<&str>) =
                labels.split(',').partition(|l| l.starts_with("le="));
            let le = le
                .first()
                .map(|l| l.trim_start_matches("le=").trim_matches('"'));
            let le = match le {
                Some("+Inf") => f64::INFINITY,
                Some(v) => v
                    .parse()
                    .unwrap_or_else(|e| panic!("{series}: le {v}: {e}")),
                None => panic!("{series}: a bucket without le"),
            };
            by_series
                .entry(others.join(","))
                .or_default()
                .push((le, *value));
        }
        for (labels, mut buckets) in by_series {
            buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
            assert!(
                buckets.windows(2).all(|w| w[0].1 <= w[1].1),
                "{family}{{{labels}}}: buckets not cumulative: {buckets:?}"
            );
            let last = buckets.last().copied().unwrap_or((0.0, 0.0));
            assert_eq!(
                last.0,
                f64::INFINITY,
                "{family}{{{labels}}}: no +Inf bucket"
            );
            let count = samples.get(&format!("{family}_count{{{labels}}}"));
            assert_eq!(
                count,
                Some(&last.1),
                "{family}{{{labels}}}: _count is not the +Inf bucket"
            );
        }
    }
}

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

/// The value of a series, 0 when absent (a counter never incremented).
fn value(samples: &Samples, series: &str) -> f64 {
    samples.get(series).copied().unwrap_or(0.0)
}

/// The sum of every series of metric `name` whose labels include all of `having`.
fn sum(samples: &Samples, name: &str, having: &[&str]) -> f64 {
    samples
        .iter()
        .filter(|(series, _)| {
            series
                .strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{'))
                && having.iter().all(|label| series.contains(label))
        })
        .map(|(_, v)| v)
        .sum()
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
