//! Typed `anyType` values that survive intermediaries (docs/SOAP.md): each typed `Value` of a
//! reply declares the prefixes it uses, an undeclared `xsd:`/`xs:` prefix in a request's
//! `xsi:type` means XML Schema, and integers out of range are told apart from non-numbers.

use std::time::Duration;

use crate::support::receiver::Receiver;
use crate::support::*;

const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
const XSD: &str = "http://www.w3.org/2001/XMLSchema";

/// A SOAP envelope like `envelope`, but with no `xmlns:xsd` anywhere (as node-soap writes back
/// the types it read).
fn envelope_without_xsd(soap: &str, ns: &str, ticket: &str, body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\
         <s:Envelope xmlns:s=\"{soap}\" xmlns:tns=\"{ns}\" xmlns:xsi=\"{XSI}\" \
         xmlns:arr=\"http://schemas.microsoft.com/2003/10/Serialization/Arrays\">\
         <s:Header><tns:Credentials><tns:Ticket>{ticket}</tns:Ticket></tns:Credentials></s:Header>\
         <s:Body>{body}</s:Body></s:Envelope>"
    )
}

/// Calls Webhook.svc `op` (Services88) with an envelope that declares no `xsd` prefix.
async fn call_without_xsd(
    server: &TestServer,
    soap: &str,
    ticket: &str,
    op: &str,
    body: &str,
) -> Reply {
    server
        .post_soap(
            "/Remote/Services88/Webhook.svc",
            soap,
            &format!("{NS88}/Webhook/{op}"),
            envelope_without_xsd(soap, NS88, ticket, &format!("<tns:{op}>{body}</tns:{op}>")),
        )
        .await
}

fn pair(key: &str, value: &str) -> String {
    format!(
        "<tns:StringObjectKeyValuePair><tns:Key>{key}</tns:Key>{value}</tns:StringObjectKeyValuePair>"
    )
}

/// Each `StringObjectKeyValuePair` Value of `reply`, cut out of the reply text alone and parsed
/// on its own, as a message logger that copies the element would: (key, `xsi:type` resolved to
/// `{namespace}local` or `nil`, text).
fn values_copied_alone(reply: &Reply) -> Vec<(String, String, String)> {
    let doc = reply.doc();
    let mut out = Vec::new();
    for value in doc
        .descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == "Value")
        .filter(|n| n.parent_element().unwrap().tag_name().name() == "StringObjectKeyValuePair")
    {
        let key = value
            .prev_sibling_element()
            .and_then(|k| k.text())
            .unwrap_or_default()
            .to_string();
        let alone = &reply.body[value.range()];
        let copy = roxmltree::Document::parse(alone).unwrap_or_else(|e| {
            panic!("the Value of '{key}' is not readable on its own ({e}): {alone}")
        });
        let root = copy.root_element();
        let ty = if root.attribute((XSI, "nil")) == Some("true") {
            "nil".to_string()
        } else {
            let qname = root
                .attribute((XSI, "type"))
                .unwrap_or_else(|| panic!("the Value of '{key}' has no xsi:type: {alone}"));
            let (prefix, local) = qname.split_once(':').unwrap_or(("", qname));
            let ns = root.lookup_namespace_uri(Some(prefix).filter(|p| !p.is_empty()));
            format!("{{{}}}{local}", ns.unwrap_or("unbound"))
        };
        out.push((key, ty, root.text().unwrap_or_default().to_string()));
    }
    out
}

fn typed(key: &str, ty: &str, text: &str) -> (String, String, String) {
    let ty = if ty == "nil" {
        ty.to_string()
    } else {
        format!("{{{XSD}}}{ty}")
    };
    (key.to_string(), ty, text.to_string())
}

#[tokio::test]
async fn each_typed_value_of_a_reply_reads_the_same_when_copied_alone() {
    let server = TestServer::start(&["--no-save-ping"]);
    let ticket = server.ticket().await;
    let properties = [
        pair("count", "<tns:Value xsi:type=\"xsd:int\">42</tns:Value>"),
        pair(
            "big",
            "<tns:Value xsi:type=\"xsd:long\">9000000000</tns:Value>",
        ),
        pair(
            "flag",
            "<tns:Value xsi:type=\"xsd:boolean\">true</tns:Value>",
        ),
        pair(
            "name",
            "<tns:Value xsi:type=\"xsd:string\">a &amp; b</tns:Value>",
        ),
        pair("none", "<tns:Value xsi:nil=\"true\"/>"),
    ]
    .concat();
    let saved = server
        .call(
            NS88,
            SOAP12,
            &ticket,
            "SaveWebhook",
            &webhook_xml(
                0,
                "typed",
                &["contact.created"],
                "https://example.com/typed",
                &format!("<tns:Properties>{properties}</tns:Properties>"),
            ),
        )
        .await
        .ok();
    let id = saved.text("WebhookId").unwrap();
    let expected = vec![
        typed("count", "int", "42"),
        typed("big", "long", "9000000000"),
        typed("flag", "boolean", "true"),
        typed("name", "string", "a & b"),
        typed("none", "nil", ""),
    ];
    assert_eq!(values_copied_alone(&saved), expected, "{}", saved.body);

    let got = server
        .call_on_webhook(NS88, SOAP12, &ticket, "GetWebhook", id)
        .await
        .ok();
    assert_eq!(values_copied_alone(&got), expected, "{}", got.body);

    let all = server
        .call(NS87, SOAP11, &ticket, "GetAllWebhooks", "")
        .await
        .ok();
    assert_eq!(values_copied_alone(&all), expected, "{}", all.body);
}

#[tokio::test]
async fn an_undeclared_xsd_or_xs_prefix_in_xsi_type_means_xml_schema() {
    let receiver = Receiver::start().await;
    let server = TestServer::start(&LOOPBACK);
    let ticket = server.ticket().await;
    let properties = [
        pair("count", "<tns:Value xsi:type=\"xsd:int\">42</tns:Value>"),
        pair("flag", "<tns:Value xsi:type=\"xs:boolean\">1</tns:Value>"),
    ]
    .concat();
    let saved = call_without_xsd(
        &server,
        SOAP11,
        &ticket,
        "SaveWebhook",
        &webhook_xml(
            0,
            "node-soap",
            &["contact.changed"],
            &receiver.url("/hook"),
            &format!("<tns:Properties>{properties}</tns:Properties>"),
        ),
    )
    .await
    .ok();
    let id = saved.text("WebhookId").unwrap();
    let got = server
        .call_on_webhook(NS88, SOAP11, &ticket, "GetWebhook", id)
        .await
        .ok();
    assert_eq!(
        values_copied_alone(&got),
        vec![
            typed("count", "int", "42"),
            typed("flag", "boolean", "true")
        ],
        "{}",
        got.body
    );

    let data = [
        pair("i", "<tns:Value xsi:type=\"xsd:int\">5</tns:Value>"),
        pair(
            "l",
            "<tns:Value xsi:type=\"xs:long\">9000000000</tns:Value>",
        ),
    ]
    .concat();
    call_without_xsd(
        &server,
        SOAP12,
        &ticket,
        "SignalEvent",
        &format!(
            "<tns:EventName>contact.changed</tns:EventName><tns:PrimaryKey>7</tns:PrimaryKey>\
             <tns:Data>{data}</tns:Data>"
        ),
    )
    .await
    .ok();
    let delivery = &receiver.wait_for_requests(1, Duration::from_secs(10)).await[0];
    let body = delivery.json();
    assert_eq!(
        body["FieldValues"],
        serde_json::json!({"i": 5, "l": 9_000_000_000_i64}),
        "{body}"
    );
    assert_eq!(body["count"], 42, "Properties arrive typed too: {body}");

    // Any other undeclared prefix is still an error that names it.
    let other = call_without_xsd(
        &server,
        SOAP11,
        &ticket,
        "SignalEvent",
        &format!(
            "<tns:EventName>contact.changed</tns:EventName><tns:Data>{}</tns:Data>",
            pair("i", "<tns:Value xsi:type=\"q:int\">5</tns:Value>")
        ),
    )
    .await;
    let (code, text) = other.fault();
    assert_eq!((other.status, code.as_str()), (500, "s:Client"), "{text}");
    assert!(
        text.contains("prefix 'q' that is not declared"),
        "{}",
        other.body
    );
}

/// The fault text of a Services88 SOAP 1.2 call that must be refused as a Sender fault.
async fn sender_fault(server: &TestServer, ticket: &str, op: &str, body: &str) -> String {
    let reply = server.call(NS88, SOAP12, ticket, op, body).await;
    let (code, text) = reply.fault();
    assert_eq!(
        (reply.status, code.as_str()),
        (400, "s:Sender"),
        "{}",
        reply.body
    );
    text
}

#[tokio::test]
async fn integers_out_of_range_are_told_apart_from_non_numbers() {
    let server = TestServer::start(&["--no-save-ping"]);
    let ticket = server.ticket().await;
    let signal = |pk: &str| {
        format!(
            "<tns:EventName>contact.changed</tns:EventName><tns:PrimaryKey>{pk}</tns:PrimaryKey>"
        )
    };

    let text = sender_fault(&server, &ticket, "SignalEvent", &signal("99999999999")).await;
    assert!(
        text.contains(
            "PrimaryKey: '99999999999' is out of the range of xsd:int (-2147483648..2147483647)"
        ),
        "{text}"
    );
    let text = sender_fault(&server, &ticket, "SignalEvent", &signal("-2147483649")).await;
    assert!(text.contains("out of the range of xsd:int"), "{text}");
    let text = sender_fault(&server, &ticket, "SignalEvent", &signal("12abc")).await;
    assert!(
        text.contains("PrimaryKey: '12abc' is not a valid xsd:int") && !text.contains("range"),
        "{text}"
    );

    let id = "<tns:WebhookId>4294967296</tns:WebhookId>";
    for op in ["GetWebhook", "DeleteWebhook", "GetLastError"] {
        let text = sender_fault(&server, &ticket, op, id).await;
        assert!(
            text.contains("WebhookId: '4294967296' is out of the range of xsd:int"),
            "{op}: {text}"
        );
    }
    let save = webhook_xml(
        0,
        "n",
        &["contact.created"],
        "https://example.com/n",
        "<tns:ErrorAssociates><tns:MDOListItem><tns:Id>3000000000</tns:Id></tns:MDOListItem></tns:ErrorAssociates>",
    );
    let text = sender_fault(&server, &ticket, "SaveWebhook", &save).await;
    assert!(
        text.contains("Id: '3000000000' is out of the range of xsd:int"),
        "{text}"
    );

    for (ty, value, expected) in [
        (
            "short",
            "70000",
            "'70000' is out of the range of xsd:short (-32768..32767)",
        ),
        (
            "long",
            "99999999999999999999",
            "'99999999999999999999' is out of the range of xsd:long (-9223372036854775808..9223372036854775807)",
        ),
        (
            "int",
            "99999999999",
            "'99999999999' is out of the range of xsd:int",
        ),
        ("int", "1.5", "'1.5' is not a valid xsd:int"),
    ] {
        let data = pair(
            "n",
            &format!("<tns:Value xsi:type=\"xsd:{ty}\">{value}</tns:Value>"),
        );
        let text = sender_fault(
            &server,
            &ticket,
            "SignalEvent",
            &format!("{}<tns:Data>{data}</tns:Data>", signal("1")),
        )
        .await;
        assert!(
            text.contains("Value of 'n'") && text.contains(expected),
            "xsd:{ty} {value}: {text}"
        );
    }
}
