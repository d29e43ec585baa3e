//! The webhook as clients send it ([`WebhookInput`]), as the agent accepts it ([`WebhookSpec`])
//! and as it is stored ([`WebhookRecord`]).

use super::{
    DeliveryOrder, EventName, Millis, NotifyVia, NotifyWhen, PreviousSecret, TypedValue,
    WebhookState,
};

/// Longest `Name`: NetServer's column is String(400).
pub const MAX_NAME: usize = 400;
/// Longest `TargetUrl`, `Secret` text columns: String(4000) and String(400) in NetServer.
const MAX_URL: usize = 4000;
const MAX_SECRET: usize = 400;

/// A webhook as a client sent it: every member optional, nothing checked yet.
///
/// `None` means the element was absent (keep the stored value on update, default on create);
/// `Some(None)` means it was explicitly null (`xsi:nil`, JSON `null`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WebhookInput {
    pub webhook_id: i32,
    pub name: Option<Option<String>>,
    pub events: Option<Vec<String>>,
    pub target_url: Option<Option<String>>,
    pub secret: Option<Option<String>>,
    pub state: Option<WebhookState>,
    pub kind: Option<Option<String>>,
    pub headers: Option<Vec<(String, String)>>,
    pub properties: Option<Vec<(String, TypedValue)>>,
    pub errors_email: Option<Option<String>>,
    pub error_emails: Option<Vec<String>>,
    pub error_associates: Option<Vec<i32>>,
    pub description: Option<Option<String>>,
    pub notify_via: Option<NotifyVia>,
    pub notify_when: Option<NotifyWhen>,
    /// hookwire's; SOAP carriers never set it, so a SOAP save keeps the stored value.
    pub delivery_order: Option<DeliveryOrder>,
}

/// A webhook's `Name`: 1 to 400 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookName(String);

impl WebhookName {
    pub fn parse(raw: Option<&str>) -> Result<Self, String> {
        let name = raw.map(str::trim).unwrap_or("");
        if name.is_empty() {
            return Err("Name is required and must not be empty".into());
        }
        if name.chars().count() > MAX_NAME {
            return Err(format!("Name is longer than {MAX_NAME} characters"));
        }
        Ok(WebhookName(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `Type`: the delivery plugin. Only HTTP POST (`webhook`) runs in hookwire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookKind {
    Webhook,
}

impl WebhookKind {
    pub fn parse(raw: Option<&str>) -> Result<Self, String> {
        match raw.map(str::trim).unwrap_or("") {
            "" => Ok(WebhookKind::Webhook),
            t if t.eq_ignore_ascii_case("webhook") => Ok(WebhookKind::Webhook),
            t if t.eq_ignore_ascii_case("crmscript") => Err(
                "Type 'crmscript' is not supported: hookwire runs no CRMScript; use Type 'webhook'"
                    .into(),
            ),
            t => Err(format!(
                "Type '{t}' is unknown; the supported Type is 'webhook'"
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        "webhook"
    }
}

/// A `TargetUrl` that is an absolute http(s) URL with a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetUrl(String);

impl TargetUrl {
    /// `allow_http`: accept `http://` (the server's `--allow-http-targets`); https otherwise.
    pub fn parse(raw: Option<&str>, allow_http: bool) -> Result<Self, String> {
        let text = raw.map(str::trim).unwrap_or("");
        if text.is_empty() {
            return Err("TargetUrl is required and must not be empty".into());
        }
        if text.len() > MAX_URL {
            return Err(format!("TargetUrl is longer than {MAX_URL} characters"));
        }
        let url = url::Url::parse(text)
            .map_err(|e| format!("TargetUrl '{text}' is not an absolute URL: {e}"))?;
        match url.scheme() {
            "https" => {}
            "http" if allow_http => {}
            "http" => {
                return Err(format!(
                    "TargetUrl '{text}' must use https (this server accepts http targets only \
                     when started with --allow-http-targets)"
                ));
            }
            s => return Err(format!("TargetUrl '{text}' has scheme '{s}'; use https")),
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(format!("TargetUrl '{text}' has no host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(
                "TargetUrl must not carry credentials; use Headers for authentication".into(),
            );
        }
        Ok(TargetUrl(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A checked webhook definition, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookSpec {
    pub name: WebhookName,
    pub events: Vec<EventName>,
    pub target_url: TargetUrl,
    pub secret: Option<String>,
    pub state: WebhookState,
    pub kind: WebhookKind,
    pub headers: Vec<(String, String)>,
    pub properties: Vec<(String, TypedValue)>,
    pub errors_email: Option<String>,
    pub error_emails: Vec<String>,
    pub error_associates: Vec<i32>,
    pub description: Option<String>,
    pub notify_via: NotifyVia,
    pub notify_when: NotifyWhen,
    pub delivery_order: DeliveryOrder,
}

impl WebhookSpec {
    /// Checks `input`, completed by `base` (the stored webhook on update), against every rule
    /// of SaveWebhook. The error names the first invalid member.
    pub fn from_input(
        input: &WebhookInput,
        base: Option<&WebhookRecord>,
        allow_http: bool,
    ) -> Result<WebhookSpec, String> {
        fn pick<T: Clone>(given: &Option<T>, stored: Option<T>) -> Option<T> {
            given.clone().or(stored)
        }
        let name = pick(&input.name, base.map(|b| Some(b.name.clone()))).flatten();
        let events = pick(&input.events, base.map(|b| b.events.clone())).unwrap_or_default();
        let target = pick(&input.target_url, base.map(|b| Some(b.target_url.clone()))).flatten();
        let secret = pick(&input.secret, base.map(|b| b.secret.clone())).flatten();
        let kind = pick(&input.kind, base.map(|b| Some(b.kind.clone()))).flatten();

        let name = WebhookName::parse(name.as_deref())?;
        let events: Vec<String> = events
            .into_iter()
            .filter(|e| !e.trim().is_empty())
            .collect();
        if events.is_empty() {
            return Err("Events must name at least one event (e.g. 'contact.created')".into());
        }
        let events = events
            .iter()
            .map(|e| EventName::parse_subscription(e).map_err(|m| format!("Events: {m}")))
            .collect::<Result<Vec<_>, _>>()?;
        let kind = WebhookKind::parse(kind.as_deref())?;
        let target_url = TargetUrl::parse(target.as_deref(), allow_http)?;
        let secret = secret.filter(|s| !s.is_empty());
        if secret
            .as_ref()
            .is_some_and(|s| s.chars().count() > MAX_SECRET)
        {
            return Err(format!("Secret is longer than {MAX_SECRET} characters"));
        }
        let state = match input.state.or(base.map(|b| b.state)) {
            None | Some(WebhookState::Unknown) => WebhookState::Active,
            Some(s) => s,
        };
        let headers = pick(&input.headers, base.map(|b| b.headers.clone())).unwrap_or_default();
        let headers = headers
            .into_iter()
            .filter(|(k, v)| !(k.is_empty() && v.is_empty()))
            .map(check_header)
            .collect::<Result<Vec<_>, _>>()?;
        let properties = pick(&input.properties, base.map(|b| b.properties.clone()))
            .unwrap_or_default()
            .into_iter()
            // An empty pair is a client's placeholder (the SuperOffice doc envelopes carry one).
            .filter(|(k, v)| !(k.is_empty() && v.lexical().is_empty()))
            .collect::<Vec<_>>();
        if properties.iter().any(|(k, _)| k.trim().is_empty()) {
            return Err("Properties: a key is empty".into());
        }
        crate::domain::check_dictionary("Properties", &properties)?;
        Ok(WebhookSpec {
            name,
            events,
            target_url,
            secret,
            state,
            kind,
            headers,
            properties,
            errors_email: pick(&input.errors_email, base.map(|b| b.errors_email.clone()))
                .flatten()
                .filter(|s| !s.is_empty()),
            error_emails: pick(&input.error_emails, base.map(|b| b.error_emails.clone()))
                .unwrap_or_default()
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect(),
            error_associates: pick(
                &input.error_associates,
                base.map(|b| b.error_associates.clone()),
            )
            .unwrap_or_default(),
            description: pick(&input.description, base.map(|b| b.description.clone())).flatten(),
            notify_via: pick(&input.notify_via, base.map(|b| b.notify_via)).unwrap_or_default(),
            notify_when: pick(&input.notify_when, base.map(|b| b.notify_when)).unwrap_or_default(),
            delivery_order: pick(&input.delivery_order, base.map(|b| b.delivery_order))
                .unwrap_or_default(),
        })
    }
}

/// A custom header must be a valid HTTP header; values may not contain line breaks.
fn check_header((name, value): (String, String)) -> Result<(String, String), String> {
    let name = name.trim().to_string();
    let valid_name = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if !valid_name {
        return Err(format!("Headers: '{name}' is not a valid HTTP header name"));
    }
    if value.chars().any(|c| c == '\r' || c == '\n' || c == '\0') {
        return Err(format!(
            "Headers: the value of '{name}' contains a line break"
        ));
    }
    Ok((name, value))
}

/// Delivery statistics of a webhook (12.0 carrier fields; NetServer's `webhook_usage`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookUsage {
    pub total_calls: i32,
    pub total_errors: i32,
    pub consecutive_errors: i32,
    pub last_error: Option<String>,
}

/// A stored webhook.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookRecord {
    pub id: i32,
    pub name: String,
    pub events: Vec<String>,
    pub target_url: String,
    pub secret: Option<String>,
    /// The Secret this one replaced, while it still signs too (`secret_rotation.rs`).
    pub previous_secret: Option<PreviousSecret>,
    pub state: WebhookState,
    pub kind: String,
    pub headers: Vec<(String, String)>,
    pub properties: Vec<(String, TypedValue)>,
    pub registered: Millis,
    pub registered_associate_id: i32,
    pub updated: Millis,
    pub updated_associate_id: i32,
    pub errors_email: Option<String>,
    pub error_emails: Vec<String>,
    pub error_associates: Vec<i32>,
    pub description: Option<String>,
    pub notify_via: NotifyVia,
    pub notify_when: NotifyWhen,
    /// Whether deliveries of one record go one after another (docs/DELIVERY.md).
    pub delivery_order: DeliveryOrder,
    /// The application that created it; other applications may not see or change it.
    pub app_id: Option<i64>,
    pub usage: WebhookUsage,
}

impl WebhookRecord {
    /// The record for `spec`, keeping `id`, registration and usage of `base` (on update).
    pub fn from_spec(
        spec: WebhookSpec,
        id: i32,
        now: Millis,
        associate_id: i32,
        app_id: Option<i64>,
        base: Option<&WebhookRecord>,
    ) -> WebhookRecord {
        WebhookRecord {
            id,
            name: spec.name.as_str().to_string(),
            events: spec.events.iter().map(|e| e.as_str().to_string()).collect(),
            target_url: spec.target_url.as_str().to_string(),
            secret: spec.secret,
            // The save decides, knowing the grace (`PreviousSecret::after_save`).
            previous_secret: None,
            state: spec.state,
            kind: spec.kind.as_str().to_string(),
            headers: spec.headers,
            properties: spec.properties,
            registered: base.map_or(now, |b| b.registered),
            registered_associate_id: base.map_or(associate_id, |b| b.registered_associate_id),
            updated: now,
            updated_associate_id: associate_id,
            errors_email: spec.errors_email,
            error_emails: spec.error_emails,
            error_associates: spec.error_associates,
            description: spec.description,
            notify_via: spec.notify_via,
            notify_when: spec.notify_when,
            delivery_order: spec.delivery_order,
            app_id: base.map_or(app_id, |b| b.app_id),
            usage: base.map(|b| b.usage.clone()).unwrap_or_default(),
        }
    }
}

/// An associate (a user) as shown in `RegisteredAssociate` / `UpdatedAssociate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Associate {
    pub id: i32,
    pub name: String,
    pub full_name: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> WebhookInput {
        WebhookInput {
            name: Some(Some("hook".into())),
            events: Some(vec!["contact.created".into()]),
            target_url: Some(Some("https://example.com/h".into())),
            ..Default::default()
        }
    }

    #[test]
    fn a_minimal_input_is_valid_and_active() {
        let spec = WebhookSpec::from_input(&input(), None, false).unwrap();
        assert_eq!(spec.state, WebhookState::Active);
        assert_eq!(spec.kind, WebhookKind::Webhook);
    }

    #[test]
    fn each_rule_names_its_field() {
        type Mutation = fn(&mut WebhookInput);
        let cases: Vec<(Mutation, &str)> = vec![
            (|i| i.name = Some(Some("  ".into())), "Name"),
            (|i| i.name = Some(Some("x".repeat(401))), "Name"),
            (|i| i.events = Some(vec![String::new()]), "Events"),
            (|i| i.events = Some(vec!["nodot".into()]), "Events"),
            (|i| i.target_url = Some(None), "TargetUrl"),
            (
                |i| i.target_url = Some(Some("not a url".into())),
                "TargetUrl",
            ),
            (
                |i| i.target_url = Some(Some("http://example.com".into())),
                "https",
            ),
            (
                |i| i.target_url = Some(Some("ftp://example.com".into())),
                "TargetUrl",
            ),
            (|i| i.kind = Some(Some("crmscript".into())), "crmscript"),
            (
                |i| i.headers = Some(vec![("Bad Name".into(), "v".into())]),
                "Headers",
            ),
            (
                |i| i.headers = Some(vec![("X-A".into(), "a\r\nb".into())]),
                "Headers",
            ),
        ];
        for (mutate, needle) in cases {
            let mut i = input();
            mutate(&mut i);
            let err = WebhookSpec::from_input(&i, None, false).unwrap_err();
            assert!(err.contains(needle), "{err:?} should mention {needle}");
        }
    }

    #[test]
    fn http_targets_need_the_server_flag() {
        let mut i = input();
        i.target_url = Some(Some("http://127.0.0.1:9/h".into()));
        assert!(WebhookSpec::from_input(&i, None, true).is_ok());
    }
}
