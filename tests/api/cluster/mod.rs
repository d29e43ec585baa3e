//! Several `hookwire serve` processes (nodes) on one PostgreSQL database, with real receivers on
//! loopback. PostgreSQL only: each test is skipped (and says so on stderr) unless
//! `HOOKWIRE_TEST_DATABASE_URL` names a PostgreSQL server.
//! - 10,000 events signalled round-robin to three nodes each arrive exactly once;
//! - a node SIGKILLed mid-run loses no accepted event: the survivors take over its leases;
//! - under concurrent failures the usage counters count every attempt and the webhook is set
//!   to TooManyErrors once, with one `webhook{id}.errors` event;
//! - the per-webhook cap holds across the nodes (one serves a webhook at a time);
//! - an API-only node (`--no-dispatcher`) and a delivery-only node (`--no-api`): an event
//!   signalled on the first is delivered promptly by the second;
//! - `DeliveryOrder` `PerRecord`: per-record order across the nodes and through a SIGKILL, and a
//!   failing record blocks only itself.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::support::receiver::{Answer, Receiver, Request};
use crate::support::signal::{Signal, signal_event};
use crate::support::*;

mod cap;
mod exactly_once;
mod failures;
mod order;
mod roles;

const SKIP: &str = "skipped: set HOOKWIRE_TEST_DATABASE_URL to run the PostgreSQL cluster tests";
const EVENT: &str = "contact.changed";
const SECRET: &str = "cluster secret ✓";
const LOOPBACK: [&str; 4] = [
    "--allow-http-targets",
    "--allow-targets",
    "127.0.0.0/8",
    "--no-save-ping",
];
/// Upper bound of the waits that are not the subject of a test.
const WAIT: Duration = Duration::from_secs(90);

/// Each test runs several server processes: one test at a time, or they starve each other.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Whether the PostgreSQL server to test on is configured; says "skipped" when it is not.
fn postgres_configured() -> bool {
    if postgres_admin_url().is_none() {
        eprintln!("{SKIP}");
        return false;
    }
    true
}

/// `n` nodes on one fresh database, started one after the other (the first creates it).
fn start_cluster(n: usize, args: &[&str]) -> Vec<TestServer> {
    let first = TestServer::start(args);
    let mut nodes = Vec::with_capacity(n);
    for _ in 1..n {
        nodes.push(first.node(args));
    }
    nodes.insert(0, first);
    nodes
}

fn with_loopback<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = LOOPBACK.to_vec();
    args.extend_from_slice(extra);
    args
}

/// Saves a new Active webhook subscribed to `events` (with `SECRET`); returns its id.
async fn save_webhook(
    server: &TestServer,
    ticket: &str,
    name: &str,
    events: &[&str],
    target: &str,
) -> i32 {
    let extra = format!("<tns:Secret>{SECRET}</tns:Secret><tns:State>Active</tns:State>");
    let saved = server
        .call(
            NS88,
            SOAP11,
            ticket,
            "SaveWebhook",
            &webhook_xml(0, name, events, target, &extra),
        )
        .await
        .ok();
    saved
        .text("WebhookId")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("SaveWebhook gave no WebhookId: {}", saved.body))
}

/// GetWebhook (Services88, which carries the usage counters) through `server`.
async fn get_webhook(server: &TestServer, ticket: &str, id: i32) -> Reply {
    server
        .call_on_webhook(NS88, SOAP11, ticket, "GetWebhook", id)
        .await
        .ok()
}

/// A number member of a webhook carrier.
fn number(reply: &Reply, member: &str) -> i64 {
    reply
        .text(member)
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no number {member} in GetWebhook's reply: {}", reply.body))
}

/// Where SignalEvent calls go: one node's Webhook.svc and a ticket issued by that node.
#[derive(Clone)]
struct Endpoint {
    url: String,
    ticket: String,
}

async fn endpoints(nodes: &[TestServer]) -> Vec<Endpoint> {
    let mut out = Vec::new();
    for node in nodes {
        out.push(Endpoint {
            url: node.url("/Remote/Services88/Webhook.svc"),
            ticket: node.ticket().await,
        });
    }
    out
}

/// One SignalEvent call: its PrimaryKey, the node it went to, and what became of it.
type Outcome = (u32, usize, Signal);

/// Signals pks 1..=total with `concurrency` calls in flight, round-robin over the endpoints
/// whose `alive` flag is set (pk i goes to the (i mod live count)-th live one); counts
/// accepted calls in `accepted`.
fn spawn_signalling(
    endpoints: Vec<Endpoint>,
    alive: Arc<Vec<AtomicBool>>,
    total: u32,
    concurrency: usize,
    accepted: Arc<AtomicUsize>,
) -> tokio::task::JoinHandle<Vec<Outcome>> {
    let endpoints = Arc::new(endpoints);
    let next_pk = Arc::new(AtomicU32::new(1));
    tokio::spawn(async move {
        let mut workers = Vec::new();
        for _ in 0..concurrency {
            let (endpoints, alive, next_pk, accepted) = (
                endpoints.clone(),
                alive.clone(),
                next_pk.clone(),
                accepted.clone(),
            );
            workers.push(tokio::spawn(async move {
                let http = reqwest::Client::builder()
                    .timeout(Duration::from_secs(30))
                    .build()
                    .expect("HTTP client");
                let mut outcomes = Vec::new();
                loop {
                    let pk = next_pk.fetch_add(1, Ordering::SeqCst);
                    if pk > total {
                        break;
                    }
                    let live: Vec<usize> = (0..endpoints.len())
                        .filter(|&i| alive[i].load(Ordering::SeqCst))
                        .collect();
                    let node = live[pk as usize % live.len()];
                    let to = &endpoints[node];
                    let outcome = signal_event(&http, &to.url, &to.ticket, EVENT, pk).await;
                    if matches!(outcome, Signal::Accepted) {
                        accepted.fetch_add(1, Ordering::SeqCst);
                    }
                    outcomes.push((pk, node, outcome));
                }
                outcomes
            }));
        }
        let mut all = Vec::new();
        for worker in workers {
            all.extend(worker.await.expect("signalling worker"));
        }
        all
    })
}

/// The node that has made the most delivery attempts (its `/metrics`): the one serving the
/// webhook of a test with one.
async fn serving_node(nodes: &[TestServer]) -> usize {
    let http = reqwest::Client::new();
    let mut made = Vec::new();
    for node in nodes {
        let metrics = http
            .get(node.url("/metrics"))
            .send()
            .await
            .expect("GET /metrics")
            .text()
            .await
            .expect("metrics text");
        let attempts: f64 = metrics
            .lines()
            .filter(|line| line.starts_with("hookwire_delivery_attempts_total"))
            .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .sum();
        made.push(attempts);
    }
    let serving = (0..made.len())
        .max_by(|a, b| made[*a].total_cmp(&made[*b]))
        .expect("nodes");
    assert!(made[serving] > 0.0, "no node has made an attempt: {made:?}");
    serving
}

/// The body's `PrimaryKey`, if the body is JSON with one.
fn primary_key(r: &Request) -> Option<u64> {
    serde_json::from_slice::<serde_json::Value>(&r.body)
        .ok()?
        .get("PrimaryKey")?
        .as_u64()
}

/// Waits until every pk in `want` has been delivered at least once, or `within` has passed;
/// returns every request so far (the caller asserts on what is missing).
async fn wait_for_pks(receiver: &Receiver, want: &HashSet<u64>, within: Duration) -> Vec<Request> {
    let deadline = Instant::now() + within;
    let mut seen: HashSet<u64> = HashSet::new();
    let mut cursor = 0;
    receiver
        .wait_until(
            move |reqs| {
                seen.extend(
                    reqs[cursor..]
                        .iter()
                        .filter_map(primary_key)
                        .filter(|pk| want.contains(pk)),
                );
                cursor = reqs.len();
                seen.len() == want.len() || Instant::now() >= deadline
            },
            within + WAIT,
        )
        .await
}

/// Panics, listing the first ones, when some accepted pk was never delivered.
fn assert_all_delivered(accepted: &HashSet<u64>, requests: &[Request], within: Duration) {
    let delivered: HashSet<u64> = requests.iter().filter_map(primary_key).collect();
    let missing: BTreeSet<u64> = accepted.difference(&delivered).copied().collect();
    assert!(
        missing.is_empty(),
        "{} of {} accepted events were not delivered within {within:?}; first ones (PrimaryKey): {:?}",
        missing.len(),
        accepted.len(),
        missing.iter().take(20).collect::<Vec<_>>()
    );
}

/// Checks every delivery is a well-formed, signed POST of `EVENT` whose EventId header matches
/// its body; returns the problems found (at most a few lines each).
fn delivery_problems(requests: &[Request]) -> Vec<String> {
    let mut problems = Vec::new();
    for r in requests {
        let mut fail = |what: String| problems.push(format!("{what}: {}", r.summary()));
        if r.method != "POST" || r.header("X-SuperOffice-Event") != Some(EVENT) {
            fail("not a POST of the event".into());
        }
        if let Err(e) = r.verify_superoffice(SECRET) {
            fail(format!("SuperOffice signature: {e}"));
        }
        let Ok(body) = serde_json::from_slice::<serde_json::Value>(&r.body) else {
            fail("body is not JSON".into());
            continue;
        };
        if r.event_id().is_none() || body["EventId"].as_str() != r.event_id() {
            fail(format!(
                "X-SuperOffice-EventId {:?} vs body EventId {}",
                r.event_id(),
                body["EventId"]
            ));
        }
        match body["PrimaryKey"].as_u64() {
            Some(pk) if body["FieldValues"]["name"] == format!("pk-{pk}").as_str() => {}
            _ => fail("PrimaryKey / FieldValues.name".into()),
        }
    }
    problems
}

fn assert_no_problems(problems: &[String]) {
    assert!(
        problems.is_empty(),
        "{} malformed deliveries, first ones:\n{}",
        problems.len(),
        problems[..problems.len().min(10)].join("\n")
    );
}

/// pk -> the EventIds of its deliveries, repeats kept.
fn event_ids_by_pk(requests: &[Request]) -> BTreeMap<u64, Vec<String>> {
    let mut map: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for r in requests {
        if let (Some(pk), Some(id)) = (primary_key(r), r.event_id()) {
            map.entry(pk).or_default().push(id.to_string());
        }
    }
    map
}

/// Waits until every node's `/metrics` shows nothing pending and nothing dead.
async fn assert_queue_drains(nodes: &[&TestServer], within: Duration) {
    let deadline = Instant::now() + within;
    for node in nodes {
        loop {
            let (pending, delivered, dead) = node.queue().await;
            assert_eq!(dead, 0, "dead deliveries on {} ", node.base);
            if pending == 0 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{} still shows {pending} deliveries pending ({delivered} delivered) {within:?} \
                 after every event arrived",
                node.base
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}
