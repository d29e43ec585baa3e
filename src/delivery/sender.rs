//! One HTTP attempt: the signed POST, with the SSRF guard, no redirects and a timeout, and the
//! target's answer written up the way NetServer keeps it in `LastError`.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::signature;
use super::ssrf::{GuardedResolver, TargetPolicy};

/// `LastError` keeps at most this many characters (NetServer's column is String(4000)).
pub const MAX_REPORT_CHARS: usize = 4000;
/// Most of a target's answer body read and kept in the attempt log (docs/DELIVERY.md,
/// Attempt log); `LastError` keeps less anyway.
pub const MAX_BODY_READ: usize = 4 * 1024;
/// Most of an answer's headers kept in the attempt log.
const MAX_HEADERS_KEPT: usize = 4 * 1024;

/// Headers hookwire sets; a webhook's custom Headers cannot replace them.
const RESERVED: [&str; 14] = [
    "content-type",
    "content-length",
    "user-agent",
    "host",
    "connection",
    "transfer-encoding",
    "x-superoffice-event",
    "x-superoffice-eventid",
    "x-superoffice-retry",
    "x-superoffice-signature",
    "x-hook-test",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
];

/// How delivery requests are made.
#[derive(Debug, Clone)]
pub struct SenderSettings {
    pub timeout: Duration,
    /// Send the Standard Webhooks headers beside SuperOffice's.
    pub standard_webhooks: bool,
    pub policy: Arc<TargetPolicy>,
}

/// One delivery request.
pub struct Outgoing<'a> {
    pub url: &'a str,
    pub event_name: &'a str,
    pub event_id: &'a str,
    /// `X-SuperOffice-Retry`: earlier attempts of this event.
    pub retry: u32,
    pub secret: Option<&'a str>,
    /// The Secret `secret` replaced, during its grace period: `webhook-signature` carries a
    /// second signature with it (docs/DELIVERY.md, Rotating a Secret).
    pub previous_secret: Option<&'a str>,
    pub custom_headers: &'a [(String, String)],
    pub body: Vec<u8>,
    /// A test ping (`X-Hook-Test: true`).
    pub test: bool,
}

/// Why an attempt got no HTTP answer, as the attempt log names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    Timeout,
    Connect,
    Tls,
    /// The SSRF guard refused the target's address.
    RefusedByPolicy,
    Other,
}

impl ErrorClass {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Timeout => "timeout",
            ErrorClass::Connect => "connect",
            ErrorClass::Tls => "tls",
            ErrorClass::RefusedByPolicy => "refused-by-policy",
            ErrorClass::Other => "other",
        }
    }
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptResult {
    /// Any 2xx.
    pub success: bool,
    pub status: Option<u16>,
    /// Status line, headers and body of the answer, or the transport error (≤ 4000 chars).
    pub report: String,
    /// How long a `429` or `503` asked us to wait (`Retry-After`, seconds or an HTTP date),
    /// capped at [`MAX_RETRY_AFTER`].
    pub retry_after: Option<Duration>,
    /// Why there is no HTTP answer; None when there is one.
    pub error: Option<ErrorClass>,
    /// For the attempt log: the answer's status line, headers (≤ 4 KiB) and body (≤ 4 KiB),
    /// or the transport error.
    pub response: String,
    /// From the request's start to the end of the answer read (or the error).
    pub duration: Duration,
}

impl AttemptResult {
    fn failed(class: ErrorClass, report: String) -> AttemptResult {
        AttemptResult {
            success: false,
            status: None,
            report: cut(report.clone()),
            retry_after: None,
            error: Some(class),
            response: report,
            duration: Duration::ZERO,
        }
    }

    /// `410 Gone`: the receiver asks never to be called again.
    pub fn is_gone(&self) -> bool {
        self.status == Some(410)
    }
}

/// The longest `Retry-After` honoured: a receiver cannot park its deliveries for days.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// A `Retry-After` value (RFC 9110 §10.2.3): delay-seconds or an HTTP date, as a wait from
/// `now`, capped at [`MAX_RETRY_AFTER`]. A date in the past is no wait; garbage is `None`.
pub fn parse_retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let value = value.trim();
    let wait = if let Ok(seconds) = value.parse::<u64>() {
        Duration::from_secs(seconds)
    } else {
        let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
        (at.with_timezone(&chrono::Utc) - now)
            .to_std()
            .unwrap_or(Duration::ZERO)
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

fn cut(mut text: String) -> String {
    if let Some((i, _)) = text.char_indices().nth(MAX_REPORT_CHARS) {
        text.truncate(i);
    }
    text
}

/// The delivery HTTP client: pooled connections, rustls, guarded DNS, no redirects.
#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    settings: SenderSettings,
}

impl Sender {
    pub fn new(settings: SenderSettings) -> Result<Sender, reqwest::Error> {
        let client = reqwest::Client::builder()
            .dns_resolver(GuardedResolver {
                policy: settings.policy.clone(),
            })
            .redirect(reqwest::redirect::Policy::none())
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
            .pool_max_idle_per_host(64)
            .tcp_nodelay(true)
            .no_proxy()
            .build()?;
        Ok(Sender { client, settings })
    }

    fn headers(&self, out: &Outgoing, now_secs: i64) -> HeaderMap {
        let mut h = HeaderMap::new();
        let mut put = |name: &'static str, value: &str| {
            if let Ok(v) = HeaderValue::from_str(value) {
                h.insert(name, v);
            }
        };
        put("content-type", "application/json; charset=utf-8");
        put(
            "user-agent",
            concat!("NetServer-Webhook/", env!("CARGO_PKG_VERSION")),
        );
        put("x-superoffice-event", out.event_name);
        put("x-superoffice-eventid", out.event_id);
        put("x-superoffice-retry", &out.retry.to_string());
        let secret = out.secret.filter(|s| !s.is_empty());
        if let Some(secret) = secret {
            put(
                "x-superoffice-signature",
                &signature::superoffice(secret, &out.body),
            );
        }
        if out.test {
            put("x-hook-test", "true");
        }
        if self.settings.standard_webhooks {
            put("webhook-id", out.event_id);
            put("webhook-timestamp", &now_secs.to_string());
            if let Some(secret) = secret {
                let previous = out.previous_secret.filter(|s| !s.is_empty());
                put(
                    "webhook-signature",
                    &signature::standard_webhooks_rotating(
                        secret,
                        previous,
                        out.event_id,
                        now_secs,
                        &out.body,
                    ),
                );
            }
        }
        for (name, value) in out.custom_headers {
            let lower = name.to_ascii_lowercase();
            if RESERVED.contains(&lower.as_str()) {
                continue;
            }
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(lower.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                h.append(n, v);
            }
        }
        h
    }

    /// Sends one attempt. Never panics on what the target does.
    pub async fn send(&self, out: Outgoing<'_>) -> AttemptResult {
        let started = std::time::Instant::now();
        let mut result = self.attempt(out).await;
        result.duration = started.elapsed();
        result
    }

    async fn attempt(&self, out: Outgoing<'_>) -> AttemptResult {
        let url = match url::Url::parse(out.url) {
            Ok(u) => u,
            Err(e) => {
                return AttemptResult::failed(
                    ErrorClass::Other,
                    format!("invalid TargetUrl {}: {e}", out.url),
                );
            }
        };
        // IP literals never reach the resolver, so they are checked here.
        if let Some(host) = url.host_str() {
            let bare = host.trim_start_matches('[').trim_end_matches(']');
            if let Ok(ip) = bare.parse::<IpAddr>()
                && !self.settings.policy.permits(ip)
            {
                return AttemptResult::failed(
                    ErrorClass::RefusedByPolicy,
                    self.settings.policy.refusal(host, ip),
                );
            }
        }
        let headers = self.headers(&out, chrono::Utc::now().timestamp());
        let response = match self
            .client
            .post(url)
            .headers(headers)
            .body(out.body)
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) => return AttemptResult::failed(classify(&e), describe_error(&e)),
        };
        let status = response.status();
        let retry_after = match status.as_u16() {
            429 | 503 => response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, chrono::Utc::now())),
            _ => None,
        };
        let mut report = format!(
            "{:?} {} {}\r\n",
            response.version(),
            status.as_u16(),
            status.canonical_reason().unwrap_or("")
        );
        let headers_start = report.len();
        for (name, value) in response.headers() {
            let line = format!("{name}: {}\r\n", String::from_utf8_lossy(value.as_bytes()));
            if report.len() - headers_start + line.len() > MAX_HEADERS_KEPT {
                report.push_str("[more headers not kept]\r\n");
                break;
            }
            report.push_str(&line);
        }
        report.push_str("\r\n");
        let mut response = response;
        let mut body = Vec::new();
        // Only the first 4 KiB are kept: the rest is neither read nor buffered.
        while body.len() < MAX_BODY_READ {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let room = MAX_BODY_READ - body.len();
                    body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
                Ok(None) => break,
                Err(e) => {
                    report.push_str(&format!("[reading the body failed: {e}]"));
                    break;
                }
            }
        }
        report.push_str(&String::from_utf8_lossy(&body));
        AttemptResult {
            success: status.is_success(),
            status: Some(status.as_u16()),
            report: cut(report.clone()),
            retry_after,
            error: None,
            response: report,
            duration: Duration::ZERO,
        }
    }
}

/// The class of a transport error, for the attempt log. TLS failures surface as connect
/// errors; they are told apart by their causes' words (rustls is not a direct dependency).
fn classify(e: &reqwest::Error) -> ErrorClass {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if s.downcast_ref::<super::ssrf::Refused>().is_some() {
            return ErrorClass::RefusedByPolicy;
        }
        let text = s.to_string().to_ascii_lowercase();
        if ["certificate", "tls", "handshake", "alert"]
            .iter()
            .any(|w| text.contains(w))
        {
            return ErrorClass::Tls;
        }
        source = s.source();
    }
    if e.is_timeout() {
        ErrorClass::Timeout
    } else if e.is_connect() {
        ErrorClass::Connect
    } else {
        ErrorClass::Other
    }
}

/// The transport error with its causes (reqwest's top-level message alone is vague).
fn describe_error(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "could not connect".to_string()
    } else {
        "request failed".to_string()
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_seconds_or_an_http_date_capped_at_an_hour() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-29T12:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after(" 120 ", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Sun, 29 Nov 2026 12:00:42 GMT", now),
            Some(Duration::from_secs(42))
        );
        assert_eq!(
            parse_retry_after("Sun, 29 Nov 2026 11:00:00 GMT", now),
            Some(Duration::ZERO),
            "a date in the past: no wait"
        );
        assert_eq!(parse_retry_after("86400", now), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }
}
