//! One webhook's page and its Events tab (issue 15, docs/ADMIN.md "One webhook", "Events"):
//! in a real headless Chromium against a real receiver, a failing delivery shows its attempts
//! and the answers' heads, Retry delivers it with its EventId, the table refreshes by itself,
//! Recover re-sends the dead letters of a window, the webhook page shows its fields, counters
//! and LastError, and Send test shows the target's answer; Discard (issue 17) sets a queued
//! delivery of a PerRecord webhook aside and the next of its record goes, a waiting one has no
//! Retry; over HTTP, Export CSV gives the rows shown, the pages page, and every page is
//! readable as served (without JavaScript).

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::admin::AdminHttp;
use crate::support::browser::Browser;
use crate::support::receiver::{Answer, Receiver};
use crate::support::rest::Api;
use crate::support::*;

const LOOPBACK: [&str; 4] = [
    "--allow-http-targets",
    "--allow-targets",
    "127.0.0.0/8",
    "--no-save-ping",
];

const WAIT: Duration = Duration::from_secs(20);

async fn start(extra: &[&str]) -> Api {
    let mut args = LOOPBACK.to_vec();
    args.extend_from_slice(extra);
    Api::start(&args).await
}

async fn create(api: &Api, receiver: &Receiver, extra: Value) -> i64 {
    let mut body = json!({
        "Name": "orders", "Events": ["contact.created"], "TargetUrl": receiver.url("/in"),
        "State": "Active"
    });
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    rest::id_of(&api.create(body).await)
}

async fn signal(api: &Api, key: i32) {
    api.post(&format!("/api/v1/Webhook/contact.created/{key}"))
        .raw("application/json", "{}")
        .send()
        .await
        .no_content();
}

/// The webhook's deliveries over REST once `done` holds for them.
async fn deliveries_when(api: &Api, id: i64, query: &str, done: impl Fn(&[Value]) -> bool) {
    let path = format!("/api/v1/Webhook/{id}/Deliveries{query}");
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let page = api.get(&path).send().await.ok();
        let items = page["Deliveries"].as_array().cloned().unwrap_or_default();
        if done(&items) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "{path}: {page}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the page's `script` (a JavaScript expression) is true.
async fn until_page(browser: &Browser, script: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while browser.run(&format!("return !!({script});")).await != json!(true) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never true: {script}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The texts of the cells `css` of every row of the Events table, in order.
async fn column(browser: &Browser, css: &str) -> Vec<String> {
    let script = format!(
        "return [...document.querySelectorAll('table.deliveries tbody tr {css}')]\
         .map(c => c.textContent.trim());"
    );
    serde_json::from_value(browser.run(&script).await).unwrap_or_default()
}

#[tokio::test]
async fn a_failing_delivery_shows_its_attempts_and_retry_delivers_it() {
    let receiver = Receiver::start().await;
    receiver.set_answer(Answer::status(500).with_body("receiver down"));
    // One quick failed cycle, then the next is a minute away: the delivery stays retrying.
    let api = start(&["--retry-delays-ms", "10,10", "--failures-to-disable", "100"]).await;
    let id = create(&api, &receiver, json!({})).await;
    signal(&api, 7).await;
    deliveries_when(&api, id, "?status=retrying", |d| {
        d.len() == 1 && d[0]["Attempts"] == 3
    })
    .await;

    let browser = Browser::start().await;
    browser.sign_in(&api.server).await;
    browser
        .open(&api.server, &format!("/admin/webhooks/{id}"))
        .await;
    assert_eq!(browser.text("dd.total-calls").await, "3");
    assert_eq!(browser.text("dd.total-errors").await, "3");
    assert_eq!(browser.text("dd.consecutive-errors").await, "3");
    let last_error = browser.text("dd.last-error").await;
    assert!(
        last_error.contains("500") && last_error.contains("receiver down"),
        "{last_error}"
    );
    assert_eq!(browser.text("h1 .badge").await, "Active with failures");

    // The Events tab: the delivery, retrying after 3 failed attempts.
    browser.click("nav.tabs a[href$='/events']").await;
    browser.find("table.deliveries").await;
    assert_eq!(column(&browser, ".state").await, ["retrying"]);
    assert_eq!(column(&browser, ".attempts").await, ["3"]);
    assert_eq!(
        column(&browser, ".error-code").await,
        ["500 Internal Server Error"]
    );
    assert_eq!(
        browser.foreign_resources(&api.server).await,
        Vec::<String>::new()
    );

    // A row opens its attempts, each with the head of the answer.
    browser.click("table.deliveries tbody tr td a").await;
    browser.find("table.attempts").await;
    let results: Vec<String> = serde_json::from_value(
        browser
            .run("return [...document.querySelectorAll('table.attempts td.result')].map(c => c.textContent);")
            .await,
    )
    .unwrap_or_default();
    assert_eq!(results, vec!["500 Internal Server Error"; 3]);
    let answers: Vec<String> = serde_json::from_value(
        browser
            .run("return [...document.querySelectorAll('table.attempts pre.answer')].map(c => c.textContent);")
            .await,
    )
    .unwrap_or_default();
    assert_eq!(answers.len(), 3);
    assert!(
        answers
            .iter()
            .all(|a| a.starts_with("HTTP/1.1 500") && a.ends_with("receiver down")),
        "{answers:?}"
    );
    let event_id = browser.text("dd.event-id").await;

    // The receiver is fixed; Retry sends it once, now, and it is delivered.
    receiver.set_answer(Answer::ok().with_body("thanks"));
    browser.click("form.retry button").await;
    let flash = browser.text(".flash.notice").await;
    assert!(
        flash.starts_with("Retried: attempt 4 was delivered (200 OK"),
        "{flash}"
    );
    assert_eq!(browser.text("dd.status").await, "delivered");
    let seen = receiver.requests();
    assert_eq!(seen.len(), 4, "{}", receiver.summary());
    assert!(
        seen.iter().all(|r| r.event_id() == Some(event_id.as_str())),
        "the same EventId every time: {}",
        receiver.summary()
    );

    // Back on the Events tab, it is delivered, and a new event shows up by itself.
    browser
        .open(&api.server, &format!("/admin/webhooks/{id}/events"))
        .await;
    assert_eq!(column(&browser, ".state").await, ["delivered"]);
    signal(&api, 8).await;
    until_page(
        &browser,
        "document.querySelectorAll('table.deliveries tbody tr').length === 2",
    )
    .await;
    browser.close().await;
}

/// Whether the page has an element `css`, now (no waiting).
async fn has(browser: &Browser, css: &str) -> bool {
    browser
        .run(&format!("return !!document.querySelector({css:?});"))
        .await
        == json!(true)
}

/// One delivery over REST.
async fn delivery(api: &Api, id: i64, delivery: i64) -> Value {
    api.get(&format!("/api/v1/Webhook/{id}/Deliveries/{delivery}"))
        .send()
        .await
        .ok()
}

#[tokio::test]
async fn discard_sets_a_queued_delivery_aside_and_the_next_of_its_record_goes() {
    let receiver = Receiver::start().await;
    receiver.set_answer(Answer::status(500).with_body("receiver down"));
    // One quick failed cycle, then the next is a minute away: the first stays retrying.
    let api = start(&["--retry-delays-ms", "10,10", "--failures-to-disable", "100"]).await;
    let id = create(&api, &receiver, json!({"DeliveryOrder": "PerRecord"})).await;
    for _ in 0..3 {
        signal(&api, 7).await;
    }
    // The first of record 7 fails its cycle; the two after it wait for it.
    deliveries_when(&api, id, "?status=retrying", |d| {
        d.len() == 1 && d[0]["Attempts"] == 3
    })
    .await;
    let listed = api
        .get(&format!("/api/v1/Webhook/{id}/Deliveries"))
        .send()
        .await
        .ok();
    let listed = listed["Deliveries"].as_array().cloned().unwrap_or_default();
    let ids: Vec<i64> = listed
        .iter()
        .filter_map(|d| d["DeliveryId"].as_i64())
        .collect();
    let event_ids: Vec<String> = listed
        .iter()
        .filter_map(|d| d["EventId"].as_str().map(str::to_string))
        .collect();
    assert_eq!(ids.len(), 3, "{listed:?}");
    // Newest first.
    let (third, second, first) = (ids[0], ids[1], ids[2]);

    let browser = Browser::start().await;
    browser.sign_in(&api.server).await;
    browser
        .open(&api.server, &format!("/admin/webhooks/{id}/events"))
        .await;
    browser.find("table.deliveries").await;
    assert_eq!(
        column(&browser, ".state").await,
        ["waiting", "waiting", "retrying"]
    );
    // Each row's buttons: (Retry, Retry disabled, Discard).
    let buttons = browser
        .run(
            "return [...document.querySelectorAll('table.deliveries tbody tr')].map(r => [\
             !!r.querySelector('form.retry'), !!r.querySelector('button.retry[disabled]'), \
             !!r.querySelector('form.discard')]);",
        )
        .await;
    assert_eq!(
        buttons,
        json!([
            [false, true, true],
            [false, true, true],
            [true, false, true]
        ])
    );
    let why = browser
        .find(&format!("tr[data-delivery='{third}'] button.retry"))
        .await
        .attr("title")
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    assert!(why.contains("earlier delivery of the same record"), "{why}");

    // Discard a waiting one: a dead letter, unsent; the last still waits for the first.
    browser
        .click(&format!("tr[data-delivery='{second}'] form.discard button"))
        .await;
    let flash = browser.text(".flash.notice").await;
    assert!(
        flash.starts_with(&format!(
            "Discarded: delivery {second} is a dead letter now"
        )),
        "{flash}"
    );
    assert_eq!(browser.text("dd.status").await, "dead");
    assert!(
        !has(&browser, "form.discard").await,
        "a dead letter has no Discard"
    );
    assert_eq!(delivery(&api, id, third).await["Status"], "waiting");

    // A waiting delivery's own page says why it has no Retry; a Retry posted anyway is told.
    browser
        .open(&api.server, &format!("/admin/webhooks/{id}/events/{third}"))
        .await;
    assert!(has(&browser, "button.retry[disabled]").await);
    assert!(
        browser
            .text("#waiting-why")
            .await
            .contains("retry or discard that one first")
    );
    let admin = AdminHttp::sign_in(&api.server).await;
    let csrf = admin.csrf_token().await;
    let retried = admin
        .post(
            &format!("/admin/webhooks/{id}/events/{third}/retry"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(retried.status, 303, "{}", retried.body);
    assert!(
        retried
            .set_cookies()
            .iter()
            .any(|c| c.contains("Not+retried")),
        "{:?}",
        retried.set_cookies()
    );

    // The receiver is fixed; discarding the first lets the last of its record go.
    receiver.set_answer(Answer::ok());
    receiver.clear();
    browser
        .open(&api.server, &format!("/admin/webhooks/{id}/events"))
        .await;
    browser
        .click(&format!("tr[data-delivery='{first}'] form.discard button"))
        .await;
    assert_eq!(browser.text("dd.status").await, "dead");
    let seen = receiver.wait_for_requests(1, WAIT).await;
    assert_eq!(seen[0].event_id(), Some(event_ids[0].as_str()));
    deliveries_when(&api, id, "?status=delivered", |d| {
        d.len() == 1 && d[0]["DeliveryId"] == third
    })
    .await;
    assert!(
        receiver
            .requests()
            .iter()
            .all(|r| r.event_id() == Some(event_ids[0].as_str())),
        "only the last was sent: {}",
        receiver.summary()
    );

    // Both discarded ones are dead letters with the operator's reason.
    let (ok, dead, err) =
        api.server
            .cli(&["deliveries", "dead-letters", "--webhook", &id.to_string()]);
    assert!(ok, "{err}");
    let reasons: Vec<(String, String)> = dead
        .lines()
        .skip(1)
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('\t').collect();
            Some((cells.first()?.to_string(), cells.last()?.to_string()))
        })
        .collect();
    let reason = "discarded by an operator".to_string();
    assert_eq!(
        reasons,
        [
            (first.to_string(), reason.clone()),
            (second.to_string(), reason)
        ],
        "{dead}"
    );

    // A delivered one cannot be discarded: REST answers 409, the page says so.
    api.post(&format!("/api/v1/Webhook/{id}/Deliveries/{third}/Discard"))
        .send()
        .await
        .error(
            409,
            "InvalidOperationException",
            &format!("delivery {third} is delivered: only a queued delivery can be discarded"),
        );
    let refused = admin
        .post(
            &format!("/admin/webhooks/{id}/events/{third}/discard"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(refused.status, 303, "{}", refused.body);
    assert!(
        refused
            .set_cookies()
            .iter()
            .any(|c| c.contains("Not+discarded")),
        "{:?}",
        refused.set_cookies()
    );
    assert_eq!(delivery(&api, id, third).await["Status"], "delivered");
    browser.close().await;
}

#[tokio::test]
async fn recover_re_sends_the_dead_letters_of_a_window() {
    let receiver = Receiver::start().await;
    receiver.set_answer(Answer::status(503).with_body("busy"));
    // One failed cycle, and the next would start after the 1 s retention: dead.
    let api = start(&[
        "--retry-delays-ms",
        "10,10",
        "--retention-secs",
        "1",
        "--failures-to-disable",
        "100",
    ])
    .await;
    let id = create(&api, &receiver, json!({})).await;
    for key in 1..=3 {
        signal(&api, key).await;
    }
    deliveries_when(&api, id, "?status=dead", |d| d.len() == 3).await;
    receiver.set_answer(Answer::ok());
    receiver.clear();

    let browser = Browser::start().await;
    browser.sign_in(&api.server).await;
    browser
        .open(&api.server, &format!("/admin/webhooks/{id}/events"))
        .await;
    browser.click("a.dead-letters").await;
    browser.find("table.deliveries").await;
    assert_eq!(
        browser.path().await,
        format!("/admin/webhooks/{id}/events?status=dead")
    );
    assert_eq!(column(&browser, ".state").await, ["dead", "dead", "dead"]);

    // Retry one dead letter from the list.
    browser
        .click("table.deliveries tbody tr:first-child form.retry button")
        .await;
    let flash = browser.text(".flash.notice").await;
    assert!(flash.contains("was delivered"), "{flash}");
    assert_eq!(receiver.requests().len(), 1, "{}", receiver.summary());

    // Recover the whole window: the two other dead letters are sent again.
    browser
        .open(&api.server, &format!("/admin/webhooks/{id}/events"))
        .await;
    browser.fill("#since", "2000-01-01 00:00").await;
    browser.click("section.recover button[type=submit]").await;
    assert_eq!(
        browser.text(".flash.notice").await,
        "2 deliveries queued again."
    );
    let seen = receiver.wait_for_requests(3, WAIT).await;
    assert_eq!(
        receiver.distinct_event_ids().len(),
        3,
        "{}",
        receiver.summary()
    );
    assert_eq!(seen.len(), 3);
    until_page(
        &browser,
        "[...document.querySelectorAll('table.deliveries .state')]\
         .every(c => c.textContent === 'delivered')",
    )
    .await;

    // A window that makes no sense is told in the agent's words.
    browser.fill("#since", "yesterday").await;
    browser.click("section.recover button[type=submit]").await;
    let refused = browser.text(".flash.error").await;
    assert!(
        refused.starts_with("Not recovered: Since 'yesterday' is not an ISO 8601 date"),
        "{refused}"
    );
    browser.close().await;
}

#[tokio::test]
async fn the_webhook_page_shows_its_fields_and_send_test_shows_the_answer() {
    let receiver = Receiver::start().await;
    receiver.set_answer(
        Answer::ok()
            .with_header("X-Receiver", "ready")
            .with_body("pong"),
    );
    let api = start(&[]).await;
    let secret = "a-secret-no-page-shows-0123456789";
    let id = create(
        &api,
        &receiver,
        json!({
            "Description": "order sync",
            "Secret": secret,
            "Headers": {"X-Tenant": "north"},
            "Properties": {"region": "eu"},
        }),
    )
    .await;

    let browser = Browser::start().await;
    browser.sign_in(&api.server).await;
    browser
        .open(&api.server, &format!("/admin/webhooks/{id}"))
        .await;
    assert_eq!(browser.text("h1 .badge").await, "Active");
    let fields = browser.text("dl.fields").await;
    for shown in [
        "order sync",
        "contact.created",
        receiver.url("/in").as_str(),
        "Set (not shown)",
        "X-Tenant: north",
        "region = eu",
    ] {
        assert!(fields.contains(shown), "{shown} missing from {fields}");
    }
    assert_eq!(browser.text("dd.total-calls").await, "0");
    assert_eq!(browser.text("dd.last-error").await, "None");
    let source = browser.client.source().await.expect("the page's source");
    assert!(!source.contains(secret), "the Secret is never shown");

    browser.click("form[action$='/send-test'] button").await;
    assert_eq!(
        browser.text(".test-result .flash").await,
        "The target accepted the test."
    );
    let answer = browser.text(".test-result pre").await;
    assert!(
        answer.starts_with("HTTP/1.1 200 OK")
            && answer.contains("ready")
            && answer.ends_with("pong"),
        "{answer}"
    );
    let pinged = receiver.wait_for_requests(1, WAIT).await;
    assert_eq!(pinged[0].header("X-SuperOffice-Event"), Some("test"));
    assert_eq!(pinged[0].header("X-Tenant"), Some("north"));
    pinged[0]
        .verify_superoffice(secret)
        .expect("the test is signed with the stored Secret");
    assert_eq!(
        browser.foreign_resources(&api.server).await,
        Vec::<String>::new()
    );
    // Stop and Activate from this page come back to it.
    browser
        .click("div.actions form[action$='/stop'] button")
        .await;
    // The click's navigation may still be on its way: wait for the new page's badge.
    browser.wait_text("h1 .badge", |t| t == "Stopped").await;
    assert_eq!(browser.path().await, format!("/admin/webhooks/{id}"));
    browser
        .click("div.actions form[action$='/activate'] button")
        .await;
    // The click's navigation may still be on its way: wait for the new page's badge.
    browser.wait_text("h1 .badge", |t| t == "Active").await;
    assert_eq!(browser.path().await, format!("/admin/webhooks/{id}"));
    browser.close().await;
}

/// The `href` of the first `<a class="... CLASS ...">` or `<a rel="REL">` in `html`, decoded.
fn link(html: &str, marker: &str) -> Option<String> {
    let at = html.find(marker)?;
    let tag_start = html[..at].rfind("<a ")?;
    let tag = &html[tag_start..];
    let href = tag.split("href=\"").nth(1)?.split('"').next()?;
    Some(href.replace("&amp;", "&"))
}

/// The delivery ids of the Events table's rows, in order.
fn row_ids(html: &str) -> Vec<String> {
    html.split("data-delivery=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn export_csv_gives_the_rows_shown_and_every_page_reads_without_javascript() {
    let receiver = Receiver::start().await;
    let api = start(&[]).await;
    let id = create(&api, &receiver, json!({})).await;
    for key in 1..=3 {
        signal(&api, key).await;
    }
    deliveries_when(&api, id, "?status=delivered", |d| d.len() == 3).await;
    let admin = AdminHttp::sign_in(&api.server).await;

    // The first page of two, as served: the rows are in the HTML, no script needed.
    let first = admin
        .get(&format!("/admin/webhooks/{id}/events?limit=2"))
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    let first_ids = row_ids(&first.body);
    assert_eq!(first_ids.len(), 2, "{}", first.body);
    assert!(first.body.contains(">delivered<"), "{}", first.body);
    assert!(link(&first.body, "rel=\"prev\"").is_none());

    // Export CSV: the same rows, as a file.
    let export = link(&first.body, "export").expect("an Export CSV link");
    let csv = admin.get(&export).await;
    assert_eq!(csv.status, 200, "{export}: {}", csv.body);
    assert_eq!(csv.header("content-type"), "text/csv; charset=utf-8");
    assert_eq!(
        csv.header("content-disposition"),
        format!("attachment; filename=\"webhook-{id}-deliveries.csv\"")
    );
    let lines: Vec<&str> = csv.body.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert!(
        lines[0].starts_with("DeliveryId,EventId,Event,"),
        "{}",
        csv.body
    );
    let csv_ids: Vec<String> = lines[1..]
        .iter()
        .filter_map(|l| l.split(',').next())
        .map(str::to_string)
        .collect();
    assert_eq!(csv_ids, first_ids);

    // Next, then Previous, through the cursor.
    let next = link(&first.body, "rel=\"next\"").expect("a Next link");
    let second = admin.get(&next).await;
    let second_ids = row_ids(&second.body);
    assert_eq!(second_ids.len(), 1, "{}", second.body);
    assert!(!first_ids.contains(&second_ids[0]));
    assert!(link(&second.body, "rel=\"next\"").is_none());
    let previous = link(&second.body, "rel=\"prev\"").expect("a Previous link");
    assert_eq!(row_ids(&admin.get(&previous).await.body), first_ids);

    // The 3-second refresh gets the table alone.
    let fragment = reqwest::Client::new()
        .get(
            api.server
                .url(&format!("/admin/webhooks/{id}/events?limit=2")),
        )
        .header("cookie", &admin.cookies)
        .header("hx-request", "true")
        .send()
        .await
        .expect("the table")
        .text()
        .await
        .expect("its HTML");
    assert!(fragment.starts_with("<div id=\"deliveries\""), "{fragment}");
    assert_eq!(row_ids(&fragment), first_ids);

    // Filters: none dead, and a status the log does not have is told.
    let dead = admin
        .get(&format!("/admin/webhooks/{id}/events?status=dead"))
        .await;
    assert!(row_ids(&dead.body).is_empty());
    assert!(dead.body.contains("No delivery matches."), "{}", dead.body);
    let bad = admin
        .get(&format!("/admin/webhooks/{id}/events?status=lost"))
        .await;
    assert!(
        bad.body.contains("status &#39;lost&#39; is not one of")
            || bad.body.contains("status 'lost' is not one of"),
        "{}",
        bad.body
    );

    // The webhook page and a delivery's page read as served too.
    let webhook = admin.get(&format!("/admin/webhooks/{id}")).await;
    assert_eq!(webhook.status, 200);
    for shown in ["TotalCalls", "orders", "contact.created"] {
        assert!(webhook.body.contains(shown), "{shown}: {}", webhook.body);
    }
    let delivery = admin
        .get(&format!("/admin/webhooks/{id}/events/{}", first_ids[0]))
        .await;
    assert_eq!(delivery.status, 200);
    assert!(delivery.body.contains("200 OK"), "{}", delivery.body);

    // Someone else's or nobody's delivery is a clear 404.
    let missing = admin
        .get(&format!("/admin/webhooks/{id}/events/999999"))
        .await;
    assert_eq!(missing.status, 404);
    assert!(
        missing.body.contains("has no delivery 999999"),
        "{}",
        missing.body
    );
    assert_eq!(admin.get("/admin/webhooks/x/events").await.status, 404);
}
