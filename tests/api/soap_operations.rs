//! Every Webhook.svc operation, on both service versions and both SOAP versions, through the
//! real server; and the two seed envelopes the project was created from, byte for byte.

use crate::support::*;

const ALL: [(&str, &str); 4] = [
    (NS87, SOAP11),
    (NS87, SOAP12),
    (NS88, SOAP11),
    (NS88, SOAP12),
];

#[tokio::test]
async fn every_operation_works_on_both_service_and_soap_versions() {
    let server = TestServer::start(&["--no-save-ping", "--allow-http-targets"]);
    for (ns, soap) in ALL {
        let ticket = server.ticket().await;
        let ctx = format!(
            "{} {}",
            version_segment(ns),
            if soap == SOAP11 { "1.1" } else { "1.2" }
        );

        // The reply speaks the request's SOAP version.
        let default = server
            .call(ns, soap, &ticket, "CreateDefaultWebhook", "")
            .await
            .ok();
        let expected_ct = if soap == SOAP11 {
            "text/xml"
        } else {
            "application/soap+xml"
        };
        assert!(
            default.content_type.starts_with(expected_ct),
            "{ctx}: {}",
            default.content_type
        );
        assert!(default.body.contains(soap), "{ctx}: reply envelope version");
        assert_eq!(default.text("WebhookId").as_deref(), Some("0"), "{ctx}");
        assert_eq!(default.text("Type").as_deref(), Some("webhook"), "{ctx}");
        assert_eq!(default.text("State").as_deref(), Some("Active"), "{ctx}");
        assert_eq!(
            default.texts("string"),
            vec!["contact.created", "contact.deleted"],
            "{ctx}"
        );
        assert_eq!(
            default.text("Registered").as_deref(),
            Some("0001-01-01T00:00:00")
        );

        let name = format!("hook {ctx}");
        let extra = "<tns:Secret>s3cret</tns:Secret><tns:State>Active</tns:State>\
            <tns:Headers><tns:StringKeyValuePair><tns:Key>X-Api-Key</tns:Key><tns:Value>k1</tns:Value></tns:StringKeyValuePair></tns:Headers>\
            <tns:Properties><tns:StringObjectKeyValuePair><tns:Key>tenant</tns:Key><tns:Value xsi:type=\"xsd:int\">42</tns:Value></tns:StringObjectKeyValuePair>\
            <tns:StringObjectKeyValuePair><tns:Key>live</tns:Key><tns:Value xsi:type=\"xsd:boolean\">true</tns:Value></tns:StringObjectKeyValuePair></tns:Properties>";
        let saved = server
            .call(
                ns,
                soap,
                &ticket,
                "SaveWebhook",
                &webhook_xml(
                    0,
                    &name,
                    &["contact.created", "sale.changed"],
                    "https://example.com/hook",
                    extra,
                ),
            )
            .await
            .ok();
        let id: i32 = saved.text("WebhookId").unwrap().parse().unwrap();
        assert!(id > 0, "{ctx}: new id");
        assert_eq!(saved.text("Name").as_deref(), Some(name.as_str()));
        assert_eq!(saved.text("Secret").as_deref(), Some("s3cret"));
        assert_eq!(
            saved.text("UserName").as_deref(),
            Some("admin"),
            "{ctx}: RegisteredAssociate"
        );
        assert_ne!(
            saved.text("Registered").as_deref(),
            Some("0001-01-01T00:00:00")
        );
        // Services88 carries the 12.0 fields; Services87 stops at UpdatedAssociate.
        assert_eq!(saved.has("TotalCalls"), ns == NS88, "{ctx}: 12.0 fields");
        assert_eq!(saved.has("ErrorsEmail"), ns == NS88, "{ctx}: ErrorsEmail");
        assert_eq!(
            saved.has("ExtraFields"),
            ns == NS88,
            "{ctx}: Associate ExtraFields"
        );

        let got = server
            .call(
                ns,
                soap,
                &ticket,
                "GetWebhook",
                &format!("<tns:WebhookId>{id}</tns:WebhookId>"),
            )
            .await
            .ok();
        assert_eq!(
            got.response_fields(),
            saved.response_fields(),
            "{ctx}: Get round-trips Save"
        );
        let props = got.response_fields();
        assert!(
            props.contains(&(
                "Properties/StringObjectKeyValuePair/Value xsd:int".into(),
                "42".into()
            )),
            "{props:?}"
        );
        assert!(props.contains(&(
            "Properties/StringObjectKeyValuePair/Value xsd:boolean".into(),
            "true".into()
        )));

        let missing = server
            .call(
                ns,
                soap,
                &ticket,
                "GetWebhook",
                "<tns:WebhookId>999999</tns:WebhookId>",
            )
            .await
            .ok();
        assert!(
            missing.response_is_nil(),
            "{ctx}: unknown id is a nil Response"
        );

        let by_name = server
            .call(
                ns,
                soap,
                &ticket,
                "GetAllWebhooks",
                &format!("<tns:NameFilter>{}</tns:NameFilter>", name.to_uppercase()),
            )
            .await
            .ok();
        assert_eq!(
            by_name.texts("WebhookId"),
            vec![id.to_string()],
            "{ctx}: NameFilter"
        );
        let by_event = server.call(ns, soap, &ticket, "GetAllWebhooks",
            "<tns:EventFilter>Sale.Changed</tns:EventFilter><tns:StatusFilter>Active</tns:StatusFilter>").await.ok();
        assert!(
            by_event.texts("WebhookId").contains(&id.to_string()),
            "{ctx}: EventFilter"
        );
        let stopped = server
            .call(
                ns,
                soap,
                &ticket,
                "GetAllWebhooks",
                "<tns:StatusFilter>Stopped</tns:StatusFilter>",
            )
            .await
            .ok();
        assert!(
            !stopped.texts("WebhookId").contains(&id.to_string()),
            "{ctx}: StatusFilter"
        );

        let renamed = format!("{name} v2");
        let updated = server
            .call(
                ns,
                soap,
                &ticket,
                "SaveWebhook",
                &webhook_xml(
                    id,
                    &renamed,
                    &["contact.created"],
                    "https://example.com/hook2",
                    "<tns:State>Stopped</tns:State>",
                ),
            )
            .await
            .ok();
        assert_eq!(updated.text("WebhookId"), Some(id.to_string()));
        assert_eq!(updated.text("State").as_deref(), Some("Stopped"));
        assert_eq!(
            updated.text("TargetUrl").as_deref(),
            Some("https://example.com/hook2")
        );
        assert_eq!(
            updated.text("Registered"),
            saved.text("Registered"),
            "{ctx}: Registered kept"
        );
        let stopped = server
            .call(
                ns,
                soap,
                &ticket,
                "GetAllWebhooks",
                "<tns:StatusFilter>Stopped</tns:StatusFilter>",
            )
            .await
            .ok();
        assert!(
            stopped.texts("WebhookId").contains(&id.to_string()),
            "{ctx}: now Stopped"
        );

        let tested = server
            .call(
                ns,
                soap,
                &ticket,
                "TestWebhook",
                &webhook_xml(0, "t", &["contact.created"], "https://example.com/t", ""),
            )
            .await
            .ok();
        assert!(
            tested.has("Success") && tested.has("Message"),
            "{ctx}: WebhookResult"
        );

        server.call(ns, soap, &ticket, "SignalEvent",
            "<tns:EventName>contact.created</tns:EventName><tns:PrimaryKey>5</tns:PrimaryKey>\
             <tns:Data><tns:StringObjectKeyValuePair><tns:Key>name</tns:Key><tns:Value xsi:type=\"xsd:string\">Acme</tns:Value></tns:StringObjectKeyValuePair></tns:Data>").await.ok();

        let last = server
            .call(
                ns,
                soap,
                &ticket,
                "GetLastError",
                &format!("<tns:WebhookId>{id}</tns:WebhookId>"),
            )
            .await
            .ok();
        assert_eq!(
            last.text("Response").as_deref(),
            Some(""),
            "{ctx}: no error yet"
        );

        server
            .call(
                ns,
                soap,
                &ticket,
                "DeleteWebhook",
                &format!("<tns:WebhookId>{id}</tns:WebhookId>"),
            )
            .await
            .ok();
        let gone = server
            .call(
                ns,
                soap,
                &ticket,
                "GetWebhook",
                &format!("<tns:WebhookId>{id}</tns:WebhookId>"),
            )
            .await
            .ok();
        assert!(gone.response_is_nil(), "{ctx}: deleted");
        let (ty, msg) = server
            .call(
                ns,
                soap,
                &ticket,
                "DeleteWebhook",
                &format!("<tns:WebhookId>{id}</tns:WebhookId>"),
            )
            .await
            .exception();
        assert_eq!(ty, "NotFoundException", "{ctx}");
        assert!(msg.contains(&id.to_string()), "{msg}");
        let (ty, _) = server
            .call(
                ns,
                soap,
                &ticket,
                "GetLastError",
                &format!("<tns:WebhookId>{id}</tns:WebhookId>"),
            )
            .await
            .exception();
        assert_eq!(ty, "NotFoundException", "{ctx}");
    }
}

/// The seed documents' request envelope, with only the ticket replaced.
fn seed_request(file: &str, ticket: &str) -> String {
    let text =
        std::fs::read_to_string(format!("{}/tests/seeds/{file}", env!("CARGO_MANIFEST_DIR")))
            .expect("seed file");
    let start = text.find("```xml\n").expect("xml block") + "```xml\n".len();
    let end = start + text[start..].find("```").expect("block end");
    text[start..end].replace("7T:1234abcxyzExample==", ticket)
}

#[tokio::test]
async fn the_seed_envelopes_work_byte_for_byte() {
    // A fresh server, no `app add`: the seeds' ApplicationToken 1234567-1234-9876 is not
    // registered, and on-site installations do not check tokens.
    let server = TestServer::start(&["--no-save-ping", "--allow-http-targets"]);
    let ticket = server.ticket().await;

    let signal = seed_request("000_fa9c55afc75144d2.txt", &ticket);
    for soap_ct in [
        "text/xml; charset=UTF-8",
        "application/soap+xml; charset=utf-8",
    ] {
        let reply = Reply::from(
            server
                .http
                .post(server.url("/Remote/Services87/Webhook.svc"))
                .header("Content-Type", soap_ct)
                .header("SOAPAction", format!("\"{NS87}/Webhook/SignalEvent\""))
                .body(signal.clone())
                .send()
                .await
                .unwrap(),
        )
        .await
        .ok();
        assert!(reply.has("SignalEventResponse"), "{}", reply.body);
        assert!(
            reply.body.contains(SOAP12),
            "replies in the seed's SOAP 1.2"
        );
    }

    let save = seed_request("004_6fc6708f5b7acf7c.txt", &ticket);
    let post = |body: String| {
        server
            .http
            .post(server.url("/Remote/Services88/Webhook.svc"))
            .header("Content-Type", "text/xml; charset=UTF-8")
            .header("SOAPAction", format!("\"{NS88}/Webhook/SaveWebhook\""))
            .body(body)
            .send()
    };
    let (ty, msg) = Reply::from(post(save.clone()).await.unwrap())
        .await
        .exception();
    assert_eq!(ty, "ArgumentException");
    assert!(msg.contains("Name"), "{msg}");

    let filled = save
        .replacen("<Webhook:Name xsi:type=\"xsd:string\"></Webhook:Name>", "<Webhook:Name xsi:type=\"xsd:string\">Seed hook</Webhook:Name>", 1)
        .replace("<NetServerServices882:string xsi:type=\"xsd:string\"></NetServerServices882:string>",
                 "<NetServerServices882:string xsi:type=\"xsd:string\">contact.created</NetServerServices882:string>")
        .replace("<Webhook:TargetUrl xsi:type=\"xsd:string\"></Webhook:TargetUrl>",
                 "<Webhook:TargetUrl xsi:type=\"xsd:string\">https://example.com/seed</Webhook:TargetUrl>");
    let saved = Reply::from(post(filled).await.unwrap()).await.ok();
    let id = saved.text("WebhookId").unwrap();
    assert_ne!(id, "0");
    assert_eq!(
        saved.text("State").as_deref(),
        Some("Active"),
        "Unknown is Active on create"
    );
    let got = server
        .call_with_token(
            NS88,
            SOAP12,
            &ticket,
            Some("1234567-1234-9876"),
            "GetWebhook",
            &format!("<tns:WebhookId>{id}</tns:WebhookId>"),
        )
        .await
        .ok();
    assert_eq!(got.response_fields(), saved.response_fields());

    // A token-less call sees it, and the seed's SignalEvent for that event now queues a delivery.
    let before = server.queue().await.0;
    let signal = signal.replace(
        "<Webhook:EventName xsi:type=\"xsd:string\"></Webhook:EventName>",
        "<Webhook:EventName xsi:type=\"xsd:string\">contact.created</Webhook:EventName>",
    );
    Reply::from(
        server
            .http
            .post(server.url("/Remote/Services87/Webhook.svc"))
            .header("Content-Type", "text/xml")
            .body(signal)
            .send()
            .await
            .unwrap(),
    )
    .await
    .ok();
    assert_eq!(server.queue().await.0, before + 1);
}

#[tokio::test]
async fn webhooks_and_pending_deliveries_survive_a_restart() {
    let server = TestServer::start(&["--no-save-ping", "--allow-http-targets"]);
    let ticket = server.ticket().await;
    let saved = server
        .call(
            NS88,
            SOAP11,
            &ticket,
            "SaveWebhook",
            &webhook_xml(0, "durable", &["contact.*"], "http://127.0.0.1:9/hook", ""),
        )
        .await
        .ok();
    let id = saved.text("WebhookId").unwrap();
    for pk in 1..=3 {
        server.call(NS88, SOAP11, &ticket, "SignalEvent",
            &format!("<tns:EventName>contact.changed</tns:EventName><tns:PrimaryKey>{pk}</tns:PrimaryKey>")).await.ok();
    }
    // An event nobody subscribes to is accepted and queues nothing.
    server
        .call(
            NS88,
            SOAP11,
            &ticket,
            "SignalEvent",
            "<tns:EventName>sale.created</tns:EventName>",
        )
        .await
        .ok();
    assert_eq!(server.queue().await, (3, 0, 0));

    let server = server.restart();
    // The ticket is stored too, so it still works after the restart.
    let got = server
        .call(
            NS88,
            SOAP11,
            &ticket,
            "GetWebhook",
            &format!("<tns:WebhookId>{id}</tns:WebhookId>"),
        )
        .await
        .ok();
    // The definition is unchanged; the usage counters move, since the dispatcher keeps
    // trying the (refused) loopback target.
    let definition = |r: &Reply| -> Vec<(String, String)> {
        r.response_fields()
            .into_iter()
            .filter(|(path, _)| {
                ![
                    "TotalCalls",
                    "TotalErrors",
                    "ConsecutiveErrors",
                    "LastError",
                ]
                .iter()
                .any(|usage| path.starts_with(usage))
            })
            .collect()
    };
    assert_eq!(definition(&got), definition(&saved));
    assert_eq!(server.queue().await, (3, 0, 0));

    // A stopped webhook gets no new deliveries.
    server
        .call(
            NS88,
            SOAP11,
            &ticket,
            "SaveWebhook",
            &webhook_xml(
                id.parse().unwrap(),
                "durable",
                &["contact.*"],
                "http://127.0.0.1:9/hook",
                "<tns:State>Stopped</tns:State>",
            ),
        )
        .await
        .ok();
    server
        .call(
            NS88,
            SOAP11,
            &ticket,
            "SignalEvent",
            "<tns:EventName>contact.changed</tns:EventName>",
        )
        .await
        .ok();
    assert_eq!(server.queue().await, (3, 0, 0));
}
