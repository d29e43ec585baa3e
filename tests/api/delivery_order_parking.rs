//! `DeliveryOrder` `PerRecord` through parking, a restart and `Retry-After` (docs/DELIVERY.md,
//! "Ordered delivery"): a `410 Gone` on a record's first event disables the webhook with that
//! event parked; the record's later events wait behind it, another record's too behind its
//! own first; after a restart the first event meets a `503` with `Retry-After`, and only once
//! it succeeds do the record's later events go, in order.

use std::collections::BTreeMap;
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
