//! Several `hookwire serve` processes (nodes) on one PostgreSQL database, with real receivers on
//! loopback. PostgreSQL only: each test is skipped (and says so on stderr) unless
//! `HOOKWIRE_TEST_DATABASE_URL` names a PostgreSQL server.
//! - 10,000 events signalled round-robin to three nodes each arrive exactly once;
//! - a node SIGKILLed mid-run loses no accepted event: the survivors take over its leases;
//! - under concurrent failures the usage counters count every attempt and the webhook is set
//!   to TooManyErrors once, with one `webhook{id}.errors` event;
//! - an API-only node (`--no-dispatcher`) and a delivery-only node (`--no-api`): an event
//!   signalled on the first is delivered promptly by the second.

mod support;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use support::receiver::{Answer, Receiver, Request};
use support::signal::{Signal, signal_event};
use support::*;

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
        .call(
            NS88,
            SOAP11,
            ticket,
            "GetWebhook",
            &format!("<tns:WebhookId>{id}</tns:WebhookId>"),
        )
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

const EVENTS: u32 = 10_000;
const IN_FLIGHT_CALLS: usize = 32;
/// Per node, overall and per webhook.
const NODE_MAX_IN_FLIGHT: &str = "32";
/// From the end of the signalling to the last delivery.
const DELIVER_WITHIN: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_deliver_every_event_exactly_once() {
    if !postgres_configured() {
        return;
    }
    let _alone = ONE_AT_A_TIME.lock().await;
    let started = Instant::now();
    let receiver = Receiver::start().await;
    let nodes = start_cluster(
        3,
        &with_loopback(&[
            "--max-in-flight",
            NODE_MAX_IN_FLIGHT,
            "--per-webhook-in-flight",
            NODE_MAX_IN_FLIGHT,
        ]),
    );
    let endpoints = endpoints(&nodes).await;
    save_webhook(
        &nodes[0],
        &endpoints[0].ticket,
        "cluster hook",
        &[EVENT],
        &receiver.url("/cluster"),
    )
    .await;

    let alive = Arc::new(vec![
        AtomicBool::new(true),
        AtomicBool::new(true),
        AtomicBool::new(true),
    ]);
    let outcomes = spawn_signalling(
        endpoints,
        alive,
        EVENTS,
        IN_FLIGHT_CALLS,
        Arc::new(AtomicUsize::new(0)),
    )
    .await
    .expect("signalling");
    let signalled_at = Instant::now();
    let mut per_node = [0usize; 3];
    let mut accepted: HashSet<u64> = HashSet::new();
    let mut failed = Vec::new();
    for (pk, node, outcome) in outcomes {
        match outcome {
            Signal::Accepted => {
                per_node[node] += 1;
                accepted.insert(pk.into());
            }
            other => failed.push((pk, node, other)),
        }
    }
    assert!(
        failed.is_empty(),
        "{} SignalEvent calls to healthy nodes failed; first ones (pk, node, outcome): {:?}",
        failed.len(),
        &failed[..failed.len().min(3)]
    );
    assert_eq!(accepted.len(), EVENTS as usize, "accepted events");

    let requests = wait_for_pks(&receiver, &accepted, DELIVER_WITHIN).await;
    let delivered_at = Instant::now();
    assert_all_delivered(&accepted, &requests, DELIVER_WITHIN);
    // Late duplicates would come now, if at all.
    assert_queue_drains(&nodes.iter().collect::<Vec<_>>(), Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let requests = receiver.requests();
    assert_no_problems(&delivery_problems(&requests));

    let by_pk = event_ids_by_pk(&requests);
    let unknown: Vec<&u64> = by_pk.keys().filter(|pk| !accepted.contains(pk)).collect();
    assert!(
        unknown.is_empty(),
        "delivered but never signalled: {unknown:?}"
    );
    let repeated: Vec<(&u64, &Vec<String>)> =
        by_pk.iter().filter(|(_, ids)| ids.len() != 1).collect();
    assert!(
        repeated.is_empty(),
        "{} events were delivered more than once without any crash; first ones (pk, EventIds): {:?}",
        repeated.len(),
        &repeated[..repeated.len().min(5)]
    );
    let distinct: HashSet<&str> = requests.iter().filter_map(|r| r.event_id()).collect();
    assert_eq!(
        (requests.len(), distinct.len()),
        (EVENTS as usize, EVENTS as usize),
        "(deliveries, distinct EventIds): each event must arrive once, with its own EventId"
    );
    let not_first_try: Vec<String> = requests
        .iter()
        .filter(|r| r.status != 200 || r.retry() != Some(0))
        .map(Request::summary)
        .take(5)
        .collect();
    assert!(
        not_first_try.is_empty(),
        "the receiver always answers 200, so no attempt should be a retry: {not_first_try:?}"
    );

    let signalling = signalled_at - started;
    eprintln!(
        "cluster: {EVENTS} events accepted by the 3 nodes ({per_node:?}) in {signalling:?} \
         ({:.0}/s); all delivered exactly once {:?} after the last was accepted",
        f64::from(EVENTS) / signalling.as_secs_f64(),
        delivered_at - signalled_at
    );
}

/// Accepted events counted before one node is killed.
const KILL_AFTER: usize = 1_500;
/// Events of the crash test: fewer, since its slow receiver takes about 120 a second.
const CRASH_EVENTS: u32 = 4_000;
/// Attempts in flight per node in the crash test. Three nodes hold at most 24, below the
/// webhook's cap (32), and the receiver's 200 ms answers keep a backlog: every node, the victim
/// included, is holding its 8 leases when the kill comes.
const CRASH_NODE_IN_FLIGHT: &str = "8";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkilled_node_loses_no_accepted_event() {
    if !postgres_configured() {
        return;
    }
    let _alone = ONE_AT_A_TIME.lock().await;
    let started = Instant::now();
    let receiver = Receiver::start().await;
    // Slow answers keep deliveries in flight, so the kill interrupts some.
    receiver.set_delay(Duration::from_millis(200));
    let mut nodes = start_cluster(
        3,
        &with_loopback(&[
            "--max-in-flight",
            CRASH_NODE_IN_FLIGHT,
            "--per-webhook-in-flight",
            NODE_MAX_IN_FLIGHT,
        ]),
    );
    let endpoints = endpoints(&nodes).await;
    save_webhook(
        &nodes[0],
        &endpoints[0].ticket,
        "crash hook",
        &[EVENT],
        &receiver.url("/crash"),
    )
    .await;

    let alive = Arc::new(vec![
        AtomicBool::new(true),
        AtomicBool::new(true),
        AtomicBool::new(true),
    ]);
    let accepted_count = Arc::new(AtomicUsize::new(0));
    let signalling = spawn_signalling(
        endpoints,
        alive.clone(),
        CRASH_EVENTS,
        IN_FLIGHT_CALLS,
        accepted_count.clone(),
    );

    const VICTIM: usize = 1;
    let deadline = Instant::now() + WAIT;
    while accepted_count.load(Ordering::SeqCst) < KILL_AFTER {
        assert!(
            Instant::now() < deadline && !signalling.is_finished(),
            "only {} events accepted before the signalling ended or {WAIT:?} passed",
            accepted_count.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // New calls go to the survivors only; calls already on their way to the victim are lost.
    alive[VICTIM].store(false, Ordering::SeqCst);
    nodes[VICTIM].kill();
    let killed_at = Instant::now();
    let accepted_at_kill = accepted_count.load(Ordering::SeqCst);

    let outcomes = signalling.await.expect("signalling");
    let signalled_at = Instant::now();
    let mut accepted: HashSet<u64> = HashSet::new();
    let mut lost: HashSet<u64> = HashSet::new();
    let mut lost_reason = String::new();
    let mut failed = Vec::new();
    for (pk, node, outcome) in outcomes {
        match outcome {
            Signal::Accepted => {
                accepted.insert(pk.into());
            }
            Signal::Lost(e) if node == VICTIM => {
                lost.insert(pk.into());
                lost_reason = e;
            }
            other => failed.push((pk, node, other)),
        }
    }
    assert!(
        failed.is_empty(),
        "{} SignalEvent calls failed other than those in flight to the killed node; first ones \
         (pk, node, outcome): {:?}",
        failed.len(),
        &failed[..failed.len().min(3)]
    );
    assert!(
        accepted.len() + lost.len() == CRASH_EVENTS as usize && accepted.len() > KILL_AFTER,
        "{} accepted + {} lost of {CRASH_EVENTS} signalled",
        accepted.len(),
        lost.len()
    );

    let requests = wait_for_pks(&receiver, &accepted, DELIVER_WITHIN).await;
    let delivered_at = Instant::now();
    assert_all_delivered(&accepted, &requests, DELIVER_WITHIN);
    // The killed node's leases (attempts it had started) are released by the survivors and
    // finished: nothing stays pending.
    let survivors: Vec<&TestServer> = nodes
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != VICTIM)
        .map(|(_, n)| n)
        .collect();
    assert_queue_drains(&survivors, Duration::from_secs(60)).await;
    let drained_at = Instant::now();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let requests = receiver.requests();
    assert_no_problems(&delivery_problems(&requests));

    let by_pk = event_ids_by_pk(&requests);
    // A pk whose SignalEvent died with the node may have been stored; nothing else may appear.
    let unknown: Vec<&u64> = by_pk
        .keys()
        .filter(|pk| !accepted.contains(pk) && !lost.contains(pk))
        .collect();
    assert!(
        unknown.is_empty(),
        "delivered but never signalled: {unknown:?}"
    );
    let split: Vec<_> = by_pk
        .iter()
        .filter(|(_, ids)| ids.iter().collect::<HashSet<_>>().len() != 1)
        .take(5)
        .collect();
    assert!(
        split.is_empty(),
        "one event, several EventIds (pk, EventIds): {split:?}"
    );
    let distinct: HashSet<&str> = requests.iter().filter_map(|r| r.event_id()).collect();
    let duplicates = requests.len() - distinct.len();
    let max_in_flight: usize = CRASH_NODE_IN_FLIGHT.parse().expect("number");
    assert!(
        duplicates <= max_in_flight,
        "{duplicates} duplicate deliveries; only the killed node's attempts in flight \
         (at most {max_in_flight}) may be repeated"
    );
    assert!(
        duplicates > 0,
        "no delivery was repeated, so the killed node had no attempt in flight: the test did \
         not exercise taking over a dead node's leases"
    );

    eprintln!(
        "cluster crash: node {VICTIM} SIGKILLed at {:?} with {accepted_at_kill} events accepted; \
         {} accepted in all, {} calls lost with the node ({lost_reason}); {duplicates} duplicate \
         deliveries; all signalled at {:?}, all accepted events delivered {:?} later, \
         queue drained {:?} after the kill",
        killed_at - started,
        accepted.len(),
        lost.len(),
        signalled_at - started,
        delivered_at - signalled_at,
        drained_at - killed_at,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_failures_are_all_counted_and_disable_once() {
    if !postgres_configured() {
        return;
    }
    let _alone = ONE_AT_A_TIME.lock().await;
    // Every attempt fails, slowly enough that many overlap across the nodes.
    let failing = Receiver::start().await;
    failing.set_answer(
        Answer::status(500)
            .with_body("down")
            .with_delay(Duration::from_millis(200)),
    );
    let watcher = Receiver::start().await;
    let nodes = start_cluster(
        3,
        &with_loopback(&[
            "--failures-to-disable",
            "9",
            "--retry-delays-ms",
            "50,50",
            "--delivery-timeout-secs",
            "2",
            // Room for many attempts at once (the limit may be cluster-wide).
            "--per-webhook-in-flight",
            "32",
        ]),
    );
    let endpoints = endpoints(&nodes).await;
    let ticket = endpoints[0].ticket.clone();
    let id = save_webhook(&nodes[0], &ticket, "failing", &[EVENT], &failing.url("/f")).await;
    let states = [
        format!("webhook{id}.errors"),
        format!("webhook{id}.started"),
        format!("webhook{id}.stopped"),
    ];
    let state_refs: Vec<&str> = states.iter().map(String::as_str).collect();
    save_webhook(
        &nodes[0],
        &ticket,
        "watcher",
        &state_refs,
        &watcher.url("/w"),
    )
    .await;

    const FAILING_EVENTS: u32 = 90;
    let alive = Arc::new(vec![
        AtomicBool::new(true),
        AtomicBool::new(true),
        AtomicBool::new(true),
    ]);
    let outcomes = spawn_signalling(
        endpoints,
        alive,
        FAILING_EVENTS,
        30,
        Arc::new(AtomicUsize::new(0)),
    )
    .await
    .expect("signalling");
    let failed: Vec<&Outcome> = outcomes
        .iter()
        .filter(|(_, _, o)| !matches!(o, Signal::Accepted))
        .collect();
    assert!(failed.is_empty(), "SignalEvent failed: {failed:?}");

    // Disabled...
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let w = get_webhook(&nodes[0], &ticket, id).await;
        match w.text("State").as_deref() {
            Some("TooManyErrors") => break,
            Some("Active") => {}
            other => panic!("webhook state {other:?}: {}", w.body),
        }
        assert!(
            Instant::now() < deadline,
            "still Active after 60 s of failures: {}\nreceiver: {}",
            w.body,
            failing.summary()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // ...then quiet: the attempts in flight at that moment finish, and no new ones start.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = (failing.len(), Instant::now());
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = failing.len();
        if now != last.0 {
            last = (now, Instant::now());
        } else if last.1.elapsed() >= Duration::from_secs(3) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "attempts to a TooManyErrors webhook keep coming: {}",
            failing.summary()
        );
    }
    let attempts = failing.requests();
    let n = attempts.len() as i64;
    assert!(n >= 9, "TooManyErrors after only {n} attempts");

    // Exactly one state event, `.errors`, for the one switch to TooManyErrors.
    watcher.wait_for_requests(1, Duration::from_secs(15)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let events = watcher.requests();
    let names: Vec<&str> = events
        .iter()
        .map(|r| r.header("X-SuperOffice-Event").unwrap_or("-"))
        .collect();
    assert_eq!(
        names,
        [states[0].as_str()],
        "state events delivered to the watcher: {}",
        watcher.summary()
    );
    let body = events[0].json();
    assert_eq!(
        (
            body["PrimaryKey"].as_i64(),
            body["FieldValues"]["state"].as_i64()
        ),
        (Some(i64::from(id)), Some(3)),
        "the .errors event names the webhook and its state TooManyErrors (3): {body}"
    );

    // Every node reports the same counters, and they count every attempt the receiver got.
    for node in &nodes {
        let ticket = node.ticket().await;
        let deadline = Instant::now() + Duration::from_secs(5);
        let w = loop {
            let w = get_webhook(node, &ticket, id).await;
            if number(&w, "TotalCalls") == n || Instant::now() >= deadline {
                break w;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(
            (
                w.text("State").unwrap_or_default(),
                number(&w, "TotalCalls"),
                number(&w, "TotalErrors"),
            ),
            ("TooManyErrors".to_string(), n, n),
            "GetWebhook on {} (State, TotalCalls, TotalErrors) after {n} failed attempts",
            node.base
        );
        // ConsecutiveErrors counts probe failures only (docs/DELIVERY.md, "Probing"): each
        // node probes on its own, so the switch at 9 may be joined by one probe per other node.
        let consecutive = number(&w, "ConsecutiveErrors");
        assert!(
            (9..=9 + 2).contains(&consecutive),
            "ConsecutiveErrors {consecutive} on {} after {n} failed attempts",
            node.base
        );
    }

    // How many attempts overlapped (each is answered 200 ms after it arrived).
    let most_at_once = attempts
        .iter()
        .map(|a| {
            attempts
                .iter()
                .filter(|b| b.at <= a.at && a.at < b.at + Duration::from_millis(200))
                .count()
        })
        .max()
        .unwrap_or(0);
    eprintln!(
        "cluster counters: {n} failed attempts for {FAILING_EVENTS} events, up to {most_at_once} \
         at once; TotalCalls = TotalErrors = {n} on all 3 nodes; one .errors event"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn api_node_and_delivery_node_split_the_work() {
    if !postgres_configured() {
        return;
    }
    let _alone = ONE_AT_A_TIME.lock().await;
    let receiver = Receiver::start().await;
    let api_args = with_loopback(&["--no-dispatcher"]);
    let delivery_args = with_loopback(&["--no-api"]);
    let api = TestServer::start(&api_args);
    let endpoint = Endpoint {
        url: api.url("/Remote/Services88/Webhook.svc"),
        ticket: api.ticket().await,
    };
    save_webhook(
        &api,
        &endpoint.ticket,
        "split hook",
        &[EVENT],
        &receiver.url("/split"),
    )
    .await;
    let http = reqwest::Client::new();
    let signal = |pk: u32| {
        let (http, endpoint) = (http.clone(), endpoint.clone());
        async move {
            match signal_event(&http, &endpoint.url, &endpoint.ticket, EVENT, pk).await {
                Signal::Accepted => {}
                other => panic!("SignalEvent {pk} on the API-only node: {other:?}"),
            }
        }
    };

    // The API-only node stores events but delivers nothing itself.
    signal(1).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        receiver.is_empty(),
        "the --no-dispatcher node delivered: {}",
        receiver.summary()
    );

    // The delivery-only node delivers what is waiting...
    let deliverer = api.node(&delivery_args);
    let health = reqwest::get(deliverer.url("/health"))
        .await
        .expect("GET /health");
    assert_eq!(health.status(), 200, "/health on the --no-api node");
    let soap = deliverer
        .post_soap(
            "/Remote/Services88/Webhook.svc",
            SOAP11,
            &format!("{NS88}/Webhook/GetAllWebhooks"),
            envelope(SOAP11, NS88, "", "<tns:GetAllWebhooks/>"),
        )
        .await;
    assert_eq!(
        soap.status, 404,
        "the --no-api node serves no SOAP: {}",
        soap.body
    );
    let first: HashSet<u64> = [1].into();
    let requests = wait_for_pks(&receiver, &first, Duration::from_secs(10)).await;
    assert_all_delivered(&first, &requests, Duration::from_secs(10));

    // ...and each new event promptly, woken by the API node's commit rather than its poll.
    const PROMPTLY: Duration = Duration::from_secs(5);
    let mut latencies = Vec::new();
    for pk in 2..=6u32 {
        // Spread the calls over the dispatcher's 1 s poll cycle.
        tokio::time::sleep(Duration::from_millis(230)).await;
        let sent_at = Instant::now();
        signal(pk).await;
        let want: HashSet<u64> = [u64::from(pk)].into();
        let requests = wait_for_pks(&receiver, &want, PROMPTLY).await;
        let arrived = requests
            .iter()
            .find(|r| primary_key(r) == Some(u64::from(pk)))
            .unwrap_or_else(|| {
                panic!(
                    "event {pk}, signalled on the API-only node, was not delivered by the \
                     delivery-only node within {PROMPTLY:?}: {}",
                    receiver.summary()
                )
            });
        latencies.push(arrived.at.saturating_duration_since(sent_at));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let requests = receiver.requests();
    assert_no_problems(&delivery_problems(&requests));
    let by_pk = event_ids_by_pk(&requests);
    assert_eq!(
        by_pk
            .iter()
            .map(|(pk, ids)| (*pk, ids.len()))
            .collect::<Vec<_>>(),
        (1..=6).map(|pk| (pk, 1)).collect::<Vec<_>>(),
        "(pk, deliveries): each event once"
    );
    eprintln!(
        "cluster split: SignalEvent on the API-only node to arrival from the delivery-only node: \
         {latencies:?}"
    );
}
