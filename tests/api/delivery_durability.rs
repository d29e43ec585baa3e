//! Delivery durability through the real binary and a real receiver:
//! - a SIGKILL in the middle of a delivery burst loses no accepted event;
//! - a receiver outage disables the webhook (TooManyErrors), parks its deliveries, and
//!   re-activating it delivers them all.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::support::receiver::{Answer, Receiver, Request, superoffice_signature};
use crate::support::signal::{Signal, signal_event};
use crate::support::*;

/// Upper bound of every wait; a healthy run is far quicker.
const WAIT: Duration = Duration::from_secs(90);
const EVENT: &str = "contact.changed";

/// Fails with a clear message while the delivery engine's flags do not exist yet (the server
/// would otherwise just exit before listening).
fn require_serve_flags(args: &[&str]) {
    let (ok, out, err) = cli(&["serve", "--help"]);
    assert!(ok, "hookwire serve --help failed: {err}");
    let tokens: HashSet<&str> = out
        .split(|c: char| c.is_whitespace() || c == ',' || c == '=' || c == '[' || c == ']')
        .collect();
    let missing: Vec<&str> = args
        .iter()
        .copied()
        .filter(|a| a.starts_with("--") && !tokens.contains(a))
        .collect();
    assert!(
        missing.is_empty(),
        "`hookwire serve` has no {missing:?} yet (delivery engine not built?); its help:\n{out}"
    );
}

fn start_server(args: &[&str]) -> TestServer {
    require_serve_flags(args);
    TestServer::start(args)
}

/// Saves (creates when `id` is 0) a webhook subscribed to `EVENT`; returns its id.
async fn save_webhook(
    server: &TestServer,
    ticket: &str,
    id: i32,
    name: &str,
    target: &str,
    secret: &str,
    state: &str,
) -> i32 {
    let extra = format!("<tns:Secret>{secret}</tns:Secret><tns:State>{state}</tns:State>");
    let saved = server
        .call(
            NS88,
            SOAP11,
            ticket,
            "SaveWebhook",
            &webhook_xml(id, name, &[EVENT], target, &extra),
        )
        .await
        .ok();
    assert_eq!(
        saved.text("State").as_deref(),
        Some(state),
        "{}",
        saved.body
    );
    saved
        .text("WebhookId")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("SaveWebhook gave no WebhookId: {}", saved.body))
}

/// (State, ConsecutiveErrors, LastError, the whole reply) from a Services88 GetWebhook.
async fn webhook_status(
    server: &TestServer,
    ticket: &str,
    id: i32,
) -> (String, i64, String, String) {
    let got = server
        .call(
            NS88,
            SOAP11,
            ticket,
            "GetWebhook",
            &format!("<tns:WebhookId>{id}</tns:WebhookId>"),
        )
        .await
        .ok();
    let state = got.text("State").unwrap_or_default();
    let errors = got
        .text("ConsecutiveErrors")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "no ConsecutiveErrors in the Services88 carrier: {}",
                got.body
            )
        });
    let last_error = got.text("LastError").unwrap_or_default();
    (state, errors, last_error, got.body)
}

fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("HTTP client")
}

/// The body's `PrimaryKey`, if the body is JSON with one.
fn primary_key(r: &Request) -> Option<u64> {
    serde_json::from_slice::<serde_json::Value>(&r.body)
        .ok()?
        .get("PrimaryKey")?
        .as_u64()
}

/// Every check one delivery of `EVENT` must pass; problems are pushed to `problems`.
fn check_delivery(r: &Request, secret: &str, hook_name: &str, problems: &mut Vec<String>) {
    let mut fail = |what: String| problems.push(format!("{what}: {}", r.summary()));
    if r.method != "POST" {
        fail(format!("method {}", r.method));
    }
    if r.header("X-SuperOffice-Event") != Some(EVENT) {
        fail(format!(
            "X-SuperOffice-Event {:?}",
            r.header("X-SuperOffice-Event")
        ));
    }
    if r.retry().is_none() {
        fail(format!(
            "X-SuperOffice-Retry {:?}",
            r.header("X-SuperOffice-Retry")
        ));
    }
    if let Err(e) = r.verify_superoffice(secret) {
        fail(format!("SuperOffice signature: {e}"));
    }
    if r.has_standard_webhooks_headers()
        && let Err(e) = r.verify_standard_webhooks(secret)
    {
        fail(format!("Standard Webhooks signature: {e}"));
    }
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(&r.body) else {
        fail("body is not JSON".into());
        return;
    };
    let header_id = r.event_id();
    if header_id.is_none() || body["EventId"].as_str() != header_id {
        fail(format!(
            "X-SuperOffice-EventId {header_id:?} vs body EventId {}",
            body["EventId"]
        ));
    }
    if body["Event"] != EVENT || body["Entity"] != "contact" || body["WebhookName"] != hook_name {
        fail("Event/Entity/WebhookName".into());
    }
    match body["PrimaryKey"].as_u64() {
        Some(pk) if body["FieldValues"]["name"] == format!("pk-{pk}").as_str() => {}
        _ => fail("PrimaryKey / FieldValues.name".into()),
    }
}

fn assert_no_problems(problems: &[String], receiver: &Receiver) {
    assert!(
        problems.is_empty(),
        "{} problems, first ones:\n{}\nreceiver: {}",
        problems.len(),
        problems
            .iter()
            .take(12)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n"),
        receiver.summary()
    );
}

/// pk -> distinct EventIds delivered for it.
fn event_ids_by_pk(requests: &[Request]) -> BTreeMap<u64, BTreeSet<String>> {
    let mut map: BTreeMap<u64, BTreeSet<String>> = BTreeMap::new();
    for r in requests {
        if let (Some(pk), Some(id)) = (primary_key(r), r.event_id()) {
            map.entry(pk).or_default().insert(id.to_string());
        }
    }
    map
}

/// Waits until every pk in `pks` has been delivered at least once; returns all requests.
async fn wait_for_pks(receiver: &Receiver, pks: &HashSet<u64>, timeout: Duration) -> Vec<Request> {
    let mut seen: HashSet<u64> = HashSet::new();
    let mut cursor = 0;
    receiver
        .wait_until(
            move |reqs| {
                seen.extend(reqs[cursor..].iter().filter_map(primary_key));
                cursor = reqs.len();
                pks.iter().all(|pk| seen.contains(pk))
            },
            timeout,
        )
        .await
}

const TOTAL: usize = 2000;
const CLIENTS: usize = 16;
const MAX_IN_FLIGHT: usize = 16;
const KILL_AFTER: usize = 300;
/// From the end of the signalling to the last delivery (a healthy run needs ~5 s).
const DRAIN_WITHIN: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_mid_burst_loses_no_accepted_event() {
    let started = Instant::now();
    let receiver = Receiver::start().await;
    receiver.set_delay(Duration::from_millis(25));
    let max_in_flight = MAX_IN_FLIGHT.to_string();
    let server = start_server(&[
        "--allow-http-targets",
        "--allow-targets",
        "127.0.0.0/8",
        "--no-save-ping",
        "--max-in-flight",
        &max_in_flight,
        "--per-webhook-in-flight",
        &max_in_flight,
        "--retry-delays-ms",
        "200,500",
        // A lease must outlast an attempt, so the killed process's leases run past
        // DRAIN_WITHIN: only releasing them at start-up lets the test pass.
        "--delivery-timeout-secs",
        "40",
    ]);
    const SECRET: &str = "crash-test secret ✓";
    const HOOK: &str = "crash hook";
    let ticket = server.ticket().await;
    save_webhook(
        &server,
        &ticket,
        0,
        HOOK,
        &receiver.url("/crash"),
        SECRET,
        "Active",
    )
    .await;

    // Phase 1: CLIENTS concurrent SOAP clients signal pks 1, 2, … until told to halt.
    let endpoint = server.url("/Remote/Services88/Webhook.svc");
    let next_pk = Arc::new(AtomicU32::new(1));
    let halt = Arc::new(AtomicBool::new(false));
    let accepted_so_far = Arc::new(AtomicUsize::new(0));
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let (endpoint, ticket) = (endpoint.clone(), ticket.clone());
        let (next_pk, halt, accepted_so_far) =
            (next_pk.clone(), halt.clone(), accepted_so_far.clone());
        clients.push(tokio::spawn(async move {
            let http = http_client();
            let mut outcomes = Vec::new();
            while !halt.load(Ordering::SeqCst) {
                let pk = next_pk.fetch_add(1, Ordering::SeqCst);
                if pk as usize > TOTAL {
                    break;
                }
                let outcome = signal_event(&http, &endpoint, &ticket, EVENT, pk).await;
                let stop = !matches!(outcome, Signal::Accepted);
                if !stop {
                    accepted_so_far.fetch_add(1, Ordering::SeqCst);
                }
                outcomes.push((pk, outcome));
                if stop {
                    break;
                }
            }
            outcomes
        }));
    }

    // Kill once deliveries are well under way (the signalling may or may not be over).
    receiver.wait_for_requests(KILL_AFTER, WAIT).await;
    halt.store(true, Ordering::SeqCst);
    let killed_at = Instant::now();
    let accepted_at_kill = accepted_so_far.load(Ordering::SeqCst);
    let server = tokio::task::block_in_place(move || server.restart());
    let restarted_at = Instant::now();

    let mut accepted: HashSet<u64> = HashSet::new();
    let mut lost: HashSet<u64> = HashSet::new();
    let mut lost_reason = String::new();
    let mut refused = Vec::new();
    for client in clients {
        for (pk, outcome) in client.await.expect("signalling client") {
            match outcome {
                Signal::Accepted => {
                    accepted.insert(pk.into());
                }
                Signal::Lost(e) => {
                    lost.insert(pk.into());
                    lost_reason = e;
                }
                Signal::Refused(e) => refused.push((pk, e)),
            }
        }
    }
    assert!(
        refused.is_empty(),
        "SignalEvent answered without success before the kill: {:?}",
        &refused[..refused.len().min(3)]
    );
    let accepted_before_kill = accepted.clone();

    // Phase 2: the restarted server takes the rest, up to TOTAL accepted events.
    let ticket = server.ticket().await;
    let endpoint = server.url("/Remote/Services88/Webhook.svc");
    // Fresh pks after every one already sent: a lost call's pk may or may not be stored.
    let first = accepted.iter().chain(&lost).max().map_or(1, |m| m + 1) as u32;
    let rest: Vec<u32> = (first..).take(TOTAL - accepted.len()).collect();
    let rest = Arc::new(rest);
    let cursor = Arc::new(AtomicUsize::new(0));
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let (endpoint, ticket, rest, cursor) = (
            endpoint.clone(),
            ticket.clone(),
            rest.clone(),
            cursor.clone(),
        );
        clients.push(tokio::spawn(async move {
            let http = http_client();
            let mut done = Vec::new();
            loop {
                let i = cursor.fetch_add(1, Ordering::SeqCst);
                let Some(&pk) = rest.get(i) else { break };
                match signal_event(&http, &endpoint, &ticket, EVENT, pk).await {
                    Signal::Accepted => done.push(pk),
                    other => panic!("SignalEvent {pk} after the restart: {other:?}"),
                }
            }
            done
        }));
    }
    for client in clients {
        accepted.extend(
            client
                .await
                .expect("signalling client")
                .into_iter()
                .map(u64::from),
        );
    }
    assert_eq!(accepted.len(), TOTAL, "accepted events");
    let signalled_at = Instant::now();

    // Every accepted event arrives, well before any lease of the killed process could expire;
    // then the queue drains to nothing pending.
    let requests = wait_for_pks(&receiver, &accepted, DRAIN_WITHIN).await;
    let delivered_at = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (pending, _, dead) = server.queue().await;
        assert_eq!(dead, 0, "dead deliveries");
        if pending == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{pending} deliveries still pending after every event arrived: {}",
            receiver.summary()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let requests = if receiver.len() > requests.len() {
        receiver.requests()
    } else {
        requests
    };

    let mut problems = Vec::new();
    for r in &requests {
        check_delivery(r, SECRET, HOOK, &mut problems);
    }
    assert_no_problems(&problems, &receiver);

    let by_pk = event_ids_by_pk(&requests);
    let delivered: HashSet<u64> = by_pk.keys().copied().collect();
    let missing: BTreeSet<&u64> = accepted.difference(&delivered).collect();
    assert!(
        missing.is_empty(),
        "accepted but never delivered: {missing:?}"
    );
    // A pk whose SignalEvent died with the server may have been stored; nothing else may appear.
    let unknown: BTreeSet<&u64> = delivered
        .iter()
        .filter(|pk| !accepted.contains(pk) && !lost.contains(pk))
        .collect();
    assert!(
        unknown.is_empty(),
        "delivered but never signalled: {unknown:?}"
    );
    let split: Vec<_> = by_pk.iter().filter(|(_, ids)| ids.len() != 1).collect();
    assert!(split.is_empty(), "one event, several EventIds: {split:?}");

    let distinct: HashSet<&str> = requests.iter().filter_map(|r| r.event_id()).collect();
    let duplicates = requests.len() - distinct.len();
    assert!(
        duplicates <= 2 * MAX_IN_FLIGHT,
        "{duplicates} duplicate deliveries; only attempts in flight at the kill (≤ {MAX_IN_FLIGHT}) may repeat"
    );

    // The kill must have interrupted real work: events stored before it, delivered after it.
    let first_seen: HashMap<u64, Instant> = requests.iter().fold(HashMap::new(), |mut m, r| {
        if let Some(pk) = primary_key(r) {
            m.entry(pk).or_insert(r.at);
        }
        m
    });
    let carried_over = accepted_before_kill
        .iter()
        .filter(|pk| first_seen.get(pk).is_some_and(|at| *at > killed_at))
        .count();
    assert!(
        carried_over > 0,
        "no event accepted before the kill was left to the restarted server (kill too late)"
    );

    eprintln!(
        "crash test: {} accepted before the kill ({accepted_at_kill} counted at the kill), {} lost calls ({lost_reason}), \
         {carried_over} carried over the restart, {duplicates} duplicates, {} requests; \
         kill at {:?}, restarted in {:?}, all signalled at {:?}, all delivered at {:?}",
        accepted_before_kill.len(),
        lost.len(),
        requests.len(),
        killed_at - started,
        restarted_at - killed_at,
        signalled_at - started,
        delivered_at - started,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_disables_webhook_parks_and_resumes_on_reactivation() {
    // SignalEvent queues deliveries only for Active webhooks, so all events must be stored
    // before the webhook can be disabled: the receiver first holds every request unanswered,
    // then goes away (the held requests get 503, later ones a refused connection).
    let first = Receiver::start().await;
    first.set_answer(Answer::hang());
    let port = first.port();
    let target = first.url("/outage");

    let server = start_server(&[
        "--allow-http-targets",
        "--allow-targets",
        "127.0.0.0/8",
        "--no-save-ping",
        "--retry-delays-ms",
        "50,100",
        "--cycle-backoff-secs",
        "1",
        "--failures-to-disable",
        "9",
    ]);
    // A whsec_ secret: the Standard Webhooks key is its decoded rest, SuperOffice's its UTF-8.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const HOOK: &str = "outage hook";
    const EVENTS: u32 = 50;
    let ticket = server.ticket().await;
    let id = save_webhook(&server, &ticket, 0, HOOK, &target, SECRET, "Active").await;

    let http = http_client();
    let endpoint = server.url("/Remote/Services88/Webhook.svc");
    for pk in 1..=EVENTS {
        match signal_event(&http, &endpoint, &ticket, EVENT, pk).await {
            Signal::Accepted => {}
            other => panic!("SignalEvent {pk}: {other:?}"),
        }
    }
    let (state, errors, _, body) = webhook_status(&server, &ticket, id).await;
    assert_eq!(
        (state.as_str(), errors),
        ("Active", 0),
        "before the outage: {body}"
    );
    first.wait_for_requests(1, WAIT).await;
    first.stop().await;
    drop(first);

    // Connection refused, again and again: 9 consecutive failures disable the webhook.
    let deadline = Instant::now() + Duration::from_secs(60);
    let (errors, last_error) = loop {
        let (state, errors, last_error, body) = webhook_status(&server, &ticket, id).await;
        if state == "TooManyErrors" {
            break (errors, last_error);
        }
        assert_eq!(state, "Active", "{body}");
        assert!(
            Instant::now() < deadline,
            "still {state} with {errors} consecutive errors after 60 s: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(errors >= 9, "TooManyErrors with ConsecutiveErrors {errors}");
    assert!(
        !last_error.trim().is_empty(),
        "TooManyErrors with an empty LastError"
    );
    let last = server
        .call(
            NS88,
            SOAP11,
            &ticket,
            "GetLastError",
            &format!("<tns:WebhookId>{id}</tns:WebhookId>"),
        )
        .await
        .ok();
    assert!(
        !last.text("Response").unwrap_or_default().trim().is_empty(),
        "GetLastError: {}",
        last.body
    );

    // The receiver comes back, but the disabled webhook's deliveries stay parked.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let receiver = Receiver::start_on(port).await;
    assert_eq!(receiver.url("/outage"), target);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        receiver.is_empty(),
        "deliveries to a TooManyErrors webhook: {}",
        receiver.summary()
    );

    // Re-activation resumes every parked delivery.
    save_webhook(&server, &ticket, id, HOOK, &target, SECRET, "Active").await;
    let pks: HashSet<u64> = (1..=u64::from(EVENTS)).collect();
    wait_for_pks(&receiver, &pks, WAIT).await;

    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (state, errors, _, body) = webhook_status(&server, &ticket, id).await;
        if errors == 0 {
            assert_eq!(state, "Active", "{body}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "ConsecutiveErrors still {errors} after the deliveries succeeded: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Nothing more should come: give stragglers a moment, then check everything that arrived.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let requests = receiver.requests();
    let mut problems = Vec::new();
    for r in &requests {
        check_delivery(r, SECRET, HOOK, &mut problems);
        if r.path != "/outage" {
            problems.push(format!("path: {}", r.summary()));
        }
    }
    assert_no_problems(&problems, &receiver);
    let by_pk = event_ids_by_pk(&requests);
    assert_eq!(by_pk.len(), EVENTS as usize, "distinct pks delivered");
    assert!(
        by_pk.values().all(|ids| ids.len() == 1),
        "one event, several EventIds: {by_pk:?}"
    );
    assert_eq!(
        requests.len(),
        EVENTS as usize,
        "each parked event is delivered once: {}",
        receiver.summary()
    );
    assert!(
        requests.iter().any(|r| r.retry() >= Some(1)),
        "no delivery says it was retried, yet ≥ 9 attempts failed: {}",
        receiver.summary()
    );
}

/// The receiver itself (no hookwire needed): recording, scripted answers, stop and restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receiver_records_answers_and_stops() {
    let receiver = Receiver::start().await;
    let http = reqwest::Client::new();
    let body = br#"{"EventId":"e1","PrimaryKey":1}"#;
    let sig = superoffice_signature("k", body);
    let post = |path: &str, event: &str| {
        http.post(receiver.url(path))
            .header("X-SuperOffice-EventId", event)
            .header("X-SuperOffice-Signature", sig.clone())
            .body(body.to_vec())
            .send()
    };

    let r = post("/a?x=1", "e1").await.expect("send");
    assert_eq!(r.status(), 200);
    let got = receiver.requests();
    assert_eq!(got.len(), 1);
    let first = &got[0];
    assert_eq!((first.seq, first.method.as_str()), (0, "POST"));
    assert_eq!(
        (first.path.as_str(), first.query.as_deref()),
        ("/a", Some("x=1"))
    );
    assert_eq!(&first.body[..], body);
    assert_eq!(first.event_id(), Some("e1"));
    first.verify_superoffice("k").expect("signature verifies");
    assert!(first.verify_superoffice("K").is_err());
    assert!(
        first.verify_standard_webhooks("k").is_err(),
        "no such headers"
    );

    // Scripted failures first, then the default answer.
    receiver.fail_first(2, 500);
    let statuses = [
        post("/", "e2").await.expect("send").status().as_u16(),
        post("/", "e2").await.expect("send").status().as_u16(),
        post("/", "e2").await.expect("send").status().as_u16(),
    ];
    assert_eq!(statuses, [500, 500, 200]);
    assert_eq!(receiver.event_ids(), ["e1", "e2", "e2", "e2"]);
    assert_eq!(receiver.distinct_event_ids().len(), 2);
    assert_eq!(
        receiver
            .requests()
            .iter()
            .map(|r| r.status)
            .collect::<Vec<_>>(),
        [200, 500, 500, 200]
    );

    // A fixed answer with body and header; a slow answer; a per-request responder.
    receiver.set_answer(
        Answer::status(410)
            .with_body("gone")
            .with_header("X-Why", "test"),
    );
    let r = post("/", "e3").await.expect("send");
    assert_eq!(r.status(), 410);
    assert_eq!(r.headers()["x-why"], "test");
    assert_eq!(r.text().await.expect("body"), "gone");
    receiver.set_answer(Answer::ok());
    receiver.set_delay(Duration::from_millis(150));
    let t = Instant::now();
    assert_eq!(post("/", "e4").await.expect("send").status(), 200);
    assert!(t.elapsed() >= Duration::from_millis(150));
    receiver.set_delay(Duration::ZERO);
    receiver.set_responder(|r| {
        if r.event_id() == Some("bad") {
            Answer::status(503)
        } else {
            Answer::status(202)
        }
    });
    assert_eq!(post("/", "bad").await.expect("send").status(), 503);
    assert_eq!(post("/", "good").await.expect("send").status(), 202);
    receiver.clear_responder();
    let all = receiver
        .wait_until(
            |reqs| reqs.iter().any(|r| r.event_id() == Some("good")),
            WAIT,
        )
        .await;
    assert_eq!(all.len(), 8);

    // Stop: the pooled keep-alive connection is closed too, so nothing gets through.
    receiver.stop().await;
    assert!(!receiver.is_running());
    let err = post("/", "e5").await.expect_err("stopped receiver refuses");
    assert!(err.is_connect() || err.is_request(), "{err:?}");
    assert_eq!(receiver.len(), 8);

    // Restart on the same port keeps records and numbering.
    receiver.restart().await;
    assert_eq!(post("/", "e6").await.expect("send").status(), 200);
    assert_eq!(receiver.requests().last().map(|r| r.seq), Some(8));

    // A request waiting on a slow answer gets 503 when the receiver stops; stop does not hang.
    receiver.set_answer(Answer::hang());
    let pending = tokio::spawn(
        reqwest::Client::new()
            .post(receiver.url("/hang"))
            .body("x")
            .send(),
    );
    receiver.wait_for_requests(10, WAIT).await;
    let t = Instant::now();
    receiver.stop().await;
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "stop waited {:?}",
        t.elapsed()
    );
    let answered = pending.await.expect("task").expect("answer");
    assert_eq!(answered.status(), 503);
    assert_eq!(receiver.requests().last().map(|r| r.status), Some(503));

    // A fresh receiver can take over a stopped one's port.
    let port = receiver.port();
    drop(receiver);
    let again = Receiver::start_on(port).await;
    assert_eq!(again.port(), port);
    assert!(again.is_empty());
    let r = reqwest::Client::new()
        .get(again.url("/ping"))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    let _ = again.wait_for_requests(1, WAIT).await;
}
