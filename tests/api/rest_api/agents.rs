//! The Agent RPC routes, `/api/v1/Agents/Webhook/{Method}`.

use super::*;

// ---------------------------------------------------------------------------------------------
// Agent RPC
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn agent_routes_create_save_get_list_and_delete() {
    let api = Api::start(&NO_PING).await;
    let agent = |method: &str| format!("/api/v1/Agents/Webhook/{method}");

    let default = api.post(&agent("CreateDefaultWebhook")).send().await.ok();
    let rest_default = api.get("/api/v1/Webhook/default").send().await.ok();
    assert_eq!(
        default, rest_default,
        "same default as GET /Webhook/default"
    );

    let first = api
        .post(&agent("SaveWebhook"))
        .json(&hook(
            "first",
            &["contact.created"],
            "https://example.com/1",
        ))
        .send()
        .await
        .ok();
    assert_all_members(&first, "SaveWebhook");
    let id1 = id_of(&first);
    assert!(id1 > 0, "{first}");
    let wrapped = api
        .post(&agent("SaveWebhook"))
        .json(&json!({"Webhook": hook("second", &["sale.sold"], "https://example.com/2")}))
        .send()
        .await
        .ok();
    let id2 = id_of(&wrapped);
    assert!(id2 > 0 && id2 != id1, "{wrapped}");
    assert_eq!(wrapped["Name"], "second", "{{\"Webhook\": carrier}} form");

    let got = api
        .post(&agent(&format!("GetWebhook?webhookId={id1}")))
        .send()
        .await
        .ok();
    assert_eq!(got["Name"], "first", "{got}");
    assert_eq!(id_of(&got), id1);
    api.post(&agent("GetWebhook?webhookId=999999"))
        .send()
        .await
        .error(404, "NotFoundException", "999999");

    let filtered = api
        .post(&agent("GetAllWebhooks"))
        .json(&json!({"NameFilter": "first", "EventFilter": "", "StatusFilter": "Active"}))
        .send()
        .await
        .ok();
    assert_eq!(ids(&filtered), vec![id1]);
    let by_event = api
        .post(&agent("GetAllWebhooks"))
        .json(&json!({"EventFilter": "SALE.SOLD"}))
        .send()
        .await
        .ok();
    assert_eq!(ids(&by_event), vec![id2]);
    let mut all = ids(&api
        .post(&agent("GetAllWebhooks"))
        .json(&json!({}))
        .send()
        .await
        .ok());
    all.sort();
    assert_eq!(all, vec![id1.min(id2), id1.max(id2)]);
    api.post(&agent("GetAllWebhooks"))
        .json(&json!({"StatusFilter": "Sleeping"}))
        .send()
        .await
        .error(400, "ArgumentException", "Sleeping");

    // Update through SaveWebhook.
    let mut update = hook("first v2", &["contact.created"], "https://example.com/1");
    update["WebhookId"] = json!(id1);
    let updated = api
        .post(&agent("SaveWebhook"))
        .json(&update)
        .send()
        .await
        .ok();
    assert_eq!(id_of(&updated), id1);
    assert_eq!(updated["Name"], "first v2");
    assert_eq!(updated["Registered"], first["Registered"]);

    // Errors.
    api.post(&agent("SaveWebhook"))
        .json(&hook("", &["contact.created"], "https://example.com"))
        .send()
        .await
        .error(400, "ArgumentException", "Name");
    let mut unknown = hook("n", &["contact.created"], "https://example.com");
    unknown["WebhookId"] = json!(424242);
    api.post(&agent("SaveWebhook"))
        .json(&unknown)
        .send()
        .await
        .error(404, "NotFoundException", "424242");

    // DeleteWebhook: query or body.
    api.post(&agent(&format!("DeleteWebhook?WebhookId={id1}")))
        .send()
        .await
        .no_content();
    api.post(&agent("DeleteWebhook"))
        .json(&json!({"WebhookId": id2}))
        .send()
        .await
        .no_content();
    api.post(&agent("DeleteWebhook?WebhookId=999999"))
        .send()
        .await
        .error(404, "NotFoundException", "999999");
    let left = api
        .post(&agent("GetAllWebhooks"))
        .json(&json!({}))
        .send()
        .await
        .ok();
    assert_eq!(ids(&left), Vec::<i64>::new());
}

#[tokio::test]
async fn agent_test_webhook_answers_a_webhook_result() {
    let receiver = Receiver::start().await;
    let api = Api::start(&LOOPBACK).await;
    let result = api
        .post("/api/v1/Agents/Webhook/TestWebhook")
        .json(&hook("t", &["contact.created"], &receiver.url("/t")))
        .send()
        .await
        .ok();
    assert_eq!(result["Success"], true, "{result}");
    assert!(result["Message"].is_string(), "{result}");
    let pings = receiver.wait_for_requests(1, Duration::from_secs(10)).await;
    assert_eq!(pings[0].header("x-hook-test"), Some("true"));
}

#[tokio::test]
async fn agent_method_and_parameter_names_are_case_insensitive() {
    let api = Api::start(&NO_PING).await;
    let id = id_of(
        &api.create(hook("cased", &["contact.created"], "https://example.com/c"))
            .await,
    );
    let got = api
        .post(&format!("/api/v1/agents/webhook/getwebhook?WEBHOOKID={id}"))
        .send()
        .await
        .ok();
    assert_eq!(id_of(&got), id, "{got}");
    let got = api
        .post(&format!("/api/v1/Agents/Webhook/GETWEBHOOK?WebhookId={id}"))
        .send()
        .await
        .ok();
    assert_eq!(id_of(&got), id, "{got}");
    let listed = api
        .post("/api/v1/Agents/Webhook/getallwebhooks")
        .json(&json!({"namefilter": "CASED", "STATUSFILTER": "Active"}))
        .send()
        .await
        .ok();
    assert_eq!(ids(&listed), vec![id]);
    let none = api
        .post("/api/v1/Agents/Webhook/getallwebhooks")
        .json(&json!({"namefilter": "other"}))
        .send()
        .await
        .ok();
    assert_eq!(ids(&none), Vec::<i64>::new(), "namefilter was applied");
    let last = api
        .post("/api/v1/Agents/Webhook/getlasterror")
        .json(&json!({"webhookid": id}))
        .send()
        .await
        .ok();
    assert_eq!(last, json!(""));
    api.post("/api/v1/Agents/Webhook/signalevent")
        .json(&json!({"eventname": "contact.created", "primarykey": 3, "data": {"a": 1}}))
        .send()
        .await
        .no_content();
    api.post(&format!(
        "/api/v1/Agents/Webhook/deletewebhook?webhookid={id}"
    ))
    .send()
    .await
    .no_content();
    assert_eq!(api.list_ids().await, Vec::<i64>::new());
}

#[tokio::test]
async fn agent_unknown_method_is_404() {
    let api = Api::start(&NO_PING).await;
    api.post("/api/v1/Agents/Webhook/Frobnicate")
        .json(&json!({}))
        .send()
        .await
        .error(404, "", "");
}
