//! `DeliveryOrder` `PerRecord` on three nodes (docs/DELIVERY.md, "Ordered delivery"; issue 17):
//! the workloads of `delivery_order.rs`, signalled round-robin over the nodes. The order holds
//! across nodes and through a SIGKILL of the node serving the webhook (at-least-once may
//! repeat the attempt in flight, never reorder); one failing record blocks only itself.

use super::*;
use crate::delivery_order::{
    DELIVER_WITHIN, EVENTS_PER_RECORD, Pace, QUICK_RETRIES, RECORDS, SEED, all_alive,
    assert_order_kept, attempt_counts, create_per_record_webhook, endpoints as rest_endpoints,
    flaky_receiver, one_failing_record_blocks_only_itself, spawn_records, state_of,
    wait_for_every_event,
};

/// Share of the events first received before the serving node is killed.
const KILL_AT: f64 = 0.4;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn per_record_order_holds_across_nodes_and_a_sigkill() {
    if !postgres_configured() {
        return;
    }
    let _alone = ONE_AT_A_TIME.lock().await;
    let _measuring = crate::delivery_order::ONE_AT_A_TIME.lock().await;
    let started = Instant::now();
    let (receiver, flaky) = flaky_receiver().await;
    let mut nodes = start_cluster(3, &with_loopback(&QUICK_RETRIES));
    let endpoints = Arc::new(rest_endpoints(&nodes).await);
    let id = create_per_record_webhook(&endpoints[0], &receiver.url("/ordered")).await;

    let alive = all_alive(nodes.len());
    let signalling = spawn_records(
        endpoints.clone(),
        alive.clone(),
        (1..=RECORDS).collect(),
        Pace::Count(EVENTS_PER_RECORD),
    );
    let total = RECORDS as usize * EVENTS_PER_RECORD as usize;
    let deadline = Instant::now() + WAIT;
    while (flaky.succeeded() as f64) < KILL_AT * total as f64 {
        assert!(
            Instant::now() < deadline,
            "only {} of {total} events answered 200 within {WAIT:?}: {}",
            flaky.succeeded(),
            receiver.summary()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // The node serving the webhook (one node at a time does), so the kill interrupts attempts
    // in flight and the records they belong to.
    let victim = serving_node(&nodes).await;
    alive[victim].store(false, Ordering::SeqCst);
    nodes[victim].kill();
    let killed_at = Instant::now();
    let received_at_kill = flaky.succeeded();

    let signalled = signalling
        .await
        .expect("signalling")
        .unwrap_or_else(|e| panic!("{e}"));
    let signalled_at = Instant::now();
    let requests = wait_for_every_event(&receiver, &signalled, DELIVER_WITHIN).await;
    let delivered_at = Instant::now();
    let (attempts, failed) = attempt_counts(&requests);
    let successes: Vec<&str> = requests
        .iter()
        .filter(|r| r.status == 200)
        .filter_map(|r| r.event_id())
        .collect();
    let repeated = successes.len() - successes.iter().collect::<HashSet<_>>().len();
    eprintln!(
        "cluster order: node {victim} SIGKILLed at {:?} with {received_at_kill} of {total} \
         events received; signalling done at {:?}; the receiver had them all {:?} after the \
         kill ({attempts} attempts, {failed} answered 500, {repeated} repeated successes, seed \
         {SEED}); test took {:?}",
        killed_at - started,
        signalled_at - started,
        delivered_at - killed_at,
        started.elapsed()
    );
    assert_order_kept(&requests, &signalled);
    let survivor = (victim + 1) % nodes.len();
    assert_eq!(
        state_of(&endpoints[survivor], id).await,
        "Active",
        "10 % of failed attempts spread over the records must not disable the webhook"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_failing_record_blocks_only_itself_on_three_nodes() {
    if !postgres_configured() {
        return;
    }
    let _alone = ONE_AT_A_TIME.lock().await;
    let _measuring = crate::delivery_order::ONE_AT_A_TIME.lock().await;
    let nodes = start_cluster(3, &with_loopback(&["--cycle-backoff-secs", "1"]));
    one_failing_record_blocks_only_itself(&nodes).await;
}
