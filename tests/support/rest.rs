//! Speaking REST to the server: `Api` (a server and a logged-in admin) builds requests
//! (`Call`), and `Resp` checks the answer with failure messages that name the request.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use reqwest::Method;
use serde_json::Value;

use super::{ADMIN_PASSWORD, NS88, Reply, SOAP11, TestServer};

/// A server and the `Authorization` value of a logged-in admin (a SOAP-issued ticket).
pub struct Api {
    pub server: TestServer,
    pub ticket: String,
    pub auth: String,
}

impl Api {
    pub async fn start(args: &[&str]) -> Api {
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
    pub fn call(&self, method: Method, path: &str) -> Call<'_> {
        self.anon(method, path).header("Authorization", &self.auth)
    }

    /// A request without credentials.
    pub fn anon(&self, method: Method, path: &str) -> Call<'_> {
        Call {
            server: &self.server,
            method,
            path: path.to_string(),
            headers: Vec::new(),
            body: None,
        }
    }

    pub fn get(&self, path: &str) -> Call<'_> {
        self.call(Method::GET, path)
    }

    pub fn post(&self, path: &str) -> Call<'_> {
        self.call(Method::POST, path)
    }

    pub fn put(&self, path: &str) -> Call<'_> {
        self.call(Method::PUT, path)
    }

    pub fn patch(&self, path: &str) -> Call<'_> {
        self.call(Method::PATCH, path)
    }

    pub fn delete(&self, path: &str) -> Call<'_> {
        self.call(Method::DELETE, path)
    }

    /// POST /api/v1/Webhook; asserts 200 and returns the WebhookWithLinks.
    pub async fn create(&self, body: Value) -> Value {
        self.post("/api/v1/Webhook").json(&body).send().await.ok()
    }

    /// GET /api/v1/Webhook/{id}; asserts 200.
    pub async fn fetch(&self, id: i64) -> Value {
        self.get(&format!("/api/v1/Webhook/{id}")).send().await.ok()
    }

    /// GET /api/v1/Webhook (no filters); the ids listed.
    pub async fn list_ids(&self) -> Vec<i64> {
        ids(&self.get("/api/v1/Webhook").send().await.ok())
    }

    /// Two applications registered on this server's database (`hookwire app add`): their
    /// tokens, for online-mode tests of who may see what.
    pub fn two_apps(&self) -> (String, String) {
        let db = self.server.database_url();
        let token = |name: &str| {
            let (ok, out, err) = super::cli(&["app", "add", name, "--database", &db]);
            assert!(ok, "app add {name}: {err}");
            out.trim().to_string()
        };
        (token("app-a"), token("app-b"))
    }

    /// As application `app` (its token), signals `contact.created` 1 and answers the id of the
    /// delivery it made for webhook `id`, once the delivery log lists it.
    pub async fn delivery_as(&self, app: &str, id: i64) -> i64 {
        self.post("/api/v1/Webhook/contact.created/1")
            .header("SO-AppToken", app)
            .raw("application/json", "{}")
            .send()
            .await
            .no_content();
        let list = format!("/api/v1/Webhook/{id}/Deliveries");
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let page = self.get(&list).header("SO-AppToken", app).send().await.ok();
            if let Some(d) = page["Deliveries"].as_array().and_then(|all| all.first()) {
                return d["DeliveryId"].as_i64().unwrap_or_default();
            }
            assert!(tokio::time::Instant::now() < deadline, "{page}");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// SignalEvent over REST (`POST /api/v1/Webhook/{event}/{key}`, no data); asserts 204.
    pub async fn signal(&self, event: &str, key: i32) {
        self.post(&format!("/api/v1/Webhook/{event}/{key}"))
            .raw("application/json", "{}")
            .send()
            .await
            .no_content();
    }

    /// GET `path` (asserting 200) until `done` holds for the answer, which it returns; fails
    /// after 20 s.
    pub async fn get_when(&self, path: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let answer = self.get(path).send().await.ok();
            if done(&answer) {
                return answer;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "GET {path} never got there: {answer}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// A Services88 SOAP 1.1 call with the same ticket.
    pub async fn soap(&self, op: &str, body: &str) -> Reply {
        self.server.call(NS88, SOAP11, &self.ticket, op, body).await
    }

    pub async fn soap_get(&self, id: i64) -> Reply {
        self.soap(
            "GetWebhook",
            &format!("<tns:WebhookId>{id}</tns:WebhookId>"),
        )
        .await
        .ok()
    }
}

/// One HTTP request being built.
pub struct Call<'a> {
    server: &'a TestServer,
    method: Method,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
}

impl Call<'_> {
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// `body` serialised, as `application/json`.
    pub fn json(self, body: &Value) -> Self {
        self.raw("application/json", body.to_string())
    }

    pub fn raw(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self.header("Content-Type", content_type)
    }

    pub async fn send(self) -> Resp {
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
pub struct Resp {
    pub what: String,
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub url: url::Url,
    pub body: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn content_type(&self) -> &str {
        self.header("content-type").unwrap_or("")
    }

    pub fn is_json(&self) -> bool {
        self.content_type()
            .to_ascii_lowercase()
            .starts_with("application/json")
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| {
            panic!(
                "{}: answered {} with a body that is not JSON ({e}): {:?}",
                self.what, self.status, self.body
            )
        })
    }

    pub fn expect_status(&self, expected: u16) {
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
    pub fn ok(self) -> Value {
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
    pub fn no_content(self) {
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
    pub fn error(&self, status: u16, error_type: &str, words: &str) -> Value {
        if let Err(problem) = self.check_error(status, error_type, words) {
            panic!("{problem}");
        }
        self.json()
    }

    /// What `error` asserts, as a description of the first mismatch.
    pub fn check_error(&self, status: u16, error_type: &str, words: &str) -> Result<(), String> {
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
    pub fn unauthorized(&self, error_type: &str) -> Value {
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

/// A Basic `Authorization` value.
pub fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", B64.encode(format!("{user}:{password}")))
}

/// The `WebhookId` of a carrier.
pub fn id_of(webhook: &Value) -> i64 {
    webhook["WebhookId"]
        .as_i64()
        .unwrap_or_else(|| panic!("no integer WebhookId in {webhook}"))
}

/// The WebhookIds of a JSON array of carriers.
pub fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .unwrap_or_else(|| panic!("expected a JSON array of webhooks, got {list}"))
        .iter()
        .map(id_of)
        .collect()
}

impl TestServer {
    /// `GET path` over REST as `admin` (Basic), its JSON body.
    pub async fn get_json(&self, path: &str) -> Value {
        let response = self
            .http
            .get(self.url(path))
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .send()
            .await
            .expect("GET over REST");
        let text = response.text().await.expect("the body");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("GET {path}: not JSON ({e}): {text}"))
    }

    /// The delivery queue counts from `/metrics`: (pending, delivered, dead).
    pub async fn queue(&self) -> (i64, i64, i64) {
        let text = self
            .http
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("metrics body");
        let get = |status: &str| -> i64 {
            let key = format!("hookwire_deliveries{{status=\"{status}\"}} ");
            text.lines()
                .find_map(|l| l.strip_prefix(&key))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or_else(|| panic!("no {key} in {text}"))
        };
        (get("pending"), get("delivered"), get("dead"))
    }
}
