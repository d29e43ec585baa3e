//! The admin page's webhook list (issue 15, docs/ADMIN.md "The list"), in a real headless
//! Chromium: the columns, the badges turning amber then red with the counter as a receiver
//! fails (without reloading: the table refreshes itself), Restart bringing the parked
//! deliveries, Copy, Stop, Activate and Delete with its confirmation; over HTTP: sorting,
//! filters, the refreshed fragment, and a forged Delete refused.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::LOOPBACK;
use crate::support::admin::AdminHttp;
use crate::support::browser::Browser;
use crate::support::receiver::{Answer, Receiver};
use crate::support::rest::{self, Api};

fn hook(name: &str, events: &[&str], url: &str) -> Value {
    json!({"Name": name, "Events": events, "TargetUrl": url, "State": "Active", "Type": "webhook"})
}

fn row(id: i64) -> String {
    format!("tr[data-webhook-id=\"{id}\"]")
}

#[tokio::test]
async fn the_list_shows_each_webhook_with_the_panels_columns() {
    let receiver = Receiver::start().await;
    let api = Api::start(&LOOPBACK).await;
    let id = rest::id_of(
        &api.create(hook(
            "Orders",
            &["contact.created", "sale.changed"],
            &receiver.url("/orders"),
        ))
        .await,
    );
    api.signal("sale.changed", 1).await;
    receiver.wait_for_requests(1, Duration::from_secs(20)).await;

    let browser = Browser::start().await;
    browser.sign_in(&api.server).await;
    let headers = browser
        .run("return [...document.querySelectorAll('thead th')].map(th => th.innerText.trim());")
        .await;
    assert_eq!(
        headers,
        json!([
            "Name",
            "Status",
            "Target",
            "Events",
            "Last delivery",
            "Last result",
            "Failures (24 h)",
            "Actions"
        ])
    );
    let row = row(id);
    // Attempts are recorded just after the receiver answers; the table refreshes itself.
    browser
        .wait_text(&format!("{row} td.last-result"), |t| t == "200 OK")
        .await;
    assert_eq!(browser.text(&format!("{row} td.name")).await, "Orders");
    assert_eq!(browser.text(&format!("{row} td.status")).await, "Active");
    assert_eq!(
        browser.text(&format!("{row} td.target")).await,
        receiver.url("/orders")
    );
    assert_eq!(browser.text(&format!("{row} td.events")).await, "2");
    let events = browser.find(&format!("{row} td.events")).await;
    assert_eq!(
        events.attr("title").await.ok().flatten().as_deref(),
        Some("contact.created, sale.changed")
    );
    let last = browser.text(&format!("{row} td.last-delivery")).await;
    assert!(last.ends_with(" UTC"), "{last}");
    assert_eq!(browser.text(&format!("{row} td.failures")).await, "0");
    let changed = browser.find(&row).await.attr("title").await;
    let changed = changed.ok().flatten().unwrap_or_default();
    assert!(changed.starts_with("changed by admin at "), "{changed}");
    browser.close().await;
}

#[tokio::test]
async fn a_failing_receiver_turns_the_row_amber_then_red_and_restart_delivers_the_parked() {
    let receiver = Receiver::start().await;
    let mut args = LOOPBACK.to_vec();
    args.extend(["--retry-delays-ms", "10,10", "--failures-to-disable", "3"]);
    let api = Api::start(&args).await;
    let id = rest::id_of(
        &api.create(hook("Flaky", &["contact.created"], &receiver.url("/in")))
            .await,
    );
    let browser = Browser::start().await;
    browser.sign_in(&api.server).await;
    let status = format!("{} td.status", row(id));
    assert_eq!(browser.text(&status).await, "Active");

    // One failed attempt, then delivered: amber.
    receiver.fail_first(1, 503);
    api.signal("contact.created", 1).await;
    browser
        .wait_text(&status, |t| t == "Active with failures")
        .await;
    let badge = browser.find(&format!("{status} .badge")).await;
    let class = badge.attr("class").await.ok().flatten().unwrap_or_default();
    assert!(class.contains("failing"), "{class}");

    // Three failures in a row: red, disabled, with the counter and the last error.
    receiver.set_answer(Answer::status(503));
    api.signal("contact.created", 2).await;
    let disabled = browser
        .wait_text(&status, |t| t.starts_with("Disabled 3/3"))
        .await;
    assert!(disabled.contains("503"), "the last error: {disabled}");
    let class = browser
        .find(&format!("{status} .badge"))
        .await
        .attr("class")
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    assert!(class.contains("disabled"), "{class}");

    // An event while disabled is parked; Restart (offered only now) sends it to the healed
    // receiver.
    api.signal("contact.created", 3).await;
    receiver.set_answer(Answer::ok());
    browser.open(&api.server, "/admin").await;
    browser
        .click(&format!("{} form[action$='/restart'] button", row(id)))
        .await;
    assert_eq!(browser.text(".flash").await, "Flaky is restarted.");
    let parked = receiver
        .wait_until(
            |seen| seen.iter().any(|r| r.json()["PrimaryKey"] == 3),
            Duration::from_secs(20),
        )
        .await;
    assert!(parked.iter().any(|r| r.json()["PrimaryKey"] == 3));
    let active = browser
        .wait_text(&status, |t| t.starts_with("Active"))
        .await;
    assert!(!active.contains("Disabled"), "{active}");
    browser.close().await;
}

#[tokio::test]
async fn copy_stop_activate_and_delete_with_confirmation() {
    let api = Api::start(&LOOPBACK).await;
    let id = rest::id_of(
        &api.create(hook(
            "Orders",
            &["sale.changed"],
            "http://127.0.0.1:9/orders",
        ))
        .await,
    );
    let browser = Browser::start().await;
    browser.sign_in(&api.server).await;

    browser
        .click(&format!("{} form[action$='/copy'] button", row(id)))
        .await;
    assert_eq!(
        browser.text(".flash").await,
        "Copied as \"Orders (copy)\" (Stopped)."
    );
    let all = api.get("/api/v1/Webhook").send().await.ok();
    let copy = all
        .as_array()
        .and_then(|hooks| hooks.iter().find(|h| h["Name"] == "Orders (copy)"))
        .unwrap_or_else(|| panic!("no copy in {all}"))
        .clone();
    assert_eq!(copy["State"], "Stopped", "{copy}");
    assert_eq!(copy["TargetUrl"], "http://127.0.0.1:9/orders", "{copy}");
    assert_eq!(copy["Events"], json!(["sale.changed"]), "{copy}");
    let copy_id = rest::id_of(&copy);
    assert_eq!(
        browser.text(&format!("{} td.status", row(copy_id))).await,
        "Stopped"
    );

    browser
        .click(&format!("{} form[action$='/stop'] button", row(id)))
        .await;
    assert_eq!(browser.text(".flash").await, "Orders is stopped.");
    assert_eq!(
        browser.text(&format!("{} td.status", row(id))).await,
        "Stopped"
    );
    browser
        .click(&format!("{} form[action$='/activate'] button", row(id)))
        .await;
    assert_eq!(browser.text(".flash").await, "Orders is active again.");
    assert_eq!(
        browser.text(&format!("{} td.status", row(id))).await,
        "Active"
    );

    // Delete asks first; Cancel keeps it, confirming removes it.
    browser
        .click(&format!("{} a[href$='/delete']", row(copy_id)))
        .await;
    assert_eq!(browser.text("main h1").await, "Delete Orders (copy)?");
    browser.click("main a[href='/admin']").await;
    browser.find(&row(copy_id)).await;
    browser
        .click(&format!("{} a[href$='/delete']", row(copy_id)))
        .await;
    browser.click("main form button.danger").await;
    assert_eq!(browser.text(".flash").await, "Orders (copy) is deleted.");
    let gone = browser
        .run(&format!(
            "return document.querySelector('{}') === null;",
            row(copy_id).replace('\'', "\\'")
        ))
        .await;
    assert_eq!(gone, true);
    api.get(&format!("/api/v1/Webhook/{copy_id}"))
        .send()
        .await
        .expect_status(404);
    browser.close().await;
}

/// The names of the rows of a list page, in order.
fn names(page: &str) -> Vec<String> {
    page.split("<td class=\"name\">")
        .skip(1)
        .filter_map(|cell| cell.split('>').nth(1))
        .map(|name| name.split('<').next().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn sorting_and_filters_are_query_parameters() {
    let api = Api::start(&LOOPBACK).await;
    for (name, events) in [
        ("beta", vec!["contact.created"]),
        ("Alpha", vec!["sale.changed", "sale.created"]),
        ("gamma", vec!["contact.*"]),
    ] {
        api.create(hook(name, &events, "http://127.0.0.1:9/x"))
            .await;
    }
    let gamma = api
        .get("/api/v1/Webhook?nameFilter=gamma")
        .send()
        .await
        .ok();
    let gamma = rest::ids(&gamma)[0];
    api.patch(&format!("/api/v1/Webhook/{gamma}"))
        .json(&json!({"State": "Stopped"}))
        .send()
        .await
        .ok();
    let admin = AdminHttp::sign_in(&api.server).await;
    let list = |query: &'static str| {
        let admin = &admin;
        async move {
            let page = admin.get(&format!("/admin{query}")).await;
            assert_eq!(page.status, 200, "{query}: {}", page.body);
            names(&page.body)
        }
    };
    assert_eq!(list("").await, ["Alpha", "beta", "gamma"]);
    assert_eq!(
        list("?sort=name&dir=desc").await,
        ["gamma", "beta", "Alpha"]
    );
    assert_eq!(
        list("?sort=events&dir=desc").await,
        ["Alpha", "beta", "gamma"]
    );
    assert_eq!(list("?sort=status").await, ["Alpha", "beta", "gamma"]);
    assert_eq!(list("?name=ET").await, ["beta"]);
    assert_eq!(list("?status=stopped").await, ["gamma"]);
    assert_eq!(list("?event=contact.created").await, ["beta", "gamma"]);
    assert_eq!(list("?event=sale.created&status=active").await, ["Alpha"]);

    let bad = admin.get("/admin?sort=colour").await;
    assert_eq!(bad.status, 400);
    assert!(
        bad.body.contains("sort: there is no column 'colour'"),
        "{}",
        bad.body
    );

    // What htmx polls: the table body alone, with the same query.
    let client = reqwest::Client::new();
    let fragment = client
        .get(api.server.url("/admin?status=stopped"))
        .header("cookie", &admin.cookies)
        .header("hx-request", "true")
        .header("hx-target", "webhook-rows")
        .send()
        .await
        .expect("GET")
        .text()
        .await
        .expect("body");
    assert!(
        fragment.starts_with("<tbody id=\"webhook-rows\""),
        "{fragment}"
    );
    assert_eq!(names(&fragment), ["gamma"]);

    // A Delete without the CSRF token is refused and deletes nothing.
    let forged = admin
        .post(&format!("/admin/webhooks/{gamma}/delete"), &[])
        .await;
    assert_eq!(forged.status, 403);
    assert_eq!(list("").await, ["Alpha", "beta", "gamma"]);
}
