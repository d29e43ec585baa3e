//! The shell every admin page shares and the pieces its forms and tables reuse: the page
//! ([`page`], or [`plain_page`] before sign-in), the CSRF field of every POST form, the
//! one-time message, the webhook status badges of docs/ADMIN.md, and how times are shown.
//!
//! Pages load only the binary's own stylesheet and htmx (`assets`), and carry no inline script
//! or style, which the Content-Security-Policy (`admin::security_headers`) would refuse.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

use super::assets::{HTMX_PATH, STYLESHEET_PATH};
use super::session::{AdminCaller, CSRF_FIELD, FLASH_COOKIE, Flash, FlashKind, UnreadAlerts};
use crate::domain::{Millis, WebhookState};

/// htmx's settings (read from a `<meta>`): no inline indicator `<style>` (the CSP refuses it),
/// and nothing evaluated from attributes.
const HTMX_CONFIG: &str =
    r#"{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false}"#;

/// A full page for a signed-in user. Shows, and then clears, the message the previous action
/// left ([`AdminCaller::flash`]).
pub struct Page {
    markup: Markup,
    clears_flash: bool,
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let mut response = self.markup.into_response();
        if self.clears_flash {
            super::session::clear_cookie(response.headers_mut(), FLASH_COOKIE);
        }
        response
    }
}

/// The page titled `title` with the navigation, the session's flash message and `body`.
pub fn page(title: &str, session: &AdminCaller, body: Markup) -> Page {
    let headers = format!(r#"{{"X-CSRF-Token":"{}"}}"#, session.csrf_token());
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            (head(title, Some(session.csrf_token())))
            body hx-headers=(headers) {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/admin" { "hookwire" }
                    nav aria-label="Main" {
                        a href="/admin" { "Webhooks" }
                        a href="/admin/alerts" { "Alerts" (alert_count(session.unread_alerts)) }
                    }
                    form.signout method="post" action="/admin/signout" {
                        (csrf_field(session))
                        span.user { (session.user_name()) }
                        button type="submit" { "Sign out" }
                    }
                }
                main #main {
                    @if let Some(f) = &session.flash { (flash(f)) }
                    (body)
                }
            }
        }
    };
    Page {
        markup,
        clears_flash: session.flash.is_some(),
    }
}

/// The unread alert count of the navigation, on every page and refreshed by htmx every 3 s
/// (the same markup from `GET /admin/alerts/count`, `alerts::count`); empty when none are
/// unread. Without JavaScript it is as fresh as the page.
pub fn alert_count(unread: Option<UnreadAlerts>) -> Markup {
    html! {
        span #alert-count .count hx-get="/admin/alerts/count" hx-trigger="every 3s"
            hx-swap="outerHTML" aria-live="polite" {
            @if let Some(UnreadAlerts { count, more }) = unread.filter(|u| u.count > 0) {
                (count) @if more { "+" } " unread"
            }
        }
    }
}

/// A page without navigation, for whoever is not signed in (the sign-in form, errors).
pub fn plain_page(title: &str, flash_message: Option<&Flash>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title, None))
            body {
                header.top { a.brand href="/admin" { "hookwire" } }
                main #main .narrow {
                    @if let Some(f) = flash_message { (flash(f)) }
                    (body)
                }
            }
        }
    }
}

/// An error page with `status`, for a request that cannot be served (a refused CSRF token,
/// an unknown page).
pub fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    let body = html! {
        h1 { (title) }
        p { (message) }
        p { a href="/admin" { "Back to the webhooks" } }
    };
    (status, plain_page(title, None, body)).into_response()
}

fn head(title: &str, csrf: Option<&str>) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="htmx-config" content=(HTMX_CONFIG);
            @if let Some(csrf) = csrf { meta name="csrf-token" content=(csrf); }
            title { (title) " · hookwire" }
            link rel="stylesheet" href=(STYLESHEET_PATH);
            script src=(HTMX_PATH) defer {}
        }
    }
}

/// The hidden CSRF field every `<form method="post">` of a signed-in page must hold.
pub fn csrf_field(session: &AdminCaller) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(session.csrf_token()); }
}

/// A one-time message: `status` for a notice, `alert` (read out at once) for a problem.
pub fn flash(flash: &Flash) -> Markup {
    let (class, role) = match flash.kind {
        FlashKind::Notice => ("flash notice", "status"),
        FlashKind::Error => ("flash error", "alert"),
    };
    html! { p class=(class) role=(role) { (flash.text) } }
}

/// A webhook's status badge (docs/ADMIN.md, Badges): Active (green), Active with failures
/// (amber: failed attempts in the last 24 h), Stopped (grey), Disabled (red, with its
/// consecutive failures against `limit`, `--failures-to-disable`). Colour is never the only
/// sign: each badge says its state in words.
pub fn badge(state: WebhookState, failures_24h: i64, consecutive: i32, limit: i32) -> Markup {
    let (class, text) = match state {
        WebhookState::Active if failures_24h > 0 => {
            ("badge failing", "Active with failures".to_string())
        }
        WebhookState::Active => ("badge active", "Active".to_string()),
        WebhookState::Stopped => ("badge stopped", "Stopped".to_string()),
        WebhookState::TooManyErrors => {
            ("badge disabled", format!("Disabled {consecutive}/{limit}"))
        }
        WebhookState::Unknown => ("badge stopped", "Unknown".to_string()),
    };
    html! { span class=(class) { (text) } }
}

/// A time as the page shows it, in UTC to the second; "never" for none.
pub fn time(millis: Option<Millis>) -> String {
    millis
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map_or_else(
            || "never".to_string(),
            |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        )
}

/// A `LastError` in plain words for a badge: the answer's status and the start of its body
/// (`503 Service Unavailable: maintenance`), or the transport error's first line; at most
/// 160 characters (the whole text is on the webhook's page).
pub fn plain_error(last_error: &str) -> String {
    let text = last_error.trim();
    let plain = match text.strip_prefix("HTTP/") {
        Some(rest) => {
            let status = rest.lines().next().unwrap_or_default();
            let status = status.split_once(' ').map_or(status, |(_, s)| s).trim();
            let body = text
                .split_once("\r\n\r\n")
                .or_else(|| text.split_once("\n\n"))
                .map(|(_, body)| body.split_whitespace().collect::<Vec<_>>().join(" "))
                .unwrap_or_default();
            if body.is_empty() {
                status.to_string()
            } else {
                format!("{status}: {body}")
            }
        }
        None => text.lines().next().unwrap_or_default().to_string(),
    };
    match plain.char_indices().nth(160) {
        Some((cut, _)) => format!("{}…", &plain[..cut]),
        None => plain,
    }
}

#[cfg(test)]
mod tests {
    use super::plain_error;

    #[test]
    fn a_last_error_in_plain_words() {
        let answer = "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 11\r\n\r\nmaintenance";
        assert_eq!(plain_error(answer), "503 Service Unavailable: maintenance");
        assert_eq!(plain_error("HTTP/1.1 410 Gone\r\n\r\n"), "410 Gone");
        assert_eq!(
            plain_error("error sending request: connection refused\ndetails"),
            "error sending request: connection refused"
        );
        assert_eq!(plain_error(&"x".repeat(300)).chars().count(), 161);
    }
}
