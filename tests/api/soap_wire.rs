//! Wire details real NetServer clients depend on (docs/SOAP.md): HTTP/1.0 with absolute-form
//! targets, prefixes declared anywhere, default namespaces, no xsi:type, absent elements,
//! case-insensitive paths, and the WSDLs.

use crate::support::*;

#[tokio::test]
async fn http10_absolute_form_and_nusoap_style_envelopes_work() {
    let server = TestServer::start(&["--no-save-ping"]);
    let ticket = server.ticket().await;
    // nusoap style: header prefix declared on <Header>, operation in a default namespace with
    // unprefixed children, no xsi:type anywhere, WebhookId absent (= create).
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\
         <SOAP-ENV:Envelope xmlns:SOAP-ENV=\"{SOAP11}\">\
         <SOAP-ENV:Header xmlns:h1234=\"{NS88}\"><h1234:ApplicationToken></h1234:ApplicationToken>\
         <h1234:Credentials><h1234:Ticket>{ticket}</h1234:Ticket></h1234:Credentials></SOAP-ENV:Header>\
         <SOAP-ENV:Body><SaveWebhook xmlns=\"{NS88}\"><Webhook><Name>nusoap hook</Name>\
         <Events><string xmlns=\"http://schemas.microsoft.com/2003/10/Serialization/Arrays\">person.changed</string></Events>\
         <TargetUrl>https://example.com/nusoap</TargetUrl><Description>caf\u{e9}</Description>\
         <Properties><StringObjectKeyValuePair><Key>flag</Key><Value>true</Value></StringObjectKeyValuePair></Properties>\
         </Webhook></SaveWebhook></SOAP-ENV:Body></SOAP-ENV:Envelope>"
    );
    let addr = server.base.trim_start_matches("http://").to_string();
    let request = format!(
        "POST http://{addr}/REMOTE/services88/webhook.SVC HTTP/1.0\r\nHost: {addr}\r\n\
         Content-Type: text/xml; charset=ISO-8859-1\r\nSOAPAction: \"{NS88}/Webhook/SaveWebhook\"\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.chars().count()
    );
    // nusoap's default encoding: ISO-8859-1 bytes (é = 0xE9), not UTF-8.
    let latin1: Vec<u8> = request
        .chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap())
        .collect();
    let answer = server.raw_http(&latin1).await;
    assert!(
        answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200"),
        "{answer}"
    );
    let xml = &answer[answer.find("<?xml").expect("xml body")..];
    let reply = Reply {
        status: 200,
        content_type: "text/xml".into(),
        body: xml.to_string(),
    }
    .ok();
    assert_eq!(reply.text("Name").as_deref(), Some("nusoap hook"));
    assert_eq!(
        reply.text("Description").as_deref(),
        Some("caf\u{e9}"),
        "Latin-1 decoded"
    );
    assert_ne!(
        reply.text("WebhookId").as_deref(),
        Some("0"),
        "absent WebhookId creates"
    );
    // An untyped anyType value is a string.
    let value = (
        "Properties/StringObjectKeyValuePair/Value xsd:string".to_string(),
        "true".to_string(),
    );
    assert!(reply.response_fields().contains(&value), "{}", reply.body);
}

#[tokio::test]
async fn headers_directly_under_the_envelope_and_any_prefixes_are_read() {
    let server = TestServer::start(&["--no-save-ping"]);
    let ticket = server.ticket().await;
    // WCF-style prefixes: s/i/a, and an xsi:type prefix declared on the element itself (zeep).
    let body = format!(
        "<s:Envelope xmlns:s=\"{SOAP12}\"><a:Credentials xmlns:a=\"{NS87}\"><a:Ticket>{ticket}</a:Ticket></a:Credentials>\
         <s:Body><a:SignalEvent xmlns:a=\"{NS87}\" xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\">\
         <a:EventName>window.closed</a:EventName><a:PrimaryKey i:nil=\"true\"/>\
         <a:Data><a:StringObjectKeyValuePair><a:Key>widgets</a:Key>\
         <a:Value xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" i:type=\"xs:long\">123</a:Value>\
         </a:StringObjectKeyValuePair></a:Data></a:SignalEvent></s:Body></s:Envelope>"
    );
    server
        .post_soap("/remote/SERVICES87/Webhook.svc", SOAP12, "", body)
        .await
        .ok();
}

#[tokio::test]
async fn each_endpoint_serves_its_wsdl() {
    let server = TestServer::start(&["--no-save-ping"]);
    for (segment, ns) in [("Services87", NS87), ("Services88", NS88)] {
        for svc in ["Webhook", "SoPrincipal"] {
            let path = format!("/Remote/{segment}/{svc}.svc");
            let reply = Reply::from(
                server
                    .http
                    .get(server.url(&format!("{path}?wsdl")))
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            assert_eq!(reply.status, 200);
            assert!(reply.content_type.starts_with("text/xml"));
            let doc = reply.doc();
            let root = doc.root_element();
            assert_eq!(root.tag_name().name(), "definitions");
            assert_eq!(root.attribute("targetNamespace"), Some(ns));
            assert!(
                reply.body.contains(&server.url(&path)),
                "soap:address is the URL called"
            );
            assert!(
                reply
                    .body
                    .contains("http://schemas.xmlsoap.org/wsdl/soap12/"),
                "SOAP 1.2 binding"
            );
            if svc == "Webhook" {
                assert_eq!(
                    reply.body.contains("name=\"ErrorsEmail\""),
                    ns == NS88,
                    "{path}"
                );
                assert_eq!(
                    reply.body.contains("name=\"TotalCalls\""),
                    ns == NS88,
                    "{path}"
                );
                for op in [
                    "CreateDefaultWebhook",
                    "SaveWebhook",
                    "DeleteWebhook",
                    "GetWebhook",
                    "GetAllWebhooks",
                    "TestWebhook",
                    "SignalEvent",
                    "GetLastError",
                ] {
                    assert!(
                        reply.body.contains(&format!("{ns}/Webhook/{op}")),
                        "{path}: {op}"
                    );
                }
            } else {
                assert!(reply.body.contains("AuthenticateUsernamePassword"));
            }
        }
    }
    let plain = Reply::from(
        server
            .http
            .get(server.url("/Remote/Services88/Webhook.svc"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(plain.status, 200);
    assert!(plain.body.contains("?wsdl"));
    let put = server
        .http
        .put(server.url("/Remote/Services88/Webhook.svc"))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 405);
    let missing = server
        .http
        .post(server.url("/Remote/Services86/Webhook.svc"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn cli_manages_users_and_applications() {
    let server = TestServer::start(&["--no-save-ping"]);
    let db = server.database_url();
    let (ok, out, _) = cli(&[
        "user",
        "add",
        "bob",
        "--password",
        "bob-pw",
        "--full-name",
        "Bob Builder",
        "--database",
        &db,
    ]);
    assert!(ok && out.contains("created user 'bob'"), "{out}");
    let login = server.login_as(NS87, "bob", "bob-pw").await.ok();
    assert!(login.text("Ticket").unwrap().starts_with("7T:"));
    assert_eq!(login.text("FullName").as_deref(), Some("Bob Builder"));
    let (ok, _, err) = cli(&["user", "add", "BOB", "--password", "x", "--database", &db]);
    assert!(!ok && err.contains("already exists"), "{err}");

    let (ok, _, err) = cli(&["app", "add", "dup", "--token", "t1", "--database", &db]);
    assert!(ok, "{err}");
    let (ok, _, err) = cli(&["app", "add", "other", "--token", "t1", "--database", &db]);
    assert!(!ok && err.contains("already exists"), "{err}");
    let (ok, token, _) = cli(&["app", "add", "generated", "--database", &db]);
    assert!(ok && token.trim().len() >= 40, "{token}");

    // The generated admin password is printed once on first start.
    let fresh = TestDatabase::fresh();
    let (_, out, _) = {
        let url = fresh.url();
        let mut child = std::process::Command::new(binary())
            .args(["serve", "--listen", "127.0.0.1:0", "--database", url])
            .envs(fresh.secret_key_env())
            .env_remove("HOOKWIRE_ADMIN_PASSWORD")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::BufRead;
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().unwrap().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
        (true, first, String::new())
    };
    assert!(
        out.starts_with("created user 'admin' with password "),
        "{out}"
    );
}
