//! POST /api/v1/Webhook/Test, SignalEvent reaching a real receiver, and GetLastError.

use super::*;

// ---------------------------------------------------------------------------------------------
// POST /api/v1/Webhook/Test
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn test_pings_the_target_and_answers_a_webhook_result() {
    let receiver = Receiver::start().await;
    let api = Api::start(&LOOPBACK).await;
    let body = hook("tester", &["contact.created"], &receiver.url("/ping"));
    let result = api
        .post("/api/v1/Webhook/Test")
        .json(&body)
        .send()
        .await
        .ok();
    assert_eq!(result["Success"], true, "{result}");
    assert!(result["Message"].is_string(), "{result}");
    let pings = receiver.wait_for_requests(1, Duration::from_secs(10)).await;
    assert_eq!(pings[0].path, "/ping");
    assert_eq!(pings[0].header("x-hook-test"), Some("true"));
    assert_eq!(pings[0].json()["Event"], "test");

    receiver.set_answer(receiver::Answer::status(500).with_body("nope"));
    let result = api
        .post("/api/v1/Webhook/Test")
        .json(&body)
        .send()
        .await
        .ok();
    assert_eq!(result["Success"], false, "{result}");
    let message = result["Message"].as_str().unwrap_or("");
    assert!(
        message.contains("500"),
        "Message names the status: {result}"
    );

    api.post("/api/v1/Webhook/Test")
        .json(&hook("tester", &["contact.created"], ""))
        .send()
        .await
        .error(400, "ArgumentException", "TargetUrl");
    assert_eq!(
        api.list_ids().await,
        Vec::<i64>::new(),
        "Test saves nothing"
    );
}

// ---------------------------------------------------------------------------------------------
// SignalEvent and GetLastError
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn signal_event_by_rest_and_agent_delivers_the_same_payload_as_soap() {
    let receiver = Receiver::start().await;
    let api = Api::start(&LOOPBACK).await;
    let mut body = hook("signals", &["contact.changed"], &receiver.url("/hook"));
    body["Properties"] = json!({"tenant": 42});
    api.create(body).await;

    // REST: body = the data object, keys in this order.
    api.post("/api/v1/Webhook/contact.changed/12")
        .raw(
            "application/json",
            r#"{"name":"Acme","count":3,"vip":true}"#,
        )
        .send()
        .await
        .no_content();
    let by_rest = receiver.wait_for_requests(1, Duration::from_secs(10)).await[0].clone();

    // Agent RPC.
    api.post("/api/v1/Agents/Webhook/SignalEvent")
        .raw(
            "application/json",
            r#"{"EventName":"contact.changed","PrimaryKey":12,"Data":{"name":"Acme","count":3,"vip":true}}"#,
        )
        .send()
        .await
        .no_content();
    let by_agent = receiver.wait_for_requests(2, Duration::from_secs(10)).await[1].clone();

    // SOAP, typed the same way.
    api.soap(
        "SignalEvent",
        "<tns:EventName>contact.changed</tns:EventName><tns:PrimaryKey>12</tns:PrimaryKey>\
         <tns:Data>\
         <tns:StringObjectKeyValuePair><tns:Key>name</tns:Key><tns:Value xsi:type=\"xsd:string\">Acme</tns:Value></tns:StringObjectKeyValuePair>\
         <tns:StringObjectKeyValuePair><tns:Key>count</tns:Key><tns:Value xsi:type=\"xsd:int\">3</tns:Value></tns:StringObjectKeyValuePair>\
         <tns:StringObjectKeyValuePair><tns:Key>vip</tns:Key><tns:Value xsi:type=\"xsd:boolean\">true</tns:Value></tns:StringObjectKeyValuePair>\
         </tns:Data>",
    )
    .await
    .ok();
    let by_soap = receiver.wait_for_requests(3, Duration::from_secs(10)).await[2].clone();

    let payload = by_rest.json();
    assert_eq!(payload["Event"], "contact.changed", "{payload}");
    assert_eq!(payload["PrimaryKey"], 12, "{payload}");
    assert_eq!(payload["Entity"], "contact", "{payload}");
    assert_eq!(
        payload["Changes"],
        json!(["name", "count", "vip"]),
        "{payload}"
    );
    assert_eq!(
        payload["FieldValues"],
        json!({"name": "Acme", "count": 3, "vip": true}),
        "{payload}"
    );
    let field_keys: Vec<&String> = payload["FieldValues"].as_object().unwrap().keys().collect();
    assert_eq!(
        field_keys,
        ["name", "count", "vip"],
        "FieldValues keep order"
    );
    assert_eq!(payload["tenant"], 42, "Properties are merged: {payload}");

    let soap = comparable(&by_soap);
    assert_eq!(
        comparable(&by_rest),
        soap,
        "REST SignalEvent payload vs SOAP"
    );
    assert_eq!(
        comparable(&by_agent),
        soap,
        "Agent SignalEvent payload vs SOAP"
    );
    for request in [&by_rest, &by_agent] {
        for header in ["x-superoffice-event", "content-type", "user-agent"] {
            assert_eq!(
                request.header(header),
                by_soap.header(header),
                "{header} as by SOAP"
            );
        }
    }
    assert_ne!(by_rest.event_id(), by_soap.event_id(), "distinct events");
}

#[tokio::test]
async fn signal_event_rejects_bad_names_keys_and_bodies() {
    let api = Api::start(&NO_PING).await;
    api.post("/api/v1/Webhook/contact%20created/1")
        .json(&json!({}))
        .send()
        .await
        .error(400, "ArgumentException", "EventName");
    let reply = api
        .post("/api/v1/Webhook/contact.created/abc")
        .json(&json!({}))
        .send()
        .await;
    assert!(
        reply.status == 400 || reply.status == 404,
        "{}: expected 400 or 404, got {} {:?}",
        reply.what,
        reply.status,
        reply.body
    );
    reply.error(reply.status, "", "");
    for bad in ["[1,2]", r#"{"name":"#, "\"text\""] {
        api.post("/api/v1/Webhook/contact.created/1")
            .raw("application/json", bad)
            .send()
            .await
            .error(400, "", "");
    }
    // No subscriber is not an error.
    api.post("/api/v1/Webhook/nobody.listens/1")
        .json(&json!({"x": 1}))
        .send()
        .await
        .no_content();
}

#[tokio::test]
async fn last_error_is_a_json_string_by_rest_agent_and_soap() {
    let receiver = Receiver::start().await;
    receiver.set_answer(receiver::Answer::status(500).with_body("boom"));
    let mut args = LOOPBACK.to_vec();
    args.extend(["--retry-delays-ms", "10,10"]);
    let api = Api::start(&args).await;
    let id = id_of(
        &api.create(hook("failing", &["person.changed"], &receiver.url("/f")))
            .await,
    );
    let path = format!("/api/v1/Webhook/{id}/LastError");
    let fresh = api.get(&path).send().await.ok();
    assert_eq!(fresh, json!(""), "no error yet: a JSON string");

    api.post("/api/v1/Webhook/person.changed/7")
        .json(&json!({}))
        .send()
        .await
        .no_content();
    receiver.wait_for_requests(3, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let last = api.get(&path).send().await.ok();
    let text = last
        .as_str()
        .unwrap_or_else(|| panic!("LastError is not a JSON string: {last}"));
    assert!(text.starts_with("HTTP/1.1 500"), "{text}");
    assert!(text.ends_with("boom"), "{text}");
    let via_soap = api
        .soap(
            "GetLastError",
            &format!("<tns:WebhookId>{id}</tns:WebhookId>"),
        )
        .await
        .ok();
    assert_eq!(via_soap.text("Response").as_deref(), Some(text), "as SOAP");
    let via_agent = api
        .post("/api/v1/Agents/Webhook/GetLastError")
        .json(&json!({"WebhookId": id}))
        .send()
        .await
        .ok();
    assert_eq!(via_agent, last, "as the agent route");

    api.get("/api/v1/Webhook/999999/LastError")
        .send()
        .await
        .error(404, "NotFoundException", "999999");
    api.post("/api/v1/Agents/Webhook/GetLastError")
        .json(&json!({"WebhookId": 999999}))
        .send()
        .await
        .error(404, "NotFoundException", "999999");
}
