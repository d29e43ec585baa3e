//! Deliveries a node leases ahead of its send slots (docs/DELIVERY.md, Concurrency): given
//! back at SIGTERM as they were, so after a restart each is sent as a first attempt.

use std::time::Duration;

use serde_json::json;

use crate::support::receiver::Receiver;
use crate::support::rest::Api;
use crate::support::*;

#[tokio::test]
async fn deliveries_waiting_for_a_slot_at_sigterm_go_out_after_a_restart_as_first_attempts() {
    let receiver = Receiver::start().await;
    // One request at a time, each held long: the node leases the next ones ahead and holds
    // them, unsent, when SIGTERM comes.
    receiver.set_delay(Duration::from_millis(400));
    let mut args = LOOPBACK.to_vec();
    args.extend(["--per-webhook-in-flight", "1", "--shutdown-grace-secs", "2"]);
    let api = Api::start(&args).await;
    let hook = json!({"Name": "slow", "Events": ["contact.created"],
                      "TargetUrl": receiver.url("/slow"), "State": "Active"});
    rest::id_of(&api.create(hook).await);
    const EVENTS: usize = 6;
    for key in 1..=EVENTS {
        api.signal("contact.created", i32::try_from(key).unwrap_or_default())
            .await;
    }
    receiver.wait_for_requests(1, Duration::from_secs(20)).await;
    let Api {
        mut server,
        ticket,
        auth,
    } = api;
    assert!(
        server.terminate(Duration::from_secs(10)).await.is_some(),
        "SIGTERM ends the server"
    );
    let before = receiver.len();
    assert!(
        before < EVENTS,
        "some deliveries were still waiting at SIGTERM"
    );
    let api = Api {
        server: server.restart(),
        ticket,
        auth,
    };
    let requests = receiver
        .wait_for_requests(EVENTS, Duration::from_secs(30))
        .await;
    let retries: Vec<Option<u32>> = requests[before..].iter().map(|r| r.retry()).collect();
    assert!(
        retries.iter().all(|r| *r == Some(0)),
        "after the restart every delivery's first request is its first attempt (retry 0): \
         {retries:?}\n{}",
        receiver.summary()
    );
    drop(api);
}
