//! The admin page (`/admin`, docs/ADMIN.md): NetServer 12.1's Webhooks panel, server-rendered
//! HTML from the binary over the same `WebhookAgent` as SOAP and REST. An adapter like them:
//! it reads forms, calls the agent and renders its answers; no business rule lives here.
//!
//! - `session`: the session cookies, the `AdminCaller` extractor, CSRF tokens, flash messages;
//! - `signin`: signing in and out; `layout`: the page shell, badges and form helpers;
//! - `assets`: the stylesheet and htmx, served from the binary;
//! - `list`: the webhook list (sorting, filters, live body); `actions`: its row actions;
//! - `webhook`: one webhook (fields, counters, actions, Send test); `events`: its Events tab
//!   (the delivery log, filters, paging, Export CSV, Recover); `delivery`: one delivery's
//!   attempts, Retry and Discard.
//! - `form` (with `form_fields`): creating and editing a webhook, Send test, Regenerate secret;
//! - `alerts`: the in-app alerts and the navigation's unread count.
//!
//! Every answer carries a strict Content-Security-Policy (only this server's files, no inline
//! script or style), and every POST but sign-in must carry the session's CSRF token
//! ([`require_csrf`]), so another site can neither frame the page nor act through it. Every
//! action is a plain `<form method="post">` answered 303 (POST-redirect-GET), so the page works
//! without JavaScript; htmx only refreshes parts of it.

mod actions;
mod alerts;
mod assets;
mod delivery;
mod events;
mod form;
mod form_fields;
mod layout;
mod list;
mod session;
mod signin;
mod webhook;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{any, get, post};

use crate::state::AppState;

/// The policy of every admin answer: only this server's scripts, styles and connections, no
/// inline code, forms posting only here, and no framing (clickjacking).
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'";

/// The admin routes. `max_body_bytes` bounds the form bodies the CSRF check reads.
pub fn router(max_body_bytes: usize) -> Router<AppState> {
    Router::new()
        .route("/admin", get(list::list))
        .route("/admin/", get(|| async { Redirect::to("/admin") }))
        .route(
            session::SIGN_IN_PATH,
            get(signin::form).post(signin::submit),
        )
        .route("/admin/signout", post(signin::sign_out))
        .route("/admin/assets/{name}", get(assets::file))
        .route("/admin/webhooks/{id}/copy", post(actions::copy))
        .route("/admin/webhooks/{id}/stop", post(actions::stop))
        .route("/admin/webhooks/{id}/activate", post(actions::activate))
        .route("/admin/webhooks/{id}/restart", post(actions::restart))
        .route(
            "/admin/webhooks/{id}/delete",
            get(actions::confirm_delete).post(actions::delete),
        )
        .route("/admin/webhooks/{id}", get(webhook::show))
        .route("/admin/webhooks/{id}/send-test", post(webhook::send_test))
        .route("/admin/webhooks/{id}/events", get(events::list))
        .route("/admin/webhooks/{id}/events.csv", get(events::export_csv))
        .route("/admin/webhooks/{id}/recover", post(events::recover))
        .route(
            "/admin/webhooks/{id}/events/{delivery}",
            get(delivery::show),
        )
        .route(
            "/admin/webhooks/{id}/events/{delivery}/retry",
            post(delivery::retry),
        )
        .route(
            "/admin/webhooks/{id}/events/{delivery}/discard",
            post(delivery::discard),
        )
        .route("/admin/webhooks/new", get(form::new).post(form::create))
        .route("/admin/webhooks/test", post(form::test))
        .route(
            "/admin/webhooks/{id}/edit",
            get(form::edit).post(form::update),
        )
        .route("/admin/webhooks/{id}/secret", post(form::regenerate))
        .route("/admin/alerts", get(alerts::list))
        .route("/admin/alerts/count", get(alerts::count))
        .route("/admin/alerts/{id}/read", post(alerts::mark_read))
        .route("/admin/{*rest}", any(not_found))
        .layer(middleware::from_fn(move |request, next| {
            require_csrf(max_body_bytes, request, next)
        }))
        .layer(middleware::map_response(security_headers))
}

/// Refuses, with a 403 page and before any handler runs, a state-changing request (any method
/// but GET and HEAD) that lacks the session's CSRF token, in the form field `csrf` or the
/// header `X-CSRF-Token`. Sign-in is the one exception: there is no session yet.
async fn require_csrf(max_body_bytes: usize, request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD)
        || request.uri().path() == session::SIGN_IN_PATH
    {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let ticket = session::cookie(&parts.headers, session::SESSION_COOKIE).unwrap_or_default();
    let from_header = parts
        .headers
        .get(session::CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    // The body is already in memory, at most --max-body-bytes (`body_deadline`).
    let Ok(body) = to_bytes(body, max_body_bytes.saturating_add(1)).await else {
        return layout::error_page(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Too large",
            "The form is larger than this server accepts.",
        );
    };
    let given = from_header.or_else(|| {
        url::form_urlencoded::parse(&body)
            .find(|(name, _)| name == session::CSRF_FIELD)
            .map(|(_, value)| value.into_owned())
    });
    if !given.is_some_and(|token| !ticket.is_empty() && session::csrf_ok(&ticket, &token)) {
        return layout::error_page(
            StatusCode::FORBIDDEN,
            "Not done",
            "This request did not come from a page of this admin session (its security token \
             is missing or out of date), so nothing was changed. Go back, reload the page and \
             try again.",
        );
    }
    next.run(Request::from_parts(parts, Body::from(body))).await
}

/// The security headers of every admin answer; pages are not cached (they show live state
/// and a CSRF token), files say their own caching (`assets`).
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

async fn not_found(request: Request) -> Response {
    let message = format!("There is no admin page at {}.", request.uri().path());
    layout::error_page(StatusCode::NOT_FOUND, "Not found", &message).into_response()
}

/// Whether a path belongs to the admin page.
pub fn is_admin_path(path: &str) -> bool {
    path == "/admin" || path.starts_with("/admin/")
}

/// A body the deadline layer refused (too large, too slow, cut off), as an error page: the
/// browser shows a page, not a SOAP fault.
pub fn body_error(problem: &crate::body_deadline::BodyProblem) -> Response {
    layout::error_page(problem.status(), "Not done", &problem.message())
}
