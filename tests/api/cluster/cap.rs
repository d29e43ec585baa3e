//! The per-webhook cap holds across the cluster: one node at a time serves a webhook, however
//! many nodes hold its events.

use super::*;

/// Requests to one webhook at once, cluster-wide.
const CAP: usize = 2;
/// How long the receiver holds each request.
const HOLD: Duration = Duration::from_millis(150);
const EVENTS: u32 = 60;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_never_send_one_webhook_more_than_its_cap_at_once() {
    if !postgres_configured() {
        return;
    }
    let _alone = ONE_AT_A_TIME.lock().await;
    let receiver = Receiver::start().await;
    receiver.set_delay(HOLD);
    let cap = CAP.to_string();
    let nodes = start_cluster(3, &with_loopback(&["--per-webhook-in-flight", &cap]));
    let endpoints = endpoints(&nodes).await;
    let ticket = endpoints[0].ticket.clone();
    save_webhook(&nodes[0], &ticket, "capped", &[EVENT], &receiver.url("/c")).await;

    // Every node stores events for it at once (round-robin), so every node could claim some.
    let accepted = Arc::new(AtomicUsize::new(0));
    let alive = Arc::new(vec![
        AtomicBool::new(true),
        AtomicBool::new(true),
        AtomicBool::new(true),
    ]);
    let outcomes = spawn_signalling(endpoints, alive, EVENTS, 12, accepted)
        .await
        .expect("signalling");
    assert!(
        outcomes
            .iter()
            .all(|(_, _, o)| matches!(o, Signal::Accepted)),
        "every SignalEvent accepted"
    );
    let want: HashSet<u64> = (1..=u64::from(EVENTS)).collect();
    let requests = wait_for_pks(&receiver, &want, WAIT).await;
    let got: HashSet<u64> = requests.iter().filter_map(primary_key).collect();
    assert_eq!(got, want, "every event delivered");

    // A request is out from its arrival until HOLD later: more than CAP arrivals within less
    // than HOLD of each other were out at once. (The margin covers scheduling jitter.)
    let mut arrivals: Vec<Instant> = requests.iter().map(|r| r.at).collect();
    arrivals.sort();
    let window = HOLD - Duration::from_millis(30);
    let most = arrivals
        .iter()
        .enumerate()
        .map(|(i, start)| {
            arrivals[i..]
                .iter()
                .take_while(|at| at.duration_since(*start) < window)
                .count()
        })
        .max()
        .unwrap_or(0);
    assert!(
        most <= CAP,
        "{most} requests to one webhook out at once over 3 nodes; the cap is {CAP}"
    );
    assert_eq!(
        most, CAP,
        "the cap was used (the test exercised concurrency)"
    );
}
