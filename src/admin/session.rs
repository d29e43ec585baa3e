//! Who is signed in to the admin page, and what each of its requests carries: the session
//! cookies, the [`AdminCaller`] extractor every page takes, the CSRF token of its forms, and the
//! one-time message ([`Flash`]) shown on the page an action redirects to (docs/ADMIN.md).
//!
//! The session is a hookwire ticket, the one SoPrincipal issues (`Auth::login`), so its expiry,
//! its sliding renewal and its end are the auth layer's, and every node accepts it. The
//! application token, when one was given at sign-in, is kept beside it and scopes the caller
//! exactly as REST's `SO-AppToken` does.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::agent::{AgentError, AlertFilter};
use crate::auth::{AuthError, Caller};
use crate::state::AppState;

/// The cookie holding the ticket.
pub const SESSION_COOKIE: &str = "hw_session";
/// The cookie holding the application token given at sign-in, if any.
pub const APP_COOKIE: &str = "hw_app";
/// The cookie carrying a [`Flash`] to the next page.
pub const FLASH_COOKIE: &str = "hw_flash";
/// The form field of the CSRF token (`layout::csrf_field`).
pub const CSRF_FIELD: &str = "csrf";
/// The header htmx sends the CSRF token in (`hx-headers` on the page's body).
pub const CSRF_HEADER: &str = "x-csrf-token";
pub const SIGN_IN_PATH: &str = "/admin/signin";

/// The longest flash text kept: a cookie must stay well under browsers' 4 KiB.
const FLASH_MAX_CHARS: usize = 500;

/// What the CSRF token signs, keyed by the ticket: a token is only good with its own session.
const CSRF_MESSAGE: &[u8] = b"hookwire-admin-csrf";

/// A signed-in user of the admin page, as every page handler takes it. A request without a
/// valid session never reaches the handler: it is sent to the sign-in page.
pub struct AdminCaller {
    /// The user and application, for the agent's calls.
    pub caller: Caller,
    csrf: String,
    /// The message the previous action left for this page, if any.
    pub flash: Option<Flash>,
    /// The caller's unread in-app alerts, for the count in the navigation; None when they
    /// could not be read (the page still shows).
    pub unread_alerts: Option<UnreadAlerts>,
}

/// How many unread in-app alerts the navigation shows: counted up to [`UNREAD_COUNTED`], so
/// a page costs one bounded read however many there are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnreadAlerts {
    pub count: usize,
    /// More than `count` are unread.
    pub more: bool,
}

/// The most unread alerts counted for the navigation ("99+" beyond).
pub const UNREAD_COUNTED: usize = 99;

/// The caller's unread alerts, through the agent's list (its rules say who sees which).
async fn unread_alerts(state: &AppState, caller: &Caller) -> Option<UnreadAlerts> {
    let filter = AlertFilter {
        unread: Some("true".into()),
        limit: Some(UNREAD_COUNTED.to_string()),
        cursor: None,
    };
    match state.agent.alerts(caller, &filter).await {
        Ok(page) => Some(UnreadAlerts {
            count: page.alerts.len(),
            more: page.next_cursor.is_some(),
        }),
        Err(e) => {
            tracing::warn!(error = %e, "admin page: the unread alerts could not be counted");
            None
        }
    }
}

impl AdminCaller {
    /// The CSRF token every state-changing request of this session must carry.
    pub fn csrf_token(&self) -> &str {
        &self.csrf
    }

    /// The signed-in user's name, as stored.
    pub fn user_name(&self) -> &str {
        &self.caller.user.name
    }
}

impl FromRequestParts<AppState> for AdminCaller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let ticket = cookie(&parts.headers, SESSION_COOKIE);
        let app = cookie(&parts.headers, APP_COOKIE);
        match state.agent.caller(ticket.as_deref(), app.as_deref()).await {
            Ok(caller) => Ok(AdminCaller {
                unread_alerts: unread_alerts(state, &caller).await,
                caller,
                csrf: csrf_token(ticket.as_deref().unwrap_or_default()),
                flash: flash_of(&parts.headers),
            }),
            Err(AgentError::Store(e) | AgentError::Auth(AuthError::Store(e))) => {
                tracing::error!(error = %e, "admin page: the store failed checking a session");
                Err((
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The database is not answering: try again shortly.",
                )
                    .into_response())
            }
            Err(e) => {
                // Someone who had a session is told why they must sign in again.
                let why = ticket.map(|_| Flash::error(format!("Please sign in again: {e}.")));
                Err(sign_in_first(&parts.headers, why))
            }
        }
    }
}

/// Sends a request without a valid session to the sign-in page: a 303, or for htmx's
/// background requests (a polled table) `HX-Redirect`, so the whole page goes there instead
/// of the sign-in form landing inside a table.
fn sign_in_first(headers: &HeaderMap, why: Option<Flash>) -> Response {
    if headers.contains_key("hx-request") {
        let mut response = StatusCode::UNAUTHORIZED.into_response();
        response
            .headers_mut()
            .insert("hx-redirect", HeaderValue::from_static(SIGN_IN_PATH));
        return response;
    }
    see_other(SIGN_IN_PATH, why)
}

/// A cookie's value from the request, decoded (see [`set_cookie`]).
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| decode_cookie_value(value))
}

/// Adds a `Set-Cookie` for the admin page: HttpOnly (no script reads it), SameSite=Strict (no
/// other site's page sends it), Path=/admin, and Secure when the page is served over https.
/// The value is percent-encoded, so any text (an application token) makes a valid cookie.
pub fn set_cookie(headers: &mut HeaderMap, name: &str, value: &str, secure: bool) {
    let value: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
    let secure = if secure { "; Secure" } else { "" };
    let cookie = format!("{name}={value}; Path=/admin; HttpOnly; SameSite=Strict{secure}");
    if let Ok(cookie) = HeaderValue::from_str(&cookie) {
        headers.append(header::SET_COOKIE, cookie);
    }
}

/// Adds a `Set-Cookie` that removes the cookie.
pub fn clear_cookie(headers: &mut HeaderMap, name: &str) {
    let cookie = format!("{name}=; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=0");
    if let Ok(cookie) = HeaderValue::from_str(&cookie) {
        headers.append(header::SET_COOKIE, cookie);
    }
}

/// The inverse of `byte_serialize`: a form-urlencoded key alone decodes to itself.
fn decode_cookie_value(value: &str) -> String {
    url::form_urlencoded::parse(value.as_bytes())
        .next()
        .map(|(key, _)| key.into_owned())
        .unwrap_or_default()
}

/// Whether the browser reached the page over https: hookwire itself serves plain HTTP, so
/// only a reverse proxy's `X-Forwarded-Proto` says so.
pub fn is_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
}

fn csrf_mac(ticket: &str) -> Option<Hmac<Sha256>> {
    let mut mac = Hmac::<Sha256>::new_from_slice(ticket.as_bytes()).ok()?;
    mac.update(CSRF_MESSAGE);
    Some(mac)
}

/// The CSRF token of a session: hex HMAC-SHA256 keyed by its ticket. Nothing to store, and
/// another site can neither read it (same-origin policy) nor compute it (it lacks the ticket).
pub fn csrf_token(ticket: &str) -> String {
    csrf_mac(ticket)
        .map(|mac| {
            mac.finalize()
                .into_bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether `given` is the session's CSRF token, compared in constant time.
pub fn csrf_ok(ticket: &str, given: &str) -> bool {
    let given = given.trim();
    if given.len() != 64 || !given.is_ascii() {
        return false;
    }
    let bytes: Option<Vec<u8>> = (0..given.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&given[i..i + 2], 16).ok())
        .collect();
    match (bytes, csrf_mac(ticket)) {
        (Some(bytes), Some(mac)) => mac.verify_slice(&bytes).is_ok(),
        _ => false,
    }
}

/// Whether a one-time message reports success or a problem (its colour and ARIA role).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlashKind {
    Notice,
    Error,
}

/// A one-time message for the next page, e.g. "Webhook copied": an action (a POST) answers
/// 303 to a page with it (`see_other`), the page shows it once (`layout::page`). It travels
/// in a cookie, so it works without JavaScript and never shows in a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    pub kind: FlashKind,
    pub text: String,
}

impl Flash {
    pub fn notice(text: impl Into<String>) -> Flash {
        Flash {
            kind: FlashKind::Notice,
            text: text.into(),
        }
    }

    pub fn error(text: impl Into<String>) -> Flash {
        Flash {
            kind: FlashKind::Error,
            text: text.into(),
        }
    }

    fn to_cookie(&self) -> String {
        let kind = match self.kind {
            FlashKind::Notice => "n",
            FlashKind::Error => "e",
        };
        let text: String = self.text.chars().take(FLASH_MAX_CHARS).collect();
        format!("{kind}:{text}")
    }

    fn from_cookie(value: &str) -> Option<Flash> {
        let (kind, text) = value.split_once(':')?;
        let kind = match kind {
            "n" => FlashKind::Notice,
            "e" => FlashKind::Error,
            _ => return None,
        };
        let text = text.chars().take(FLASH_MAX_CHARS).collect();
        Some(Flash { kind, text })
    }
}

/// The message the previous action left for this page, if any.
pub fn flash_of(headers: &HeaderMap) -> Option<Flash> {
    cookie(headers, FLASH_COOKIE).and_then(|v| Flash::from_cookie(&v))
}

/// 303 See Other to `to` (POST-redirect-GET), leaving `flash` for the page there.
pub fn see_other(to: &str, flash: Option<Flash>) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    if let Ok(location) = HeaderValue::from_str(to) {
        headers.insert(header::LOCATION, location);
    }
    if let Some(flash) = flash {
        // Not Secure even over https: it holds nothing secret, and it must reach the next
        // page whichever way that is served.
        set_cookie(headers, FLASH_COOKIE, &flash.to_cookie(), false);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_csrf_token_is_the_sessions_own() {
        let token = csrf_token("7T:abc");
        assert_eq!(token.len(), 64);
        assert!(csrf_ok("7T:abc", &token));
        assert!(!csrf_ok("7T:abd", &token));
        assert!(!csrf_ok("7T:abc", ""));
        assert!(!csrf_ok("7T:abc", &token[..62]));
        assert!(!csrf_ok("7T:abc", &"é".repeat(32)));
    }

    #[test]
    fn cookies_and_flashes_survive_any_text() {
        let mut headers = HeaderMap::new();
        set_cookie(&mut headers, APP_COOKIE, "a; b=c %+é", true);
        let set = headers[header::SET_COOKIE].to_str().unwrap_or_default();
        assert!(set.ends_with("; Path=/admin; HttpOnly; SameSite=Strict; Secure"));
        let sent = set.split(';').next().unwrap_or_default();
        let mut request = HeaderMap::new();
        request.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("x=1; {sent}")).unwrap(),
        );
        assert_eq!(cookie(&request, APP_COOKIE).as_deref(), Some("a; b=c %+é"));
        let flash = Flash::error("Webhook: n:1");
        assert_eq!(Flash::from_cookie(&flash.to_cookie()), Some(flash));
    }
}
