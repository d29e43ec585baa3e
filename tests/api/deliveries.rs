//! The delivery log over REST (docs/REST.md, Deliveries; docs/DELIVERY.md, Attempt log): each
//! attempt with its status or error class, duration and answer head; the list's filters,
//! keyset paging and CSV; 400s naming the parameter; 403 for another application's webhook.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::receiver::{Answer, Receiver};
use crate::support::rest::Api;
use crate::support::*;

fn hook(name: &str, events: &[&str], url: &str) -> Value {
    json!({"Name": name, "Events": events, "TargetUrl": url, "State": "Active", "Type": "webhook"})
}

/// The list with `query`; asserts 200.
async fn page(api: &Api, list: &str, query: String) -> Value {
    api.get(&format!("{list}?{query}")).send().await.ok()
}

fn items(page: &Value) -> &Vec<Value> {
    page["Deliveries"]
        .as_array()
        .unwrap_or_else(|| panic!("no Deliveries array in {page}"))
}

fn all_delivered(n: usize) -> impl Fn(&Value) -> bool {
    move |page| {
        let items = items(page);
        items.len() == n && items.iter().all(|d| d["Status"] == "delivered")
    }
}

#[tokio::test]
async fn each_attempt_is_logged_with_its_status_or_error_duration_and_answer() {
    let receiver = Receiver::start().await;
    receiver.script([
        Answer::status(500)
            .with_header("x-why", "broken")
            .with_body("boom"),
        Answer::ok().with_delay(Duration::from_secs(3)),
        Answer::ok().with_body("thanks"),
    ]);
    let mut args = LOOPBACK.to_vec();
    args.extend(["--delivery-timeout-secs", "1", "--retry-delays-ms", "10,10"]);
    let api = Api::start(&args).await;
    let id = rest::id_of(
        &api.create(hook("logged", &["contact.created"], &receiver.url("/in")))
            .await,
    );
    api.signal("contact.created", 7).await;
    let seen = receiver.wait_for_requests(3, Duration::from_secs(20)).await;
    let event_id = seen[0].event_id().unwrap_or_default().to_string();

    let list = format!("/api/v1/Webhook/{id}/Deliveries");
    let page = api.get_when(&list, all_delivered(1)).await;
    let d = &items(&page)[0];
    assert_eq!(d["EventId"], event_id.as_str(), "{d}");
    assert_eq!(d["Event"], "contact.created", "{d}");
    assert_eq!(d["PrimaryKey"], 7, "{d}");
    assert_eq!(d["Attempts"], 3, "{d}");
    assert_eq!(d["LastStatus"], 200, "{d}");
    assert!(d["LastAttempt"].is_string(), "{d}");
    assert!(d["NextAttempt"].is_null(), "delivered: nothing due: {d}");
    assert!(d["Created"].is_string(), "{d}");
    assert!(page["NextCursor"].is_null(), "{page}");

    let delivery_id = d["DeliveryId"].as_i64().unwrap_or_default();
    let one = api.get(&format!("{list}/{delivery_id}")).send().await.ok();
    assert_eq!(one["EventId"], event_id.as_str(), "{one}");
    assert_eq!(one["Status"], "delivered", "{one}");
    let log = one["AttemptLog"]
        .as_array()
        .unwrap_or_else(|| panic!("no AttemptLog in {one}"));
    assert_eq!(log.len(), 3, "{one}");
    for (i, attempt) in log.iter().enumerate() {
        assert_eq!(attempt["Attempt"], i + 1, "oldest first: {attempt}");
        assert_eq!(attempt["Trigger"], "automatic", "{attempt}");
        assert!(attempt["Started"].is_string(), "{attempt}");
        assert!(attempt["DurationMs"].as_i64().is_some(), "{attempt}");
    }
    let (failed, slow, ok) = (&log[0], &log[1], &log[2]);
    assert_eq!(failed["Status"], 500, "{failed}");
    assert!(failed["Error"].is_null(), "{failed}");
    let head = failed["Response"].as_str().unwrap_or("");
    assert!(
        head.contains("500") && head.contains("x-why: broken") && head.ends_with("boom"),
        "status line, headers and body: {head:?}"
    );
    assert!(
        failed["NextAttempt"].is_string(),
        "a retry follows: {failed}"
    );

    assert!(slow["Status"].is_null(), "no answer: {slow}");
    assert_eq!(slow["Error"], "timeout", "{slow}");
    assert!(
        slow["DurationMs"].as_i64().unwrap_or(0) >= 1000,
        "it waited the 1 s attempt timeout: {slow}"
    );
    assert!(slow["NextAttempt"].is_string(), "a retry follows: {slow}");

    assert_eq!(ok["Status"], 200, "{ok}");
    assert!(ok["Error"].is_null(), "{ok}");
    assert!(
        ok["Response"].as_str().unwrap_or("").ends_with("thanks"),
        "{ok}"
    );
    assert!(ok["NextAttempt"].is_null(), "delivered: {ok}");
}

#[tokio::test]
async fn a_long_answer_is_kept_cut_at_4_kib() {
    let receiver = Receiver::start().await;
    receiver.set_answer(Answer::ok().with_body("x".repeat(64 * 1024)));
    let api = Api::start(&LOOPBACK).await;
    let id = rest::id_of(
        &api.create(hook("long", &["contact.created"], &receiver.url("/in")))
            .await,
    );
    api.signal("contact.created", 1).await;
    let list = format!("/api/v1/Webhook/{id}/Deliveries");
    let page = api.get_when(&list, all_delivered(1)).await;
    let delivery_id = items(&page)[0]["DeliveryId"].as_i64().unwrap_or_default();
    let one = api.get(&format!("{list}/{delivery_id}")).send().await.ok();
    let response = one["AttemptLog"][0]["Response"].as_str().unwrap_or("");
    let body = response.split("\r\n\r\n").nth(1).unwrap_or("");
    assert_eq!(body, "x".repeat(4096), "the body's first 4 KiB");
}

#[tokio::test]
async fn filters_keyset_paging_and_csv() {
    let receiver = Receiver::start().await;
    let api = Api::start(&LOOPBACK).await;
    let id = rest::id_of(
        &api.create(hook(
            "many",
            &["contact.created", "person.created"],
            &receiver.url("/in"),
        ))
        .await,
    );
    for key in 1..=3 {
        api.signal("contact.created", key).await;
    }
    for key in 4..=5 {
        api.signal("person.created", key).await;
    }
    let list = format!("/api/v1/Webhook/{id}/Deliveries");
    let all = api.get_when(&list, all_delivered(5)).await;
    let all_ids: Vec<i64> = items(&all)
        .iter()
        .map(|d| d["DeliveryId"].as_i64().unwrap_or_default())
        .collect();
    let mut newest_first = all_ids.clone();
    newest_first.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(all_ids, newest_first, "newest first");
    assert_eq!(
        items(&all)[0]["PrimaryKey"],
        5,
        "the last signalled is first"
    );

    let count = |page: Value| items(&page).len();
    let get = |query: String| page(&api, &list, query);
    assert_eq!(count(get("event=person.created".into()).await), 2);
    assert_eq!(count(get("status=delivered".into()).await), 5);
    assert_eq!(count(get("status=PENDING".into()).await), 0);
    assert_eq!(count(get("status=dead".into()).await), 0);
    assert_eq!(count(get("to=2000-01-01T00:00:00Z".into()).await), 0);
    assert_eq!(count(get("from=2999-01-01T00:00:00Z".into()).await), 0);
    assert_eq!(
        count(get("from=2000-01-01T00:00:00Z&to=2999-01-01T00:00:00%2B02:00".into()).await),
        5
    );

    // The cursor walks every delivery exactly once, two at a time.
    let mut walked = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let query = match &cursor {
            Some(c) => format!("limit=2&cursor={c}"),
            None => "limit=2".to_string(),
        };
        let page = get(query).await;
        pages += 1;
        assert!(items(&page).len() <= 2, "{page}");
        walked.extend(
            items(&page)
                .iter()
                .map(|d| d["DeliveryId"].as_i64().unwrap_or_default()),
        );
        match page["NextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
        assert!(pages < 10, "the cursor never ends");
    }
    assert_eq!(walked, all_ids, "every delivery once, in order");
    assert_eq!(pages, 3);
    let page = get("limit=2&event=contact.created".into()).await;
    let cursor = page["NextCursor"].as_str().unwrap_or_default().to_string();
    let rest = get(format!("limit=2&event=contact.created&cursor={cursor}")).await;
    assert_eq!(count(rest.clone()), 1, "filters hold across pages: {rest}");
    assert!(rest["NextCursor"].is_null(), "{rest}");

    let csv = api.get(&list).header("Accept", "text/csv").send().await;
    csv.expect_status(200);
    assert!(
        csv.content_type().starts_with("text/csv"),
        "{}",
        csv.content_type()
    );
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(
        lines[0],
        "DeliveryId,EventId,Event,PrimaryKey,Status,Attempts,LastStatus,LastAttempt,NextAttempt,Created"
    );
    assert_eq!(lines.len(), 6, "{}", csv.body);
    for (line, d) in lines[1..].iter().zip(items(&all)) {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields.len(), 10, "{line}");
        assert_eq!(fields[0], d["DeliveryId"].to_string(), "{line}");
        assert_eq!(fields[1], d["EventId"].as_str().unwrap_or(""), "{line}");
        assert_eq!(fields[4], "delivered", "{line}");
        assert_eq!(fields[6], "200", "{line}");
    }
}

#[tokio::test]
async fn bad_parameters_are_400s_naming_them() {
    let api = Api::start(&LOOPBACK).await;
    let id = rest::id_of(
        &api.create(hook("h", &["contact.created"], "http://127.0.0.1:9/"))
            .await,
    );
    let list = format!("/api/v1/Webhook/{id}/Deliveries");
    for (query, words) in [
        ("cursor=abc", "cursor 'abc'"),
        ("cursor=-4", "cursor"),
        (
            "from=2026-11-29T12:00:00Z&to=2026-11-29T11:00:00Z",
            "from (2026-11-29T12:00:00Z) is after to",
        ),
        ("from=yesterday", "from 'yesterday'"),
        ("to=2026-13-01T00:00:00Z", "to '2026-13-01T00:00:00Z'"),
        (
            "status=lost",
            "status 'lost' is not one of pending, waiting, retrying, delivered, parked, dead",
        ),
        ("limit=0", "limit '0'"),
        ("limit=1001", "limit '1001'"),
        ("limit=ten", "limit 'ten'"),
    ] {
        api.get(&format!("{list}?{query}"))
            .send()
            .await
            .error(400, "ArgumentException", words);
    }
    api.get(&format!("{list}/first")).send().await.error(
        400,
        "ArgumentException",
        "'first' is not a delivery id",
    );
    api.get("/api/v1/Webhook/x/Deliveries").send().await.error(
        400,
        "ArgumentException",
        "'x' is not a webhook id",
    );
    api.get(&format!("{list}/12345")).send().await.error(
        404,
        "NotFoundException",
        "no delivery 12345",
    );
    api.get("/api/v1/Webhook/999/Deliveries")
        .send()
        .await
        .error(404, "NotFoundException", "999");
    let empty = api.get(&list).send().await.ok();
    assert_eq!(empty, json!({"Deliveries": [], "NextCursor": null}));
}

#[tokio::test]
async fn online_another_applications_webhook_is_403() {
    let receiver = Receiver::start().await;
    let mut args = LOOPBACK.to_vec();
    args.push("--online");
    let api = Api::start(&args).await;
    let (a, b) = api.two_apps();
    let created = api
        .post("/api/v1/Webhook")
        .header("SO-AppToken", &a)
        .json(&hook("a's", &["contact.created"], &receiver.url("/a")))
        .send()
        .await
        .ok();
    let id = rest::id_of(&created);
    let delivery_id = api.delivery_as(&a, id).await;
    receiver.wait_for_requests(1, Duration::from_secs(10)).await;
    let list = format!("/api/v1/Webhook/{id}/Deliveries");
    for path in [list.clone(), format!("{list}/{delivery_id}")] {
        api.get(&path).header("SO-AppToken", &b).send().await.error(
            403,
            "SoSecurityException",
            "another application",
        );
        api.get(&path)
            .send()
            .await
            .unauthorized("SoSecurityException");
    }
    let seen: HashSet<i64> = items(&api.get(&list).header("SO-AppToken", &a).send().await.ok())
        .iter()
        .map(|d| d["DeliveryId"].as_i64().unwrap_or_default())
        .collect();
    assert_eq!(seen, HashSet::from([delivery_id]));
}

#[tokio::test]
async fn the_attempt_log_ages_out_with_the_retention_window() {
    let receiver = Receiver::start().await;
    receiver.set_answer(Answer::status(500).with_body("down"));
    let mut args = LOOPBACK.to_vec();
    args.extend([
        "--retry-delays-ms",
        "10,10",
        "--retention-secs",
        "1",
        "--failures-to-disable",
        "100",
    ]);
    let api = Api::start(&args).await;
    let mut aging = hook("aging", &["quote.sent"], &receiver.url("/late"));
    aging["NotifyVia"] = json!("InApp");
    aging["NotifyWhen"] = json!("FirstFailure");
    let id = rest::id_of(&api.create(aging).await);
    api.signal("quote.sent", 4).await;
    // One failed cycle; the next would start after the 1 s window: dead, its 3 attempts logged.
    let list = format!("/api/v1/Webhook/{id}/Deliveries");
    let dead = api
        .get_when(&format!("{list}?status=dead"), |page| {
            items(page).len() == 1
        })
        .await;
    let d = &items(&dead)[0];
    assert_eq!(d["Attempts"], 3, "{d}");
    assert_eq!(d["LastStatus"], 500, "{d}");
    assert!(d["NextAttempt"].is_null(), "dead: nothing due: {d}");
    let delivery_id = d["DeliveryId"].as_i64().unwrap_or_default();
    let alerts = api.get("/api/v1/Alerts").send().await.ok();
    assert_eq!(
        alerts["Alerts"].as_array().map(Vec::len),
        Some(1),
        "{alerts}"
    );

    // Past the window, the sweep (run at start, then every minute) forgets the attempts and
    // the alert; the dead letter itself stays.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let Api {
        server,
        ticket,
        auth,
    } = api;
    let api = Api {
        server: server.restart(),
        ticket,
        auth,
    };
    let path = format!("{list}/{delivery_id}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let one = api.get(&path).send().await.ok();
        if one["AttemptLog"] == json!([]) {
            assert_eq!(one["Status"], "dead", "{one}");
            assert_eq!(one["Attempts"], 0, "{one}");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the attempts were never pruned: {one}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The sweep prunes the alerts in the same pass, before the attempts.
    let alerts = api.get("/api/v1/Alerts").send().await.ok();
    assert_eq!(alerts["Alerts"], json!([]), "{alerts}");
}
