//! Hostile REST and HTTP input, against the real binary over real HTTP: a JSON Patch that grows
//! the webhook exponentially, nests it too deep or has too many operations; bodies that never
//! finish arriving or announce too much (on REST and SOAP routes); a path that is not UTF-8
//! (docs/REST.md "Limits").

use crate::support::*;
use serde_json::{Value, json};

/// The default `--max-body-bytes`, which the patched webhook may not outgrow.
const DEFAULT_LIMIT: usize = 1024 * 1024;

/// A server with a logged-in admin.
struct Api {
    server: TestServer,
    auth: String,
}

/// A REST answer.
struct Answer {
    status: u16,
    content_type: String,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| {
            panic!("HTTP {} body is not JSON ({e}): {}", self.status, self.body)
        })
    }

    /// Asserts the project's JSON error form with `status`; returns its Message.
    fn error(&self, status: u16) -> String {
        assert_eq!(self.status, status, "{}", self.body);
        assert!(
            self.content_type.starts_with("application/json"),
            "error as {:?}, expected application/json: {}",
            self.content_type,
            self.body
        );
        let body = self.json();
        for member in ["Error", "ErrorType", "Message"] {
            assert!(
                body[member].as_str().is_some_and(|s| !s.is_empty()),
                "no {member} in {body}"
            );
        }
        body["Message"].as_str().unwrap_or_default().to_string()
    }
}

impl Api {
    async fn start(args: &[&str]) -> Api {
        let server = TestServer::start(args);
        let auth = format!("SOTicket {}", server.ticket().await);
        Api { server, auth }
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<String>) -> Answer {
        let mut request = self
            .server
            .http
            .request(method, self.server.url(path))
            .header("Authorization", &self.auth);
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body);
        }
        let reply = Reply::from(request.send().await.expect("send")).await;
        Answer {
            status: reply.status,
            content_type: reply.content_type,
            body: reply.body,
        }
    }

    /// Creates a webhook; returns it as GET shows it.
    async fn create(&self, events: &[&str], properties: Value) -> Value {
        let body = json!({
            "Name": "hardening",
            "Events": events,
            "TargetUrl": "https://example.com/hook",
            "Properties": properties,
        });
        let created = self
            .send(
                reqwest::Method::POST,
                "/api/v1/Webhook",
                Some(body.to_string()),
            )
            .await;
        assert_eq!(created.status, 200, "{}", created.body);
        let id = created.json()["WebhookId"].as_i64().expect("WebhookId");
        self.fetch(id).await
    }

    async fn fetch(&self, id: i64) -> Value {
        let got = self
            .send(reqwest::Method::GET, &format!("/api/v1/Webhook/{id}"), None)
            .await;
        assert_eq!(got.status, 200, "{}", got.body);
        got.json()
    }

    async fn patch(&self, id: i64, ops: &Value) -> Answer {
        self.send(
            reqwest::Method::PATCH,
            &format!("/api/v1/Webhook/{id}"),
            Some(ops.to_string()),
        )
        .await
    }
}

fn id_of(webhook: &Value) -> i64 {
    webhook["WebhookId"].as_i64().expect("WebhookId")
}

/// `count` copies of one JSON Patch operation.
fn repeated(count: usize, op: Value) -> Value {
    Value::Array(vec![op; count])
}

/// What `raw_http` got back: the status line's code and the body after the header block.
fn split_answer(answer: &str) -> (u16, String, String) {
    let code = answer
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP/1.1 answer: {answer:?}"));
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((answer, ""));
    (code, head.to_ascii_lowercase(), body.to_string())
}

#[tokio::test]
async fn json_patches_that_multiply_the_webhook_are_refused_naming_the_limit() {
    let api = Api::start(&["--no-save-ping"]).await;
    let hook = api
        .create(&["contact.created"], json!({"Tenant": "acme"}))
        .await;
    let id = id_of(&hook);
    let peak_before = api.server.memory_kib("VmHWM");

    // Each copy doubles /Events: 21 of them, in about 1 KiB, would be 2^21 event names.
    let doubling = repeated(
        21,
        json!({"op": "copy", "from": "/Events", "path": "/Events/-"}),
    );
    assert!(doubling.to_string().len() < 1200);
    let message = api.patch(id, &doubling).await.error(413);
    assert!(
        message.contains(&format!("larger than {DEFAULT_LIMIT} bytes")) && message.contains("copy"),
        "the message names the limit and the operation: {message}"
    );
    assert_eq!(api.fetch(id).await, hook, "the webhook is unchanged");

    // Small values multiply too: 1000 zeros, doubled 8 times, are 256 000 JSON values.
    let mut ops = vec![json!({"op": "add", "path": "/Properties/zeros", "value": vec![0; 1000]})];
    ops.extend(vec![
        json!({"op": "copy", "from": "/Properties/zeros", "path": "/Properties/zeros/-"});
        8
    ]);
    let message = api.patch(id, &Value::Array(ops)).await.error(413);
    assert!(
        message.contains("more than 100000 JSON values"),
        "the message names the limit: {message}"
    );
    assert_eq!(api.fetch(id).await, hook, "the webhook is unchanged");

    let peak_after = api.server.memory_kib("VmHWM");
    assert!(
        peak_after.saturating_sub(peak_before) < 64 * 1024,
        "the server's peak RSS grew from {peak_before} KiB to {peak_after} KiB"
    );
}

#[tokio::test]
async fn json_patches_with_too_many_operations_are_refused_naming_the_limit() {
    let api = Api::start(&["--no-save-ping"]).await;
    let hook = api.create(&["contact.created"], Value::Null).await;
    let id = id_of(&hook);
    let test_name = json!({"op": "test", "path": "/Name", "value": "hardening"});

    let message = api
        .patch(id, &repeated(1001, test_name.clone()))
        .await
        .error(413);
    assert!(
        message.contains("1001 operations") && message.contains("at most 1000"),
        "the message names the limit: {message}"
    );
    assert_eq!(api.fetch(id).await, hook, "the webhook is unchanged");

    let mut at_limit = vec![test_name; 999];
    at_limit.push(json!({"op": "replace", "path": "/Name", "value": "renamed"}));
    let patched = api.patch(id, &Value::Array(at_limit)).await;
    assert_eq!(
        patched.status, 200,
        "1000 operations are fine: {}",
        patched.body
    );
    assert_eq!(patched.json()["Name"], "renamed");
}

#[tokio::test]
async fn json_patches_cannot_nest_the_webhook_deeper_than_a_body_may() {
    let api = Api::start(&["--no-save-ping"]).await;
    let hook = api
        .create(&["contact.created"], json!({"Tenant": "acme"}))
        .await;
    let id = id_of(&hook);
    // 100 nested arrays fit in a body; copying them into their own innermost array makes 200.
    let mut deep = json!([]);
    for _ in 1..100 {
        deep = json!([deep]);
    }
    let innermost = format!("/Properties/deep{}", "/0".repeat(99));
    let ops = json!([
        {"op": "add", "path": "/Properties/deep", "value": deep},
        {"op": "copy", "from": "/Properties/deep", "path": format!("{innermost}/-")},
    ]);
    let message = api.patch(id, &ops).await.error(400);
    assert!(
        message.contains("deeper than 127 levels"),
        "the message names the limit: {message}"
    );
    assert_eq!(api.fetch(id).await, hook, "the webhook is unchanged");
}

#[tokio::test]
async fn bodies_that_never_finish_arriving_get_408_and_the_server_carries_on() {
    let api = Api::start(&["--no-save-ping", "--request-body-timeout-secs", "1"]).await;
    let hook = api.create(&["contact.created"], Value::Null).await;
    let id = id_of(&hook);
    let auth = &api.auth;

    // Headers announcing 1000 bytes, then 12 bytes, then silence (the connection stays open).
    let rest = format!(
        "PUT /api/v1/Webhook/{id} HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"Name\": \"sl"
    );
    let (status, head, body) = split_answer(&api.server.raw_http(rest.as_bytes()).await);
    assert_eq!(status, 408, "{head}\r\n\r\n{body}");
    assert!(head.contains("content-type: application/json"), "{head}");
    let error: Value = serde_json::from_str(&body).expect("a JSON error body");
    assert!(
        error["Message"]
            .as_str()
            .is_some_and(|m| m.contains("within 1 s")),
        "the message names the deadline: {error}"
    );

    // A chunked body that stops after its first chunk.
    let chunked = format!(
        "POST /api/v1/Webhook HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{{\"Nam\r\n"
    );
    let (status, _, body) = split_answer(&api.server.raw_http(chunked.as_bytes()).await);
    assert_eq!(status, 408, "{body}");

    // A SOAP call whose envelope never completes: a SOAP fault with status 408.
    let soap = "POST /Remote/Services88/Webhook.svc HTTP/1.1\r\nHost: x\r\n\
                Content-Type: text/xml; charset=utf-8\r\nSOAPAction: \"x\"\r\n\
                Content-Length: 5000\r\n\r\n<?xml version=\"1.0\"?><s:Envelope";
    let (status, head, body) = split_answer(&api.server.raw_http(soap.as_bytes()).await);
    assert_eq!(status, 408, "{head}\r\n\r\n{body}");
    assert!(head.contains("content-type: text/xml"), "{head}");
    assert!(
        body.contains("Fault") && body.contains("within 1 s"),
        "a SOAP fault naming the deadline: {body}"
    );

    // The server still serves everyone else, and nothing was changed.
    assert_eq!(api.fetch(id).await, hook);
    let health = api
        .server
        .http
        .get(api.server.url("/health"))
        .send()
        .await
        .expect("health");
    assert_eq!(health.status(), 200);
    let reply = api.server.login_as(NS88, "admin", ADMIN_PASSWORD).await;
    assert!(reply.has("Ticket"), "{}", reply.body);
}

#[tokio::test]
async fn a_content_length_over_the_limit_is_refused_at_once() {
    // The default body deadline (30 s) is longer than `raw_http` waits (10 s): a 413 that came
    // only after waiting for the body would fail this test.
    let api = Api::start(&["--no-save-ping", "--max-body-bytes", "4096"]).await;
    let auth = &api.auth;
    let rest = format!(
        "POST /api/v1/Webhook HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n{{\"Name\""
    );
    let (status, head, body) = split_answer(&api.server.raw_http(rest.as_bytes()).await);
    assert_eq!(status, 413, "{head}\r\n\r\n{body}");
    assert!(head.contains("content-type: application/json"), "{head}");
    assert!(body.contains("larger than 4096 bytes"), "{body}");

    let soap = "POST /Remote/Services87/SoPrincipal.svc HTTP/1.1\r\nHost: x\r\n\
                Content-Type: application/soap+xml; charset=utf-8\r\n\
                Content-Length: 1000000000\r\n\r\n<?xml";
    let (status, _, body) = split_answer(&api.server.raw_http(soap.as_bytes()).await);
    assert_eq!(status, 413, "{body}");
    assert!(
        body.contains("Fault") && body.contains("larger than 4096 bytes"),
        "{body}"
    );
}

#[tokio::test]
async fn a_rest_path_that_is_not_utf8_answers_the_json_error() {
    let api = Api::start(&["--no-save-ping"]).await;
    for path in [
        "/api/v1/Webhook/%FF",
        "/api/v1/Webhook/%FF/LastError",
        "/api/v1/Agents/Webhook/Get%C3Webhook",
    ] {
        let method = if path.contains("Agents") {
            reqwest::Method::POST
        } else {
            reqwest::Method::GET
        };
        let message = api.send(method, path, None).await.error(400);
        assert!(
            message.contains("not valid UTF-8") && message.contains(path),
            "{path}: {message}"
        );
    }
}
