//! The RESTful routes that create, read, list, replace and delete: POST, GET, PUT, DELETE
//! /api/v1/Webhook.

use super::*;

// ---------------------------------------------------------------------------------------------
// POST / GET /api/v1/Webhook
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn create_answers_the_saved_webhook_with_links_and_get_returns_the_same() {
    let api = Api::start(&NO_PING).await;
    let body = json!({
        "Name": "Created by REST",
        "Events": ["contact.created", "sale.changed"],
        "TargetUrl": "https://example.com/hook",
        "Secret": "s3cret",
        "State": "Active",
        "Type": "webhook",
        "Headers": {"X-Api-Key": "k1", "X-Tenant": "t"},
        "Properties": {
            "tenant": 42,
            "big": 9_000_000_000_i64,
            "live": true,
            "region": "eu",
            "ratio": 2.5,
            "nested": {"a": [1, 2], "b": null}
        },
        "ErrorsEmail": "old@example.com",
        "ErrorEmails": ["ops@example.com"],
        "Description": "a description",
        "NotifyVia": "Email",
        "NotifyWhen": "FirstFailure",
    });
    let created = api.create(body.clone()).await;
    assert_all_members(&created, "POST /api/v1/Webhook");
    let id = id_of(&created);
    assert!(id > 0, "a new id: {created}");
    let link = self_link(&created, id);
    for member in [
        "Name",
        "Events",
        "TargetUrl",
        "Secret",
        "State",
        "Type",
        "Headers",
        "Properties",
        "ErrorsEmail",
        "ErrorEmails",
        "Description",
        "NotifyVia",
        "NotifyWhen",
    ] {
        assert_eq!(
            created[member], body[member],
            "{member} round-trips exactly (ints, bools, nested JSON): {created}"
        );
    }
    for date in ["Registered", "Updated"] {
        let d = created[date].as_str().unwrap_or("");
        assert!(
            d.starts_with("20") && d.ends_with('Z') && d.contains('T'),
            "{date} is an ISO-8601 UTC date: {d:?}"
        );
    }
    assert_eq!(
        created["RegisteredAssociate"]["UserName"], "admin",
        "{created}"
    );
    assert_eq!(created["TotalCalls"], 0);

    let got = api.fetch(id).await;
    assert_eq!(
        got, created,
        "GET /api/v1/Webhook/{id} answers what POST did"
    );
    // The Self link leads to the same webhook.
    let absolute = if link.starts_with("http") {
        link.clone()
    } else {
        api.server.url(&link)
    };
    let via_link = api
        .server
        .http
        .get(&absolute)
        .header("Authorization", &api.auth)
        .send()
        .await
        .expect("GET the Self link");
    assert_eq!(via_link.status().as_u16(), 200, "GET {absolute}");

    // Without Headers and Properties they are null, not {}.
    let bare = api
        .create(hook("bare", &["person.created"], "https://example.com/b"))
        .await;
    assert!(bare["Headers"].is_null(), "{bare}");
    assert!(bare["Properties"].is_null(), "{bare}");
    assert!(bare["Secret"].is_null(), "{bare}");
}

#[tokio::test]
async fn get_of_an_unknown_or_malformed_id_is_an_error() {
    let api = Api::start(&NO_PING).await;
    api.get("/api/v1/Webhook/999999")
        .send()
        .await
        .error(404, "NotFoundException", "999999");
    api.get("/api/v1/Webhook/0").send().await.error(404, "", "");
    let reply = api.get("/api/v1/Webhook/abc").send().await;
    assert!(
        reply.status == 400 || reply.status == 404,
        "{}: expected 400 or 404, got {} {:?}",
        reply.what,
        reply.status,
        reply.body
    );
    reply.error(reply.status, "", "");
}

#[tokio::test]
async fn list_filters_by_name_event_and_status_as_soap_does() {
    let api = Api::start(&NO_PING).await;
    let alpha = id_of(
        &api.create(hook(
            "Alpha",
            &["contact.created", "sale.changed"],
            "https://example.com/a",
        ))
        .await,
    );
    let mut beta_body = hook("Beta", &["person.changed"], "https://example.com/b");
    beta_body["State"] = json!("Stopped");
    let beta = id_of(&api.create(beta_body).await);
    let gamma = id_of(
        &api.create(hook(
            "Alpha two",
            &["sale.changed"],
            "https://example.com/c",
        ))
        .await,
    );

    let mut all = vec![alpha, beta, gamma];
    all.sort();
    assert_eq!(list(&api, "").await, all, "no filter");
    assert_eq!(
        list(&api, "?nameFilter=&eventFilter=&statusFilter=").await,
        all,
        "empty filters"
    );
    assert_eq!(
        list(&api, "?nameFilter=ALPHA").await,
        vec![alpha],
        "nameFilter: case-insensitive equality"
    );
    let mut sale = vec![alpha, gamma];
    sale.sort();
    assert_eq!(
        list(&api, "?eventFilter=Sale.Changed").await,
        sale,
        "eventFilter: subscribes to the event"
    );
    assert_eq!(list(&api, "?statusFilter=Stopped").await, vec![beta]);
    assert_eq!(
        list(&api, "?statusFilter=Unknown").await,
        all,
        "Unknown = no filter"
    );
    assert_eq!(
        list(
            &api,
            "?eventFilter=sale.changed&statusFilter=Active&nameFilter=alpha%20two"
        )
        .await,
        vec![gamma],
        "filters combine"
    );
    // Parameter names are case-insensitive.
    assert_eq!(list(&api, "?NAMEFILTER=beta").await, vec![beta]);
    assert_eq!(list(&api, "?StatusFilter=Stopped").await, vec![beta]);
    assert_eq!(list(&api, "?EventFilter=person.changed").await, vec![beta]);

    let listed = api.get("/api/v1/Webhook?nameFilter=Beta").send().await.ok();
    assert_all_members(&listed[0], "list item");
    assert_eq!(listed[0]["State"], "Stopped");
    assert_eq!(listed[0]["Events"], json!(["person.changed"]));

    api.get("/api/v1/Webhook?statusFilter=Sleeping")
        .send()
        .await
        .error(400, "ArgumentException", "Sleeping");
}

#[tokio::test]
async fn create_rejects_invalid_bodies_naming_the_field_and_saves_nothing() {
    let api = Api::start(&NO_PING).await;
    let mut no_name = hook("n", &["contact.created"], "https://example.com");
    no_name.as_object_mut().unwrap().remove("Name");
    let mut bad_headers = hook("n", &["contact.created"], "https://example.com");
    bad_headers["Headers"] = json!({"X-Count": 1});
    let field_cases: Vec<(Value, &str)> = vec![
        (no_name, "Name"),
        (
            hook("", &["contact.created"], "https://example.com"),
            "Name",
        ),
        (hook("n", &[], "https://example.com"), "Events"),
        (
            hook("n", &["contactcreated"], "https://example.com"),
            "Events",
        ),
        (
            json!({"Name": "n", "Events": "contact.created", "TargetUrl": "https://example.com"}),
            "Events",
        ),
        (hook("n", &["contact.created"], "not a url"), "TargetUrl"),
        (
            hook("n", &["contact.created"], "http://example.com/h"),
            "https",
        ),
        (bad_headers, "Headers"),
        (
            json!({"WebhookId": "seven", "Name": "n", "Events": ["contact.created"], "TargetUrl": "https://example.com"}),
            "WebhookId",
        ),
        (
            json!({"Name": 5, "Events": ["contact.created"], "TargetUrl": "https://example.com"}),
            "Name",
        ),
        (
            json!({"Name": "n", "Events": ["contact.created"], "TargetUrl": "https://example.com", "Properties": ["a"]}),
            "Properties",
        ),
    ];
    // Every case is tried; the failure lists each one that is off.
    let mut problems = Vec::new();
    for (body, field) in field_cases {
        let reply = api.post("/api/v1/Webhook").json(&body).send().await;
        if let Err(problem) = reply.check_error(400, "ArgumentException", field) {
            problems.push(problem);
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    for raw in [r#"{"Name":"#, "[]", "\"a string\"", "", "null"] {
        api.post("/api/v1/Webhook")
            .raw("application/json", raw)
            .send()
            .await
            .error(400, "", "");
    }
    assert_eq!(api.list_ids().await, Vec::<i64>::new(), "nothing saved");
}

#[tokio::test]
async fn select_keeps_only_the_named_members() {
    let api = Api::start(&NO_PING).await;
    let mut body = hook("selected", &["contact.created"], "https://example.com/sel");
    body["Secret"] = json!("sec");
    let created = api
        .post("/api/v1/Webhook?$select=Name,State")
        .json(&body)
        .send()
        .await
        .ok();
    let id = id_of(&created);
    assert!(id > 0, "{created}");
    self_link(&created, id);
    assert_eq!(created["Name"], "selected", "{created}");
    assert_eq!(created["State"], "Active", "{created}");
    for dropped in ["TargetUrl", "Secret", "Events"] {
        assert!(
            absent_or_null(&created, dropped),
            "$select=Name,State: {dropped} should be absent or null: {created}"
        );
    }
    // GET with $select too, also with the `$` percent-encoded.
    for query in ["?$select=Name", "?%24select=Name"] {
        let got = api
            .get(&format!("/api/v1/Webhook/{id}{query}"))
            .send()
            .await
            .ok();
        assert_eq!(got["Name"], "selected", "{query}: {got}");
        assert_eq!(id_of(&got), id, "{query}: {got}");
        assert!(
            absent_or_null(&got, "TargetUrl") && absent_or_null(&got, "State"),
            "{query}: only Name kept: {got}"
        );
    }
    // $select shapes the answer only: everything was saved.
    let full = api.fetch(id).await;
    assert_eq!(full["TargetUrl"], "https://example.com/sel", "{full}");
    assert_eq!(full["Secret"], "sec", "{full}");
}

// ---------------------------------------------------------------------------------------------
// PUT
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn put_replaces_the_webhook_and_keeps_id_and_registered() {
    let api = Api::start(&NO_PING).await;
    let created = api
        .create(hook(
            "before",
            &["contact.created"],
            "https://example.com/1",
        ))
        .await;
    let id = id_of(&created);

    // A client sends back what GET gave it (with _Links and server-filled members), edited.
    let mut edited = api.fetch(id).await;
    edited["Name"] = json!("after");
    edited["State"] = json!("Stopped");
    edited["TargetUrl"] = json!("https://example.com/2");
    let put = api
        .put(&format!("/api/v1/Webhook/{id}"))
        .json(&edited)
        .send()
        .await
        .ok();
    assert_eq!(id_of(&put), id, "{put}");
    self_link(&put, id);
    assert_eq!(put["Name"], "after");
    assert_eq!(put["State"], "Stopped");
    assert_eq!(put["TargetUrl"], "https://example.com/2");
    assert_eq!(put["Registered"], created["Registered"], "Registered kept");
    assert_eq!(api.fetch(id).await, put, "GET shows the PUT");

    // A body without WebhookId updates the webhook of the path; it never creates one.
    let minimal = hook("minimal", &["sale.sold"], "https://example.com/3");
    let put = api
        .put(&format!("/api/v1/Webhook/{id}"))
        .json(&minimal)
        .send()
        .await
        .ok();
    assert_eq!(id_of(&put), id, "{put}");
    assert_eq!(put["Events"], json!(["sale.sold"]));
    assert_eq!(api.list_ids().await, vec![id], "still one webhook");
}

#[tokio::test]
async fn put_without_body_is_400_unknown_id_404_invalid_400() {
    let api = Api::start(&NO_PING).await;
    let id = id_of(
        &api.create(hook("kept", &["contact.created"], "https://example.com/k"))
            .await,
    );
    let path = format!("/api/v1/Webhook/{id}");
    api.put(&path).send().await.error(400, "", "");
    api.put(&path)
        .raw("application/json", "")
        .send()
        .await
        .error(400, "", "");
    api.put("/api/v1/Webhook/424242")
        .json(&hook("n", &["contact.created"], "https://example.com"))
        .send()
        .await
        .error(404, "NotFoundException", "424242");
    api.put(&path)
        .json(&hook("", &["contact.created"], "https://example.com"))
        .send()
        .await
        .error(400, "ArgumentException", "Name");
    assert_eq!(api.fetch(id).await["Name"], "kept", "nothing changed");
    assert_eq!(api.list_ids().await, vec![id], "nothing created");
}

// ---------------------------------------------------------------------------------------------
// DELETE
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn delete_is_204_then_the_webhook_is_gone() {
    let api = Api::start(&NO_PING).await;
    let id = id_of(
        &api.create(hook(
            "doomed",
            &["contact.created"],
            "https://example.com/x",
        ))
        .await,
    );
    let path = format!("/api/v1/Webhook/{id}");
    api.delete(&path).send().await.no_content();
    api.get(&path)
        .send()
        .await
        .error(404, "NotFoundException", &id.to_string());
    api.delete(&path)
        .send()
        .await
        .error(404, "NotFoundException", &id.to_string());
    api.delete("/api/v1/Webhook/999999")
        .send()
        .await
        .error(404, "NotFoundException", "999999");
    assert_eq!(api.list_ids().await, Vec::<i64>::new());
}
