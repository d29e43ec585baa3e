//! The admin page's webhook form and in-app alerts (issue 15, docs/ADMIN.md), in a real
//! headless Chromium against the real server and real receivers:
//! - a webhook with every field: Send test shows the target's answer and saves nothing, Save
//!   creates it (through SaveWebhook and its ping) with every field as REST then answers;
//! - the agent's own message beside the field it names (an empty Name, an http URL), with
//!   what was typed kept;
//! - editing changes the webhook, and the page never shows its Secret;
//! - Regenerate shows a new secret once, and the next delivery is signed for both secrets
//!   during the grace (`X-SuperOffice-Signature` with the new one only);
//! - an in-app alert after a first failure: the navigation's count appears by itself, the
//!   alert links to its webhook, Mark read clears the count;
//! - the Delivery order field (issue 17): created with PerRecord, shown pre-set on edit and on
//!   the webhook's page, edited back to Any, each as REST then answers; a value the select
//!   does not offer is told beside the field;
//! - every page loads only this server's resources; bad input (a form the page did not send,
//!   an unknown webhook or alert, a bad cursor) is told, never a server error.

use std::time::Duration;

use fantoccini::Locator;
use serde_json::{Value, json};

use crate::support::browser::Browser;
use crate::support::receiver::{Answer, Receiver, Request, verify_standard_webhooks};
use crate::support::rest::{self, Api};
use crate::support::*;

/// Loopback receivers over plain http.
const LOOPBACK: [&str; 3] = ["--allow-http-targets", "--allow-targets", "127.0.0.0/8"];
const WAIT: Duration = Duration::from_secs(20);

/// The value of the form field `css`.
async fn value(browser: &Browser, css: &str) -> String {
    let value = browser.find(css).await.prop("value").await;
    value.ok().flatten().unwrap_or_default()
}

/// Whether the checkbox `css` is ticked.
async fn ticked(browser: &Browser, css: &str) -> bool {
    browser.find(css).await.prop("checked").await.ok().flatten() == Some("true".to_string())
}

/// The page's whole HTML, as the browser has it.
async fn source(browser: &Browser) -> String {
    browser.client.source().await.expect("the page's source")
}

/// Waits until the element `css` holds `text` (a page reloaded by htmx or a form).
async fn wait_for_text(browser: &Browser, css: &str, text: &str) {
    let xpath = format!(
        "//*[@id='{}'][contains(normalize-space(.), '{text}')]",
        css.trim_start_matches('#')
    );
    browser
        .client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::XPath(&xpath))
        .await
        .unwrap_or_else(|e| panic!("{css} never said {text:?}: {e}"));
}

#[tokio::test]
async fn a_webhook_with_every_field_is_tested_then_created() {
    let server = TestServer::start(&LOOPBACK);
    let receiver = Receiver::start().await;
    receiver.set_answer(
        Answer::ok()
            .with_header("X-Receiver", "pong-header")
            .with_body("pong from the receiver"),
    );
    let browser = Browser::start().await;
    browser.sign_in(&server).await;
    browser.open(&server, "/admin/webhooks/new").await;
    assert_eq!(browser.text("main h1").await, "New webhook");

    browser.fill("#name", "crm sync").await;
    browser.fill("#description", "Contacts to the CRM").await;
    browser
        .fill("#events", "contact.*, sale.created custom.thing")
        .await;
    browser.fill("#target_url", &receiver.url("/in")).await;
    browser
        .fill("#error_emails", "ops@example.com, dev@example.com")
        .await;
    for checkbox in [
        "#notify_email",
        "#notify_in_app",
        "#when_first_failure",
        "#when_disabled",
    ] {
        browser.click(checkbox).await;
    }
    browser.fill("#error_associates", "1").await;
    browser.fill("#headers", "X-Team: ops\nX-Env: test").await;
    browser.fill("#properties", "region=north\ntier=gold").await;

    // Send test: the target's answer on the page, the ping as the form says, nothing saved.
    browser.click("#send-test").await;
    let answer = browser.text("#test-answer").await;
    for part in [
        "The target accepted the test",
        "HTTP/1.1 200 OK",
        "x-receiver: pong-header",
        "pong from the receiver",
    ] {
        assert!(answer.contains(part), "{part:?} missing from {answer}");
    }
    let ping = receiver.wait_for_requests(1, WAIT).await[0].clone();
    assert_eq!(ping.header("x-hook-test"), Some("true"));
    assert_eq!(ping.header("x-team"), Some("ops"));
    assert_eq!(ping.json()["region"], "north");
    assert_eq!(server.get_json("/api/v1/Webhook").await, json!([]));
    // The form came back as typed.
    assert_eq!(value(&browser, "#name").await, "crm sync");
    assert_eq!(
        value(&browser, "#headers").await,
        "X-Team: ops\nX-Env: test"
    );
    assert!(ticked(&browser, "#notify_in_app").await);
    assert!(ticked(&browser, "#active").await);

    // Save: SaveWebhook pings again, then the edit page says it is saved.
    browser.click("#save").await;
    let saved = browser.text(".flash.notice").await;
    assert!(saved.contains("\u{201c}crm sync\u{201d} saved"), "{saved}");
    assert_eq!(
        receiver.len(),
        2,
        "SaveWebhook's ping: {}",
        receiver.summary()
    );
    let path = browser.path().await;
    let id = path
        .strip_prefix("/admin/webhooks/")
        .and_then(|p| p.strip_suffix("/edit"))
        .unwrap_or_else(|| panic!("not an edit page: {path}"));
    assert!(browser.text("#delivery-status").await.contains("Active"));
    let webhook = server.get_json(&format!("/api/v1/Webhook/{id}")).await;
    let expected = json!({
        "Name": "crm sync", "Description": "Contacts to the CRM",
        "Events": ["contact.*", "sale.created", "custom.thing"],
        "TargetUrl": receiver.url("/in"), "State": "Active",
        "ErrorEmails": ["ops@example.com", "dev@example.com"],
        "NotifyVia": "Email InApp", "NotifyWhen": "FirstFailure Disabling",
        "Headers": {"X-Team": "ops", "X-Env": "test"},
        "Properties": {"region": "north", "tier": "gold"},
    });
    for (member, want) in expected.as_object().expect("an object") {
        assert_eq!(&webhook[member], want, "{member} of {webhook}");
    }
    assert_eq!(webhook["ErrorAssociates"][0]["Id"], 1, "{webhook}");
    assert_eq!(
        browser.foreign_resources(&server).await,
        Vec::<String>::new()
    );
    browser.close().await;
}

#[tokio::test]
async fn the_agents_message_shows_beside_the_field_with_the_input_kept() {
    // No --allow-http-targets: the agent refuses http URLs.
    let server = TestServer::start(&[]);
    let browser = Browser::start().await;
    browser.sign_in(&server).await;
    browser.open(&server, "/admin/webhooks/new").await;
    // Blank (the browser's `required` lets spaces through; the agent does not).
    browser.fill("#name", "   ").await;
    browser.fill("#description", "kept").await;
    browser.fill("#target_url", "https://example.com/in").await;
    browser.click("#save").await;
    assert_eq!(
        browser.text("#name-error").await,
        "Name is required and must not be empty"
    );
    assert_eq!(
        browser
            .find("#name")
            .await
            .attr("aria-invalid")
            .await
            .ok()
            .flatten()
            .as_deref(),
        Some("true")
    );
    assert_eq!(value(&browser, "#description").await, "kept");
    assert_eq!(
        value(&browser, "#target_url").await,
        "https://example.com/in"
    );

    browser.fill("#name", "named").await;
    browser.fill("#target_url", "http://example.com/in").await;
    browser.click("#save").await;
    let message = browser.text("#target_url-error").await;
    assert!(
        message.starts_with("TargetUrl 'http://example.com/in' must use https"),
        "{message}"
    );
    assert_eq!(value(&browser, "#name").await, "named");
    assert_eq!(
        value(&browser, "#target_url").await,
        "http://example.com/in"
    );
    assert!(
        browser
            .client
            .find(Locator::Css("#name-error"))
            .await
            .is_err()
    );
    assert_eq!(server.get_json("/api/v1/Webhook").await, json!([]));
    browser.close().await;
}

#[tokio::test]
async fn editing_a_webhook_changes_it_and_never_shows_its_secret() {
    let api = Api::start(&LOOPBACK).await;
    let receiver = Receiver::start().await;
    let secret = "the-stored-secret-value";
    let id = rest::id_of(
        &api.create(json!({"Name": "to edit", "Events": ["contact.created"],
            "TargetUrl": receiver.url("/in"), "Secret": secret,
            "Properties": {"count": 3}}))
            .await,
    );
    let browser = Browser::start().await;
    browser.sign_in(&api.server).await;
    browser
        .open(&api.server, &format!("/admin/webhooks/{id}/edit"))
        .await;
    assert_eq!(value(&browser, "#name").await, "to edit");
    assert_eq!(browser.text("#regenerate").await, "Regenerate secret");
    assert!(!source(&browser).await.contains(secret));

    browser.fill("#description", "now described").await;
    browser.fill("#events", "contact.created, sale.*").await;
    browser.click("#save").await;
    assert!(browser.text(".flash.notice").await.contains("saved"));
    let webhook = api.fetch(id).await;
    assert_eq!(webhook["Description"], "now described");
    assert_eq!(webhook["Events"], json!(["contact.created", "sale.*"]));
    // What the form did not change stays: the Secret, a number property's type.
    assert_eq!(webhook["Secret"], secret);
    assert_eq!(webhook["Properties"], json!({"count": 3}));
    browser.close().await;
}

/// Chooses the option labelled `label` of the select `css`, as a user does.
async fn choose(browser: &Browser, css: &str, label: &str) {
    browser
        .find(css)
        .await
        .select_by_label(label)
        .await
        .unwrap_or_else(|e| panic!("choose {label:?} in {css}: {e}"));
}

#[tokio::test]
async fn the_delivery_order_field_round_trips_through_create_and_edit() {
    let mut args = LOOPBACK.to_vec();
    args.push("--no-save-ping");
    let api = Api::start(&args).await;
    let browser = Browser::start().await;
    browser.sign_in(&api.server).await;
    browser.open(&api.server, "/admin/webhooks/new").await;
    // A new webhook starts unordered; the hint says what the other choice promises.
    assert_eq!(value(&browser, "#delivery_order").await, "Any");
    let hint = browser.text("#delivery_order-hint").await;
    for promise in [
        "in the order they were accepted",
        "delivered or set aside",
        "PrimaryKey 0 are not ordered",
    ] {
        assert!(hint.contains(promise), "{promise:?} missing from {hint}");
    }

    browser.fill("#name", "ordered").await;
    browser.fill("#events", "contact.changed").await;
    browser.fill("#target_url", "http://127.0.0.1:9/in").await;
    choose(
        &browser,
        "#delivery_order",
        "One record at a time, in order",
    )
    .await;
    browser.click("#save").await;
    assert!(browser.text(".flash.notice").await.contains("saved"));
    let path = browser.path().await;
    let id: i64 = path
        .strip_prefix("/admin/webhooks/")
        .and_then(|p| p.strip_suffix("/edit"))
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("not an edit page: {path}"));
    assert_eq!(api.fetch(id).await["DeliveryOrder"], "PerRecord");
    // The edit page is pre-set from the webhook, and its page shows the order.
    assert_eq!(value(&browser, "#delivery_order").await, "PerRecord");
    browser
        .open(&api.server, &format!("/admin/webhooks/{id}"))
        .await;
    assert_eq!(
        browser.text("dd.delivery-order").await,
        "One record at a time, in order"
    );

    // Edited back to Any; the rest of the webhook stays as it was.
    browser
        .open(&api.server, &format!("/admin/webhooks/{id}/edit"))
        .await;
    choose(&browser, "#delivery_order", "Any order (fastest)").await;
    browser.click("#save").await;
    assert!(browser.text(".flash.notice").await.contains("saved"));
    let webhook = api.fetch(id).await;
    assert_eq!(webhook["DeliveryOrder"], "Any", "{webhook}");
    assert_eq!(webhook["Name"], "ordered", "{webhook}");
    assert_eq!(webhook["Events"], json!(["contact.changed"]), "{webhook}");
    assert_eq!(value(&browser, "#delivery_order").await, "Any");
    browser.close().await;

    // A value the select does not offer: told beside the field, nothing saved.
    let admin = admin::AdminHttp::sign_in(&api.server).await;
    let csrf = admin.csrf_token().await;
    let form = [
        ("csrf", csrf.as_str()),
        ("name", "ordered"),
        ("events", "contact.changed"),
        ("target_url", "http://127.0.0.1:9/in"),
        ("active", "on"),
        ("delivery_order", "Sideways"),
    ];
    let refused = admin
        .post(&format!("/admin/webhooks/{id}/edit"), &form)
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused.body.contains(
            "id=\"delivery_order-error\" role=\"alert\">DeliveryOrder &#39;Sideways&#39; is not one of Any, PerRecord"
        ) || refused.body.contains(
            "id=\"delivery_order-error\" role=\"alert\">DeliveryOrder 'Sideways' is not one of Any, PerRecord"
        ),
        "{}",
        refused.body
    );
    assert_eq!(api.fetch(id).await["DeliveryOrder"], "Any");
}

/// The entries of `webhook-signature`, and whether each verifies under `secret`.
fn signed_by(request: &Request, entry: &str, secret: &str) -> bool {
    verify_standard_webhooks(
        secret,
        request.header("webhook-id").unwrap_or_default(),
        request.header("webhook-timestamp").unwrap_or_default(),
        entry,
        &request.body,
        chrono::Utc::now().timestamp(),
    )
    .is_ok()
}

#[tokio::test]
async fn regenerate_shows_the_new_secret_once_and_both_sign_during_the_grace() {
    let api = Api::start(&LOOPBACK).await;
    let receiver = Receiver::start().await;
    let old = "the-old-secret-value";
    let id = rest::id_of(
        &api.create(json!({"Name": "rotated", "Events": ["contact.created"],
            "TargetUrl": receiver.url("/in"), "Secret": old}))
            .await,
    );
    receiver.clear();
    let browser = Browser::start().await;
    browser.sign_in(&api.server).await;
    browser
        .open(&api.server, &format!("/admin/webhooks/{id}/edit"))
        .await;
    browser.click("#regenerate").await;
    let new = browser.text("#new-secret").await;
    assert_eq!(new.len(), 40, "{new:?}");
    assert!(new.chars().all(|c| c.is_ascii_alphanumeric()), "{new:?}");
    let note = browser.text("#grace-note").await;
    assert!(note.starts_with("Until "), "{note}");
    assert!(note.contains("two webhook-signature signatures"), "{note}");
    // Shown once: the edit page does not show it again.
    browser
        .open(&api.server, &format!("/admin/webhooks/{id}/edit"))
        .await;
    assert!(!source(&browser).await.contains(&new));
    assert_eq!(api.fetch(id).await["Secret"], new.as_str());

    // The next delivery: SuperOffice's signature with the new Secret only; webhook-signature
    // with the new one, then the old one.
    api.post("/api/v1/Webhook/contact.created/1")
        .raw("application/json", "{}")
        .send()
        .await
        .no_content();
    let delivery = receiver.wait_for_requests(1, WAIT).await[0].clone();
    delivery
        .verify_superoffice(&new)
        .expect("X-SuperOffice-Signature with the new Secret");
    assert!(delivery.verify_superoffice(old).is_err());
    let entries: Vec<&str> = delivery
        .header("webhook-signature")
        .unwrap_or_default()
        .split(' ')
        .collect();
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert!(signed_by(&delivery, entries[0], &new), "{entries:?}");
    assert!(signed_by(&delivery, entries[1], old), "{entries:?}");
    browser.close().await;
}

/// The alerts REST answers, once there are `n`.
async fn alerts_when(api: &Api, n: usize) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let page = api.get("/api/v1/Alerts").send().await.ok();
        if page["Alerts"].as_array().is_some_and(|a| a.len() >= n) {
            return page;
        }
        assert!(tokio::time::Instant::now() < deadline, "{page}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn an_in_app_alert_links_to_its_webhook_and_mark_read_clears_the_count() {
    let mut args = LOOPBACK.to_vec();
    args.push("--no-save-ping");
    let api = Api::start(&args).await;
    let receiver = Receiver::start().await;
    receiver.set_answer(Answer::status(500).with_body("down"));
    let id = rest::id_of(
        &api.create(
            json!({"Name": "failing hook", "Events": ["contact.created"],
            "TargetUrl": receiver.url("/in"), "NotifyVia": "InApp",
            "NotifyWhen": "FirstFailure"}),
        )
        .await,
    );
    let browser = Browser::start().await;
    browser.sign_in(&api.server).await;
    assert_eq!(browser.text("#alert-count").await, "");

    // The first failure leaves an alert; the count on the open page shows it by itself.
    api.post("/api/v1/Webhook/contact.created/1")
        .raw("application/json", "{}")
        .send()
        .await
        .no_content();
    alerts_when(&api, 1).await;
    wait_for_text(&browser, "#alert-count", "1 unread").await;

    browser.click("header nav a[href='/admin/alerts']").await;
    let row = browser.text("tr.alert.unread").await;
    assert_eq!(browser.text("main h1").await, "Alerts");
    for part in ["failing hook", "First failure", "contact.created", "Unread"] {
        assert!(row.contains(part), "{part:?} missing from {row}");
    }
    let link = browser.find("tr.alert td a").await.attr("href").await;
    assert_eq!(link.ok().flatten(), Some(format!("/admin/webhooks/{id}")));
    assert_eq!(
        browser.foreign_resources(&api.server).await,
        Vec::<String>::new()
    );

    browser.click("tr.alert button").await;
    let flash = browser.text(".flash.notice").await;
    assert!(flash.ends_with("marked read."), "{flash}");
    assert_eq!(browser.text("#alert-count").await, "");
    assert!(browser.text("tr.alert").await.contains("Read "));
    assert!(
        browser
            .client
            .find(Locator::Css("tr.alert.unread"))
            .await
            .is_err()
    );
    browser.close().await;
}

#[tokio::test]
async fn bad_input_is_told_and_never_a_server_error() {
    let server = TestServer::start(&[]);
    let admin = admin::AdminHttp::sign_in(&server).await;
    let csrf = admin.csrf_token().await;
    let form = [
        ("csrf", csrf.as_str()),
        ("name", "hook"),
        ("events", "contact.created"),
        ("target_url", "https://example.com/in"),
        ("headers", "X-Fine: yes\nno colon here"),
    ];
    let refused = admin.post("/admin/webhooks/new", &form).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused
            .body
            .contains("Headers: line 2 ('no colon here') is not 'Name: value'"),
        "{}",
        refused.body
    );
    for path in ["/admin/webhooks/abc/edit", "/admin/webhooks/99/edit"] {
        let missing = admin.get(path).await;
        assert_eq!(missing.status, 404, "{path}");
        assert!(
            missing.body.contains("There is no webhook"),
            "{}",
            missing.body
        );
    }
    let cursor = admin.get("/admin/alerts?cursor=x").await;
    assert_eq!(cursor.status, 400);
    assert!(cursor.body.contains("cursor"), "{}", cursor.body);
    let unknown = admin
        .post("/admin/alerts/12345/read", &[("csrf", &csrf)])
        .await;
    assert_eq!(unknown.status, 303);
    assert_eq!(unknown.header("location"), "/admin/alerts");
    assert!(
        unknown
            .set_cookies()
            .iter()
            .any(|c| c.contains("Alert+12345+does+not+exist")),
        "{:?}",
        unknown.set_cookies()
    );
    assert_eq!(server.get_json("/api/v1/Webhook").await, json!([]));
}
