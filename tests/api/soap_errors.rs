//! Bad input and refused callers: each gets its precise error, and nothing changes.

use crate::support::*;

/// Number of webhooks and pending deliveries: what a refused request must leave unchanged.
async fn state(server: &TestServer, ticket: &str) -> (usize, i64) {
    let all = server
        .call(NS88, SOAP11, ticket, "GetAllWebhooks", "")
        .await
        .ok();
    (all.texts("WebhookId").len(), server.queue().await.0)
}

async fn seed_webhook(server: &TestServer, ticket: &str) {
    server
        .call(
            NS88,
            SOAP11,
            ticket,
            "SaveWebhook",
            &webhook_xml(
                0,
                "existing",
                &["contact.created"],
                "https://example.com/h",
                "",
            ),
        )
        .await
        .ok();
    server
        .call(
            NS88,
            SOAP11,
            ticket,
            "SignalEvent",
            "<tns:EventName>contact.created</tns:EventName>",
        )
        .await
        .ok();
}

#[tokio::test]
async fn login_and_ticket_errors_are_precise() {
    let server = TestServer::start(&["--no-save-ping", "--ticket-ttl-secs", "1"]);
    for (user, password) in [("admin", "wrong"), ("nobody", "whatever")] {
        let reply = server.login_as(NS88, user, password).await;
        let (ty, msg) = reply.exception();
        assert_eq!(ty, "SoSecurityException");
        assert!(msg.contains("user name or password is wrong"), "{msg}");
        assert_eq!(
            reply.text("AuthenticationSucceeded").as_deref(),
            Some("false")
        );
        assert!(reply.text("Ticket").is_none(), "no ticket on failure");
    }

    let ticket = server.ticket().await;
    seed_webhook(&server, &ticket).await;
    let before = state(&server, &ticket).await;
    let save = webhook_xml(
        0,
        "sneaky",
        &["contact.created"],
        "https://example.com/x",
        "",
    );

    let (ty, msg) = server
        .call(NS88, SOAP11, "", "SaveWebhook", &save)
        .await
        .exception();
    assert_eq!(ty, "SoSessionException");
    assert!(msg.contains("No ticket"), "{msg}");
    let (ty, msg) = server
        .call(NS88, SOAP12, "7T:madeup", "SaveWebhook", &save)
        .await
        .exception();
    assert_eq!(ty, "SoSessionException");
    assert!(msg.contains("not valid"), "{msg}");
    let (ty, _) = server
        .call(
            NS87,
            SOAP11,
            "7T:madeup",
            "SignalEvent",
            "<tns:EventName>contact.created</tns:EventName>",
        )
        .await
        .exception();
    assert_eq!(ty, "SoSessionException");

    // Tickets expire after their time-to-live without use.
    tokio::time::sleep(std::time::Duration::from_millis(2200)).await;
    let (ty, msg) = server
        .call(NS88, SOAP11, &ticket, "SaveWebhook", &save)
        .await
        .exception();
    assert_eq!(ty, "SoSessionException");
    assert!(msg.contains("expired"), "{msg}");

    let fresh = server.ticket().await;
    assert_eq!(
        state(&server, &fresh).await,
        before,
        "refused calls changed nothing"
    );
}

#[tokio::test]
async fn application_tokens_own_their_webhooks() {
    let server = TestServer::start(&["--no-save-ping"]);
    let db = server.database_url();
    let (_, token_a, _) = cli(&["app", "add", "app-a", "--database", &db]);
    let (_, token_b, _) = cli(&["app", "add", "app-b", "--database", &db]);
    let (token_a, token_b) = (token_a.trim().to_string(), token_b.trim().to_string());
    assert_ne!(token_a, token_b);
    let ticket = server.ticket().await;

    let saved = server
        .call_with_token(
            NS88,
            SOAP11,
            &ticket,
            Some(&token_a),
            "SaveWebhook",
            &webhook_xml(
                0,
                "owned by a",
                &["contact.created"],
                "https://example.com/a",
                "",
            ),
        )
        .await
        .ok();
    let id = saved.text("WebhookId").unwrap();
    let id_xml = format!("<tns:WebhookId>{id}</tns:WebhookId>");

    let (ty, msg) = server
        .call_with_token(NS88, SOAP11, &ticket, Some(&token_b), "GetWebhook", &id_xml)
        .await
        .exception();
    assert_eq!(ty, "SoSecurityException");
    assert!(msg.contains("another application"), "{msg}");
    let (ty, _) = server
        .call_with_token(
            NS88,
            SOAP11,
            &ticket,
            Some(&token_b),
            "SaveWebhook",
            &webhook_xml(
                id.parse().unwrap(),
                "hijacked",
                &["contact.created"],
                "https://evil.example/",
                "",
            ),
        )
        .await
        .exception();
    assert_eq!(ty, "SoSecurityException");
    let (ty, _) = server
        .call_with_token(
            NS88,
            SOAP11,
            &ticket,
            Some(&token_b),
            "DeleteWebhook",
            &id_xml,
        )
        .await
        .exception();
    assert_eq!(ty, "SoSecurityException");
    let (ty, _) = server
        .call_with_token(
            NS88,
            SOAP11,
            &ticket,
            Some(&token_b),
            "GetLastError",
            &id_xml,
        )
        .await
        .exception();
    assert_eq!(ty, "SoSecurityException");
    let listed = server
        .call_with_token(NS88, SOAP11, &ticket, Some(&token_b), "GetAllWebhooks", "")
        .await
        .ok();
    assert!(
        listed.texts("WebhookId").is_empty(),
        "app b sees none of app a's webhooks"
    );
    let listed = server
        .call_with_token(NS88, SOAP11, &ticket, Some(&token_a), "GetAllWebhooks", "")
        .await
        .ok();
    assert_eq!(listed.texts("WebhookId"), vec![id.clone()]);

    // On-site, an unregistered token is no token: the caller sees every webhook.
    let seen = server
        .call_with_token(
            NS88,
            SOAP11,
            &ticket,
            Some("no-such-token"),
            "GetWebhook",
            &id_xml,
        )
        .await
        .ok();
    assert_eq!(seen.response_fields(), saved.response_fields());

    // Unchanged, as an on-site (token-less) caller sees it.
    let got = server
        .call(NS88, SOAP11, &ticket, "GetWebhook", &id_xml)
        .await
        .ok();
    assert_eq!(got.response_fields(), saved.response_fields());
}

#[tokio::test]
async fn online_mode_requires_an_application_token() {
    let server = TestServer::start(&["--no-save-ping", "--online"]);
    let (_, token, _) = cli(&["app", "add", "app", "--database", &server.database_url()]);
    let ticket = server.ticket().await;
    let (ty, msg) = server
        .call(NS88, SOAP11, &ticket, "GetAllWebhooks", "")
        .await
        .exception();
    assert_eq!(ty, "SoSecurityException");
    assert!(msg.contains("application token is required"), "{msg}");
    let (ty, msg) = server
        .call_with_token(
            NS88,
            SOAP11,
            &ticket,
            Some("no-such-token"),
            "GetAllWebhooks",
            "",
        )
        .await
        .exception();
    assert_eq!(ty, "SoSecurityException");
    assert!(msg.contains("not registered"), "{msg}");
    server
        .call_with_token(
            NS88,
            SOAP11,
            &ticket,
            Some(token.trim()),
            "GetAllWebhooks",
            "",
        )
        .await
        .ok();
}

#[tokio::test]
async fn malformed_and_hostile_xml_get_faults_and_change_nothing() {
    let server = TestServer::start(&["--no-save-ping", "--max-body-bytes", "4096"]);
    let ticket = server.ticket().await;
    seed_webhook(&server, &ticket).await;
    let before = state(&server, &ticket).await;
    let path = "/Remote/Services88/Webhook.svc";
    let action = format!("{NS88}/Webhook/SaveWebhook");
    let save = webhook_xml(0, "bad", &["contact.created"], "https://example.com/b", "");
    let good = |soap| {
        envelope(
            soap,
            NS88,
            &format!("<tns:Credentials><tns:Ticket>{ticket}</tns:Ticket></tns:Credentials>"),
            &format!("<tns:SaveWebhook>{save}</tns:SaveWebhook>"),
        )
    };

    // (SOAP version, body, expected HTTP status, expected code, words the message must contain)
    let billion_laughs = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>&lol2;</s:Body></s:Envelope>"#;
    let xxe = r#"<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><x>&xxe;</x></s:Body></s:Envelope>"#;
    let cases: Vec<(&str, String, u16, &str, &str)> = vec![
        (
            SOAP12,
            good(SOAP12).replace("</s:Body>", ""),
            400,
            "s:Sender",
            "malformed XML",
        ),
        (
            SOAP11,
            good(SOAP11).replace("</s:Body>", ""),
            500,
            "s:Client",
            "malformed XML",
        ),
        (SOAP12, String::new(), 400, "s:Sender", "malformed XML"),
        (SOAP12, billion_laughs.to_string(), 400, "s:Sender", "DTD"),
        (SOAP11, xxe.to_string(), 500, "s:Client", "DTD"),
        (
            SOAP12,
            good(SOAP12).replace(SOAP12, "http://example.com/not-soap"),
            400,
            "s:VersionMismatch",
            "not a SOAP Envelope",
        ),
        (
            SOAP11,
            good(SOAP11).replace("tns:SaveWebhook>", "tns:Frobnicate>"),
            500,
            "s:Client",
            "unknown operation {http://www.superoffice.net/ws/crm/NetServer/Services88}Frobnicate",
        ),
        (
            SOAP12,
            good(SOAP12).replace(
                &format!("xmlns:tns=\"{NS88}\""),
                &format!("xmlns:tns=\"{NS87}\""),
            ),
            400,
            "s:Sender",
            "must be in namespace",
        ),
        (
            SOAP12,
            envelope(
                SOAP12,
                NS88,
                "",
                "<tns:SaveWebhook><tns:Webhook><tns:WebhookId>abc</tns:WebhookId></tns:Webhook></tns:SaveWebhook>",
            ),
            400,
            "s:Sender",
            "WebhookId: 'abc' is not a valid xsd:int",
        ),
        (
            SOAP12,
            envelope(
                SOAP12,
                NS88,
                "",
                "<tns:SignalEvent><tns:Data><tns:StringObjectKeyValuePair><tns:Key>n</tns:Key><tns:Value xsi:type=\"xsd:int\">many</tns:Value></tns:StringObjectKeyValuePair></tns:Data></tns:SignalEvent>",
            ),
            400,
            "s:Sender",
            "Value of 'n'",
        ),
        (
            SOAP12,
            envelope(SOAP12, NS88, "", ""),
            400,
            "s:Sender",
            "Body is empty",
        ),
        (
            SOAP11,
            good(SOAP11).replace(
                "</tns:SaveWebhook>",
                &format!("{}</tns:SaveWebhook>", " ".repeat(5000)),
            ),
            413,
            "s:Client",
            "larger than 4096 bytes",
        ),
    ];
    for (soap, body, status, code, words) in cases {
        let reply = server.post_soap(path, soap, &action, body).await;
        assert_eq!(reply.status, status, "{words}: {}", reply.body);
        let (got_code, text) = reply.fault();
        assert_eq!(got_code, code, "{words}: {}", reply.body);
        assert!(text.contains(words), "{text:?} should contain {words:?}");
        let ct = if soap == SOAP11 {
            "text/xml"
        } else {
            "application/soap+xml"
        };
        assert!(
            reply.content_type.starts_with(ct),
            "{words}: {}",
            reply.content_type
        );
    }

    // A chunked body with no Content-Length is cut off at the limit too.
    let chunk = "x".repeat(1000);
    let mut raw = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    for _ in 0..10 {
        raw.push_str(&format!("{:x}\r\n{chunk}\r\n", chunk.len()));
    }
    raw.push_str("0\r\n\r\n");
    let answer = server.raw_http(raw.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("larger than 4096 bytes"), "{answer}");

    let reply = Reply::from(
        server
            .http
            .post(server.url(path))
            .header("Content-Type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, 415);
    assert!(
        reply
            .fault()
            .1
            .contains("Content-Type 'application/json' is not SOAP")
    );

    let reply = Reply::from(
        server
            .http
            .post(server.url(path))
            .header("Content-Type", "text/xml")
            .body(vec![0xff, 0xfe, 0x3c])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(reply.fault().1, "the request body is not valid UTF-8");

    assert_eq!(
        state(&server, &ticket).await,
        before,
        "bad input changed nothing"
    );
}

#[tokio::test]
async fn invalid_webhooks_and_events_name_their_field() {
    let server = TestServer::start(&["--no-save-ping"]);
    let ticket = server.ticket().await;
    seed_webhook(&server, &ticket).await;
    let before = state(&server, &ticket).await;
    let cases = [
        (
            webhook_xml(0, "", &["contact.created"], "https://example.com", ""),
            "Name is required",
        ),
        (
            webhook_xml(0, "n", &[], "https://example.com", ""),
            "Events must name at least one event",
        ),
        (
            webhook_xml(0, "n", &["contactcreated"], "https://example.com", ""),
            "Events: event name 'contactcreated'",
        ),
        (
            webhook_xml(0, "n", &["contact.created"], "", ""),
            "TargetUrl is required",
        ),
        (
            webhook_xml(0, "n", &["contact.created"], "not a url", ""),
            "TargetUrl 'not a url' is not an absolute URL",
        ),
        (
            webhook_xml(0, "n", &["contact.created"], "http://example.com/h", ""),
            "must use https",
        ),
        (
            webhook_xml(
                0,
                "n",
                &["contact.created"],
                "https://example.com",
                "<tns:Type>crmscript</tns:Type>",
            ),
            "hookwire runs no CRMScript",
        ),
        (
            webhook_xml(
                0,
                "n",
                &["contact.created"],
                "https://example.com",
                "<tns:Headers><tns:StringKeyValuePair><tns:Key>Bad Header</tns:Key><tns:Value>v</tns:Value></tns:StringKeyValuePair></tns:Headers>",
            ),
            "'Bad Header' is not a valid HTTP header name",
        ),
        (
            webhook_xml(424242, "n", &["contact.created"], "https://example.com", ""),
            "Webhook 424242 does not exist",
        ),
    ];
    for (webhook, words) in cases {
        let reply = server
            .call(NS88, SOAP12, &ticket, "SaveWebhook", &webhook)
            .await;
        let (ty, msg) = reply.exception();
        assert!(
            ty == "ArgumentException" || ty == "NotFoundException",
            "{ty}"
        );
        assert!(msg.contains(words), "{msg:?} should contain {words:?}");
        assert!(!reply.has("Response"), "no carrier on failure");
    }
    let (ty, msg) = server
        .call(
            NS88,
            SOAP12,
            &ticket,
            "SignalEvent",
            "<tns:EventName>contact created</tns:EventName>",
        )
        .await
        .exception();
    assert_eq!(ty, "ArgumentException");
    assert!(msg.contains("EventName 'contact created'"), "{msg}");
    assert_eq!(
        state(&server, &ticket).await,
        before,
        "nothing saved or queued"
    );
}
