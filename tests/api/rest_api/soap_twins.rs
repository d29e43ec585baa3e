//! The same webhook through SOAP and REST: each reads, changes and deletes what the other made.

use super::*;

// ---------------------------------------------------------------------------------------------
// SOAP <-> REST
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_soap_webhook_is_read_patched_and_deleted_by_rest() {
    let api = Api::start(&NO_PING).await;
    let extra = "<tns:Secret>s3cret</tns:Secret><tns:State>Active</tns:State>\
        <tns:Headers><tns:StringKeyValuePair><tns:Key>X-Api-Key</tns:Key><tns:Value>k1</tns:Value></tns:StringKeyValuePair></tns:Headers>\
        <tns:Properties>\
        <tns:StringObjectKeyValuePair><tns:Key>tenant</tns:Key><tns:Value xsi:type=\"xsd:int\">42</tns:Value></tns:StringObjectKeyValuePair>\
        <tns:StringObjectKeyValuePair><tns:Key>live</tns:Key><tns:Value xsi:type=\"xsd:boolean\">true</tns:Value></tns:StringObjectKeyValuePair>\
        <tns:StringObjectKeyValuePair><tns:Key>region</tns:Key><tns:Value xsi:type=\"xsd:string\">eu</tns:Value></tns:StringObjectKeyValuePair>\
        </tns:Properties>";
    let saved = api
        .soap(
            "SaveWebhook",
            &webhook_xml(
                0,
                "from soap",
                &["contact.created", "sale.changed"],
                "https://example.com/soap",
                extra,
            ),
        )
        .await
        .ok();
    let id: i64 = saved.text("WebhookId").unwrap().parse().unwrap();

    let w = api.fetch(id).await;
    self_link(&w, id);
    assert_all_members(&w, "GET of a SOAP-made webhook");
    assert_eq!(w["Name"], "from soap");
    assert_eq!(w["Events"], json!(["contact.created", "sale.changed"]));
    assert_eq!(w["TargetUrl"], "https://example.com/soap");
    assert_eq!(w["Secret"], "s3cret");
    assert_eq!(w["State"], "Active");
    assert_eq!(w["Type"], "webhook");
    assert_eq!(w["Headers"], json!({"X-Api-Key": "k1"}));
    assert_eq!(
        w["Properties"],
        json!({"tenant": 42, "live": true, "region": "eu"}),
        "typed values keep their JSON types"
    );
    assert_eq!(
        w["Registered"].as_str(),
        saved.text("Registered").as_deref()
    );
    assert_eq!(w["Updated"].as_str(), saved.text("Updated").as_deref());
    assert_eq!(w["RegisteredAssociate"]["UserName"], "admin");

    let patched = api
        .patch(&format!("/api/v1/Webhook/{id}"))
        .raw(
            "application/json-patch+json",
            r#"[{"op":"replace","path":"/Name","value":"patched by rest"}]"#,
        )
        .send()
        .await
        .ok();
    assert_eq!(patched["Name"], "patched by rest");
    let after = api.soap_get(id).await;
    assert_eq!(after.text("Name").as_deref(), Some("patched by rest"));
    let fields = after.response_fields();
    for (path, value) in [
        ("Properties/StringObjectKeyValuePair/Value xsd:int", "42"),
        (
            "Properties/StringObjectKeyValuePair/Value xsd:boolean",
            "true",
        ),
        ("Properties/StringObjectKeyValuePair/Value xsd:string", "eu"),
        ("Headers/StringKeyValuePair/Value ", "k1"),
        ("Secret ", "s3cret"),
        ("TargetUrl ", "https://example.com/soap"),
    ] {
        assert!(
            fields.contains(&(path.to_string(), value.to_string())),
            "the REST patch kept {path} = {value}: {fields:?}"
        );
    }
    assert_eq!(
        after.texts("string"),
        vec!["contact.created", "sale.changed"]
    );
    assert_eq!(after.text("Registered"), saved.text("Registered"));

    api.delete(&format!("/api/v1/Webhook/{id}"))
        .send()
        .await
        .no_content();
    assert!(
        api.soap_get(id).await.response_is_nil(),
        "deleted for SOAP too"
    );
}

#[tokio::test]
async fn a_rest_webhook_is_read_changed_and_deleted_by_soap() {
    let api = Api::start(&NO_PING).await;
    let mut body = hook("from rest", &["person.created"], "https://example.com/rest");
    body["Secret"] = json!("k");
    body["Headers"] = json!({"X-K": "v"});
    body["Properties"] = json!({"n": 42, "b": true, "s": "x", "d": 2.5});
    let created = api.create(body).await;
    let id = id_of(&created);

    let soap = api.soap_get(id).await;
    assert_eq!(soap.text("Name").as_deref(), Some("from rest"));
    assert_eq!(
        soap.text("TargetUrl").as_deref(),
        Some("https://example.com/rest")
    );
    assert_eq!(soap.text("Secret").as_deref(), Some("k"));
    assert_eq!(soap.text("State").as_deref(), Some("Active"));
    assert_eq!(soap.texts("string"), vec!["person.created"]);
    assert_eq!(
        soap.text("Registered").as_deref(),
        created["Registered"].as_str()
    );
    let fields = soap.response_fields();
    let prop = |xsd_types: &[&str], value: &str| {
        xsd_types.iter().any(|t| {
            fields.contains(&(
                format!("Properties/StringObjectKeyValuePair/Value xsd:{t}"),
                value.to_string(),
            ))
        })
    };
    assert!(prop(&["int", "long"], "42"), "an integer: {fields:?}");
    assert!(prop(&["boolean"], "true"), "a boolean: {fields:?}");
    assert!(prop(&["string"], "x"), "a string: {fields:?}");
    assert!(prop(&["double", "decimal"], "2.5"), "a number: {fields:?}");
    assert!(
        fields.contains(&("Headers/StringKeyValuePair/Value ".into(), "v".into())),
        "{fields:?}"
    );

    api.soap(
        "SaveWebhook",
        &webhook_xml(
            id as i32,
            "changed by soap",
            &["person.created"],
            "https://example.com/rest",
            "<tns:Secret>k</tns:Secret><tns:State>Stopped</tns:State>",
        ),
    )
    .await
    .ok();
    let w = api.fetch(id).await;
    assert_eq!(w["Name"], "changed by soap");
    assert_eq!(w["State"], "Stopped");
    assert_eq!(w["Registered"], created["Registered"]);

    api.soap(
        "DeleteWebhook",
        &format!("<tns:WebhookId>{id}</tns:WebhookId>"),
    )
    .await
    .ok();
    api.get(&format!("/api/v1/Webhook/{id}"))
        .send()
        .await
        .error(404, "NotFoundException", &id.to_string());
}
