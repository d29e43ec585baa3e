//! The store can never be poisoned: values that JSON or XML cannot carry are refused with a
//! message naming the key, and a row that cannot be decoded stops nothing but itself (its
//! delivery goes to the dead-letter list with the reason; its webhook is an error of its own).
//! Runs on SQLite, and on PostgreSQL with `HOOKWIRE_TEST_DATABASE_URL`.

use std::time::Duration;

use crate::support::receiver::Receiver;
use crate::support::{
    ADMIN_PASSWORD, LOOPBACK, NS88, SOAP11, SOAP12, TestServer, cli, execute_sql, webhook_xml,
};

fn data_xml(key: &str, xsd_type: &str, value: &str) -> String {
    format!(
        "<tns:StringObjectKeyValuePair><tns:Key>{key}</tns:Key>\
         <tns:Value xsi:type=\"xsd:{xsd_type}\">{value}</tns:Value></tns:StringObjectKeyValuePair>"
    )
}

fn signal_xml(event: &str, pk: i32, data: &str) -> String {
    format!(
        "<tns:EventName>{event}</tns:EventName><tns:PrimaryKey>{pk}</tns:PrimaryKey>\
         <tns:Data>{data}</tns:Data>"
    )
}

#[tokio::test]
async fn numbers_json_cannot_carry_are_refused_naming_the_key() {
    let server = TestServer::start(&LOOPBACK);
    let receiver = Receiver::start().await;
    let ticket = server.ticket().await;
    server
        .call(
            NS88,
            SOAP11,
            &ticket,
            "SaveWebhook",
            &webhook_xml(0, "numbers", &["deal.*"], &receiver.url("/n"), ""),
        )
        .await
        .ok();

    for (ty, value) in [
        ("double", "1e400"),
        ("double", "NaN"),
        ("double", "INF"),
        ("double", "-INF"),
        ("float", "3.5e38"),
    ] {
        let body = signal_xml("deal.created", 1, &data_xml("amount", ty, value));
        for soap in [SOAP11, SOAP12] {
            let (kind, msg) = server
                .call(NS88, soap, &ticket, "SignalEvent", &body)
                .await
                .exception();
            assert_eq!(kind, "ArgumentException", "{ty} {value}: {msg}");
            assert!(
                msg.contains("'amount'") && msg.contains("out of range"),
                "{ty} {value}: {msg}"
            );
        }
        let props = format!(
            "<tns:Properties>{}</tns:Properties>",
            data_xml("limit", ty, value)
        );
        let (kind, msg) = server
            .call(
                NS88,
                SOAP11,
                &ticket,
                "SaveWebhook",
                &webhook_xml(0, "bad props", &["deal.*"], &receiver.url("/n"), &props),
            )
            .await
            .exception();
        assert_eq!(kind, "ArgumentException", "{msg}");
        assert!(msg.contains("'limit'"), "{msg}");
    }
    // REST: JSON itself has no such numbers; a number beyond f64 is a 400, not a stored null.
    let response = server
        .http
        .post(server.url("/api/v1/Webhook/deal.created/1"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .header("Content-Type", "application/json")
        .body(r#"{"amount": 1e400}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    // A control character XML cannot carry would never read back over SOAP: refused too.
    let response = server
        .http
        .post(server.url("/api/v1/Webhook/deal.created/1"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .header("Content-Type", "application/json")
        .body(r#"{"note": "a\u0000b"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let text = response.text().await.unwrap();
    assert!(text.contains("'note'") && text.contains("U+0000"), "{text}");

    // Nothing was stored, and the webhook still delivers the next good event.
    let good = signal_xml("deal.created", 7, &data_xml("amount", "double", "12.5"));
    server
        .call(NS88, SOAP11, &ticket, "SignalEvent", &good)
        .await
        .ok();
    let got = receiver.wait_for_requests(1, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1, "{}", receiver.summary());
    assert_eq!(
        got[0].json()["FieldValues"]["amount"],
        serde_json::json!(12.5)
    );
    // Nothing else was queued: once this delivery is recorded, the queue is empty.
    let mut queue = server.queue().await;
    for _ in 0..50 {
        if queue.0 == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        queue = server.queue().await;
    }
    assert_eq!((queue.0, queue.1), (0, 1), "pending, delivered");
    assert_eq!(receiver.len(), 1, "{}", receiver.summary());
}

/// Events signalled while no dispatcher runs, so their deliveries wait: a server with
/// `--no-dispatcher`, a receiver subscribed to `event`, and one event per `(primary key, Data)`.
/// Damage rows with [`execute_sql`], then start a delivering node on the same database.
async fn queued_events(event: &str, data: &[(i32, String)]) -> (TestServer, Receiver) {
    let mut args = LOOPBACK.to_vec();
    args.push("--no-dispatcher");
    let api_only = TestServer::start(&args);
    let receiver = Receiver::start().await;
    let ticket = api_only.ticket().await;
    api_only
        .call(
            NS88,
            SOAP11,
            &ticket,
            "SaveWebhook",
            &webhook_xml(0, "sink", &[event], &receiver.url("/s"), ""),
        )
        .await
        .ok();
    for (pk, pairs) in data {
        api_only
            .call(
                NS88,
                SOAP11,
                &ticket,
                "SignalEvent",
                &signal_xml(event, *pk, pairs),
            )
            .await
            .ok();
    }
    (api_only, receiver)
}

#[tokio::test]
async fn an_unreadable_event_row_is_set_aside_and_the_rest_are_delivered() {
    let data: Vec<(i32, String)> = (1..=5)
        .map(|pk| (pk, data_xml("n", "int", &pk.to_string())))
        .collect();
    let (mut api_only, receiver) = queued_events("contact.changed", &data).await;
    execute_sql(
        &api_only.database_url(),
        "UPDATE events SET data = 'not json' WHERE primary_key = 3",
    )
    .await;
    api_only.kill();

    let server = api_only.node(&LOOPBACK);
    let got = receiver.wait_for_requests(4, Duration::from_secs(15)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut keys: Vec<i64> = receiver
        .requests()
        .iter()
        .map(|r| r.json()["PrimaryKey"].as_i64().unwrap())
        .collect();
    keys.sort();
    assert_eq!(keys, vec![1, 2, 4, 5], "{}", receiver.summary());
    assert_eq!(got.len(), 4);

    let (ok, out, err) = cli(&["dead-letters", "list", "--database", &server.database_url()]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().skip(1).collect();
    assert_eq!(lines.len(), 1, "{out}");
    assert!(lines[0].contains("stored data is corrupt"), "{out}");
    let (_, _, dead) = server.queue().await;
    assert_eq!(dead, 1);

    // And the server keeps delivering new events.
    let body = signal_xml("contact.changed", 6, &data_xml("n", "int", "6"));
    server
        .call(NS88, SOAP11, &server.ticket().await, "SignalEvent", &body)
        .await
        .ok();
    receiver.wait_for_requests(5, Duration::from_secs(10)).await;
    assert_eq!(receiver.len(), 5, "{}", receiver.summary());
}

#[tokio::test]
async fn an_unreadable_webhook_row_is_an_error_of_its_own() {
    let server = TestServer::start(&LOOPBACK);
    let receiver = Receiver::start().await;
    let ticket = server.ticket().await;
    let mut ids = Vec::new();
    for name in ["good", "damaged"] {
        let saved = server
            .call(
                NS88,
                SOAP11,
                &ticket,
                "SaveWebhook",
                &webhook_xml(0, name, &["person.created"], &receiver.url("/p"), ""),
            )
            .await
            .ok();
        ids.push(saved.text("WebhookId").unwrap());
    }
    execute_sql(
        &server.database_url(),
        &format!(
            "UPDATE webhooks SET properties = '{{broken' WHERE id = {}",
            ids[1]
        ),
    )
    .await;

    // The listing shows the readable webhook.
    let all = server
        .call(NS88, SOAP11, &ticket, "GetAllWebhooks", "")
        .await
        .ok();
    assert_eq!(all.texts("WebhookId"), vec![ids[0].clone()]);
    // Reading the damaged one names the problem; it is not a storage failure of the server.
    let (kind, msg) = server
        .call_on_webhook(NS88, SOAP11, &ticket, "GetWebhook", &ids[1])
        .await
        .exception();
    assert_eq!(kind, "SoServerException");
    assert!(
        msg.contains(&format!("Webhook {} cannot be read", ids[1])) && msg.contains("properties"),
        "{msg}"
    );
    // Events still reach the good webhook; the damaged one's delivery is set aside.
    let body = signal_xml("person.created", 1, "");
    server
        .call(NS88, SOAP11, &ticket, "SignalEvent", &body)
        .await
        .ok();
    receiver.wait_for_requests(1, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.len(), 1, "{}", receiver.summary());
    // And it can be deleted, which clears it.
    server
        .call_on_webhook(NS88, SOAP11, &ticket, "DeleteWebhook", &ids[1])
        .await
        .ok();
    let all = server
        .call(NS88, SOAP11, &ticket, "GetAllWebhooks", "")
        .await
        .ok();
    assert_eq!(all.texts("WebhookId"), vec![ids[0].clone()]);
}

#[tokio::test]
async fn a_stored_non_finite_number_from_an_older_version_still_delivers() {
    // Versions before this one stored NaN/INF as {"t":"double","v":null}, which then failed
    // every claim. Such a row now decodes and delivers the null receivers always got.
    let data: Vec<(i32, String)> = (1..=2)
        .map(|pk| (pk, data_xml("amount", "double", "1.5")))
        .collect();
    let (mut api_only, receiver) = queued_events("sale.created", &data).await;
    execute_sql(
        &api_only.database_url(),
        r#"UPDATE events SET data = '[["amount",{"t":"double","v":null}]]' WHERE primary_key = 1"#,
    )
    .await;
    api_only.kill();
    let _server = api_only.node(&LOOPBACK);
    receiver.wait_for_requests(2, Duration::from_secs(15)).await;
    let mut amounts: Vec<(i64, serde_json::Value)> = receiver
        .requests()
        .iter()
        .map(|r| {
            let j = r.json();
            (
                j["PrimaryKey"].as_i64().unwrap(),
                j["FieldValues"]["amount"].clone(),
            )
        })
        .collect();
    amounts.sort_by_key(|(pk, _)| *pk);
    assert_eq!(
        amounts,
        vec![(1, serde_json::Value::Null), (2, serde_json::json!(1.5))]
    );
}
