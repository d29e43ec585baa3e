//! The REST twins of the Webhook agent (contract §3): every RESTful `/api/v1/Webhook` route and
//! every Agent RPC `/api/v1/Agents/Webhook/{Method}`, with every status code they answer, over
//! real HTTP against the real binary; the same webhook seen through SOAP and REST; SignalEvent by
//! REST reaching a real receiver with the SOAP payload; the OpenAPI document and docs page.

mod support;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use reqwest::Method;
use serde_json::{Value, json};
use support::receiver::{Receiver, Request};
use support::*;

const NO_PING: [&str; 1] = ["--no-save-ping"];
const LOOPBACK: [&str; 4] = [
    "--allow-http-targets",
    "--allow-targets",
    "127.0.0.0/8",
    "--no-save-ping",
];

/// Every member of the Services88 `Webhook` carrier (docs/SOAP.md), as REST names them.
const CARRIER_MEMBERS: [&str; 23] = [
    "WebhookId",
    "Name",
    "Events",
    "TargetUrl",
    "Secret",
    "State",
    "Type",
    "Headers",
    "Properties",
    "Registered",
    "RegisteredAssociate",
    "Updated",
    "UpdatedAssociate",
    "ErrorsEmail",
    "ErrorEmails",
    "ErrorAssociates",
    "Description",
    "NotifyVia",
    "NotifyWhen",
    "TotalCalls",
    "TotalErrors",
    "ConsecutiveErrors",
    "LastError",
];

/// A request of a route table: method, path, (Content-Type, body).
type Route = (Method, String, Option<(&'static str, String)>);

const UNSET_DATE: &str = "0001-01-01T00:00:00";

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// A server and the `Authorization` value of a logged-in admin (a SOAP-issued ticket).
struct Api {
    server: TestServer,
    ticket: String,
    auth: String,
}

impl Api {
    async fn start(args: &[&str]) -> Api {
        let server = TestServer::start(args);
        let ticket = server.ticket().await;
        let auth = format!("SOTicket {ticket}");
        Api {
            server,
            ticket,
            auth,
        }
    }

    /// An authenticated request.
    fn call(&self, method: Method, path: &str) -> Call<'_> {
        self.anon(method, path).header("Authorization", &self.auth)
    }

    /// A request without credentials.
    fn anon(&self, method: Method, path: &str) -> Call<'_> {
        Call {
            server: &self.server,
            method,
            path: path.to_string(),
            headers: Vec::new(),
            body: None,
        }
    }

    fn get(&self, path: &str) -> Call<'_> {
        self.call(Method::GET, path)
    }

    fn post(&self, path: &str) -> Call<'_> {
        self.call(Method::POST, path)
    }

    fn put(&self, path: &str) -> Call<'_> {
        self.call(Method::PUT, path)
    }

    fn patch(&self, path: &str) -> Call<'_> {
        self.call(Method::PATCH, path)
    }

    fn delete(&self, path: &str) -> Call<'_> {
        self.call(Method::DELETE, path)
    }

    /// POST /api/v1/Webhook; asserts 200 and returns the WebhookWithLinks.
    async fn create(&self, body: Value) -> Value {
        self.post("/api/v1/Webhook").json(&body).send().await.ok()
    }

    /// GET /api/v1/Webhook/{id}; asserts 200.
    async fn fetch(&self, id: i64) -> Value {
        self.get(&format!("/api/v1/Webhook/{id}")).send().await.ok()
    }

    /// GET /api/v1/Webhook (no filters); the ids listed.
    async fn list_ids(&self) -> Vec<i64> {
        ids(&self.get("/api/v1/Webhook").send().await.ok())
    }

    /// A Services88 SOAP 1.1 call with the same ticket.
    async fn soap(&self, op: &str, body: &str) -> Reply {
        self.server.call(NS88, SOAP11, &self.ticket, op, body).await
    }

    async fn soap_get(&self, id: i64) -> Reply {
        self.soap(
            "GetWebhook",
            &format!("<tns:WebhookId>{id}</tns:WebhookId>"),
        )
        .await
        .ok()
    }
}

/// One HTTP request being built.
struct Call<'a> {
    server: &'a TestServer,
    method: Method,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
}

impl Call<'_> {
    fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// `body` serialised, as `application/json`.
    fn json(self, body: &Value) -> Self {
        self.raw("application/json", body.to_string())
    }

    fn raw(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self.header("Content-Type", content_type)
    }

    async fn send(self) -> Resp {
        let mut what = format!("{} {}", self.method, self.path);
        for (n, v) in &self.headers {
            if !n.eq_ignore_ascii_case("authorization") {
                what.push_str(&format!(" [{n}: {v}]"));
            }
        }
        if let Some(body) = &self.body {
            let text = String::from_utf8_lossy(body);
            let shown: String = text.chars().take(300).collect();
            what.push_str(&format!(" body={shown}"));
            if text.chars().count() > 300 {
                what.push('…');
            }
        }
        let mut request = self
            .server
            .http
            .request(self.method, self.server.url(&self.path));
        for (n, v) in &self.headers {
            request = request.header(n.as_str(), v.as_str());
        }
        if let Some(body) = self.body {
            request = request.body(body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{what}: request failed: {e}"));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let url = response.url().clone();
        let body = response
            .text()
            .await
            .unwrap_or_else(|e| panic!("{what}: reading the body failed: {e}"));
        Resp {
            what,
            status,
            headers,
            url,
            body,
        }
    }
}

/// An HTTP answer, remembering the request it answers (for failure messages).
struct Resp {
    what: String,
    status: u16,
    headers: reqwest::header::HeaderMap,
    url: url::Url,
    body: String,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn content_type(&self) -> &str {
        self.header("content-type").unwrap_or("")
    }

    fn is_json(&self) -> bool {
        self.content_type()
            .to_ascii_lowercase()
            .starts_with("application/json")
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| {
            panic!(
                "{}: answered {} with a body that is not JSON ({e}): {:?}",
                self.what, self.status, self.body
            )
        })
    }

    fn expect_status(&self, expected: u16) {
        assert_eq!(
            self.status,
            expected,
            "{}: expected HTTP {expected}, got {} with Content-Type {:?} and body {:?}",
            self.what,
            self.status,
            self.content_type(),
            self.body
        );
    }

    /// 200 with a JSON body; returns it.
    fn ok(self) -> Value {
        self.expect_status(200);
        assert!(
            self.is_json(),
            "{}: 200 with Content-Type {:?}, expected application/json",
            self.what,
            self.content_type()
        );
        self.json()
    }

    /// 204 with an empty body.
    fn no_content(self) {
        self.expect_status(204);
        assert!(
            self.body.is_empty(),
            "{}: 204 with a body {:?}",
            self.what,
            self.body
        );
    }

    /// An error answer: `status`, `Content-Type: application/json`, and a body
    /// `{"Error": title, "ErrorType": error_type, "Message": ...}` whose Message contains
    /// `words`. An empty `error_type` accepts any non-empty one.
    fn error(&self, status: u16, error_type: &str, words: &str) -> Value {
        if let Err(problem) = self.check_error(status, error_type, words) {
            panic!("{problem}");
        }
        self.json()
    }

    /// What `error` asserts, as a description of the first mismatch.
    fn check_error(&self, status: u16, error_type: &str, words: &str) -> Result<(), String> {
        let what = &self.what;
        if self.status != status {
            return Err(format!(
                "{what}: expected HTTP {status}, got {} with Content-Type {:?} and body {:?}",
                self.status,
                self.content_type(),
                self.body
            ));
        }
        if !self.is_json() {
            return Err(format!(
                "{what}: error {} with Content-Type {:?}, expected application/json; body {:?}",
                self.status,
                self.content_type(),
                self.body
            ));
        }
        let body: Value = serde_json::from_str(&self.body)
            .map_err(|e| format!("{what}: error body is not JSON ({e}): {:?}", self.body))?;
        for member in ["Error", "ErrorType", "Message"] {
            let text = body.get(member).and_then(Value::as_str).unwrap_or("");
            if text.is_empty() {
                return Err(format!(
                    "{what}: error body lacks a non-empty string {member}: {}",
                    self.body
                ));
            }
        }
        if !error_type.is_empty() && body["ErrorType"] != error_type {
            return Err(format!(
                "{what}: ErrorType {} instead of {error_type:?}; body {}",
                body["ErrorType"], self.body
            ));
        }
        let message = body["Message"].as_str().unwrap_or("");
        if !message.contains(words) {
            return Err(format!(
                "{what}: Message {message:?} should contain {words:?}"
            ));
        }
        Ok(())
    }

    /// 401 with a `WWW-Authenticate` challenge (SOTicket or Basic) and a JSON error body.
    fn unauthorized(&self, error_type: &str) -> Value {
        let body = self.error(401, error_type, "");
        let challenge = self.header("www-authenticate").unwrap_or_else(|| {
            panic!(
                "{}: 401 without a WWW-Authenticate header (headers {:?})",
                self.what, self.headers
            )
        });
        assert!(
            challenge.starts_with("SOTicket") || challenge.contains("Basic"),
            "{}: WWW-Authenticate {challenge:?} offers neither SOTicket nor Basic",
            self.what
        );
        body
    }
}

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", B64.encode(format!("{user}:{password}")))
}

/// A minimal carrier to create.
fn hook(name: &str, events: &[&str], url: &str) -> Value {
    json!({
        "Name": name,
        "Events": events,
        "TargetUrl": url,
        "State": "Active",
        "Type": "webhook",
    })
}

fn id_of(webhook: &Value) -> i64 {
    webhook["WebhookId"]
        .as_i64()
        .unwrap_or_else(|| panic!("no integer WebhookId in {webhook}"))
}

/// The WebhookIds of a JSON array of carriers.
fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .unwrap_or_else(|| panic!("expected a JSON array of webhooks, got {list}"))
        .iter()
        .map(id_of)
        .collect()
}

/// Every Services88 member is present.
fn assert_all_members(webhook: &Value, ctx: &str) {
    let obj = webhook
        .as_object()
        .unwrap_or_else(|| panic!("{ctx}: not a JSON object: {webhook}"));
    let missing: Vec<&str> = CARRIER_MEMBERS
        .iter()
        .copied()
        .filter(|m| !obj.contains_key(*m))
        .collect();
    assert!(
        missing.is_empty(),
        "{ctx}: carrier lacks {missing:?}: {webhook}"
    );
}

/// `_Links.Self` ends with `/api/v1/Webhook/{id}`; returns it.
fn self_link(webhook: &Value, id: i64) -> String {
    let link = webhook["_Links"]["Self"]
        .as_str()
        .unwrap_or_else(|| panic!("no _Links.Self string in {webhook}"))
        .to_string();
    assert!(
        link.ends_with(&format!("/api/v1/Webhook/{id}")),
        "_Links.Self {link:?} should end with /api/v1/Webhook/{id}"
    );
    link
}

/// A member is absent or null.
fn absent_or_null(webhook: &Value, member: &str) -> bool {
    webhook.get(member).is_none_or(Value::is_null)
}

/// GET /api/v1/Webhook{query}: the ids listed, sorted.
async fn list(api: &Api, query: &str) -> Vec<i64> {
    let mut got = ids(&api
        .get(&format!("/api/v1/Webhook{query}"))
        .send()
        .await
        .ok());
    got.sort();
    got
}

/// A delivery body without `EventId` and `Timestamp`: (member names in order, the rest).
fn comparable(request: &Request) -> (Vec<String>, Value) {
    let body = request.json();
    let kept: serde_json::Map<String, Value> = body
        .as_object()
        .unwrap_or_else(|| panic!("delivery body is not an object: {body}"))
        .iter()
        .filter(|(k, _)| *k != "EventId" && *k != "Timestamp")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let keys = kept.keys().cloned().collect();
    (keys, Value::Object(kept))
}

/// `dt` as an HTTP date (IMF-fixdate).
fn http_date(dt: chrono::DateTime<chrono::Utc>) -> String {
    dt.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

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

// ---------------------------------------------------------------------------------------------
// POST /api/v1/Webhook/Test
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn test_pings_the_target_and_answers_a_webhook_result() {
    let receiver = Receiver::start().await;
    let api = Api::start(&LOOPBACK).await;
    let body = hook("tester", &["contact.created"], &receiver.url("/ping"));
    let result = api
        .post("/api/v1/Webhook/Test")
        .json(&body)
        .send()
        .await
        .ok();
    assert_eq!(result["Success"], true, "{result}");
    assert!(result["Message"].is_string(), "{result}");
    let pings = receiver.wait_for_requests(1, Duration::from_secs(10)).await;
    assert_eq!(pings[0].path, "/ping");
    assert_eq!(pings[0].header("x-hook-test"), Some("true"));
    assert_eq!(pings[0].json()["Event"], "test");

    receiver.set_answer(support::receiver::Answer::status(500).with_body("nope"));
    let result = api
        .post("/api/v1/Webhook/Test")
        .json(&body)
        .send()
        .await
        .ok();
    assert_eq!(result["Success"], false, "{result}");
    let message = result["Message"].as_str().unwrap_or("");
    assert!(
        message.contains("500"),
        "Message names the status: {result}"
    );

    api.post("/api/v1/Webhook/Test")
        .json(&hook("tester", &["contact.created"], ""))
        .send()
        .await
        .error(400, "ArgumentException", "TargetUrl");
    assert_eq!(
        api.list_ids().await,
        Vec::<i64>::new(),
        "Test saves nothing"
    );
}

// ---------------------------------------------------------------------------------------------
// SignalEvent and GetLastError
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn signal_event_by_rest_and_agent_delivers_the_same_payload_as_soap() {
    let receiver = Receiver::start().await;
    let api = Api::start(&LOOPBACK).await;
    let mut body = hook("signals", &["contact.changed"], &receiver.url("/hook"));
    body["Properties"] = json!({"tenant": 42});
    api.create(body).await;

    // REST: body = the data object, keys in this order.
    api.post("/api/v1/Webhook/contact.changed/12")
        .raw(
            "application/json",
            r#"{"name":"Acme","count":3,"vip":true}"#,
        )
        .send()
        .await
        .no_content();
    let by_rest = receiver.wait_for_requests(1, Duration::from_secs(10)).await[0].clone();

    // Agent RPC.
    api.post("/api/v1/Agents/Webhook/SignalEvent")
        .raw(
            "application/json",
            r#"{"EventName":"contact.changed","PrimaryKey":12,"Data":{"name":"Acme","count":3,"vip":true}}"#,
        )
        .send()
        .await
        .no_content();
    let by_agent = receiver.wait_for_requests(2, Duration::from_secs(10)).await[1].clone();

    // SOAP, typed the same way.
    api.soap(
        "SignalEvent",
        "<tns:EventName>contact.changed</tns:EventName><tns:PrimaryKey>12</tns:PrimaryKey>\
         <tns:Data>\
         <tns:StringObjectKeyValuePair><tns:Key>name</tns:Key><tns:Value xsi:type=\"xsd:string\">Acme</tns:Value></tns:StringObjectKeyValuePair>\
         <tns:StringObjectKeyValuePair><tns:Key>count</tns:Key><tns:Value xsi:type=\"xsd:int\">3</tns:Value></tns:StringObjectKeyValuePair>\
         <tns:StringObjectKeyValuePair><tns:Key>vip</tns:Key><tns:Value xsi:type=\"xsd:boolean\">true</tns:Value></tns:StringObjectKeyValuePair>\
         </tns:Data>",
    )
    .await
    .ok();
    let by_soap = receiver.wait_for_requests(3, Duration::from_secs(10)).await[2].clone();

    let payload = by_rest.json();
    assert_eq!(payload["Event"], "contact.changed", "{payload}");
    assert_eq!(payload["PrimaryKey"], 12, "{payload}");
    assert_eq!(payload["Entity"], "contact", "{payload}");
    assert_eq!(
        payload["Changes"],
        json!(["name", "count", "vip"]),
        "{payload}"
    );
    assert_eq!(
        payload["FieldValues"],
        json!({"name": "Acme", "count": 3, "vip": true}),
        "{payload}"
    );
    let field_keys: Vec<&String> = payload["FieldValues"].as_object().unwrap().keys().collect();
    assert_eq!(
        field_keys,
        ["name", "count", "vip"],
        "FieldValues keep order"
    );
    assert_eq!(payload["tenant"], 42, "Properties are merged: {payload}");

    let soap = comparable(&by_soap);
    assert_eq!(
        comparable(&by_rest),
        soap,
        "REST SignalEvent payload vs SOAP"
    );
    assert_eq!(
        comparable(&by_agent),
        soap,
        "Agent SignalEvent payload vs SOAP"
    );
    for request in [&by_rest, &by_agent] {
        for header in ["x-superoffice-event", "content-type", "user-agent"] {
            assert_eq!(
                request.header(header),
                by_soap.header(header),
                "{header} as by SOAP"
            );
        }
    }
    assert_ne!(by_rest.event_id(), by_soap.event_id(), "distinct events");
}

#[tokio::test]
async fn signal_event_rejects_bad_names_keys_and_bodies() {
    let api = Api::start(&NO_PING).await;
    api.post("/api/v1/Webhook/contact%20created/1")
        .json(&json!({}))
        .send()
        .await
        .error(400, "ArgumentException", "EventName");
    let reply = api
        .post("/api/v1/Webhook/contact.created/abc")
        .json(&json!({}))
        .send()
        .await;
    assert!(
        reply.status == 400 || reply.status == 404,
        "{}: expected 400 or 404, got {} {:?}",
        reply.what,
        reply.status,
        reply.body
    );
    reply.error(reply.status, "", "");
    for bad in ["[1,2]", r#"{"name":"#, "\"text\""] {
        api.post("/api/v1/Webhook/contact.created/1")
            .raw("application/json", bad)
            .send()
            .await
            .error(400, "", "");
    }
    // No subscriber is not an error.
    api.post("/api/v1/Webhook/nobody.listens/1")
        .json(&json!({"x": 1}))
        .send()
        .await
        .no_content();
}

#[tokio::test]
async fn last_error_is_a_json_string_by_rest_agent_and_soap() {
    let receiver = Receiver::start().await;
    receiver.set_answer(support::receiver::Answer::status(500).with_body("boom"));
    let mut args = LOOPBACK.to_vec();
    args.extend(["--retry-delays-ms", "10,10"]);
    let api = Api::start(&args).await;
    let id = id_of(
        &api.create(hook("failing", &["person.changed"], &receiver.url("/f")))
            .await,
    );
    let path = format!("/api/v1/Webhook/{id}/LastError");
    let fresh = api.get(&path).send().await.ok();
    assert_eq!(fresh, json!(""), "no error yet: a JSON string");

    api.post("/api/v1/Webhook/person.changed/7")
        .json(&json!({}))
        .send()
        .await
        .no_content();
    receiver.wait_for_requests(3, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let last = api.get(&path).send().await.ok();
    let text = last
        .as_str()
        .unwrap_or_else(|| panic!("LastError is not a JSON string: {last}"));
    assert!(text.starts_with("HTTP/1.1 500"), "{text}");
    assert!(text.ends_with("boom"), "{text}");
    let via_soap = api
        .soap(
            "GetLastError",
            &format!("<tns:WebhookId>{id}</tns:WebhookId>"),
        )
        .await
        .ok();
    assert_eq!(via_soap.text("Response").as_deref(), Some(text), "as SOAP");
    let via_agent = api
        .post("/api/v1/Agents/Webhook/GetLastError")
        .json(&json!({"WebhookId": id}))
        .send()
        .await
        .ok();
    assert_eq!(via_agent, last, "as the agent route");

    api.get("/api/v1/Webhook/999999/LastError")
        .send()
        .await
        .error(404, "NotFoundException", "999999");
    api.post("/api/v1/Agents/Webhook/GetLastError")
        .json(&json!({"WebhookId": 999999}))
        .send()
        .await
        .error(404, "NotFoundException", "999999");
}

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

// ---------------------------------------------------------------------------------------------
// Body limits and media types
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn bodies_over_the_limit_are_413() {
    let api = Api::start(&["--no-save-ping", "--max-body-bytes", "4096"]).await;
    let padded = |n: usize| {
        let mut body = hook("padded", &["contact.created"], "https://example.com/p");
        body["Properties"] = json!({"pad": "x".repeat(n)});
        body
    };
    let small = padded(3000);
    assert!(small.to_string().len() < 4096);
    let id = id_of(&api.create(small).await);
    let big = padded(5000);
    assert!(big.to_string().len() > 4096);
    api.post("/api/v1/Webhook")
        .json(&big)
        .send()
        .await
        .error(413, "", "");
    api.put(&format!("/api/v1/Webhook/{id}"))
        .json(&big)
        .send()
        .await
        .error(413, "", "");
    api.post("/api/v1/Agents/Webhook/SaveWebhook")
        .json(&big)
        .send()
        .await
        .error(413, "", "");
    api.post("/api/v1/Webhook/contact.created/1")
        .json(&json!({"pad": "x".repeat(5000)}))
        .send()
        .await
        .error(413, "", "");
    // Without a Content-Length (chunked), the limit holds too.
    let big = big.to_string();
    let request = format!(
        "POST /api/v1/Webhook HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
         {:x}\r\n{big}\r\n0\r\n\r\n",
        api.auth,
        big.len()
    );
    let answer = api.server.raw_http(request.as_bytes()).await;
    assert!(
        answer.starts_with("HTTP/1.1 413"),
        "chunked body over the limit: {answer}"
    );
    assert_eq!(api.list_ids().await, vec![id], "nothing else saved");
}

#[tokio::test]
async fn wrong_content_types_are_415() {
    let api = Api::start(&NO_PING).await;
    let id = id_of(
        &api.create(hook("typed", &["contact.created"], "https://example.com/t"))
            .await,
    );
    let body = hook("plain", &["contact.created"], "https://example.com/x").to_string();
    let cases = [
        (Method::POST, "/api/v1/Webhook".to_string()),
        (Method::PUT, format!("/api/v1/Webhook/{id}")),
        (Method::PATCH, format!("/api/v1/Webhook/{id}")),
        (Method::POST, "/api/v1/Webhook/Test".to_string()),
        (
            Method::POST,
            "/api/v1/Webhook/contact.created/1".to_string(),
        ),
        (
            Method::POST,
            "/api/v1/Agents/Webhook/SaveWebhook".to_string(),
        ),
    ];
    for (method, path) in cases {
        for ct in ["text/plain", "application/x-www-form-urlencoded"] {
            api.call(method.clone(), &path)
                .raw(ct, body.clone())
                .send()
                .await
                .error(415, "", "");
        }
    }
    assert_eq!(api.list_ids().await, vec![id]);
    assert_eq!(api.fetch(id).await["Name"], "typed", "nothing changed");
}

#[tokio::test]
async fn json_media_type_variants_are_accepted() {
    let api = Api::start(&NO_PING).await;
    // A charset parameter, and `text/json` (contract §3 lists it).
    for ct in ["application/json; charset=utf-8", "text/json"] {
        api.post("/api/v1/Webhook")
            .raw(
                ct,
                hook(ct, &["contact.created"], "https://example.com/j").to_string(),
            )
            .send()
            .await
            .ok();
    }
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

#[tokio::test]
async fn unknown_api_paths_and_wrong_methods_answer_json_errors() {
    let api = Api::start(&NO_PING).await;
    let id = id_of(
        &api.create(hook("m", &["contact.created"], "https://example.com/m"))
            .await,
    );
    // Every 4xx answer under /api carries the JSON error body.
    let mut problems = Vec::new();
    for path in [
        "/api/v1/Nope".to_string(),
        "/api/v1/Webhook/1/Nope".to_string(),
        "/api/v2/Webhook".to_string(),
    ] {
        let reply = api.get(&path).send().await;
        if let Err(p) = reply.check_error(404, "", "") {
            problems.push(p);
        }
    }
    let wrong_methods = [
        (Method::DELETE, "/api/v1/Webhook".to_string()),
        (Method::PUT, "/api/v1/Webhook/default".to_string()),
        (Method::POST, format!("/api/v1/Webhook/{id}")),
        (
            Method::GET,
            "/api/v1/Agents/Webhook/GetAllWebhooks".to_string(),
        ),
    ];
    for (method, path) in wrong_methods {
        let reply = api.call(method, &path).send().await;
        if let Err(p) = reply.check_error(405, "", "") {
            problems.push(p);
        }
        if reply.header("allow").is_none() {
            problems.push(format!("{}: 405 without an Allow header", reply.what));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// OpenAPI and the docs page
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn openapi_document_describes_the_rest_routes() {
    let api = Api::start(&NO_PING).await;
    let doc = api.anon(Method::GET, "/api/openapi.json").send().await.ok();
    let version = doc["openapi"].as_str().unwrap_or("");
    assert!(version.starts_with("3."), "openapi version {version:?}");
    let paths = doc["paths"]
        .as_object()
        .unwrap_or_else(|| panic!("no paths object in the OpenAPI document"));
    let keys: Vec<&String> = paths.keys().collect();
    for path in [
        "/api/v1/Webhook",
        "/api/v1/Webhook/default",
        "/api/v1/Webhook/Test",
    ] {
        assert!(paths.contains_key(path), "no {path} in {keys:?}");
    }
    let webhook = &paths["/api/v1/Webhook"];
    assert!(
        webhook.get("get").is_some() && webhook.get("post").is_some(),
        "/api/v1/Webhook has get and post: {webhook}"
    );
    let by_id = paths
        .iter()
        .find(|(k, v)| {
            k.starts_with("/api/v1/Webhook/{")
                && k.matches('/').count() == 4
                && v.get("patch").is_some()
        })
        .unwrap_or_else(|| panic!("no /api/v1/Webhook/{{id}} path with patch in {keys:?}"));
    for method in ["get", "put", "patch", "delete"] {
        assert!(by_id.1.get(method).is_some(), "{} lacks {method}", by_id.0);
    }
    assert!(
        keys.iter().any(|k| k.ends_with("/LastError")),
        "no LastError path in {keys:?}"
    );
    assert!(
        keys.iter()
            .any(|k| k.starts_with("/api/v1/Agents/Webhook/")),
        "no Agent RPC path in {keys:?}"
    );
}

#[tokio::test]
async fn docs_page_is_served_offline() {
    let api = Api::start(&NO_PING).await;
    let mut page = api.anon(Method::GET, "/api/docs").send().await;
    if page.status != 200 {
        page = api.anon(Method::GET, "/api/docs/").send().await;
    }
    page.expect_status(200);
    assert!(
        page.content_type().starts_with("text/html"),
        "{}: Content-Type {:?}",
        page.what,
        page.content_type()
    );
    let html = page.body.to_ascii_lowercase();
    assert!(html.contains("<html"), "not an HTML page: {}", page.body);
    assert!(
        !html.contains("://cdn") && !html.contains("unpkg.com") && !html.contains("jsdelivr"),
        "the page loads assets from a CDN: {}",
        page.body
    );
    // Every script and stylesheet is local, and loads.
    let mut assets = Vec::new();
    for attr in ["src=\"", "href=\""] {
        for (start, _) in html.match_indices(attr) {
            let rest = &page.body[start + attr.len()..];
            let end = rest.find('"').unwrap_or(rest.len());
            assets.push(rest[..end].to_string());
        }
    }
    let mut local_sources = Vec::new();
    for asset in assets
        .iter()
        .filter(|a| a.ends_with(".js") || a.ends_with(".css"))
    {
        assert!(
            !asset.starts_with("http:") && !asset.starts_with("https:") && !asset.starts_with("//"),
            "external asset {asset:?} in the docs page"
        );
        let url = page.url.join(asset).expect("asset URL");
        let response = api
            .server
            .http
            .get(url.clone())
            .send()
            .await
            .expect("GET asset");
        assert_eq!(response.status().as_u16(), 200, "docs asset {url}");
        let text = response.text().await.expect("asset body");
        // The UI is pointed at hookwire's document, not Swagger's demo Petstore.
        if !asset.contains("bundle") {
            assert!(
                !text.contains("petstore.swagger.io"),
                "docs asset {url} loads the Petstore demo"
            );
        }
        local_sources.push(text);
    }
    assert!(
        page.body.contains("/api/openapi.json")
            || local_sources
                .iter()
                .any(|t| t.contains("/api/openapi.json")),
        "neither the docs page nor its scripts point at /api/openapi.json"
    );
}
