//! Every accepted event arrives exactly once: with three nodes signalled round-robin, and
//! when one of them is SIGKILLed mid-run (the survivors take over its leases).

use super::*;

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
/// Attempts in flight per node in the crash test: the receiver's 200 ms answers keep a
/// backlog, so the node serving the webhook (the victim) has 8 attempts out when the kill
/// comes.
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

    let deadline = Instant::now() + WAIT;
    while accepted_count.load(Ordering::SeqCst) < KILL_AFTER {
        assert!(
            Instant::now() < deadline && !signalling.is_finished(),
            "only {} events accepted before the signalling ended or {WAIT:?} passed",
            accepted_count.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // The victim is the node sending (one node at a time serves a webhook), so the kill
    // interrupts attempts in flight.
    let victim = serving_node(&nodes).await;
    // New calls go to the survivors only; calls already on their way to the victim are lost.
    alive[victim].store(false, Ordering::SeqCst);
    nodes[victim].kill();
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
            Signal::Lost(e) if node == victim => {
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
        .filter(|(i, _)| *i != victim)
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
        "cluster crash: node {victim} SIGKILLed at {:?} with {accepted_at_kill} events accepted; \
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
