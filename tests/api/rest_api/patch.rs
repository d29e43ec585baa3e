//! PATCH /api/v1/Webhook/{id}: JSON Patch, merge patch, `If-Unmodified-Since`.

use super::*;

// ---------------------------------------------------------------------------------------------
// PATCH
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn json_patch_applies_add_replace_remove_and_test_with_loose_paths() {
    let api = Api::start(&NO_PING).await;
    let mut body = hook("orig", &["contact.created"], "https://example.com/p");
    body["Secret"] = json!("s");
    body["Properties"] = json!({"a": 1});
    let created = api.create(body).await;
    let id = id_of(&created);
    let ops = json!([
        {"op": "test", "path": "/Name", "value": "orig"},
        {"op": "replace", "path": "name", "value": "renamed"},
        {"op": "add", "path": "/description", "value": "added"},
        {"op": "remove", "path": "/SECRET"},
        {"op": "replace", "path": "State", "value": "Stopped"}
    ]);
    let patched = api
        .patch(&format!("/api/v1/Webhook/{id}"))
        .raw("application/json-patch+json", ops.to_string())
        .send()
        .await
        .ok();
    assert_eq!(id_of(&patched), id);
    self_link(&patched, id);
    assert_eq!(patched["Name"], "renamed", "{patched}");
    assert_eq!(patched["Description"], "added", "{patched}");
    assert!(patched["Secret"].is_null(), "removed: {patched}");
    assert_eq!(patched["State"], "Stopped", "{patched}");
    for kept in ["Events", "TargetUrl", "Properties", "Type", "Registered"] {
        assert_eq!(patched[kept], created[kept], "{kept} untouched");
    }
    assert_eq!(api.fetch(id).await, patched, "the patch was saved");
}

#[tokio::test]
async fn json_patch_reaches_into_events_headers_and_properties() {
    let api = Api::start(&NO_PING).await;
    let mut body = hook("nested", &["contact.created"], "https://example.com/n");
    body["Properties"] = json!({"a": 1});
    body["Headers"] = json!({"X-A": "1", "X-B": "2"});
    let id = id_of(&api.create(body).await);
    let ops = json!([
        {"op": "add", "path": "/Events/-", "value": "sale.changed"},
        {"op": "replace", "path": "/Events/0", "value": "person.created"},
        {"op": "add", "path": "/Properties/b", "value": {"deep": [true]}},
        {"op": "remove", "path": "/Headers/X-A"}
    ]);
    let patched = api
        .patch(&format!("/api/v1/Webhook/{id}"))
        .raw("application/json-patch+json", ops.to_string())
        .send()
        .await
        .ok();
    assert_eq!(
        patched["Events"],
        json!(["person.created", "sale.changed"]),
        "{patched}"
    );
    assert_eq!(
        patched["Properties"],
        json!({"a": 1, "b": {"deep": [true]}}),
        "{patched}"
    );
    assert_eq!(patched["Headers"], json!({"X-B": "2"}), "{patched}");
}

#[tokio::test]
async fn merge_patch_and_plain_json_patch_bodies_are_applied() {
    let api = Api::start(&NO_PING).await;
    let mut body = hook("m0", &["contact.created"], "https://example.com/m");
    body["Headers"] = json!({"X-Keep": "k", "X-Drop": "d"});
    body["Properties"] = json!({"a": 1});
    body["Description"] = json!("d0");
    let created = api.create(body).await;
    let id = id_of(&created);
    let path = format!("/api/v1/Webhook/{id}");

    let merge = json!({
        "Name": "merged",
        "Headers": {"X-Drop": null, "X-New": "n"},
        "Description": null,
        "Properties": {"c": {"deep": [1]}}
    });
    let patched = api
        .patch(&path)
        .raw("application/merge-patch+json", merge.to_string())
        .send()
        .await
        .ok();
    assert_eq!(patched["Name"], "merged", "{patched}");
    assert_eq!(
        patched["Headers"],
        json!({"X-Keep": "k", "X-New": "n"}),
        "RFC 7396: objects merge, null deletes: {patched}"
    );
    assert!(patched["Description"].is_null(), "{patched}");
    assert_eq!(
        patched["Properties"],
        json!({"a": 1, "c": {"deep": [1]}}),
        "{patched}"
    );
    assert_eq!(patched["TargetUrl"], created["TargetUrl"]);
    assert_eq!(patched["Events"], created["Events"]);

    // Plain application/json: an object is a Merge Patch ...
    let patched = api
        .patch(&path)
        .json(&json!({"State": "Stopped"}))
        .send()
        .await
        .ok();
    assert_eq!(patched["State"], "Stopped", "{patched}");
    assert_eq!(patched["Name"], "merged", "{patched}");
    // ... and an array a JSON Patch.
    let patched = api
        .patch(&path)
        .json(&json!([{"op": "replace", "path": "/State", "value": "Active"}]))
        .send()
        .await
        .ok();
    assert_eq!(patched["State"], "Active", "{patched}");
    assert_eq!(api.fetch(id).await, patched);
}

#[tokio::test]
async fn json_patch_with_a_failing_test_op_is_409_and_changes_nothing() {
    let api = Api::start(&NO_PING).await;
    let created = api
        .create(hook(
            "guarded",
            &["contact.created"],
            "https://example.com/g",
        ))
        .await;
    let id = id_of(&created);
    let ops = json!([
        {"op": "test", "path": "/Name", "value": "something else"},
        {"op": "replace", "path": "/Name", "value": "should not happen"}
    ]);
    api.patch(&format!("/api/v1/Webhook/{id}"))
        .raw("application/json-patch+json", ops.to_string())
        .send()
        .await
        .error(409, "", "");
    assert_eq!(api.fetch(id).await, created, "nothing changed");
}

#[tokio::test]
async fn patch_of_an_unknown_id_is_404() {
    let api = Api::start(&NO_PING).await;
    api.patch("/api/v1/Webhook/999999")
        .raw(
            "application/json-patch+json",
            r#"[{"op":"replace","path":"/Name","value":"x"}]"#,
        )
        .send()
        .await
        .error(404, "NotFoundException", "999999");
    api.patch("/api/v1/Webhook/999999")
        .raw("application/merge-patch+json", r#"{"Name":"x"}"#)
        .send()
        .await
        .error(404, "NotFoundException", "999999");
    assert_eq!(api.list_ids().await, Vec::<i64>::new(), "nothing created");
}

#[tokio::test]
async fn patch_honours_if_unmodified_since() {
    let api = Api::start(&NO_PING).await;
    let created = api
        .create(hook("dated", &["contact.created"], "https://example.com/d"))
        .await;
    let id = id_of(&created);
    let updated = chrono::DateTime::parse_from_rfc3339(created["Updated"].as_str().unwrap())
        .unwrap_or_else(|e| panic!("Updated is not RFC 3339 ({e}): {created}"))
        .with_timezone(&chrono::Utc);
    let path = format!("/api/v1/Webhook/{id}");

    let before = http_date(updated - chrono::Duration::seconds(10));
    api.patch(&path)
        .header("If-Unmodified-Since", &before)
        .raw("application/merge-patch+json", r#"{"Name":"late"}"#)
        .send()
        .await
        .error(412, "", "");
    assert_eq!(api.fetch(id).await, created, "412 changed nothing");

    // HTTP dates have whole seconds: Updated's own second is not "before" it (RFC 9110 §13.1.4).
    let same_second = http_date(updated);
    let patched = api
        .patch(&path)
        .header("If-Unmodified-Since", &same_second)
        .raw("application/merge-patch+json", r#"{"Name":"late"}"#)
        .send()
        .await
        .ok();
    assert_eq!(patched["Name"], "late", "{patched}");

    let updated = chrono::DateTime::parse_from_rfc3339(patched["Updated"].as_str().unwrap())
        .unwrap_or_else(|e| panic!("Updated is not RFC 3339 ({e}): {patched}"))
        .with_timezone(&chrono::Utc);
    let after = http_date(updated + chrono::Duration::seconds(2));
    let patched = api
        .patch(&path)
        .header("If-Unmodified-Since", &after)
        .raw("application/merge-patch+json", r#"{"Name":"later"}"#)
        .send()
        .await
        .ok();
    assert_eq!(patched["Name"], "later", "{patched}");
}

#[tokio::test]
async fn patch_with_an_invalid_document_or_result_is_400_and_changes_nothing() {
    let api = Api::start(&NO_PING).await;
    let created = api
        .create(hook("valid", &["contact.created"], "https://example.com/v"))
        .await;
    let id = id_of(&created);
    let path = format!("/api/v1/Webhook/{id}");
    api.patch(&path)
        .raw(
            "application/json-patch+json",
            r#"[{"op":"replace","path":"/Name","value":""}]"#,
        )
        .send()
        .await
        .error(400, "ArgumentException", "Name");
    api.patch(&path)
        .raw(
            "application/merge-patch+json",
            r#"{"TargetUrl":"not a url"}"#,
        )
        .send()
        .await
        .error(400, "ArgumentException", "TargetUrl");
    for bad in [
        r#"{"op":"replace","path":"/Name","value":"x"}"#,
        r#"[{"op":"frobnicate","path":"/Name","value":"x"}]"#,
        r#"[{"path":"/Name","value":"x"}]"#,
        r#"[{"op":"replace""#,
    ] {
        api.patch(&path)
            .raw("application/json-patch+json", bad)
            .send()
            .await
            .error(400, "", "");
    }
    assert_eq!(api.fetch(id).await, created, "nothing changed");
}
