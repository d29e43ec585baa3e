//! `DeliveryOrder` `PerRecord` (docs/DELIVERY.md, "Ordered delivery"; issue 17): deliveries of one
//! record (entity + PrimaryKey) reach the receiver in the order their SignalEvents were
//! accepted, while different records flow concurrently and a failing record blocks only itself.
//! Runs on SQLite, and on PostgreSQL with `HOOKWIRE_TEST_DATABASE_URL`; the same workloads on
//! three nodes are in `cluster/order.rs`.
//!
//! The workloads are here (`pub(crate)`) so the cluster tests run exactly the same ones: each
//! record's events are signalled one after the other by one task (so their acceptance order is
//! their signal order), the records concurrently, round-robin over the nodes given; each event
//! carries its place in its record's sequence as `FieldValues.seq`.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::order_receiver::{
    Flaky, FlakyConfig, Record, early_attempts, first_lines, order_problems, successes_between, tag,
};
use crate::support::receiver::{Receiver, Request};
use crate::support::signal::Signal;
use crate::support::*;

pub(crate) const CHANGED: &str = "contact.changed";
/// Mixed into some records, so a record is keyed by its entity, not by its event name.
pub(crate) const CREATED: &str = "contact.created";
pub(crate) const ENTITY: &str = "contact";
/// The seed of the flaky receivers' answers (printed, so a failing run can be replayed).
pub(crate) const SEED: u64 = 17;

/// The ordered workload: 2,000 events over 50 records.
pub(crate) const RECORDS: i64 = 50;
pub(crate) const EVENTS_PER_RECORD: u64 = 40;
/// Retries that come quickly, so a run ends in seconds (a failed cycle waits 1 s).
pub(crate) const QUICK_RETRIES: [&str; 4] =
    ["--retry-delays-ms", "100,200", "--cycle-backoff-secs", "1"];
/// From the end of the signalling to the last event's arrival.
pub(crate) const DELIVER_WITHIN: Duration = Duration::from_secs(90);

/// The failing-record workload: record `FAILING_PK` fails for `FAILING_FOR` while the others
/// (1..FAILING_PK) flow; their throughput then is compared with a baseline before.
pub(crate) const FAILING_PK: i64 = 50;
pub(crate) const FAILING_FOR: Duration = Duration::from_secs(60);
pub(crate) const FAILING_EVENTS: u64 = 10;
const WARM_UP: Duration = Duration::from_secs(3);
const BASELINE: Duration = Duration::from_secs(15);
/// Events signalled and not yet answered 200 the signallers keep, so the webhook always has
/// work for every send slot (the throughput measured is the delivery's, not the signalling's).
const BACKLOG: usize = 400;
/// Below this many events waiting, some send slot may have been idle for lack of work.
const SATURATED: usize = 16;
/// The share of the baseline throughput the other records must keep (the 80 %).
const KEPT_SHARE: f64 = 0.8;

/// The throughput tests measure time: one at a time (with the cluster's order tests too).
pub(crate) static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Where REST calls go: one node's base URL and an `Authorization` value it accepts.
#[derive(Clone)]
pub(crate) struct Endpoint {
    pub base: String,
    pub auth: String,
}

pub(crate) async fn endpoints(nodes: &[TestServer]) -> Vec<Endpoint> {
    let mut out = Vec::new();
    for node in nodes {
        out.push(Endpoint {
            base: node.base.clone(),
            auth: format!("SOTicket {}", node.ticket().await),
        });
    }
    out
}

/// Every node marked alive (the signallers use only live ones).
pub(crate) fn all_alive(n: usize) -> Arc<Vec<AtomicBool>> {
    Arc::new((0..n).map(|_| AtomicBool::new(true)).collect())
}

pub(crate) fn args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = LOOPBACK.to_vec();
    args.extend_from_slice(extra);
    args
}

/// A REST call with `to`'s credentials: (status, body).
pub(crate) async fn rest(
    http: &reqwest::Client,
    to: &Endpoint,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) -> (u16, String) {
    let mut request = http
        .request(method.clone(), format!("{}{path}", to.base))
        .header("Authorization", &to.auth);
    if let Some(body) = body {
        request = request
            .header("Content-Type", "application/json")
            .body(body.to_string());
    }
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    (status, text)
}

/// A REST call that must answer 200 with JSON; the JSON.
pub(crate) async fn rest_ok(
    http: &reqwest::Client,
    to: &Endpoint,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) -> Value {
    let (status, text) = rest(http, to, method.clone(), path, body).await;
    assert_eq!(status, 200, "{method} {path}: {text}");
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e}): {text}"))
}

/// Creates an Active `PerRecord` webhook of both events to `target` over REST and checks it
/// reads back as such; returns its id.
pub(crate) async fn create_per_record_webhook(to: &Endpoint, target: &str) -> i64 {
    let http = reqwest::Client::new();
    let body = json!({
        "Name": "ordered",
        "Events": [CHANGED, CREATED],
        "TargetUrl": target,
        "State": "Active",
        "Type": "webhook",
        "DeliveryOrder": "PerRecord",
    });
    let (status, text) = rest(
        &http,
        to,
        reqwest::Method::POST,
        "/api/v1/Webhook",
        Some(&body),
    )
    .await;
    assert_eq!(status, 200, "POST /api/v1/Webhook {body}: {text}");
    let created: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    let id = created["WebhookId"]
        .as_i64()
        .unwrap_or_else(|| panic!("no WebhookId in {created}"));
    let read = rest_ok(
        &http,
        to,
        reqwest::Method::GET,
        &format!("/api/v1/Webhook/{id}"),
        None,
    )
    .await;
    assert_eq!(
        read["DeliveryOrder"], "PerRecord",
        "the webhook was created with DeliveryOrder PerRecord: {read}"
    );
    id
}

/// The webhook's State over REST.
pub(crate) async fn state_of(to: &Endpoint, id: i64) -> String {
    let http = reqwest::Client::new();
    let w = rest_ok(
        &http,
        to,
        reqwest::Method::GET,
        &format!("/api/v1/Webhook/{id}"),
        None,
    )
    .await;
    w["State"].as_str().unwrap_or_default().to_string()
}

/// The event name of a record's `seq`-th event: every third event of the even records is a
/// `contact.created`, the rest `contact.changed`.
pub(crate) fn event_of(pk: i64, seq: u64) -> &'static str {
    if pk % 2 == 0 && seq % 3 == 1 {
        CREATED
    } else {
        CHANGED
    }
}

pub(crate) fn record(pk: i64) -> Record {
    (ENTITY.to_string(), pk)
}

/// One REST SignalEvent of a record's `seq`-th event (`{"seq": seq}` as its data).
pub(crate) async fn signal_seq(http: &reqwest::Client, to: &Endpoint, pk: i64, seq: u64) -> Signal {
    let event = event_of(pk, seq);
    let sent = http
        .post(format!("{}/api/v1/Webhook/{event}/{pk}", to.base))
        .header("Authorization", &to.auth)
        .header("Content-Type", "application/json")
        .body(format!("{{\"seq\":{seq}}}"))
        .send()
        .await;
    let response = match sent {
        Ok(r) => r,
        Err(e) => return Signal::Lost(format!("send: {e}")),
    };
    let status = response.status().as_u16();
    match response.text().await {
        Ok(_) if status == 204 => Signal::Accepted,
        Ok(text) => Signal::Refused(format!("HTTP {status}: {text}")),
        Err(e) => Signal::Lost(format!("HTTP {status}, body: {e}")),
    }
}

/// How long a record's signaller goes on.
#[derive(Clone)]
pub(crate) enum Pace {
    /// This many events, each as soon as the one before is accepted.
    Count(u64),
    /// Until `stop`, keeping at most `BACKLOG` events (of all records on this pace) signalled
    /// and not yet answered 200 by the receiver.
    TopUp {
        stop: Arc<AtomicBool>,
        flaky: Arc<Flaky>,
        signalled: Arc<AtomicUsize>,
    },
}

/// Signals each record of `pks` from a task of its own, sequentially, round-robin over the
/// live endpoints (a record's `seq`-th event goes to the `(pk + seq)`-th live one). A call
/// lost or refused by a node marked dead is sent again to a live one, with the same `seq`.
/// Answers, per record, the sequence numbers accepted, in acceptance order; Err on any other
/// failed call.
pub(crate) fn spawn_records(
    endpoints: Arc<Vec<Endpoint>>,
    alive: Arc<Vec<AtomicBool>>,
    pks: Vec<i64>,
    pace: Pace,
) -> tokio::task::JoinHandle<Result<BTreeMap<Record, Vec<u64>>, String>> {
    tokio::spawn(async move {
        let mut tasks = Vec::new();
        for pk in pks {
            let (endpoints, alive, pace) = (endpoints.clone(), alive.clone(), pace.clone());
            tasks.push(tokio::spawn(async move {
                let http = reqwest::Client::builder()
                    .timeout(Duration::from_secs(30))
                    .build()
                    .expect("HTTP client");
                let mut seqs = Vec::new();
                for seq in 0.. {
                    if !may_signal(&pace, seq).await {
                        break;
                    }
                    signal_until_accepted(&http, &endpoints, &alive, pk, seq).await?;
                    if let Pace::TopUp { signalled, .. } = &pace {
                        signalled.fetch_add(1, Ordering::SeqCst);
                    }
                    seqs.push(seq);
                }
                Ok::<_, String>((record(pk), seqs))
            }));
        }
        let mut accepted = BTreeMap::new();
        for task in tasks {
            let (record, seqs) = task.await.map_err(|e| format!("signaller: {e}"))??;
            accepted.insert(record, seqs);
        }
        Ok(accepted)
    })
}

/// Whether a record's `seq`-th event is to be signalled (waiting while the backlog is full).
async fn may_signal(pace: &Pace, seq: u64) -> bool {
    match pace {
        Pace::Count(n) => seq < *n,
        Pace::TopUp {
            stop,
            flaky,
            signalled,
        } => loop {
            if stop.load(Ordering::SeqCst) {
                return false;
            }
            let ahead = signalled
                .load(Ordering::SeqCst)
                .saturating_sub(flaky.succeeded());
            if ahead < BACKLOG {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        },
    }
}

async fn signal_until_accepted(
    http: &reqwest::Client,
    endpoints: &[Endpoint],
    alive: &[AtomicBool],
    pk: i64,
    seq: u64,
) -> Result<(), String> {
    for attempt in 0..=endpoints.len() {
        let live: Vec<usize> = (0..endpoints.len())
            .filter(|&i| alive[i].load(Ordering::SeqCst))
            .collect();
        if live.is_empty() {
            return Err("no live node to signal".into());
        }
        let node = live[(pk as usize + seq as usize + attempt) % live.len()];
        match signal_seq(http, &endpoints[node], pk, seq).await {
            Signal::Accepted => return Ok(()),
            // The node was killed under the call: it may or may not have stored the event.
            // Sent again, the event is stored (at least) once more, after that one.
            _ if !alive[node].load(Ordering::SeqCst) => continue,
            other => {
                return Err(format!(
                    "SignalEvent of record {pk} seq {seq} to node {node}: {other:?}"
                ));
            }
        }
    }
    Err(format!(
        "SignalEvent of record {pk} seq {seq}: no node accepted it"
    ))
}

/// Waits until every signalled event has been answered 200 at least once, or `within` has
/// passed; returns every request so far (the caller asserts on what is missing).
pub(crate) async fn wait_for_every_event(
    receiver: &Receiver,
    signalled: &BTreeMap<Record, Vec<u64>>,
    within: Duration,
) -> Vec<Request> {
    let mut want: HashSet<(Record, u64)> = signalled
        .iter()
        .flat_map(|(r, seqs)| seqs.iter().map(move |s| (r.clone(), *s)))
        .collect();
    let deadline = Instant::now() + within;
    let mut cursor = 0;
    receiver
        .wait_until(
            move |requests| {
                for r in requests[cursor..].iter().filter(|r| r.status == 200) {
                    if let Some(tagged) = tag(r) {
                        want.remove(&tagged);
                    }
                }
                cursor = requests.len();
                want.is_empty() || Instant::now() >= deadline
            },
            within + Duration::from_secs(30),
        )
        .await
}

/// Asserts the promise on everything `receiver` got: every event arrived, first successful
/// receipts in signal order, no attempt before the event signalled before it succeeded.
pub(crate) fn assert_order_kept(requests: &[Request], signalled: &BTreeMap<Record, Vec<u64>>) {
    let problems = order_problems(requests, signalled);
    assert!(
        problems.is_empty(),
        "per-record order or completeness broken (seed {SEED}): {}",
        first_lines(&problems, 10)
    );
    let early = early_attempts(requests, signalled);
    assert!(
        early.is_empty(),
        "events sent before the one signalled before them succeeded (seed {SEED}): {}",
        first_lines(&early, 10)
    );
}

/// (attempts, attempts answered 500) of tagged deliveries.
pub(crate) fn attempt_counts(requests: &[Request]) -> (usize, usize) {
    let tagged: Vec<&Request> = requests.iter().filter(|r| tag(r).is_some()).collect();
    let failed = tagged.iter().filter(|r| r.status == 500).count();
    (tagged.len(), failed)
}

/// The ordered workload's receiver: 0-20 ms answers, 10 % of them 500.
pub(crate) async fn flaky_receiver() -> (Receiver, Arc<Flaky>) {
    let receiver = Receiver::start().await;
    let flaky = Flaky::install(
        &receiver,
        FlakyConfig {
            seed: SEED,
            delay_ms: 0..=20,
            fail_per_mille: 100,
        },
    );
    (receiver, flaky)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn per_record_events_arrive_in_signal_order_through_delays_and_failures() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let started = Instant::now();
    let (receiver, _flaky) = flaky_receiver().await;
    let server = TestServer::start(&args(&QUICK_RETRIES));
    let nodes = [server];
    let endpoints = Arc::new(endpoints(&nodes).await);
    let id = create_per_record_webhook(&endpoints[0], &receiver.url("/ordered")).await;

    let signalled = spawn_records(
        endpoints.clone(),
        all_alive(1),
        (1..=RECORDS).collect(),
        Pace::Count(EVENTS_PER_RECORD),
    )
    .await
    .expect("signalling")
    .unwrap_or_else(|e| panic!("{e}"));
    let signalled_at = Instant::now();
    let requests = wait_for_every_event(&receiver, &signalled, DELIVER_WITHIN).await;
    let delivered_at = Instant::now();
    let (attempts, failed) = attempt_counts(&requests);
    eprintln!(
        "delivery_order: {} events over {RECORDS} records signalled in {:?}; the receiver had \
         them {:?} later ({attempts} attempts, {failed} answered 500, seed {SEED}); test took {:?}",
        RECORDS as u64 * EVENTS_PER_RECORD,
        signalled_at - started,
        delivered_at - signalled_at,
        started.elapsed()
    );
    assert_order_kept(&requests, &signalled);
    assert_eq!(
        state_of(&endpoints[0], id).await,
        "Active",
        "10 % of failed attempts spread over the records must not disable the webhook"
    );
}

/// Record `FAILING_PK`'s receiver answers 500 for `FAILING_FOR` while records 1..FAILING_PK
/// flow with a saturating backlog: they keep `KEPT_SHARE` of the throughput they had in a
/// baseline phase before, the webhook stays Active, the failing record's later deliveries are
/// listed as `waiting`, and afterwards its events all arrive, in order. `nodes` all take
/// signals; the first answers the REST reads.
pub(crate) async fn one_failing_record_blocks_only_itself(nodes: &[TestServer]) {
    let started = Instant::now();
    let receiver = Receiver::start().await;
    // 40-60 ms answers and no random failures: the throughput is bounded by the receiver and
    // the per-webhook cap, not by the CPU this machine happens to have free.
    let flaky = Flaky::install(
        &receiver,
        FlakyConfig {
            seed: SEED,
            delay_ms: 40..=60,
            fail_per_mille: 0,
        },
    );
    let endpoints = Arc::new(endpoints(nodes).await);
    let reader = endpoints[0].clone();
    let id = create_per_record_webhook(&reader, &receiver.url("/failing")).await;
    let alive = all_alive(nodes.len());

    let stop = Arc::new(AtomicBool::new(false));
    let signalled = Arc::new(AtomicUsize::new(0));
    let others = spawn_records(
        endpoints.clone(),
        alive.clone(),
        (1..FAILING_PK).collect(),
        Pace::TopUp {
            stop: stop.clone(),
            flaky: flaky.clone(),
            signalled: signalled.clone(),
        },
    );
    // The least backlog seen while measuring (a drained backlog measures the signalling).
    let least_backlog = |least: &mut usize| {
        let ahead = signalled
            .load(Ordering::SeqCst)
            .saturating_sub(flaky.succeeded());
        *least = (*least).min(ahead);
    };
    let mut least = usize::MAX;

    tokio::time::sleep(WARM_UP).await;
    let baseline_from = Instant::now();
    while baseline_from.elapsed() < BASELINE {
        tokio::time::sleep(Duration::from_millis(100)).await;
        least_backlog(&mut least);
    }
    let baseline_to = Instant::now();

    let failing = record(FAILING_PK);
    flaky.set_failing(&failing, true);
    let failing_from = Instant::now();
    let failing_signals = spawn_records(
        endpoints.clone(),
        alive.clone(),
        vec![FAILING_PK],
        Pace::Count(FAILING_EVENTS),
    );
    let http = reqwest::Client::new();
    let mut not_active = Vec::new();
    let mut waiting_checked = false;
    while failing_from.elapsed() < FAILING_FOR {
        tokio::time::sleep(Duration::from_millis(500)).await;
        least_backlog(&mut least);
        let state = state_of(&reader, id).await;
        if state != "Active" {
            not_active.push(format!("{state} at {:?}", failing_from.elapsed()));
        }
        if !waiting_checked && failing_from.elapsed() >= FAILING_FOR / 3 {
            assert_failing_record_waits(&http, &reader, id).await;
            waiting_checked = true;
        }
    }
    let failing_to = Instant::now();
    flaky.set_failing(&failing, false);
    stop.store(true, Ordering::SeqCst);

    // Both windows are over: their throughputs, first, so a failure below still shows them.
    let is_other = |r: &Record| *r != failing;
    let measured = receiver.requests();
    let rate = |from: Instant, to: Instant| {
        successes_between(&measured, from, to, is_other) as f64 / (to - from).as_secs_f64()
    };
    let baseline = rate(baseline_from, baseline_to);
    let during = rate(failing_from, failing_to);
    let failing_attempts = measured
        .iter()
        .filter(|r| tag(r).is_some_and(|(rec, _)| rec == failing))
        .count();
    eprintln!(
        "delivery_order on {} node(s): other records {baseline:.1}/s before, {during:.1}/s \
         while record {FAILING_PK} failed for {FAILING_FOR:?} ({:.0} %); least backlog {least}; \
         {failing_attempts} attempts of the failing record",
        nodes.len(),
        100.0 * during / baseline,
    );
    assert!(
        not_active.is_empty(),
        "the webhook left Active while one record failed: {} of the checks saw it, the first \
         {}",
        not_active.len(),
        not_active[0]
    );
    assert!(
        least >= SATURATED,
        "the backlog fell to {least} events while measuring: the signalling, not the \
         delivery, set the pace, so the throughputs compare nothing"
    );
    assert!(
        during >= KEPT_SHARE * baseline,
        "the other records kept {during:.1}/s of their {baseline:.1}/s while record \
         {FAILING_PK} failed ({:.0} %, at least {:.0} % required)",
        100.0 * during / baseline,
        100.0 * KEPT_SHARE
    );

    let mut all = others
        .await
        .expect("signalling")
        .unwrap_or_else(|e| panic!("{e}"));
    all.extend(
        failing_signals
            .await
            .expect("signalling")
            .unwrap_or_else(|e| panic!("{e}")),
    );
    let requests = wait_for_every_event(&receiver, &all, DELIVER_WITHIN).await;
    let recovered_at = Instant::now();
    assert_order_kept(&requests, &all);
    assert_eq!(
        state_of(&reader, id).await,
        "Active",
        "after the failing record recovered"
    );
    eprintln!(
        "delivery_order on {} node(s): all {} events in order {:?} after record {FAILING_PK} \
         recovered; test took {:?}",
        nodes.len(),
        all.values().map(Vec::len).sum::<usize>(),
        recovered_at - failing_to,
        started.elapsed()
    );
}

/// While the failing record fails: its first event is the one retrying, every later one is
/// listed by the delivery log as `waiting`.
async fn assert_failing_record_waits(http: &reqwest::Client, reader: &Endpoint, id: i64) {
    let of_failing = |status: &'static str| async move {
        let mut found = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..50 {
            let mut path = format!("/api/v1/Webhook/{id}/Deliveries?status={status}&limit=1000");
            if let Some(c) = &cursor {
                let c: String = url::form_urlencoded::byte_serialize(c.as_bytes()).collect();
                path.push_str(&format!("&cursor={c}"));
            }
            let page = rest_ok(http, reader, reqwest::Method::GET, &path, None).await;
            for d in page["Deliveries"].as_array().into_iter().flatten() {
                assert_eq!(d["Status"], status, "listed with ?status={status}: {d}");
                if d["PrimaryKey"].as_i64() == Some(FAILING_PK) {
                    found.push(d.clone());
                }
            }
            match page["NextCursor"].as_str() {
                Some(next) => cursor = Some(next.to_string()),
                None => return found,
            }
        }
        panic!("more than 50 pages of {status} deliveries");
    };
    let waiting = of_failing("waiting").await;
    let retrying = of_failing("retrying").await;
    assert_eq!(
        (retrying.len(), waiting.len()),
        (1, FAILING_EVENTS as usize - 1),
        "record {FAILING_PK}'s first event is retrying and its {} later ones wait behind it; \
         retrying: {retrying:?}; waiting: {waiting:?}",
        FAILING_EVENTS - 1
    );
    let retrying_id = &retrying[0]["EventId"];
    assert!(
        waiting.iter().all(|d| d["EventId"] != *retrying_id),
        "the retrying event is not also waiting: {retrying:?} {waiting:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_failing_record_for_a_minute_does_not_slow_the_others() {
    let _alone = ONE_AT_A_TIME.lock().await;
    // Default retry delays (1 s, 4 s); a failed cycle waits 1 s, so the failing record's
    // events go out soon after the minute.
    let server = TestServer::start(&args(&["--cycle-backoff-secs", "1"]));
    one_failing_record_blocks_only_itself(&[server]).await;
}

#[tokio::test]
async fn delivery_order_is_a_rest_member_kept_by_soap_saves() {
    let server = TestServer::start(&["--no-save-ping"]);
    let ticket = server.ticket().await;
    let to = Endpoint {
        base: server.base.clone(),
        auth: format!("SOTicket {ticket}"),
    };
    let http = reqwest::Client::new();
    let created = rest_ok(
        &http,
        &to,
        reqwest::Method::POST,
        "/api/v1/Webhook",
        Some(&json!({
            "Name": "order option",
            "Events": [CHANGED],
            "TargetUrl": "https://example.com/order",
            "State": "Active",
            "Type": "webhook",
        })),
    )
    .await;
    let id = created["WebhookId"].as_i64().expect("WebhookId");
    let path = format!("/api/v1/Webhook/{id}");
    assert_eq!(created["DeliveryOrder"], "Any", "the default: {created}");
    let read = rest_ok(&http, &to, reqwest::Method::GET, &path, None).await;
    assert_eq!(read["DeliveryOrder"], "Any", "{read}");
    let listed = rest_ok(&http, &to, reqwest::Method::GET, "/api/v1/Webhook", None).await;
    assert_eq!(listed[0]["DeliveryOrder"], "Any", "list item: {listed}");

    let patched = rest_ok(
        &http,
        &to,
        reqwest::Method::PATCH,
        &path,
        Some(&json!({"DeliveryOrder": "PerRecord"})),
    )
    .await;
    assert_eq!(patched["DeliveryOrder"], "PerRecord", "{patched}");
    let read = rest_ok(&http, &to, reqwest::Method::GET, &path, None).await;
    assert_eq!(
        read["DeliveryOrder"], "PerRecord",
        "the PATCH was saved: {read}"
    );

    // A value that is neither: 400 naming the member, the value and the allowed ones.
    let (status, text) = rest(
        &http,
        &to,
        reqwest::Method::PATCH,
        &path,
        Some(&json!({"DeliveryOrder": "Sometimes"})),
    )
    .await;
    assert_eq!(status, 400, "PATCH DeliveryOrder Sometimes: {text}");
    let error: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    let message = error["Message"].as_str().unwrap_or_default();
    for word in ["DeliveryOrder", "Sometimes", "Any", "PerRecord"] {
        assert!(
            message.contains(word),
            "the 400's Message names {word:?}: {error}"
        );
    }
    assert_eq!(error["ErrorType"], "ArgumentException", "{error}");
    let read = rest_ok(&http, &to, reqwest::Method::GET, &path, None).await;
    assert_eq!(
        read["DeliveryOrder"], "PerRecord",
        "a refused PATCH changes nothing"
    );

    // A SOAP save (whose carrier does not carry the option) keeps it.
    let saved = server
        .call(
            NS88,
            SOAP11,
            &ticket,
            "SaveWebhook",
            &webhook_xml(
                id as i32,
                "renamed by SOAP",
                &[CHANGED],
                "https://example.com/order",
                "<tns:State>Active</tns:State>",
            ),
        )
        .await
        .ok();
    assert!(
        !saved.body.contains("DeliveryOrder"),
        "SOAP carriers stay NetServer's: {}",
        saved.body
    );
    let read = rest_ok(&http, &to, reqwest::Method::GET, &path, None).await;
    assert_eq!(
        read["Name"], "renamed by SOAP",
        "the SOAP save was saved: {read}"
    );
    assert_eq!(
        read["DeliveryOrder"], "PerRecord",
        "a SOAP SaveWebhook keeps the order it does not carry: {read}"
    );

    // The OpenAPI describes the member.
    let openapi: Value = http
        .get(server.url("/api/openapi.json"))
        .send()
        .await
        .expect("GET /api/openapi.json")
        .text()
        .await
        .map(|text| serde_json::from_str(&text).expect("OpenAPI JSON"))
        .expect("the OpenAPI document");
    let described = openapi["components"]["schemas"]
        .as_object()
        .into_iter()
        .flatten()
        .any(|(_, schema)| schema["properties"].get("DeliveryOrder").is_some());
    assert!(
        described,
        "no schema of /api/openapi.json has a DeliveryOrder property"
    );
}
