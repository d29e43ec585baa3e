//! Every value hookwire accepts reads back equal: a property test over the `anyType` value types,
//! through the real server and its store (SQLite, or PostgreSQL with
//! `HOOKWIRE_TEST_DATABASE_URL`). Webhook Properties go in over SOAP with their `xsi:type` and
//! come back over SOAP (same type, same value) and REST (the same JSON); SignalEvent Data reaches
//! the receiver as the same JSON.

use std::time::Duration;

use crate::support::receiver::Receiver;
use crate::support::{NS88, SOAP11, TestServer, webhook_xml};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
const XSD: &str = "http://www.w3.org/2001/XMLSchema";

/// One typed value as a client sends it: XSD type, lexical text, and the JSON receivers get.
#[derive(Debug, Clone)]
struct Sent {
    xsd: &'static str,
    text: String,
    json: serde_json::Value,
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\r', "&#13;")
}

fn text_strategy() -> impl Strategy<Value = String> {
    // Printable ASCII, markup characters, tab/LF/CR, Latin-1 and beyond the BMP.
    proptest::collection::vec(
        prop_oneof![
            proptest::char::range(' ', '~'),
            Just('&'),
            Just('<'),
            Just('\t'),
            Just('\n'),
            Just('\r'),
            proptest::char::range('\u{a0}', '\u{17f}'),
            proptest::char::range('\u{1f600}', '\u{1f64f}'),
        ],
        0..24,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

fn value_strategy() -> impl Strategy<Value = Sent> {
    prop_oneof![
        text_strategy().prop_map(|s| Sent {
            xsd: "string",
            json: serde_json::json!(s),
            text: s
        }),
        any::<i32>().prop_map(|n| Sent {
            xsd: "int",
            text: n.to_string(),
            json: serde_json::json!(n)
        }),
        any::<i16>().prop_map(|n| Sent {
            xsd: "short",
            text: n.to_string(),
            json: serde_json::json!(n)
        }),
        any::<i64>().prop_map(|n| Sent {
            xsd: "long",
            text: n.to_string(),
            json: serde_json::json!(n)
        }),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| Sent {
                xsd: "double",
                text: format!("{f:e}"),
                json: serde_json::json!(f)
            }),
        any::<f32>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| Sent {
                xsd: "float",
                text: f.to_string(),
                json: serde_json::json!(f.to_string().parse::<f64>().unwrap())
            }),
        any::<bool>().prop_map(|b| Sent {
            xsd: "boolean",
            text: if b { "1".into() } else { "false".into() },
            json: serde_json::json!(b)
        }),
        (0u32..10_000, 0u32..1_000_000).prop_map(|(int, frac)| {
            let text = format!("-{int}.{frac:06}");
            Sent {
                xsd: "decimal",
                json: serde_json::json!(text.parse::<f64>().unwrap()),
                text,
            }
        }),
        (1970i32..2100, 1u32..13, 1u32..29, 0u32..24, 0u32..60).prop_map(|(y, mo, d, h, mi)| {
            let text = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:07.1234567Z");
            Sent {
                xsd: "dateTime",
                json: serde_json::json!(text),
                text,
            }
        }),
    ]
}

fn values_strategy() -> impl Strategy<Value = Vec<(String, Sent)>> {
    proptest::collection::vec(value_strategy(), 1..6).prop_map(|values| {
        values
            .into_iter()
            .enumerate()
            .map(|(i, v)| (format!("k{i}.{}", v.xsd), v))
            .collect()
    })
}

fn pairs_xml(values: &[(String, Sent)]) -> String {
    values
        .iter()
        .map(|(k, v)| {
            format!(
                "<tns:StringObjectKeyValuePair><tns:Key>{k}</tns:Key>\
                 <tns:Value xsi:type=\"xsd:{}\">{}</tns:Value></tns:StringObjectKeyValuePair>",
                v.xsd,
                xml_escape(&v.text)
            )
        })
        .collect()
}

/// Whether the typed value read back over SOAP is the one sent.
fn same_value(sent: &Sent, xsd: &str, text: &str) -> bool {
    if xsd != sent.xsd {
        return false;
    }
    match xsd {
        "string" | "decimal" | "dateTime" => text == sent.text,
        "double" => text.parse::<f64>().ok() == sent.text.parse::<f64>().ok(),
        "float" => text.parse::<f32>().ok() == sent.text.parse::<f32>().ok(),
        "boolean" => matches!(
            (text, sent.text.as_str()),
            ("true", "1" | "true") | ("false", "0" | "false")
        ),
        _ => text.parse::<i64>().ok() == sent.text.parse::<i64>().ok(),
    }
}

/// The `(key, xsi:type local name, text)` of each Property in a GetWebhook reply.
fn soap_properties(body: &str) -> Vec<(String, String, String)> {
    let doc = roxmltree::Document::parse(body).expect("well-formed reply");
    let props = doc
        .descendants()
        .find(|n| n.tag_name().name() == "Properties")
        .expect("Properties");
    props
        .children()
        .filter(|n| n.is_element())
        .map(|pair| {
            let child = |name: &str| {
                pair.children()
                    .find(|c| c.tag_name().name() == name)
                    .expect("Key and Value")
            };
            let value = child("Value");
            let qname = value.attribute((XSI, "type")).unwrap_or_default();
            let (prefix, local) = qname.split_once(':').unwrap_or(("", qname));
            assert_eq!(
                value.lookup_namespace_uri(Some(prefix)),
                Some(XSD),
                "xsi:type {qname} resolves to XML Schema"
            );
            (
                child("Key").text().unwrap_or_default().to_string(),
                local.to_string(),
                value.text().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn every_accepted_value_reads_back_equal() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = TestServer::start(&[
        "--allow-http-targets",
        "--allow-targets",
        "127.0.0.0/8",
        "--no-save-ping",
    ]);
    let receiver = rt.block_on(Receiver::start());
    let ticket = rt.block_on(server.ticket());
    let target = receiver.url("/values");
    let saved = rt.block_on(server.call(
        NS88,
        SOAP11,
        &ticket,
        "SaveWebhook",
        &webhook_xml(0, "values", &["value.signalled"], &target, ""),
    ));
    let id = saved.ok().text("WebhookId").unwrap();

    let mut runner = TestRunner::new(Config {
        cases: 48,
        failure_persistence: None,
        ..Config::default()
    });
    let rounds = std::sync::atomic::AtomicI64::new(0);
    let outcome = runner.run(&values_strategy(), |values| {
        let round = rounds.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        rt.block_on(async {
            // Properties: SOAP in, SOAP and REST out.
            let props = format!("<tns:Properties>{}</tns:Properties>", pairs_xml(&values));
            server
                .call(
                    NS88,
                    SOAP11,
                    &ticket,
                    "SaveWebhook",
                    &webhook_xml(
                        id.parse().unwrap(),
                        "values",
                        &["value.signalled"],
                        &target,
                        &props,
                    ),
                )
                .await
                .ok();
            let got = server
                .call_on_webhook(NS88, SOAP11, &ticket, "GetWebhook", &id)
                .await
                .ok();
            let read = soap_properties(&got.body);
            prop_assert_eq!(read.len(), values.len());
            for ((key, sent), (k, xsd, text)) in values.iter().zip(&read) {
                prop_assert_eq!(key, k);
                prop_assert!(
                    same_value(sent, xsd, text),
                    "{} sent {:?} read back {} {:?}",
                    key,
                    sent,
                    xsd,
                    text
                );
            }
            let rest = server.get_json(&format!("/api/v1/Webhook/{id}")).await;
            for (key, sent) in &values {
                prop_assert_eq!(&rest["Properties"][key], &sent.json, "REST {}", key);
            }

            // SignalEvent Data: SOAP in, the receiver's JSON out.
            let signal = format!(
                "<tns:EventName>value.signalled</tns:EventName><tns:PrimaryKey>{round}</tns:PrimaryKey>\
                 <tns:Data>{}</tns:Data>",
                pairs_xml(&values)
            );
            server
                .call(NS88, SOAP11, &ticket, "SignalEvent", &signal)
                .await
                .ok();
            let delivered = receiver
                .wait_until(
                    move |reqs| reqs.iter().any(|r| r.json()["PrimaryKey"] == round),
                    Duration::from_secs(10),
                )
                .await;
            let request = delivered
                .iter()
                .find(|r| r.json()["PrimaryKey"] == round)
                .unwrap();
            let fields = request.json()["FieldValues"].clone();
            for (key, sent) in &values {
                prop_assert_eq!(&fields[key], &sent.json, "delivered {}", key);
            }
            Ok(())
        })
    });
    if let Err(e) = outcome {
        panic!("{e}");
    }
}
