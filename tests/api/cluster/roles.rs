//! An API-only node and a delivery-only node split the work.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn api_node_and_delivery_node_split_the_work() {
    if !postgres_configured() {
        return;
    }
    let _alone = ONE_AT_A_TIME.lock().await;
    let receiver = Receiver::start().await;
    let api_args = with_loopback(&["--no-dispatcher"]);
    let delivery_args = with_loopback(&["--no-api"]);
    let api = TestServer::start(&api_args);
    let endpoint = Endpoint {
        url: api.url("/Remote/Services88/Webhook.svc"),
        ticket: api.ticket().await,
    };
    save_webhook(
        &api,
        &endpoint.ticket,
        "split hook",
        &[EVENT],
        &receiver.url("/split"),
    )
    .await;
    let http = reqwest::Client::new();
    let signal = |pk: u32| {
        let (http, endpoint) = (http.clone(), endpoint.clone());
        async move {
            match signal_event(&http, &endpoint.url, &endpoint.ticket, EVENT, pk).await {
                Signal::Accepted => {}
                other => panic!("SignalEvent {pk} on the API-only node: {other:?}"),
            }
        }
    };

    // The API-only node stores events but delivers nothing itself.
    signal(1).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        receiver.is_empty(),
        "the --no-dispatcher node delivered: {}",
        receiver.summary()
    );

    // The delivery-only node delivers what is waiting...
    let deliverer = api.node(&delivery_args);
    let health = reqwest::get(deliverer.url("/health"))
        .await
        .expect("GET /health");
    assert_eq!(health.status(), 200, "/health on the --no-api node");
    let soap = deliverer
        .post_soap(
            "/Remote/Services88/Webhook.svc",
            SOAP11,
            &format!("{NS88}/Webhook/GetAllWebhooks"),
            envelope(SOAP11, NS88, "", "<tns:GetAllWebhooks/>"),
        )
        .await;
    assert_eq!(
        soap.status, 404,
        "the --no-api node serves no SOAP: {}",
        soap.body
    );
    let first: HashSet<u64> = [1].into();
    let requests = wait_for_pks(&receiver, &first, Duration::from_secs(10)).await;
    assert_all_delivered(&first, &requests, Duration::from_secs(10));

    // ...and each new event promptly, woken by the API node's commit rather than its poll.
    const PROMPTLY: Duration = Duration::from_secs(5);
    let mut latencies = Vec::new();
    for pk in 2..=6u32 {
        // Spread the calls over the dispatcher's 1 s poll cycle.
        tokio::time::sleep(Duration::from_millis(230)).await;
        let sent_at = Instant::now();
        signal(pk).await;
        let want: HashSet<u64> = [u64::from(pk)].into();
        let requests = wait_for_pks(&receiver, &want, PROMPTLY).await;
        let arrived = requests
            .iter()
            .find(|r| primary_key(r) == Some(u64::from(pk)))
            .unwrap_or_else(|| {
                panic!(
                    "event {pk}, signalled on the API-only node, was not delivered by the \
                     delivery-only node within {PROMPTLY:?}: {}",
                    receiver.summary()
                )
            });
        latencies.push(arrived.at.saturating_duration_since(sent_at));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let requests = receiver.requests();
    assert_no_problems(&delivery_problems(&requests));
    let by_pk = event_ids_by_pk(&requests);
    assert_eq!(
        by_pk
            .iter()
            .map(|(pk, ids)| (*pk, ids.len()))
            .collect::<Vec<_>>(),
        (1..=6).map(|pk| (pk, 1)).collect::<Vec<_>>(),
        "(pk, deliveries): each event once"
    );
    eprintln!(
        "cluster split: SignalEvent on the API-only node to arrival from the delivery-only node: \
         {latencies:?}"
    );
}
