//! Speaking SOAP to the server: envelopes, logins, Webhook.svc calls, and the XML answer.

use super::{ADMIN_PASSWORD, TestServer};

pub const NS87: &str = "http://www.superoffice.net/ws/crm/NetServer/Services87";
pub const NS88: &str = "http://www.superoffice.net/ws/crm/NetServer/Services88";
pub const SOAP11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub const SOAP12: &str = "http://www.w3.org/2003/05/soap-envelope";

impl TestServer {
    /// POSTs `body` to `path` with the content type of `soap` version (1.1 adds a SOAPAction).
    pub async fn post_soap(&self, path: &str, soap: &str, action: &str, body: String) -> Reply {
        let request = self.http.post(self.url(path)).body(body);
        let request = if soap == SOAP12 {
            request.header(
                "Content-Type",
                format!("application/soap+xml; charset=utf-8; action=\"{action}\""),
            )
        } else {
            request
                .header("Content-Type", "text/xml; charset=utf-8")
                .header("SOAPAction", format!("\"{action}\""))
        };
        Reply::from(request.send().await.expect("send")).await
    }

    /// Logs in through SoPrincipal.svc and returns the ticket.
    pub async fn login_as(&self, ns: &str, user: &str, password: &str) -> Reply {
        let body = format!(
            "<tns:AuthenticateUsernamePassword><tns:UserName>{user}</tns:UserName><tns:Password>{password}</tns:Password></tns:AuthenticateUsernamePassword>"
        );
        let ver = version_segment(ns);
        self.post_soap(
            &format!("/Remote/{ver}/SoPrincipal.svc"),
            SOAP11,
            &format!("{ns}/SoPrincipal/AuthenticateUsernamePassword"),
            envelope(SOAP11, ns, "", &body),
        )
        .await
    }

    pub async fn ticket(&self) -> String {
        let reply = self.login_as(NS88, "admin", ADMIN_PASSWORD).await;
        reply.text("Ticket").expect("login gives a ticket")
    }

    /// Calls a Webhook.svc operation: `body` is the operation element's content.
    pub async fn call(&self, ns: &str, soap: &str, ticket: &str, op: &str, body: &str) -> Reply {
        self.call_with_token(ns, soap, ticket, None, op, body).await
    }

    /// A call whose only parameter is `WebhookId` (GetWebhook, DeleteWebhook, GetLastError).
    pub async fn call_on_webhook(
        &self,
        ns: &str,
        soap: &str,
        ticket: &str,
        op: &str,
        id: impl std::fmt::Display,
    ) -> Reply {
        let body = format!("<tns:WebhookId>{id}</tns:WebhookId>");
        self.call(ns, soap, ticket, op, &body).await
    }

    pub async fn call_with_token(
        &self,
        ns: &str,
        soap: &str,
        ticket: &str,
        app_token: Option<&str>,
        op: &str,
        body: &str,
    ) -> Reply {
        let token = app_token
            .map(|t| format!("<tns:ApplicationToken>{t}</tns:ApplicationToken>"))
            .unwrap_or_default();
        let header =
            format!("{token}<tns:Credentials><tns:Ticket>{ticket}</tns:Ticket></tns:Credentials>");
        let op_xml = format!("<tns:{op}>{body}</tns:{op}>");
        self.post_soap(
            &format!("/Remote/{}/Webhook.svc", version_segment(ns)),
            soap,
            &format!("{ns}/Webhook/{op}"),
            envelope(soap, ns, &header, &op_xml),
        )
        .await
    }
}

pub fn version_segment(ns: &str) -> &'static str {
    if ns == NS87 {
        "Services87"
    } else {
        "Services88"
    }
}
/// A SOAP envelope with `tns` bound to `ns`, header blocks inside `<Header>`.
pub fn envelope(soap: &str, ns: &str, header: &str, body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\
         <s:Envelope xmlns:s=\"{soap}\" xmlns:tns=\"{ns}\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" \
         xmlns:arr=\"http://schemas.microsoft.com/2003/10/Serialization/Arrays\">\
         <s:Header>{header}</s:Header><s:Body>{body}</s:Body></s:Envelope>"
    )
}

/// A webhook carrier's XML, with the given members.
pub fn webhook_xml(id: i32, name: &str, events: &[&str], target: &str, extra: &str) -> String {
    let events: String = events
        .iter()
        .map(|e| format!("<arr:string>{e}</arr:string>"))
        .collect();
    format!(
        "<tns:Webhook><tns:WebhookId>{id}</tns:WebhookId><tns:Name>{name}</tns:Name>\
         <tns:Events>{events}</tns:Events><tns:TargetUrl>{target}</tns:TargetUrl>{extra}</tns:Webhook>"
    )
}

/// An HTTP answer, with XML helpers.
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

impl Reply {
    pub async fn from(response: reqwest::Response) -> Reply {
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let body = response.text().await.expect("body");
        Reply {
            status,
            content_type,
            body,
        }
    }

    pub fn doc(&self) -> roxmltree::Document<'_> {
        roxmltree::Document::parse(&self.body)
            .unwrap_or_else(|e| panic!("reply is not XML ({e}): {}", self.body))
    }

    /// Text of the first element with local name `local`.
    pub fn text(&self, local: &str) -> Option<String> {
        let doc = self.doc();
        doc.descendants()
            .find(|n| n.is_element() && n.tag_name().name() == local)
            .map(|n| n.text().unwrap_or("").to_string())
    }

    /// Texts of every element with local name `local`.
    pub fn texts(&self, local: &str) -> Vec<String> {
        let doc = self.doc();
        doc.descendants()
            .filter(|n| n.is_element() && n.tag_name().name() == local)
            .map(|n| n.text().unwrap_or("").to_string())
            .collect()
    }

    pub fn has(&self, local: &str) -> bool {
        self.text(local).is_some()
    }

    /// `Succeeded` header, asserting it is present.
    pub fn succeeded(&self) -> bool {
        match self.text("Succeeded").as_deref() {
            Some("true") => true,
            Some("false") => false,
            other => panic!("no Succeeded header ({other:?}): {}", self.body),
        }
    }

    /// Panics with the exception if the call did not succeed.
    pub fn ok(self) -> Reply {
        assert_eq!(self.status, 200, "{}", self.body);
        assert!(
            self.succeeded(),
            "call failed: {:?} {:?}",
            self.text("ExceptionType"),
            self.text("Message")
        );
        self
    }

    pub fn exception(&self) -> (String, String) {
        assert_eq!(self.status, 200, "{}", self.body);
        assert!(!self.succeeded(), "expected an exception: {}", self.body);
        (
            self.text("ExceptionType").unwrap_or_default(),
            self.text("Message").unwrap_or_default(),
        )
    }

    /// A fault's text (1.1 faultstring or 1.2 Reason/Text) and code.
    pub fn fault(&self) -> (String, String) {
        let code = self
            .text("faultcode")
            .or_else(|| self.text("Value"))
            .unwrap_or_else(|| panic!("not a fault: {}", self.body));
        let text = self
            .text("faultstring")
            .or_else(|| self.text("Text"))
            .unwrap_or_default();
        (code, text)
    }

    /// Whether the `Response` element is `xsi:nil`.
    pub fn response_is_nil(&self) -> bool {
        let doc = self.doc();
        let response = doc
            .descendants()
            .find(|n| n.is_element() && n.tag_name().name() == "Response")
            .unwrap_or_else(|| panic!("no Response: {}", self.body));
        response.attribute(("http://www.w3.org/2001/XMLSchema-instance", "nil")) == Some("true")
    }

    /// The `Response` subtree as (path, text) pairs, for comparing two carriers.
    pub fn response_fields(&self) -> Vec<(String, String)> {
        let doc = self.doc();
        let response = doc
            .descendants()
            .find(|n| n.is_element() && n.tag_name().name() == "Response")
            .unwrap_or_else(|| panic!("no Response: {}", self.body));
        let mut out = Vec::new();
        for n in response.descendants().filter(|n| n.is_element()) {
            let path: Vec<&str> = n
                .ancestors()
                .take_while(|a| *a != response)
                .filter(|a| a.is_element())
                .map(|a| a.tag_name().name())
                .collect();
            let path: Vec<&str> = path.into_iter().rev().collect();
            let ty = n
                .attribute(("http://www.w3.org/2001/XMLSchema-instance", "type"))
                .unwrap_or("");
            out.push((
                format!("{} {ty}", path.join("/")),
                n.text().unwrap_or("").trim().to_string(),
            ));
        }
        out
    }
}
