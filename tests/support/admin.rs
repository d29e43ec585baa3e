//! The admin page over plain HTTP, for what a browser would hide: status codes, headers,
//! cookies, requests another site could forge. [`AdminHttp`] holds a signed-in session.

use reqwest::header::{COOKIE, HeaderMap, SET_COOKIE};

use super::{ADMIN_PASSWORD, TestServer};

/// One answer: status, headers, body.
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    /// A header's value, empty when absent.
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    }

    /// Every `Set-Cookie` of the answer.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_string)
            .collect()
    }
}

/// A client of the admin page that follows no redirect, with the cookies it was given.
pub struct AdminHttp {
    http: reqwest::Client,
    base: String,
    /// The `Cookie` header sent: `name=value; ...`.
    pub cookies: String,
}

impl AdminHttp {
    /// A client without a session.
    pub fn anonymous(server: &TestServer) -> AdminHttp {
        AdminHttp {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("an HTTP client"),
            base: server.base.clone(),
            cookies: String::new(),
        }
    }

    /// Signs in as `admin` and keeps the session cookies.
    pub async fn sign_in(server: &TestServer) -> AdminHttp {
        AdminHttp::sign_in_for_app(server, "").await
    }

    /// Signs in as `admin` with an application token (empty: none), as online-mode
    /// integrations do, and keeps the session cookies.
    pub async fn sign_in_for_app(server: &TestServer, app_token: &str) -> AdminHttp {
        let mut client = AdminHttp::anonymous(server);
        let answer = client
            .post(
                "/admin/signin",
                &[
                    ("user", "admin"),
                    ("password", ADMIN_PASSWORD),
                    ("app_token", app_token),
                ],
            )
            .await;
        assert_eq!(answer.status, 303, "sign-in: {}", answer.body);
        client.cookies = answer
            .set_cookies()
            .iter()
            .filter(|c| !c.contains("Max-Age=0"))
            .filter_map(|c| c.split(';').next())
            .collect::<Vec<_>>()
            .join("; ");
        client
    }

    pub async fn get(&self, path: &str) -> Answer {
        let request = self.http.get(format!("{}{path}", self.base));
        answer(self.with_cookies(request).send().await.expect("GET")).await
    }

    /// POSTs `fields` as a form (`application/x-www-form-urlencoded`).
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        answer(self.with_cookies(request).send().await.expect("POST")).await
    }

    /// The CSRF token of this session, as the list page carries it.
    pub async fn csrf_token(&self) -> String {
        let page = self.get("/admin").await;
        let marker = r#"name="csrf-token" content=""#;
        let start = page
            .body
            .find(marker)
            .unwrap_or_else(|| panic!("no CSRF token on the page: {}", page.body))
            + marker.len();
        page.body[start..]
            .split('"')
            .next()
            .unwrap_or_default()
            .to_string()
    }

    fn with_cookies(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        if self.cookies.is_empty() {
            request
        } else {
            request.header(COOKIE, &self.cookies)
        }
    }
}

async fn answer(response: reqwest::Response) -> Answer {
    Answer {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.text().await.expect("the body"),
    }
}
