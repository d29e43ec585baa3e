//! What receivers get: the exact POST NetServer sends (headers, member order, signatures), the
//! test ping, retries and their timing, usage counters, TooManyErrors, 410, parking and resume,
//! state-change events, the SSRF guard and a clean SIGTERM.

use std::time::Duration;

use crate::support::receiver::{Answer, Receiver};
use crate::support::*;

async fn save(
    server: &TestServer,
    ticket: &str,
    name: &str,
    events: &[&str],
    url: &str,
    extra: &str,
) -> i32 {
    let reply = server
        .call(
            NS88,
            SOAP11,
            ticket,
            "SaveWebhook",
            &webhook_xml(0, name, events, url, extra),
        )
        .await
        .ok();
    reply.text("WebhookId").unwrap().parse().unwrap()
}

async fn get(server: &TestServer, ticket: &str, id: i32) -> Reply {
    server
        .call(
            NS88,
            SOAP11,
            ticket,
            "GetWebhook",
            &format!("<tns:WebhookId>{id}</tns:WebhookId>"),
        )
        .await
        .ok()
}

async fn set_state(
    server: &TestServer,
    ticket: &str,
    id: i32,
    name: &str,
    events: &[&str],
    url: &str,
    state: &str,
) {
    server
        .call(
            NS88,
            SOAP11,
            ticket,
            "SaveWebhook",
            &webhook_xml(
                id,
                name,
                events,
                url,
                &format!("<tns:State>{state}</tns:State>"),
            ),
        )
        .await
        .ok();
}

async fn signal(server: &TestServer, ticket: &str, name: &str, pk: i32) {
    server
        .call(
            NS88,
            SOAP11,
            ticket,
            "SignalEvent",
            &format!("<tns:EventName>{name}</tns:EventName><tns:PrimaryKey>{pk}</tns:PrimaryKey>"),
        )
        .await
        .ok();
}

/// Polls GetWebhook until `State` is `state`.
async fn wait_state(server: &TestServer, ticket: &str, id: i32, state: &str) -> Reply {
    for _ in 0..300 {
        let reply = get(server, ticket, id).await;
        if reply.text("State").as_deref() == Some(state) {
            return reply;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "webhook {id} never reached {state}: {}",
        get(server, ticket, id).await.body
    );
}

#[tokio::test]
async fn deliveries_are_signed_and_shaped_as_netserver_sends_them() {
    let receiver = Receiver::start().await;
    // The save ping is on: the first request the receiver sees is the test event.
    let server = TestServer::start(&["--allow-http-targets", "--allow-targets", "127.0.0.0/8"]);
    let ticket = server.ticket().await;
    let secret = "s3cret-\u{e6}\u{f8}\u{e5}";
    let extra = format!(
        "<tns:Secret>{secret}</tns:Secret>\
         <tns:Headers>\
           <tns:StringKeyValuePair><tns:Key>X-Custom</tns:Key><tns:Value>v1</tns:Value></tns:StringKeyValuePair>\
           <tns:StringKeyValuePair><tns:Key>Authorization</tns:Key><tns:Value>Bearer abc</tns:Value></tns:StringKeyValuePair>\
           <tns:StringKeyValuePair><tns:Key>X-SuperOffice-Event</tns:Key><tns:Value>forged</tns:Value></tns:StringKeyValuePair>\
           <tns:StringKeyValuePair><tns:Key>Content-Type</tns:Key><tns:Value>text/plain</tns:Value></tns:StringKeyValuePair>\
         </tns:Headers>\
         <tns:Properties>\
           <tns:StringObjectKeyValuePair><tns:Key>tenant</tns:Key><tns:Value xsi:type=\"xsd:int\">42</tns:Value></tns:StringObjectKeyValuePair>\
           <tns:StringObjectKeyValuePair><tns:Key>Event</tns:Key><tns:Value xsi:type=\"xsd:string\">hijack</tns:Value></tns:StringObjectKeyValuePair>\
           <tns:StringObjectKeyValuePair><tns:Key>region</tns:Key><tns:Value xsi:type=\"xsd:string\">eu</tns:Value></tns:StringObjectKeyValuePair>\
         </tns:Properties>"
    );
    save(
        &server,
        &ticket,
        "Contract hook",
        &["contact.changed"],
        &receiver.url("/hook"),
        &extra,
    )
    .await;

    let ping = &receiver.wait_for_requests(1, Duration::from_secs(10)).await[0];
    assert_eq!(ping.header("x-hook-test"), Some("true"));
    assert_eq!(ping.header("x-superoffice-event"), Some("test"));
    ping.verify_superoffice(secret).expect("ping signature");
    let body = ping.json();
    assert_eq!(body["Event"], "test");
    assert_eq!(body["Entity"], "test");
    assert_eq!(body["PrimaryKey"], 0);
    assert_eq!(body["WebhookName"], "Contract hook");
    assert!(
        body.get("FieldValues").is_none(),
        "the test event has no FieldValues"
    );

    let data = "<tns:Data>\
        <tns:StringObjectKeyValuePair><tns:Key>s</tns:Key><tns:Value xsi:type=\"xsd:string\">Acme &amp; Co &lt;x&gt;</tns:Value></tns:StringObjectKeyValuePair>\
        <tns:StringObjectKeyValuePair><tns:Key>i</tns:Key><tns:Value xsi:type=\"xsd:int\">5</tns:Value></tns:StringObjectKeyValuePair>\
        <tns:StringObjectKeyValuePair><tns:Key>l</tns:Key><tns:Value xsi:type=\"xsd:long\">9000000000</tns:Value></tns:StringObjectKeyValuePair>\
        <tns:StringObjectKeyValuePair><tns:Key>d</tns:Key><tns:Value xsi:type=\"xsd:double\">2.5</tns:Value></tns:StringObjectKeyValuePair>\
        <tns:StringObjectKeyValuePair><tns:Key>m</tns:Key><tns:Value xsi:type=\"xsd:decimal\">10.25</tns:Value></tns:StringObjectKeyValuePair>\
        <tns:StringObjectKeyValuePair><tns:Key>b</tns:Key><tns:Value xsi:type=\"xsd:boolean\">true</tns:Value></tns:StringObjectKeyValuePair>\
        <tns:StringObjectKeyValuePair><tns:Key>t</tns:Key><tns:Value xsi:type=\"xsd:dateTime\">2021-03-25T21:37:14Z</tns:Value></tns:StringObjectKeyValuePair>\
        <tns:StringObjectKeyValuePair><tns:Key>n</tns:Key><tns:Value xsi:nil=\"true\"/></tns:StringObjectKeyValuePair>\
        </tns:Data>";
    server.call(NS88, SOAP12, &ticket, "SignalEvent",
        &format!("<tns:EventName>contact.changed</tns:EventName><tns:PrimaryKey>12</tns:PrimaryKey>{data}")).await.ok();
    let requests = receiver.wait_for_requests(2, Duration::from_secs(10)).await;
    let delivery = &requests[1];

    assert_eq!(delivery.method, "POST");
    assert_eq!(delivery.path, "/hook");
    assert_eq!(
        delivery.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert!(
        delivery
            .header("user-agent")
            .unwrap()
            .starts_with("NetServer-Webhook/")
    );
    assert_eq!(
        delivery.header_all("x-superoffice-event"),
        vec!["contact.changed"],
        "custom headers cannot override"
    );
    assert_eq!(delivery.header_all("content-type").len(), 1);
    assert_eq!(delivery.header("x-superoffice-retry"), Some("0"));
    assert_eq!(delivery.header("x-hook-test"), None);
    assert_eq!(delivery.header("x-custom"), Some("v1"));
    assert_eq!(delivery.header("authorization"), Some("Bearer abc"));
    delivery
        .verify_superoffice(secret)
        .expect("SuperOffice signature");
    delivery
        .verify_standard_webhooks(secret)
        .expect("Standard Webhooks signature");

    let body = delivery.json();
    let event_id = body["EventId"].as_str().unwrap().to_string();
    assert_eq!(
        delivery.header("x-superoffice-eventid"),
        Some(event_id.as_str())
    );
    assert_eq!(delivery.header("webhook-id"), Some(event_id.as_str()));
    assert_eq!(event_id, event_id.to_lowercase());
    assert_eq!(event_id.len(), 36);
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "EventId",
            "Timestamp",
            "Changes",
            "Event",
            "PrimaryKey",
            "Entity",
            "ContextIdentifier",
            "ChangedByAssociateId",
            "WebhookName",
            "FieldValues",
            "tenant",
            "region"
        ]
    );
    let ts = body["Timestamp"].as_str().unwrap();
    assert!(
        ts.len() == 28 && ts.ends_with('Z') && ts.as_bytes()[19] == b'.',
        "7 fractional digits: {ts}"
    );
    assert_eq!(
        body["Changes"],
        serde_json::json!(["s", "i", "l", "d", "m", "b", "t", "n"])
    );
    assert_eq!(body["Event"], "contact.changed");
    assert_eq!(body["PrimaryKey"], 12);
    assert_eq!(body["Entity"], "contact");
    assert_eq!(body["ContextIdentifier"], "Default");
    assert_eq!(body["ChangedByAssociateId"], 1);
    assert_eq!(body["WebhookName"], "Contract hook");
    assert_eq!(
        body["FieldValues"],
        serde_json::json!({
        "s": "Acme & Co <x>", "i": 5, "l": 9_000_000_000_i64, "d": 2.5, "m": 10.25, "b": true,
        "t": "2021-03-25T21:37:14Z", "n": null})
    );
    assert_eq!(body["tenant"], 42);
    assert_eq!(body["region"], "eu");

    // Without a Secret there is no signature header; --no-standard-webhooks drops webhook-*.
    let plain = TestServer::start(&[
        "--allow-http-targets",
        "--allow-targets",
        "127.0.0.0/8",
        "--no-save-ping",
        "--no-standard-webhooks",
    ]);
    let t2 = plain.ticket().await;
    save(
        &plain,
        &t2,
        "plain",
        &["sale.sold"],
        &receiver.url("/plain"),
        "",
    )
    .await;
    signal(&plain, &t2, "sale.sold", 1).await;
    let requests = receiver.wait_for_requests(3, Duration::from_secs(10)).await;
    assert_eq!(requests[2].path, "/plain");
    assert_eq!(requests[2].header("x-superoffice-signature"), None);
    assert!(!requests[2].has_standard_webhooks_headers());
}

#[tokio::test]
async fn failed_attempts_retry_after_1s_and_4s_and_are_counted() {
    let receiver = Receiver::start().await;
    receiver.set_answer(Answer::status(500).with_body("boom"));
    let server = TestServer::start(&LOOPBACK);
    let ticket = server.ticket().await;
    let id = save(
        &server,
        &ticket,
        "flaky",
        &["person.changed"],
        &receiver.url("/r"),
        "",
    )
    .await;
    signal(&server, &ticket, "person.changed", 7).await;
    let requests = receiver.wait_for_requests(3, Duration::from_secs(15)).await;
    let gap1 = requests[1].at - requests[0].at;
    let gap2 = requests[2].at - requests[1].at;
    assert!(
        gap1 >= Duration::from_millis(950) && gap1 < Duration::from_millis(2000),
        "first retry after {gap1:?}"
    );
    assert!(
        gap2 >= Duration::from_millis(3950) && gap2 < Duration::from_millis(5000),
        "second retry after {gap2:?}"
    );
    let retries: Vec<Option<u32>> = requests.iter().take(3).map(|r| r.retry()).collect();
    assert_eq!(retries, vec![Some(0), Some(1), Some(2)]);
    let ids: Vec<Option<&str>> = requests.iter().take(3).map(|r| r.event_id()).collect();
    assert!(
        ids.iter().all(|i| *i == ids[0]),
        "EventId is stable: {ids:?}"
    );

    // The cycle failed: the next cycle waits a minute, so the counters are settled.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let w = get(&server, &ticket, id).await;
    assert_eq!(w.text("TotalCalls").as_deref(), Some("3"));
    assert_eq!(w.text("TotalErrors").as_deref(), Some("3"));
    assert_eq!(w.text("ConsecutiveErrors").as_deref(), Some("3"));
    assert_eq!(w.text("State").as_deref(), Some("Active"));
    let last = w.text("LastError").unwrap();
    assert!(
        last.starts_with("HTTP/1.1 500 Internal Server Error"),
        "{last}"
    );
    assert!(last.ends_with("boom"), "{last}");
    let via = server
        .call(
            NS87,
            SOAP12,
            &ticket,
            "GetLastError",
            &format!("<tns:WebhookId>{id}</tns:WebhookId>"),
        )
        .await
        .ok();
    assert_eq!(via.text("Response"), Some(last));
    assert_eq!(
        server.queue().await,
        (1, 0, 0),
        "the event is kept for the next cycle"
    );
}

#[tokio::test]
async fn nine_failures_disable_once_park_deliveries_and_fire_state_events() {
    let failing = Receiver::start().await;
    failing.set_answer(Answer::status(503).with_body("down"));
    let watcher = Receiver::start().await;
    let mut args = LOOPBACK.to_vec();
    args.extend(["--retry-delays-ms", "10,10", "--cycle-backoff-secs", "1"]);
    let server = TestServer::start(&args);
    let ticket = server.ticket().await;
    let url = failing.url("/a");
    let id = save(&server, &ticket, "a", &["contact.created"], &url, "").await;
    let states = [
        format!("webhook{id}.errors"),
        format!("webhook{id}.started"),
        format!("webhook{id}.stopped"),
    ];
    let state_refs: Vec<&str> = states.iter().map(String::as_str).collect();
    save(
        &server,
        &ticket,
        "watcher",
        &state_refs,
        &watcher.url("/w"),
        "",
    )
    .await;

    signal(&server, &ticket, "contact.created", 1).await;
    let disabled = wait_state(&server, &ticket, id, "TooManyErrors").await;
    assert_eq!(disabled.text("ConsecutiveErrors").as_deref(), Some("9"));
    let errors = watcher.wait_for_requests(1, Duration::from_secs(10)).await;
    let body = errors[0].json();
    assert_eq!(
        errors[0].header("x-superoffice-event"),
        Some(states[0].as_str())
    );
    assert_eq!(body["Event"], states[0].as_str());
    assert_eq!(body["PrimaryKey"], id);
    assert_eq!(body["Entity"], "webhook");
    assert_eq!(body["Changes"], serde_json::json!([]));
    assert_eq!(body["ChangedByAssociateId"], 0);
    let fv = &body["FieldValues"];
    assert_eq!(fv["state"], 3);
    assert_eq!(fv["events"], 1);
    assert_eq!(fv["registered_associate_id"], 1);
    assert!(fv["registered"].is_string() && fv["updated"].is_string());

    // Disabled: no more attempts, and new events wait parked instead of being lost.
    signal(&server, &ticket, "contact.created", 2).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(failing.len(), 9, "exactly 9 attempts, then nothing");
    assert_eq!(watcher.len(), 1, "one .errors event");
    assert_eq!(server.queue().await.0, 2);

    // Restarted: the parked deliveries go out, counters reset, `.started` fires.
    failing.set_answer(Answer::ok());
    set_state(
        &server,
        &ticket,
        id,
        "a",
        &["contact.created"],
        &url,
        "Active",
    )
    .await;
    let delivered = failing
        .wait_until(
            |r| r.iter().filter(|q| q.status == 200).count() >= 2,
            Duration::from_secs(10),
        )
        .await;
    let pks: std::collections::BTreeSet<i64> = delivered
        .iter()
        .filter(|q| q.status == 200)
        .map(|q| q.json()["PrimaryKey"].as_i64().unwrap())
        .collect();
    assert_eq!(pks, [1, 2].into_iter().collect());
    let started = watcher.wait_for_requests(2, Duration::from_secs(10)).await;
    assert_eq!(started[1].json()["Event"], states[1].as_str());
    assert_eq!(started[1].json()["FieldValues"]["state"], 1);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let w = get(&server, &ticket, id).await;
    assert_eq!(w.text("ConsecutiveErrors").as_deref(), Some("0"));
    assert_eq!(w.text("TotalCalls").as_deref(), Some("11"));
    assert_eq!(w.text("TotalErrors").as_deref(), Some("9"));

    // Stopped on purpose: `.stopped` fires, and events for it are not queued.
    set_state(
        &server,
        &ticket,
        id,
        "a",
        &["contact.created"],
        &url,
        "Stopped",
    )
    .await;
    let stopped = watcher.wait_for_requests(3, Duration::from_secs(10)).await;
    assert_eq!(stopped[2].json()["Event"], states[2].as_str());
    assert_eq!(stopped[2].json()["FieldValues"]["state"], 2);
    // Deliveries queued in all (a state event's delivery may move from pending to delivered
    // meanwhile, so the total is compared, not each status).
    let total = |(pending, delivered, dead): (i64, i64, i64)| pending + delivered + dead;
    let before = total(server.queue().await);
    signal(&server, &ticket, "contact.created", 3).await;
    assert_eq!(
        total(server.queue().await),
        before,
        "an event for a Stopped webhook was queued"
    );
}

#[tokio::test]
async fn gone_disables_the_webhook_at_once() {
    let receiver = Receiver::start().await;
    receiver.set_answer(Answer::status(410).with_body("unsubscribed"));
    let server = TestServer::start(&LOOPBACK);
    let ticket = server.ticket().await;
    let id = save(
        &server,
        &ticket,
        "gone",
        &["sale.lost"],
        &receiver.url("/g"),
        "",
    )
    .await;
    signal(&server, &ticket, "sale.lost", 3).await;
    let w = wait_state(&server, &ticket, id, "TooManyErrors").await;
    assert_eq!(w.text("ConsecutiveErrors").as_deref(), Some("1"));
    assert!(w.text("LastError").unwrap().contains("410 Gone"));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(receiver.len(), 1, "no retry after 410");
}

#[tokio::test]
async fn the_ssrf_guard_refuses_non_public_targets() {
    let receiver = Receiver::start().await;
    let port = receiver.port();
    let server = TestServer::start(&["--allow-http-targets"]);
    let ticket = server.ticket().await;
    for url in [
        format!("http://127.0.0.1:{port}/x"),
        format!("http://localhost:{port}/x"),
        format!("http://[::1]:{port}/x"),
        format!("http://[::ffff:127.0.0.1]:{port}/x"),
        "http://10.0.0.1/x".to_string(),
        "http://192.168.1.10/x".to_string(),
        "http://169.254.169.254/latest/meta-data".to_string(),
        "http://100.64.0.1/x".to_string(),
    ] {
        let reply = server
            .call(
                NS88,
                SOAP11,
                &ticket,
                "TestWebhook",
                &webhook_xml(0, "t", &["contact.created"], &url, ""),
            )
            .await
            .ok();
        assert_eq!(reply.text("Success").as_deref(), Some("false"), "{url}");
        let message = reply.text("Message").unwrap();
        assert!(message.contains("SSRF guard"), "{url}: {message}");
    }
    // SaveWebhook's ping is refused the same way, so nothing is saved.
    let (ty, msg) = server
        .call(
            NS88,
            SOAP11,
            &ticket,
            "SaveWebhook",
            &webhook_xml(
                0,
                "s",
                &["contact.created"],
                &format!("http://localhost:{port}/x"),
                "",
            ),
        )
        .await
        .exception();
    assert_eq!(ty, "WebhookTestFailedException");
    assert!(msg.contains("SSRF guard"), "{msg}");
    assert!(receiver.is_empty(), "nothing reached the loopback receiver");
}

#[tokio::test]
async fn a_failing_save_ping_saves_nothing_and_test_webhook_reports_the_answer() {
    let receiver = Receiver::start().await;
    receiver.set_answer(Answer::status(500).with_body("not ready"));
    let server = TestServer::start(&["--allow-http-targets", "--allow-targets", "127.0.0.0/8"]);
    let ticket = server.ticket().await;
    let (ty, msg) = server
        .call(
            NS88,
            SOAP11,
            &ticket,
            "SaveWebhook",
            &webhook_xml(0, "s", &["contact.created"], &receiver.url("/s"), ""),
        )
        .await
        .exception();
    assert_eq!(ty, "WebhookTestFailedException");
    assert!(msg.contains("500") && msg.contains("not ready"), "{msg}");
    let all = server
        .call(NS88, SOAP11, &ticket, "GetAllWebhooks", "")
        .await
        .ok();
    assert!(all.texts("WebhookId").is_empty());

    receiver.set_answer(Answer::ok().with_body("hello"));
    let reply = server
        .call(
            NS87,
            SOAP11,
            &ticket,
            "TestWebhook",
            &webhook_xml(0, "t", &["contact.created"], &receiver.url("/t"), ""),
        )
        .await
        .ok();
    assert_eq!(reply.text("Success").as_deref(), Some("true"));
    let message = reply.text("Message").unwrap();
    assert!(
        message.starts_with("HTTP/1.1 200 OK") && message.ends_with("hello"),
        "{message}"
    );
    assert_eq!(
        receiver.requests().last().unwrap().header("x-hook-test"),
        Some("true")
    );
}

#[tokio::test]
async fn sigterm_lets_attempts_finish_and_exits_cleanly() {
    let receiver = Receiver::start().await;
    receiver.set_answer(Answer::ok().with_delay(Duration::from_millis(500)));
    let mut server = TestServer::start(&LOOPBACK);
    let ticket = server.ticket().await;
    save(
        &server,
        &ticket,
        "slow",
        &["contact.created"],
        &receiver.url("/slow"),
        "",
    )
    .await;
    signal(&server, &ticket, "contact.created", 1).await;
    receiver
        .wait_until(|r| !r.is_empty(), Duration::from_secs(5))
        .await;
    let status = server
        .terminate(Duration::from_secs(10))
        .await
        .expect("exits after SIGTERM");
    assert!(status.success(), "{status:?}");
    // The attempt in flight finished and was recorded: nothing is pending after a restart.
    let server = server.restart();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(server.queue().await, (0, 1, 0));
    assert_eq!(receiver.len(), 1);
}

#[tokio::test]
async fn expired_deliveries_go_to_the_dead_letter_list_and_can_be_replayed() {
    let receiver = Receiver::start().await;
    receiver.set_answer(Answer::status(500));
    let mut args = LOOPBACK.to_vec();
    args.extend([
        "--retry-delays-ms",
        "10,10",
        "--retention-secs",
        "1",
        "--failures-to-disable",
        "100",
    ]);
    let server = TestServer::start(&args);
    let ticket = server.ticket().await;
    let id = save(
        &server,
        &ticket,
        "late",
        &["quote.sent"],
        &receiver.url("/late"),
        "",
    )
    .await;
    signal(&server, &ticket, "quote.sent", 4).await;
    // One failed cycle; the next one would start after the 1 s retention window: dead.
    for _ in 0..100 {
        if server.queue().await == (0, 0, 1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(server.queue().await, (0, 0, 1));
    let db = server.database_url();
    let (ok, listed, err) = cli(&[
        "dead-letters",
        "list",
        "--webhook",
        &id.to_string(),
        "--database",
        &db,
    ]);
    assert!(ok, "{err}");
    let event_id = receiver.requests()[0].event_id().unwrap().to_string();
    assert!(
        listed.contains(&event_id) && listed.contains("quote.sent"),
        "{listed}"
    );

    receiver.set_answer(Answer::ok());
    let (ok, out, err) = cli(&["dead-letters", "replay", "--database", &db]);
    assert!(
        ok && out.starts_with("1 dead deliveries queued again"),
        "{out}{err}"
    );
    let all = receiver
        .wait_until(
            |r| r.iter().any(|q| q.status == 200),
            Duration::from_secs(10),
        )
        .await;
    let replayed = all.iter().find(|q| q.status == 200).unwrap();
    assert_eq!(
        replayed.event_id(),
        Some(event_id.as_str()),
        "same EventId on replay"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(server.queue().await, (0, 1, 0));
}

#[tokio::test]
async fn redirects_are_failures_and_slow_targets_time_out() {
    let receiver = Receiver::start().await;
    receiver
        .set_answer(Answer::status(302).with_header("location", "http://127.0.0.1:9/elsewhere"));
    let mut args = LOOPBACK.to_vec();
    args.extend(["--delivery-timeout-secs", "1", "--retry-delays-ms", "10,10"]);
    let server = TestServer::start(&args);
    let ticket = server.ticket().await;
    let moved = save(
        &server,
        &ticket,
        "moved",
        &["sale.created"],
        &receiver.url("/moved"),
        "",
    )
    .await;
    signal(&server, &ticket, "sale.created", 1).await;
    receiver.wait_for_requests(3, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let w = get(&server, &ticket, moved).await;
    assert_eq!(
        w.text("TotalErrors").as_deref(),
        Some("3"),
        "a 302 is a failure"
    );
    assert!(w.text("LastError").unwrap().contains("302 Found"));
    assert!(
        receiver.requests().iter().all(|r| r.path == "/moved"),
        "the redirect was not followed"
    );

    let slow = Receiver::start().await;
    slow.set_answer(Answer::hang());
    let hung = save(
        &server,
        &ticket,
        "hung",
        &["sale.sold"],
        &slow.url("/hang"),
        "",
    )
    .await;
    signal(&server, &ticket, "sale.sold", 2).await;
    let started = std::time::Instant::now();
    let mut last_error = String::new();
    while started.elapsed() < Duration::from_secs(10) {
        last_error = get(&server, &ticket, hung)
            .await
            .text("LastError")
            .unwrap_or_default();
        if !last_error.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(last_error.starts_with("timed out"), "{last_error:?}");
}
