//! `DeliveryOrder` `PerRecord` through a webhook's life (docs/DELIVERY.md, "Ordered
//! delivery"): parking, a restart and `Retry-After` keep each record's order, and the
//! state-change events of a webhook reach a `PerRecord` subscriber in the order they fired.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::delivery_order::{
    DELIVER_WITHIN, Endpoint, QUICK_RETRIES, args, assert_order_kept, create_per_record_webhook,
    record, rest_ok, signal_seq, state_of, wait_for_every_event,
};
use crate::support::order_receiver::{Record, tag};
use crate::support::receiver::{Answer, Receiver};
use crate::support::signal::Signal;
use crate::support::*;

/// Signals `seqs` of record `pk` one after another; each must be accepted.
async fn signal(to: &Endpoint, pk: i64, seqs: std::ops::Range<u64>) -> Vec<u64> {
    let http = reqwest::Client::new();
    let mut accepted = Vec::new();
    for seq in seqs {
        match signal_seq(&http, to, pk, seq).await {
            Signal::Accepted => accepted.push(seq),
            other => panic!("SignalEvent of record {pk} seq {seq}: {other:?}"),
        }
    }
    accepted
}

/// The webhook's deliveries in `status`, over REST.
async fn deliveries_in(to: &Endpoint, id: i64, status: &str) -> Vec<Value> {
    let page = rest_ok(
        &reqwest::Client::new(),
        to,
        reqwest::Method::GET,
        &format!("/api/v1/Webhook/{id}/Deliveries?status={status}"),
        None,
    )
    .await;
    page["Deliveries"].as_array().cloned().unwrap_or_default()
}

async fn wait_for_state(to: &Endpoint, id: i64, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let state = state_of(to, id).await;
        if state == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "webhook {id} is {state}, not {want}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A `410 Gone` on a record's first event disables the webhook with that event parked; the
/// record's later events wait behind it, another record's too behind its own first; after a
/// restart the first event meets a `503` with `Retry-After`, and only once it succeeds do the
/// record's later events go, in order.
#[tokio::test]
async fn parking_a_restart_and_retry_after_keep_each_records_order() {
    let server = TestServer::start(&args(&QUICK_RETRIES));
    let to = Endpoint {
        base: server.base.clone(),
        auth: format!("SOTicket {}", server.ticket().await),
    };
    let receiver = Receiver::start().await;
    // Record 1's first event: 410 Gone, then (after the restart) 503 with Retry-After 1 s,
    // then 200. Everything else: 200.
    let first_attempts = Arc::new(AtomicUsize::new(0));
    let counter = first_attempts.clone();
    receiver.set_responder(move |request| match tag(request) {
        Some(((_, 1), 0)) => match counter.fetch_add(1, Ordering::SeqCst) {
            0 => Answer::status(410),
            1 => Answer::status(503).with_header("Retry-After", "1"),
            _ => Answer::ok(),
        },
        _ => Answer::ok(),
    });
    let id = create_per_record_webhook(&to, &receiver.url("/ordered")).await;

    let mut signalled: BTreeMap<Record, Vec<u64>> = BTreeMap::new();
    signalled.insert(record(1), signal(&to, 1, 0..1).await);
    wait_for_state(&to, id, "TooManyErrors").await;

    // Parked: record 1's later events wait behind its first; record 2's first is parked and
    // its later ones wait behind it.
    signalled
        .get_mut(&record(1))
        .expect("record 1")
        .extend(signal(&to, 1, 1..5).await);
    signalled.insert(record(2), signal(&to, 2, 0..3).await);
    let waiting = deliveries_in(&to, id, "waiting").await;
    assert_eq!(
        waiting.len(),
        6,
        "4 of record 1 and 2 of record 2 wait: {waiting:?}"
    );
    let parked = deliveries_in(&to, id, "parked").await;
    assert_eq!(parked.len(), 2, "each record's first is parked: {parked:?}");
    assert_eq!(
        receiver.len(),
        1,
        "nothing is sent while the webhook is disabled: {}",
        receiver.summary()
    );

    // Restart: each record's first goes; record 1's meets Retry-After before it succeeds.
    let restarted = rest_ok(
        &reqwest::Client::new(),
        &to,
        reqwest::Method::PATCH,
        &format!("/api/v1/Webhook/{id}"),
        Some(&json!({"State": "Active"})),
    )
    .await;
    assert_eq!(restarted["State"], "Active", "{restarted}");
    let requests = wait_for_every_event(&receiver, &signalled, DELIVER_WITHIN).await;
    assert_order_kept(&requests, &signalled);
    assert_eq!(
        first_attempts.load(Ordering::SeqCst),
        3,
        "record 1's first event: 410, 503, 200: {}",
        receiver.summary()
    );
    let record_1_first: Vec<Instant> = requests
        .iter()
        .filter(|r| matches!(tag(r), Some(((_, 1), 0))))
        .map(|r| r.at)
        .collect();
    assert!(
        record_1_first[2] - record_1_first[1] >= Duration::from_millis(950),
        "Retry-After: 1 was honoured (the next attempt came {:?} after the 503)",
        record_1_first[2] - record_1_first[1]
    );
    assert_eq!(state_of(&to, id).await, "Active");
}

/// `webhook{id}.stopped` / `.started` are one record per webhook: a `PerRecord` subscriber gets
/// them in the order the webhook was stopped and started, through a receiver that fails every
/// third attempt (its retries would let later events overtake without the order).
#[tokio::test]
async fn a_webhooks_state_changes_reach_a_per_record_subscriber_in_order() {
    let server = TestServer::start(&args(&QUICK_RETRIES));
    let to = Endpoint {
        base: server.base.clone(),
        auth: format!("SOTicket {}", server.ticket().await),
    };
    let http = reqwest::Client::new();
    let target = Receiver::start().await;
    let watched = rest_ok(
        &http,
        &to,
        reqwest::Method::POST,
        "/api/v1/Webhook",
        Some(&json!({"Name": "watched", "Events": ["contact.changed"],
                     "TargetUrl": target.url("/w"), "State": "Active", "Type": "webhook"})),
    )
    .await;
    let id = watched["WebhookId"].as_i64().expect("WebhookId");
    let subscriber = Receiver::start().await;
    let answers = Arc::new(AtomicUsize::new(0));
    let counter = answers.clone();
    subscriber.set_responder(move |_| {
        let answer = if counter.fetch_add(1, Ordering::SeqCst) % 3 == 1 {
            Answer::status(500)
        } else {
            Answer::ok()
        };
        answer.with_delay(Duration::from_millis(20))
    });
    let created = rest_ok(
        &http,
        &to,
        reqwest::Method::POST,
        "/api/v1/Webhook",
        Some(&json!({"Name": "watcher",
                     "Events": [format!("webhook{id}.started"), format!("webhook{id}.stopped")],
                     "TargetUrl": subscriber.url("/s"), "State": "Active", "Type": "webhook",
                     "DeliveryOrder": "PerRecord"})),
    )
    .await;
    assert_eq!(created["DeliveryOrder"], "PerRecord", "{created}");
    let pinged = subscriber.len(); // the save's test ping, if any

    let mut fired = Vec::new();
    for turn in 0..10 {
        let (state, verb) = if turn % 2 == 0 {
            ("Stopped", "stopped")
        } else {
            ("Active", "started")
        };
        let saved = rest_ok(
            &http,
            &to,
            reqwest::Method::PATCH,
            &format!("/api/v1/Webhook/{id}"),
            Some(&json!({"State": state})),
        )
        .await;
        assert_eq!(saved["State"], state, "{saved}");
        fired.push(format!("webhook{id}.{verb}"));
    }
    let requests = subscriber
        .wait_until(
            |requests| {
                let ok: HashSet<_> = requests
                    .iter()
                    .filter(|r| r.status == 200)
                    .filter_map(|r| r.event_id().map(str::to_string))
                    .collect();
                ok.len() >= pinged + fired.len()
            },
            DELIVER_WITHIN,
        )
        .await;
    let mut seen = HashSet::new();
    let received: Vec<String> = requests[pinged..]
        .iter()
        .filter(|r| r.status == 200)
        .filter(|r| r.event_id().is_some_and(|e| seen.insert(e.to_string())))
        .map(|r| r.json()["Event"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        received,
        fired,
        "first successful receipts in the order the states changed: {}",
        subscriber.summary()
    );
    assert!(
        requests.iter().any(|r| r.status == 500),
        "the receiver failed some attempts (so retries were in play)"
    );
}
