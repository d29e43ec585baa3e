//! Notifications (docs/DELIVERY.md, Notifications; docs/REST.md, Alerts): a failing webhook's
//! first failure and its switch to TooManyErrors each leave one alert, mailed through a real
//! SMTP server on loopback (`support::smtp`, Python aiosmtpd) as ErrorEmails, ErrorAssociates,
//! the obsolete ErrorsEmail, NotifyVia and NotifyWhen ask, and kept in-app for
//! `GET /api/v1/Alerts`. An SMTP server that is down changes nothing for delivery.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::receiver::{Answer, Receiver};
use crate::support::rest::Api;
use crate::support::smtp::{Mail, SmtpSink};
use crate::support::*;

/// Loopback receivers, and a cycle of three quick attempts that disables at the third or
/// fourth failure, so a failing receiver is disabled within seconds.
fn fast(failures_to_disable: &str) -> Vec<String> {
    [
        "--allow-http-targets",
        "--allow-targets",
        "127.0.0.0/8",
        "--no-save-ping",
        "--retry-delays-ms",
        "10,10",
        "--cycle-backoff-secs",
        "1",
        "--failures-to-disable",
        failures_to_disable,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn with_smtp(mut args: Vec<String>, sink_url: &str) -> Vec<String> {
    args.extend([
        "--smtp-url".to_string(),
        sink_url.to_string(),
        "--smtp-from".to_string(),
        "hookwire@test.example".to_string(),
    ]);
    args
}

async fn start(args: &[String]) -> Api {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Api::start(&args).await
}

fn hook(url: &str, notify: Value) -> Value {
    let mut body = json!({"Name": "crm-sync", "Events": ["contact.created"], "TargetUrl": url,
                          "State": "Active", "Type": "webhook"});
    for (k, v) in notify.as_object().into_iter().flatten() {
        body[k] = v.clone();
    }
    body
}

async fn wait_state(api: &Api, id: i64, state: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let w = api.fetch(id).await;
        if w["State"] == state {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "webhook {id} never became {state}: {w}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn recipients(mail: &Mail) -> HashSet<String> {
    mail.to.iter().map(|a| a.to_lowercase()).collect()
}

fn set(addresses: &[&str]) -> HashSet<String> {
    addresses.iter().map(|a| a.to_string()).collect()
}

/// The mail names the webhook, the transition, the event and its EventId, the last error,
/// and how to restart the webhook.
fn assert_describes(mail: &Mail, id: i64, transition: &str, event_id: &str) {
    let body = mail.body();
    assert!(
        mail.subject.contains(&format!("Webhook {id}")) && mail.subject.contains(transition),
        "subject: {}",
        mail.subject
    );
    for part in [
        "crm-sync",
        "contact.created",
        event_id,
        "HTTP/1.1 500",
        &format!("hookwire webhook restart {id}"),
        "State Active",
    ] {
        assert!(
            body.contains(part),
            "{part:?} missing from the mail:\n{body}"
        );
    }
}

#[tokio::test]
async fn first_failure_and_disabling_each_mail_once_and_a_restart_starts_over() {
    let sink = SmtpSink::start();
    let receiver = Receiver::start().await;
    receiver.set_answer(Answer::status(500).with_body("down"));
    let api = start(&with_smtp(fast("4"), &sink.url())).await;
    let id = rest::id_of(
        &api.create(hook(
            &receiver.url("/in"),
            json!({"ErrorEmails": ["ops@example.com", "dev@example.com"],
                   "NotifyVia": "Email", "NotifyWhen": "FirstFailure Disabling"}),
        ))
        .await,
    );

    // Four failures: the first mails, the second and third do not, the fourth disables.
    api.signal("contact.created", 1).await;
    wait_state(&api, id, "TooManyErrors").await;
    let mails = sink.wait_for(2, Duration::from_secs(20)).await;
    let event_id = receiver.requests()[0]
        .event_id()
        .unwrap_or_default()
        .to_string();
    assert_eq!(mails.len(), 2, "{mails:#?}");
    assert_describes(&mails[0], id, "first failure", &event_id);
    assert_describes(&mails[1], id, "TooManyErrors", &event_id);
    for mail in &mails {
        assert_eq!(
            recipients(mail),
            set(&["ops@example.com", "dev@example.com"])
        );
    }

    // Restarted with a working receiver: its parked event goes out, the streak ends; the
    // next failure is a first failure again, and mails again.
    receiver.set_answer(Answer::ok());
    let (ok, out, err) = api.server.cli(&["webhook", "restart", &id.to_string()]);
    assert!(ok, "restart: {out}{err}");
    receiver
        .wait_until(
            |r| r.iter().any(|q| q.status == 200),
            Duration::from_secs(20),
        )
        .await;
    receiver.set_answer(Answer::status(500).with_body("down"));
    api.signal("contact.created", 2).await;
    let mails = sink.wait_for(3, Duration::from_secs(20)).await;
    assert!(
        mails[2].subject.contains("first failure"),
        "{:?}",
        mails[2].subject
    );
    // The rest of that streak mails nothing until its fourth failure disables the webhook
    // again (mails go out in the order their alerts were made).
    wait_state(&api, id, "TooManyErrors").await;
    let mails = sink.wait_for(4, Duration::from_secs(20)).await;
    assert!(mails[3].subject.contains("TooManyErrors"), "{mails:#?}");
    assert_eq!(mails.len(), 4, "{mails:#?}");
}

#[tokio::test]
async fn the_obsolete_errors_email_alone_mails_once_when_disabled() {
    let sink = SmtpSink::start();
    let receiver = Receiver::start().await;
    receiver.set_answer(Answer::status(500).with_body("down"));
    let api = start(&with_smtp(fast("3"), &sink.url())).await;
    let id = rest::id_of(
        &api.create(hook(
            &receiver.url("/in"),
            json!({"ErrorsEmail": "legacy@example.com"}),
        ))
        .await,
    );
    api.signal("contact.created", 1).await;
    wait_state(&api, id, "TooManyErrors").await;
    // Mails go out in the order their alerts were made: a first-failure mail would come first.
    let mails = sink.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(mails.len(), 1, "{mails:#?}");
    let event_id = receiver.requests()[0]
        .event_id()
        .unwrap_or_default()
        .to_string();
    assert_describes(&mails[0], id, "TooManyErrors", &event_id);
    assert_eq!(recipients(&mails[0]), set(&["legacy@example.com"]));
}

#[tokio::test]
async fn error_associates_are_mailed_at_the_address_user_add_gave_them() {
    let sink = SmtpSink::start();
    let receiver = Receiver::start().await;
    receiver.set_answer(Answer::status(500).with_body("down"));
    let api = start(&with_smtp(fast("3"), &sink.url())).await;
    let (ok, out, err) = api.server.cli(&[
        "user",
        "add",
        "carol",
        "--password",
        "carol-pw",
        "--email",
        "carol@example.com",
    ]);
    assert!(ok, "user add: {out}{err}");
    let (ok, listed, err) = api.server.cli(&["user", "list"]);
    assert!(ok, "{err}");
    let carol = listed
        .lines()
        .find(|l| l.contains("\tcarol\t"))
        .unwrap_or_else(|| panic!("carol not listed: {listed}"));
    assert!(carol.ends_with("\tcarol@example.com"), "{carol}");
    let carol_id: i64 = carol
        .split('\t')
        .next()
        .and_then(|i| i.parse().ok())
        .unwrap_or(0);
    let (ok, _, err) = api
        .server
        .cli(&["user", "add", "dave", "--email", "not-an-address"]);
    assert!(!ok && err.contains("not-an-address"), "{err}");

    let id = rest::id_of(
        &api.create(hook(
            &receiver.url("/in"),
            json!({"ErrorAssociates": [{"Id": carol_id}], "ErrorEmails": ["ops@example.com"],
                   "ErrorsEmail": "legacy@example.com",
                   "NotifyVia": "Email", "NotifyWhen": "Disabling"}),
        ))
        .await,
    );
    api.signal("contact.created", 1).await;
    wait_state(&api, id, "TooManyErrors").await;
    let mails = sink.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(
        mails.len(),
        1,
        "one mail, ErrorsEmail among its recipients: {mails:#?}"
    );
    assert_eq!(
        recipients(&mails[0]),
        set(&["carol@example.com", "ops@example.com", "legacy@example.com"])
    );
}

fn alerts(page: &Value) -> &Vec<Value> {
    page["Alerts"]
        .as_array()
        .unwrap_or_else(|| panic!("no Alerts array in {page}"))
}

/// The alert list once it holds `n` alerts.
async fn alerts_when(api: &Api, n: usize, token: Option<&str>) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let mut call = api.get("/api/v1/Alerts");
        if let Some(token) = token {
            call = call.header("SO-AppToken", token);
        }
        let page = call.send().await.ok();
        if alerts(&page).len() >= n {
            return page;
        }
        assert!(tokio::time::Instant::now() < deadline, "{page}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn in_app_alerts_are_listed_newest_first_and_marked_read() {
    let receiver = Receiver::start().await;
    receiver.set_answer(Answer::status(500).with_body("down"));
    let api = start(&fast("3")).await;
    let id = rest::id_of(
        &api.create(hook(
            &receiver.url("/in"),
            json!({"NotifyVia": "InApp Email", "NotifyWhen": "3"}),
        ))
        .await,
    );
    assert_eq!(api.fetch(id).await["NotifyVia"], "Email InApp");
    api.signal("contact.created", 1).await;
    wait_state(&api, id, "TooManyErrors").await;
    let page = alerts_when(&api, 2, None).await;
    let event_id = receiver.requests()[0]
        .event_id()
        .unwrap_or_default()
        .to_string();
    let list = alerts(&page);
    assert_eq!(list.len(), 2, "{page}");
    assert_eq!(page["NextCursor"], Value::Null);
    let kinds: Vec<&Value> = list.iter().map(|a| &a["Kind"]).collect();
    assert_eq!(
        kinds,
        [&json!("disabled"), &json!("first-failure")],
        "newest first: {page}"
    );
    for a in list {
        assert_eq!(a["WebhookId"], id);
        assert_eq!(a["WebhookName"], "crm-sync");
        assert_eq!(a["Event"], "contact.created");
        assert_eq!(a["EventId"], event_id.as_str());
        assert!(
            a["LastError"].as_str().unwrap_or_default().contains("500"),
            "{a}"
        );
        assert!(
            a["Created"].as_str().is_some_and(|c| c.ends_with('Z')),
            "{a}"
        );
        assert_eq!(a["Read"], Value::Null);
    }

    // Paging: one at a time, the cursor leads to the older one.
    let first = api.get("/api/v1/Alerts?limit=1").send().await.ok();
    assert_eq!(alerts(&first)[0]["Kind"], "disabled");
    let cursor = first["NextCursor"]
        .as_str()
        .unwrap_or_else(|| panic!("{first}"))
        .to_string();
    let second = api
        .get(&format!("/api/v1/Alerts?limit=1&cursor={cursor}"))
        .send()
        .await
        .ok();
    assert_eq!(alerts(&second)[0]["Kind"], "first-failure");
    assert_eq!(second["NextCursor"], Value::Null);

    // Read: answered with its time, and gone from the unread list.
    let newest = list[0]["AlertId"].as_i64().unwrap_or_default();
    let read = api
        .post(&format!("/api/v1/Alerts/{newest}/Read"))
        .send()
        .await
        .ok();
    assert_eq!(read["AlertId"], newest);
    assert!(read["Read"].is_string(), "{read}");
    let unread = api.get("/api/v1/alerts?unread=true").send().await.ok();
    let ids: Vec<&Value> = alerts(&unread).iter().map(|a| &a["AlertId"]).collect();
    assert_eq!(ids, [&list[1]["AlertId"]], "{unread}");

    // Bad input: 400 naming the parameter; an unknown alert: 404.
    for (query, words) in [
        ("limit=0", "limit '0'"),
        ("cursor=abc", "cursor 'abc'"),
        ("unread=maybe", "unread 'maybe'"),
    ] {
        api.get(&format!("/api/v1/Alerts?{query}"))
            .send()
            .await
            .error(400, "ArgumentException", words);
    }
    api.post("/api/v1/Alerts/x/Read").send().await.error(
        400,
        "ArgumentException",
        "'x' is not an alert id",
    );
    api.post("/api/v1/Alerts/99999/Read")
        .send()
        .await
        .error(404, "NotFoundException", "99999");
    api.anon(reqwest::Method::GET, "/api/v1/Alerts")
        .send()
        .await
        .unauthorized("SoSessionException");
}

#[tokio::test]
async fn online_an_application_sees_only_its_own_webhooks_alerts() {
    let receiver = Receiver::start().await;
    receiver.set_answer(Answer::status(500).with_body("down"));
    let mut args = fast("3");
    args.push("--online".into());
    let api = start(&args).await;
    let (a, b) = api.two_apps();
    let created = api
        .post("/api/v1/Webhook")
        .header("SO-AppToken", &a)
        .json(&hook(
            &receiver.url("/a"),
            json!({"NotifyVia": "InApp", "NotifyWhen": "Disabling"}),
        ))
        .send()
        .await
        .ok();
    let id = rest::id_of(&created);
    api.post("/api/v1/Webhook/contact.created/1")
        .header("SO-AppToken", &a)
        .raw("application/json", "{}")
        .send()
        .await
        .no_content();
    let page = alerts_when(&api, 1, Some(&a)).await;
    let alert = &alerts(&page)[0];
    assert_eq!(alert["WebhookId"], id);
    let alert_id = alert["AlertId"].as_i64().unwrap_or_default();

    let other = api
        .get("/api/v1/Alerts")
        .header("SO-AppToken", &b)
        .send()
        .await
        .ok();
    assert_eq!(alerts(&other).len(), 0, "{other}");
    api.post(&format!("/api/v1/Alerts/{alert_id}/Read"))
        .header("SO-AppToken", &b)
        .send()
        .await
        .error(403, "SoSecurityException", "another application");
    let read = api
        .post(&format!("/api/v1/Alerts/{alert_id}/Read"))
        .header("SO-AppToken", &a)
        .send()
        .await
        .ok();
    assert!(read["Read"].is_string(), "{read}");
}

#[tokio::test]
async fn an_smtp_server_that_is_down_changes_nothing_for_delivery() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let receiver = Receiver::start().await;
    let args = with_smtp(fast("3"), &format!("smtp://127.0.0.1:{port}"));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = TestServer::start_capturing_log(&args);
    let ticket = server.ticket().await;
    let api = Api {
        auth: format!("SOTicket {ticket}"),
        ticket,
        server,
    };
    let id = rest::id_of(
        &api.create(hook(
            &receiver.url("/in"),
            json!({"ErrorEmails": ["ops@example.com"], "ErrorsEmail": "legacy@example.com",
                   "NotifyVia": "Email InApp", "NotifyWhen": "FirstFailure Disabling"}),
        ))
        .await,
    );
    for key in 1..=5 {
        api.signal("contact.created", key).await;
    }
    receiver.wait_for_requests(5, Duration::from_secs(20)).await;
    assert_eq!(receiver.distinct_event_ids().len(), 5);

    // Failing: disabled after exactly three attempts, as without SMTP; the mails wait.
    receiver.set_answer(Answer::status(500).with_body("down"));
    api.signal("contact.created", 6).await;
    wait_state(&api, id, "TooManyErrors").await;
    assert_eq!(receiver.len(), 8, "{}", receiver.summary());
    alerts_when(&api, 2, None).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !api
        .server
        .log()
        .contains("alert e-mail not sent; will retry")
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{}",
            api.server.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Restarted, the webhook delivers its parked event; the server stays healthy.
    receiver.set_answer(Answer::ok());
    let (ok, out, err) = api.server.cli(&["webhook", "restart", &id.to_string()]);
    assert!(ok, "{out}{err}");
    receiver
        .wait_until(
            |r| r.iter().filter(|q| q.status == 200).count() == 6,
            Duration::from_secs(20),
        )
        .await;
    assert_eq!(receiver.distinct_event_ids().len(), 6);
    let health = api
        .server
        .http
        .get(api.server.url("/health"))
        .send()
        .await
        .expect("health");
    assert_eq!(health.status(), 200);
    assert!(!api.server.log().contains("ERROR"), "{}", api.server.log());
}

#[tokio::test]
async fn without_smtp_serve_warns_once_when_a_webhook_asks_for_email() {
    let receiver = Receiver::start().await;
    let api = start(&fast("3")).await;
    for name in ["one", "two"] {
        let mut body = hook(
            &receiver.url("/in"),
            json!({"ErrorEmails": ["ops@example.com"], "NotifyVia": "Email", "NotifyWhen": "Disabling"}),
        );
        body["Name"] = json!(name);
        api.create(body).await;
    }
    let server = api.server.restart_capturing_log();
    let warning = "webhooks ask for alert e-mails but no --smtp-url is set";
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !server.log().contains(warning) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no warning: {}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(server.log().matches(warning).count(), 1, "{}", server.log());
}
