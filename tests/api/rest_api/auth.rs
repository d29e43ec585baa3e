//! GET /api/v1/Webhook/default, the carrier shape, credentials (SOTicket, Basic, 401), application
//! tokens (403, none on-site, required online) and expired tickets.

use super::*;

// ---------------------------------------------------------------------------------------------
// GET /api/v1/Webhook/default, the carrier shape, authentication
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn default_webhook_is_netservers_default_carrier() {
    let api = Api::start(&NO_PING).await;
    let w = api.get("/api/v1/Webhook/default").send().await.ok();
    assert_all_members(&w, "GET /api/v1/Webhook/default");
    assert_eq!(w["WebhookId"], 0, "{w}");
    assert_eq!(w["Type"], "webhook", "{w}");
    assert_eq!(w["State"], "Active", "{w}");
    assert_eq!(
        w["Events"],
        json!(["contact.created", "contact.deleted"]),
        "{w}"
    );
    assert_eq!(w["Registered"], UNSET_DATE, "{w}");
    assert_eq!(w["Updated"], UNSET_DATE, "{w}");
    for null in [
        "Name",
        "TargetUrl",
        "Secret",
        "Headers",
        "Properties",
        "RegisteredAssociate",
        "UpdatedAssociate",
    ] {
        assert!(w[null].is_null(), "{null} should be null: {w}");
    }
    for zero in ["TotalCalls", "TotalErrors", "ConsecutiveErrors"] {
        assert_eq!(w[zero], 0, "{zero} is an int: {w}");
    }
}

#[tokio::test]
async fn soticket_and_basic_credentials_are_accepted() {
    let api = Api::start(&NO_PING).await;
    let db = api.server.database_url();
    let (ok, _, err) = cli(&[
        "user",
        "add",
        "alice",
        "--password",
        "alice-pw-1",
        "--database",
        &db,
    ]);
    assert!(ok, "user add: {err}");
    for auth in [
        format!("SOTicket {}", api.ticket),
        // Auth schemes are case-insensitive (RFC 9110 §11.1); the contract spells it SoTicket.
        format!("SoTicket {}", api.ticket),
        basic("admin", ADMIN_PASSWORD),
        basic("alice", "alice-pw-1"),
    ] {
        api.anon(Method::GET, "/api/v1/Webhook/default")
            .header("Authorization", &auth)
            .send()
            .await
            .ok();
    }
    // Basic identifies the caller: alice is the creator.
    let created = api
        .anon(Method::POST, "/api/v1/Webhook")
        .header("Authorization", &basic("alice", "alice-pw-1"))
        .json(&hook(
            "by alice",
            &["contact.created"],
            "https://example.com/a",
        ))
        .send()
        .await
        .ok();
    assert_eq!(
        created["RegisteredAssociate"]["UserName"], "alice",
        "{created}"
    );
}

#[tokio::test]
async fn missing_or_wrong_credentials_are_401_with_a_challenge() {
    let api = Api::start(&NO_PING).await;
    let path = "/api/v1/Webhook/default";
    let body = api
        .anon(Method::GET, path)
        .send()
        .await
        .unauthorized("SoSessionException");
    // REST is told how to authenticate on REST, not in the SOAP Credentials header.
    let message = body["Message"].as_str().unwrap_or_default();
    assert!(
        message.contains("Authorization: SOTicket")
            && message.contains("Authorization: Basic")
            && !message.contains("in Credentials"),
        "{message}"
    );
    let cases = [
        ("SOTicket 7T:bm90LWEtdGlja2V0", "SoSessionException"),
        ("SOTicket ", ""),
        (
            basic("admin", "wrong-password").as_str(),
            "SoSecurityException",
        ),
        (
            basic("nobody", ADMIN_PASSWORD).as_str(),
            "SoSecurityException",
        ),
        ("Basic !!!not-base64!!!", ""),
        ("Bearer some.jwt.token", ""),
        ("Negotiate abc", ""),
    ]
    .map(|(a, t)| (a.to_string(), t));
    for (auth, error_type) in cases {
        api.anon(Method::GET, path)
            .header("Authorization", &auth)
            .send()
            .await
            .unauthorized(error_type);
    }
}

#[tokio::test]
async fn every_route_requires_credentials_and_changes_nothing_without() {
    let api = Api::start(&NO_PING).await;
    let seeded = api
        .create(hook(
            "seeded",
            &["contact.created"],
            "https://example.com/s",
        ))
        .await;
    let id = id_of(&seeded);
    let body = hook("x", &["contact.created"], "https://example.com/x");
    let routes: Vec<Route> = vec![
        (Method::GET, "/api/v1/Webhook/default".into(), None),
        (Method::GET, "/api/v1/Webhook".into(), None),
        (
            Method::POST,
            "/api/v1/Webhook".into(),
            Some(("application/json", body.to_string())),
        ),
        (Method::GET, format!("/api/v1/Webhook/{id}"), None),
        (
            Method::PUT,
            format!("/api/v1/Webhook/{id}"),
            Some(("application/json", body.to_string())),
        ),
        (
            Method::PATCH,
            format!("/api/v1/Webhook/{id}"),
            Some((
                "application/merge-patch+json",
                r#"{"Name":"hijacked"}"#.into(),
            )),
        ),
        (Method::DELETE, format!("/api/v1/Webhook/{id}"), None),
        (
            Method::POST,
            "/api/v1/Webhook/Test".into(),
            Some(("application/json", body.to_string())),
        ),
        (
            Method::POST,
            "/api/v1/Webhook/contact.created/1".into(),
            Some(("application/json", "{}".into())),
        ),
        (Method::GET, format!("/api/v1/Webhook/{id}/LastError"), None),
        (
            Method::POST,
            "/api/v1/Agents/Webhook/CreateDefaultWebhook".into(),
            None,
        ),
        (
            Method::POST,
            "/api/v1/Agents/Webhook/SaveWebhook".into(),
            Some(("application/json", body.to_string())),
        ),
        (
            Method::POST,
            format!("/api/v1/Agents/Webhook/DeleteWebhook?WebhookId={id}"),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/Agents/Webhook/GetWebhook?webhookId={id}"),
            None,
        ),
        (
            Method::POST,
            "/api/v1/Agents/Webhook/GetAllWebhooks".into(),
            Some(("application/json", "{}".into())),
        ),
        (
            Method::POST,
            "/api/v1/Agents/Webhook/TestWebhook".into(),
            Some(("application/json", body.to_string())),
        ),
        (
            Method::POST,
            "/api/v1/Agents/Webhook/SignalEvent".into(),
            Some((
                "application/json",
                r#"{"EventName":"contact.created","PrimaryKey":1,"Data":{}}"#.into(),
            )),
        ),
        (
            Method::POST,
            "/api/v1/Agents/Webhook/GetLastError".into(),
            Some(("application/json", format!(r#"{{"WebhookId":{id}}}"#))),
        ),
    ];
    for (method, path, body) in routes {
        let mut call = api.anon(method, &path);
        if let Some((ct, b)) = body {
            call = call.raw(ct, b);
        }
        call.send().await.unauthorized("");
    }
    assert_eq!(api.list_ids().await, vec![id], "nothing created or deleted");
    assert_eq!(api.fetch(id).await["Name"], "seeded", "nothing changed");
}

// ---------------------------------------------------------------------------------------------
// Application tokens
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn application_tokens_own_their_webhooks_403_and_unknown_token_is_none_on_site() {
    let api = Api::start(&NO_PING).await;
    let db = api.server.database_url();
    let (_, a, _) = cli(&["app", "add", "app-a", "--database", &db]);
    let (_, b, _) = cli(&["app", "add", "app-b", "--database", &db]);
    let (a, b) = (a.trim().to_string(), b.trim().to_string());
    assert!(!a.is_empty() && a != b, "two tokens: {a:?} {b:?}");

    let created = api
        .post("/api/v1/Webhook")
        .header("SO-AppToken", &a)
        .json(&hook(
            "owned by a",
            &["contact.created"],
            "https://example.com/a",
        ))
        .send()
        .await
        .ok();
    let id = id_of(&created);
    let path = format!("/api/v1/Webhook/{id}");

    let as_b = |method: Method, p: &str| api.call(method, p).header("SO-AppToken", &b);
    as_b(Method::GET, &path)
        .send()
        .await
        .error(403, "SoSecurityException", "another application");
    as_b(Method::PUT, &path)
        .json(&hook(
            "hijacked",
            &["contact.created"],
            "https://evil.example/",
        ))
        .send()
        .await
        .error(403, "SoSecurityException", "");
    as_b(Method::PATCH, &path)
        .raw("application/merge-patch+json", r#"{"Name":"hijacked"}"#)
        .send()
        .await
        .error(403, "SoSecurityException", "");
    as_b(Method::DELETE, &path)
        .send()
        .await
        .error(403, "SoSecurityException", "");
    as_b(Method::GET, &format!("{path}/LastError"))
        .send()
        .await
        .error(403, "SoSecurityException", "");
    as_b(
        Method::POST,
        &format!("/api/v1/Agents/Webhook/GetWebhook?webhookId={id}"),
    )
    .send()
    .await
    .error(403, "SoSecurityException", "");
    as_b(
        Method::POST,
        &format!("/api/v1/Agents/Webhook/DeleteWebhook?WebhookId={id}"),
    )
    .send()
    .await
    .error(403, "SoSecurityException", "");

    let listed_b = as_b(Method::GET, "/api/v1/Webhook").send().await.ok();
    assert_eq!(ids(&listed_b), Vec::<i64>::new(), "b sees none of a's");
    let listed_a = api
        .get("/api/v1/Webhook")
        .header("SO-AppToken", &a)
        .send()
        .await
        .ok();
    assert_eq!(ids(&listed_a), vec![id]);
    // The owner may change it.
    let renamed = api
        .patch(&path)
        .header("SO-AppToken", &a)
        .raw("application/merge-patch+json", r#"{"Name":"renamed by a"}"#)
        .send()
        .await
        .ok();
    assert_eq!(renamed["Name"], "renamed by a");

    // On-site, an unregistered token is no token: it sees every webhook (online mode refuses it).
    let seen = api
        .get(&path)
        .header("SO-AppToken", "no-such-token")
        .send()
        .await
        .ok();
    assert_eq!(seen["Name"], "renamed by a");

    // A token-less (on-site) caller sees it, unchanged by b.
    let got = api.fetch(id).await;
    assert_eq!(got["Name"], "renamed by a");
    assert_eq!(got["TargetUrl"], "https://example.com/a");
}

#[tokio::test]
async fn expired_tickets_are_401_session_errors() {
    let api = Api::start(&["--no-save-ping", "--ticket-ttl-secs", "1"]).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let body = api
        .get("/api/v1/Webhook/default")
        .send()
        .await
        .unauthorized("SoSessionException");
    let message = body["Message"].as_str().unwrap_or("");
    assert!(message.contains("expired"), "{message}");
}

#[tokio::test]
async fn online_mode_requires_an_application_token() {
    let api = Api::start(&["--no-save-ping", "--online"]).await;
    let (_, token, _) = cli(&[
        "app",
        "add",
        "app",
        "--database",
        &api.server.database_url(),
    ]);
    api.get("/api/v1/Webhook")
        .send()
        .await
        .unauthorized("SoSecurityException");
    api.post("/api/v1/Agents/Webhook/GetAllWebhooks")
        .json(&json!({}))
        .send()
        .await
        .unauthorized("SoSecurityException");
    api.get("/api/v1/Webhook")
        .header("SO-AppToken", "no-such-token")
        .send()
        .await
        .unauthorized("SoSecurityException");
    let listed = api
        .get("/api/v1/Webhook")
        .header("SO-AppToken", token.trim())
        .send()
        .await
        .ok();
    assert_eq!(ids(&listed), Vec::<i64>::new());
}
