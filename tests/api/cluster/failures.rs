//! Concurrent failures on several nodes: every attempt counted, the webhook disabled once.

use super::*;

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
            // One node serves the webhook and probes it for the cluster: three cycles of three
            // counted failures disable it, a second apart.
            "--cycle-backoff-secs",
            "1",
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
