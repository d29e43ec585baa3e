//! A receiver's short outage (a blip) does not disable its webhook, and a receiver that asks
//! for time (`Retry-After` on 429/503) gets it. docs/DELIVERY.md, "Probing" and "Retry-After".
//! Runs on SQLite, and on PostgreSQL with `HOOKWIRE_TEST_DATABASE_URL`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::support::receiver::{Answer, Receiver};
use crate::support::signal::{Signal, signal_event};
use crate::support::{LOOPBACK, NS88, SOAP11, TestServer, webhook_xml};

/// (State, ConsecutiveErrors, TotalErrors) of webhook `id`, over REST.
async fn usage(server: &TestServer, id: &str) -> (String, i64, i64) {
    let w = server.get_json(&format!("/api/v1/Webhook/{id}")).await;
    (
        w["State"].as_str().unwrap_or_default().to_string(),
        w["ConsecutiveErrors"].as_i64().unwrap_or(-1),
        w["TotalErrors"].as_i64().unwrap_or(-1),
    )
}

async fn register(server: &TestServer, ticket: &str, url: &str) -> String {
    server
        .call(
            NS88,
            SOAP11,
            ticket,
            "SaveWebhook",
            &webhook_xml(0, "blip", &["order.*"], url, ""),
        )
        .await
        .ok()
        .text("WebhookId")
        .unwrap()
}

#[tokio::test]
async fn a_receiver_down_for_a_second_and_a_half_does_not_disable_its_webhook() {
    let server = TestServer::start(&LOOPBACK);
    let receiver = Receiver::start().await;
    let down = Arc::new(AtomicBool::new(true));
    let is_down = down.clone();
    receiver.set_responder(move |_| {
        if is_down.load(Ordering::SeqCst) {
            Answer::status(503)
        } else {
            Answer::ok()
        }
    });
    let ticket = server.ticket().await;
    let id = register(&server, &ticket, &receiver.url("/orders")).await;

    // The blip: 1.5 s of 503 while 200 events are signalled, 8 at a time.
    let endpoint = server.url("/Remote/Services88/Webhook.svc");
    let signals = {
        let http = server.http.clone();
        let ticket = ticket.clone();
        tokio::spawn(async move {
            let mut accepted = 0;
            for batch in 0..25u32 {
                let calls = (0..8u32).map(|i| {
                    let (http, endpoint, ticket) = (http.clone(), endpoint.clone(), ticket.clone());
                    async move {
                        signal_event(&http, &endpoint, &ticket, "order.created", batch * 8 + i)
                            .await
                    }
                });
                for outcome in futures_join(calls).await {
                    match outcome {
                        Signal::Accepted => accepted += 1,
                        other => panic!("SignalEvent: {other:?}"),
                    }
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            accepted
        })
    };
    let up = down.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        up.store(false, Ordering::SeqCst);
    });

    // Watch the webhook throughout: it must never be disabled, nor count the burst.
    let mut worst = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    loop {
        let (state, consecutive, _) = usage(&server, &id).await;
        assert_eq!(
            state,
            "Active",
            "disabled by a blip: {}",
            receiver.summary()
        );
        worst = worst.max(consecutive);
        if receiver.distinct_event_ids().len() >= 200 || tokio::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(signals.await.unwrap(), 200);
    assert_eq!(
        receiver.distinct_event_ids().len(),
        200,
        "every event arrives: {}",
        receiver.summary()
    );
    assert!(
        worst <= 3,
        "ConsecutiveErrors reached {worst} during a 1.5 s blip"
    );
    let (state, consecutive, total_errors) = usage(&server, &id).await;
    assert_eq!((state.as_str(), consecutive), ("Active", 0));
    // The attempts that failed are all accounted for in TotalErrors.
    let failed = receiver
        .requests()
        .iter()
        .filter(|r| r.status == 503)
        .count() as i64;
    assert!(failed >= 1);
    let mut recorded = total_errors;
    for _ in 0..50 {
        if recorded == failed {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        recorded = usage(&server, &id).await.2;
    }
    assert_eq!(recorded, failed, "TotalErrors counts every failed attempt");
}

/// Runs the futures concurrently and returns their outputs in order.
async fn futures_join<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test]
async fn retry_after_in_seconds_or_as_a_date_is_honoured() {
    let server = TestServer::start(&LOOPBACK);
    let receiver = Receiver::start().await;
    let ticket = server.ticket().await;
    register(&server, &ticket, &receiver.url("/busy")).await;
    let endpoint = server.url("/Remote/Services88/Webhook.svc");

    let http_date_in = |secs: i64| {
        (chrono::Utc::now() + chrono::Duration::seconds(secs))
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string()
    };
    for (status, as_date, at_least) in [
        (503, false, Duration::from_millis(2900)),
        (429, true, Duration::from_millis(2000)),
    ] {
        let retry_after = if as_date {
            http_date_in(4)
        } else {
            "3".to_string()
        };
        receiver.clear();
        receiver.script([
            Answer::status(status).with_header("Retry-After", &retry_after),
            Answer::ok(),
        ]);
        match signal_event(&server.http, &endpoint, &ticket, "order.created", 1).await {
            Signal::Accepted => {}
            other => panic!("SignalEvent: {other:?}"),
        }
        let got = receiver.wait_for_requests(2, Duration::from_secs(15)).await;
        let gap = got[1].at - got[0].at;
        assert!(
            gap >= at_least,
            "{status} with Retry-After {retry_after}: retried after {gap:?} (the cycle's own delay is 1 s)"
        );
        assert_eq!(got[1].status, 200);
        assert_eq!(got[0].event_id(), got[1].event_id());
    }
}
