//! An operator's Retry of one delivery and Recover of a time window (docs/REST.md, Retry and
//! Recover), and the summary members of the REST carrier: each sends exactly the deliveries
//! it names, with their EventId, logged as `manual`, and never counts towards TooManyErrors.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::receiver::{Answer, Receiver};
use crate::support::rest::Api;
use crate::support::*;

fn hook(name: &str, url: &str) -> Value {
    json!({"Name": name, "Events": ["contact.created"], "TargetUrl": url, "State": "Active"})
}

fn items(page: &Value) -> Vec<Value> {
    page["Deliveries"].as_array().cloned().unwrap_or_default()
}

/// The members that disable a webhook, and its state.
fn counters(webhook: &Value) -> (Value, Value, Value, Value) {
    (
        webhook["State"].clone(),
        webhook["TotalCalls"].clone(),
        webhook["TotalErrors"].clone(),
        webhook["ConsecutiveErrors"].clone(),
    )
}

#[tokio::test]
async fn retry_sends_one_manual_attempt_whatever_the_state_and_counts_nothing() {
    let receiver = Receiver::start().await;
    receiver.set_answer(Answer::status(500).with_body("down"));
    let mut args = LOOPBACK.to_vec();
    args.extend(["--retry-delays-ms", "10,10", "--failures-to-disable", "3"]);
    let api = Api::start(&args).await;
    let id = rest::id_of(&api.create(hook("retried", &receiver.url("/in"))).await);
    api.signal("contact.created", 11).await;
    let disabled = api
        .get_when(&format!("/api/v1/Webhook/{id}"), |w| {
            w["State"] == "TooManyErrors"
        })
        .await;
    let before = counters(&disabled);
    let list = format!("/api/v1/Webhook/{id}/Deliveries");
    let page = api.get_when(&list, |p| items(p).len() == 1).await;
    let d = &items(&page)[0];
    assert_eq!(d["Status"], "parked", "{d}");
    let delivery_id = d["DeliveryId"].as_i64().unwrap_or_default();
    let event_id = d["EventId"].as_str().unwrap_or_default().to_string();
    let retry = format!("{list}/{delivery_id}/Retry");

    // Still failing: the attempt is answered, logged as manual, and changes nothing.
    let failed = api.post(&retry).send().await.ok();
    assert_eq!(failed["Trigger"], "manual", "{failed}");
    assert_eq!(failed["Status"], 500, "{failed}");
    assert_eq!(failed["Attempt"], 4, "after the 3 automatic ones: {failed}");
    assert!(
        failed["Response"].as_str().unwrap_or("").ends_with("down"),
        "{failed}"
    );
    let after = api.fetch(id).await;
    assert_eq!(counters(&after), before, "a manual failure counts nowhere");
    assert_eq!(after["LastError"], disabled["LastError"], "{after}");
    let one = api.get(&format!("{list}/{delivery_id}")).send().await.ok();
    assert_eq!(one["Status"], "parked", "it stays as it was: {one}");

    // Now the receiver works: delivered, still counting nothing, the hook still disabled.
    receiver.set_answer(Answer::ok().with_body("thanks"));
    let ok = api.post(&retry).send().await.ok();
    assert_eq!(ok["Trigger"], "manual", "{ok}");
    assert_eq!(ok["Status"], 200, "{ok}");
    assert!(ok["Error"].is_null(), "{ok}");
    assert!(ok["DurationMs"].as_i64().is_some(), "{ok}");
    let after = api.fetch(id).await;
    assert_eq!(
        counters(&after),
        before,
        "only a restart resets the counters"
    );
    let one = api.get(&format!("{list}/{delivery_id}")).send().await.ok();
    assert_eq!(one["Status"], "delivered", "{one}");
    let triggers: Vec<&str> = one["AttemptLog"]
        .as_array()
        .map(|log| log.iter().filter_map(|a| a["Trigger"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        triggers,
        ["automatic", "automatic", "automatic", "manual", "manual"],
        "{one}"
    );
    let seen = receiver.requests();
    assert_eq!(
        seen.len(),
        5,
        "3 automatic + 2 manual: {}",
        receiver.summary()
    );
    assert!(
        seen.iter().all(|r| r.event_id() == Some(event_id.as_str())),
        "the same EventId every time: {}",
        receiver.summary()
    );

    // A delivered delivery can be sent again on request too.
    let again = api.post(&retry).send().await.ok();
    assert_eq!(again["Status"], 200, "{again}");
    assert_eq!(receiver.requests().len(), 6);

    // The summary members: the last attempt, its result, the failures of 24 hours.
    let summary = api.fetch(id).await;
    assert!(summary["LastDelivery"].is_string(), "{summary}");
    assert_eq!(summary["LastResult"], "200 OK", "{summary}");
    assert_eq!(
        summary["Failures24h"], 4,
        "3 automatic + 1 manual: {summary}"
    );
    let listed = api.get("/api/v1/Webhook").send().await.ok();
    let listed = listed
        .as_array()
        .and_then(|all| all.iter().find(|w| w["WebhookId"] == id))
        .cloned()
        .unwrap_or_default();
    assert_eq!(listed["LastResult"], "200 OK", "{listed}");
    assert_eq!(listed["Failures24h"], 4, "{listed}");
    let rpc = api
        .post("/api/v1/Agents/Webhook/GetAllWebhooks")
        .json(&json!({}))
        .send()
        .await
        .ok();
    let rpc = rpc
        .as_array()
        .and_then(|all| all.iter().find(|w| w["WebhookId"] == id))
        .cloned()
        .unwrap_or_default();
    assert_eq!(rpc["Failures24h"], 4, "{rpc}");
    assert_eq!(rpc["LastDelivery"], summary["LastDelivery"], "{rpc}");
    // SOAP carriers stay as NetServer's.
    let soap = api.soap_get(id).await;
    assert!(!soap.body.contains("Failures24h"), "{}", soap.body);
    assert!(!soap.body.contains("LastResult"), "{}", soap.body);
}

#[tokio::test]
async fn a_webhook_never_attempted_has_no_last_delivery() {
    let api = Api::start(&LOOPBACK).await;
    let id = rest::id_of(&api.create(hook("quiet", "http://127.0.0.1:9/")).await);
    let w = api.fetch(id).await;
    assert!(w["LastDelivery"].is_null(), "{w}");
    assert!(w["LastResult"].is_null(), "{w}");
    assert_eq!(w["Failures24h"], 0, "{w}");
}

#[tokio::test]
async fn recover_requeues_the_window_dead_letters_included_and_counts_nothing() {
    let receiver = Receiver::start().await;
    receiver.set_answer(Answer::status(503).with_body("busy"));
    let mut args = LOOPBACK.to_vec();
    // One failed cycle and the next would start after the 1 s window: dead.
    args.extend([
        "--retry-delays-ms",
        "10,10",
        "--retention-secs",
        "1",
        "--failures-to-disable",
        "100",
    ]);
    let api = Api::start(&args).await;
    let id = rest::id_of(&api.create(hook("recovered", &receiver.url("/in"))).await);
    let list = format!("/api/v1/Webhook/{id}/Deliveries");
    let dead = |n: usize| move |p: &Value| items(p).len() == n;

    api.signal("contact.created", 1).await; // before the window
    let outside = api.get_when(&format!("{list}?status=dead"), dead(1)).await;
    let outside_id = items(&outside)[0]["EventId"].clone();
    tokio::time::sleep(Duration::from_millis(20)).await;
    api.signal("contact.created", 2).await;
    api.signal("contact.created", 3).await;
    let page = api.get_when(&format!("{list}?status=dead"), dead(3)).await;
    let window: Vec<Value> = items(&page)
        .into_iter()
        .filter(|d| d["EventId"] != outside_id)
        .collect();
    let since = window
        .iter()
        .filter_map(|d| d["Created"].as_str())
        .min()
        .unwrap_or_default()
        .to_string();
    let wanted: HashSet<String> = window
        .iter()
        .filter_map(|d| d["EventId"].as_str().map(str::to_string))
        .collect();
    assert_eq!(wanted.len(), 2, "{page}");
    // A delivered one in the window is not sent again.
    receiver.set_answer(Answer::ok());
    api.signal("contact.created", 4).await;
    api.get_when(&format!("{list}?status=delivered"), dead(1))
        .await;
    let before = counters(&api.fetch(id).await);
    let recover = format!("/api/v1/Webhook/{id}/Recover");

    // Recovered while the receiver still fails: one manual attempt each, counted nowhere;
    // past their retention window they go back to the dead letters.
    receiver.set_answer(Answer::status(503).with_body("busy"));
    receiver.clear();
    let answer = api
        .post(&recover)
        .json(&json!({"Since": since}))
        .send()
        .await
        .ok();
    assert_eq!(answer, json!({"Recovered": 2}));
    receiver.wait_for_requests(2, Duration::from_secs(20)).await;
    api.get_when(&format!("{list}?status=dead"), dead(3)).await;
    assert_eq!(
        counters(&api.fetch(id).await),
        before,
        "manual failures count nowhere"
    );
    assert_eq!(
        receiver.distinct_event_ids(),
        wanted,
        "{}",
        receiver.summary()
    );

    // Recovered again with a working receiver: exactly those two arrive, same EventIds.
    receiver.set_answer(Answer::ok());
    receiver.clear();
    let answer = api
        .post(&recover)
        .json(&json!({"since": since, "until": "2999-01-01T00:00:00Z"}))
        .send()
        .await
        .ok();
    assert_eq!(answer, json!({"Recovered": 2}));
    let page = api
        .get_when(&format!("{list}?status=delivered"), dead(3))
        .await;
    assert_eq!(
        receiver.distinct_event_ids(),
        wanted,
        "{}",
        receiver.summary()
    );
    assert_eq!(receiver.requests().len(), 2, "{}", receiver.summary());
    assert_eq!(counters(&api.fetch(id).await), before, "{page}");
    for d in &items(&page) {
        let delivery_id = d["DeliveryId"].as_i64().unwrap_or_default();
        let one = api.get(&format!("{list}/{delivery_id}")).send().await.ok();
        let log = one["AttemptLog"].as_array().cloned().unwrap_or_default();
        let last = log.last().cloned().unwrap_or_default();
        let recovered = wanted.contains(d["EventId"].as_str().unwrap_or_default());
        let want = if recovered { "manual" } else { "automatic" };
        assert_eq!(last["Trigger"], want, "{one}");
    }
    // Nothing left to recover in the window: the count says so.
    let answer = api
        .post(&recover)
        .json(&json!({"Since": since}))
        .send()
        .await
        .ok();
    assert_eq!(answer, json!({"Recovered": 0}));
}

#[tokio::test]
async fn bad_input_is_a_400_naming_the_parameter_and_other_apps_get_403() {
    let receiver = Receiver::start().await;
    let mut args = LOOPBACK.to_vec();
    args.push("--online");
    let api = Api::start(&args).await;
    let (a, b) = api.two_apps();
    let created = api
        .post("/api/v1/Webhook")
        .header("SO-AppToken", &a)
        .json(&hook("a's", &receiver.url("/a")))
        .send()
        .await
        .ok();
    let id = rest::id_of(&created);
    let delivery_id = api.delivery_as(&a, id).await;
    receiver.wait_for_requests(1, Duration::from_secs(10)).await;
    let list = format!("/api/v1/Webhook/{id}/Deliveries");
    let retry = format!("{list}/{delivery_id}/Retry");
    let recover = format!("/api/v1/Webhook/{id}/Recover");
    let window = json!({"Since": "2000-01-01T00:00:00Z"});

    // Another application: 403, and nothing is sent.
    api.post(&retry)
        .header("SO-AppToken", &b)
        .send()
        .await
        .error(403, "SoSecurityException", "another application");
    api.post(&recover)
        .header("SO-AppToken", &b)
        .json(&window)
        .send()
        .await
        .error(403, "SoSecurityException", "another application");
    assert_eq!(receiver.requests().len(), 1, "{}", receiver.summary());

    let as_a = |path: &str| api.post(path).header("SO-AppToken", &a);
    as_a(&format!("{list}/first/Retry")).send().await.error(
        400,
        "ArgumentException",
        "'first' is not a delivery id",
    );
    as_a(&format!("{list}/424242/Retry")).send().await.error(
        404,
        "NotFoundException",
        "no delivery 424242",
    );
    as_a("/api/v1/Webhook/x/Recover")
        .json(&window)
        .send()
        .await
        .error(400, "ArgumentException", "'x' is not a webhook id");
    as_a(&recover)
        .send()
        .await
        .error(400, "ArgumentException", "the body is required");
    for (body, words) in [
        (json!([1]), "the body must be a JSON object"),
        (json!({}), "Since is required"),
        (json!({"Since": 5}), "Since"),
        (
            json!({"Since": "yesterday"}),
            "Since 'yesterday' is not an ISO 8601",
        ),
        (
            json!({"Since": "2026-11-29T12:00:00Z", "Until": "2026-11-29T11:00:00Z"}),
            "Since (2026-11-29T12:00:00Z) is after Until (2026-11-29T11:00:00Z)",
        ),
        (
            json!({"Since": "2026-11-29T12:00:00Z", "Until": "noon"}),
            "Until 'noon'",
        ),
    ] {
        as_a(&recover)
            .json(&body)
            .send()
            .await
            .error(400, "ArgumentException", words);
    }
    // The owner may.
    let ok = as_a(&retry).send().await.ok();
    assert_eq!(ok["Trigger"], "manual", "{ok}");
    let answer = as_a(&recover).json(&window).send().await.ok();
    assert_eq!(
        answer,
        json!({"Recovered": 0}),
        "delivered: nothing to recover"
    );
}

/// A window larger than one of Recover's batches (1,000) is queued whole and counted once;
/// deliveries an earlier Recover queued and nobody tried yet are not counted again.
#[tokio::test]
async fn a_large_window_is_recovered_whole_in_batches() {
    let receiver = Receiver::start().await;
    receiver.set_answer(Answer::status(500));
    let mut args = LOOPBACK.to_vec();
    args.extend(["--failures-to-disable", "1"]);
    let api = Api::start(&args).await;
    let id = rest::id_of(&api.create(hook("parked", &receiver.url("/in"))).await);
    api.signal("contact.created", 0).await;
    api.get_when(&format!("/api/v1/Webhook/{id}"), |w| {
        w["State"] == "TooManyErrors"
    })
    .await;
    // Parked behind the disabled webhook: queued, never sent until a restart.
    for key in 1..=1200 {
        api.signal("contact.created", key).await;
    }
    let recover = format!("/api/v1/Webhook/{id}/Recover");
    let window = json!({"Since": "2000-01-01T00:00:00Z"});
    let answer = api.post(&recover).json(&window).send().await.ok();
    assert_eq!(answer, json!({"Recovered": 1201}));
    let again = api.post(&recover).json(&window).send().await.ok();
    assert_eq!(
        again,
        json!({"Recovered": 0}),
        "already queued by the first"
    );
}
