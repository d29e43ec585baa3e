//! Signing in and out of the admin page (docs/ADMIN.md, Sign-in). The same users, password
//! check and throttle as SoPrincipal and REST's `Basic` (`Auth::login`): repeated failures of a
//! name or from an address are answered later and later, then refused with 429.

use std::net::SocketAddr;

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::plain_page;
use super::session::{
    APP_COOKIE, FLASH_COOKIE, Flash, SESSION_COOKIE, clear_cookie, cookie, flash_of, is_https,
    see_other, set_cookie,
};
use crate::auth::AuthError;
use crate::state::AppState;

/// The longest application token the form takes (it is kept in a cookie).
const MAX_APP_TOKEN_CHARS: usize = 512;

/// What the sign-in form sends; a missing field is empty.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SignIn {
    user: String,
    password: String,
    app_token: String,
}

/// `GET /admin/signin`: the form, with the message an earlier step left (signed out, session
/// ended).
pub async fn form(headers: HeaderMap) -> Response {
    let flash = flash_of(&headers);
    let mut response = signin_page("", flash.as_ref()).into_response();
    if flash.is_some() {
        clear_cookie(response.headers_mut(), FLASH_COOKIE);
    }
    response
}

/// `POST /admin/signin`: a ticket in the session cookie and off to the list, or the form again
/// with what went wrong.
pub async fn submit(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: Result<Form<SignIn>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return refused(
            StatusCode::BAD_REQUEST,
            "",
            "The form could not be read: send it from the sign-in page.",
        );
    };
    if form.user.trim().is_empty() || form.password.is_empty() {
        return refused(
            StatusCode::BAD_REQUEST,
            &form.user,
            "Enter your user name and your password.",
        );
    }
    if form.app_token.chars().nth(MAX_APP_TOKEN_CHARS).is_some() {
        return refused(
            StatusCode::BAD_REQUEST,
            &form.user,
            &format!("The application token is longer than {MAX_APP_TOKEN_CHARS} characters."),
        );
    }
    let auth = state.agent.auth();
    let ticket = match auth
        .login(&form.user, &form.password, Some(client.ip()))
        .await
    {
        Ok((ticket, _)) => ticket,
        Err(e) => return auth_refused(&form.user, e),
    };
    // The application token scopes the session as `SO-AppToken` scopes a REST call; in online
    // mode one is required. Checked now so a bad one is told on the form, not on every page.
    let app_token = form.app_token.trim();
    if let Err(e) = auth.app(Some(app_token)).await {
        if let Err(end) = auth.logout(&ticket).await {
            tracing::warn!(error = %end, "admin sign-in: could not end the unused ticket");
        }
        return auth_refused(&form.user, e);
    }
    let mut response = see_other("/admin", None);
    let secure = is_https(&headers);
    let headers = response.headers_mut();
    set_cookie(headers, SESSION_COOKIE, &ticket, secure);
    if app_token.is_empty() {
        clear_cookie(headers, APP_COOKIE);
    } else {
        set_cookie(headers, APP_COOKIE, app_token, secure);
    }
    response
}

/// `POST /admin/signout` (its CSRF token checked like every POST): the ticket ends and the
/// cookies go.
pub async fn sign_out(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(ticket) = cookie(&headers, SESSION_COOKIE)
        && let Err(e) = state.agent.auth().logout(&ticket).await
    {
        tracing::warn!(error = %e, "admin sign-out: could not end the ticket");
    }
    let mut response = see_other(
        super::session::SIGN_IN_PATH,
        Some(Flash::notice("You are signed out.")),
    );
    clear_cookie(response.headers_mut(), SESSION_COOKIE);
    clear_cookie(response.headers_mut(), APP_COOKIE);
    response
}

/// The form again, with why the sign-in was refused.
fn auth_refused(user: &str, e: AuthError) -> Response {
    let status = match &e {
        AuthError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
        AuthError::UserNameTooLong => StatusCode::BAD_REQUEST,
        AuthError::Store(store) => {
            tracing::error!(error = %store, "admin sign-in: the store failed");
            return refused(
                StatusCode::SERVICE_UNAVAILABLE,
                user,
                "The database is not answering: try again shortly.",
            );
        }
        _ => StatusCode::UNAUTHORIZED,
    };
    let mut response = refused(status, user, &format!("{e}."));
    if let AuthError::Throttled { retry_after_secs } = e
        && let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

fn refused(status: StatusCode, user: &str, message: &str) -> Response {
    (status, signin_page(user, Some(&Flash::error(message)))).into_response()
}

fn signin_page(user: &str, flash: Option<&Flash>) -> Markup {
    // A user name as long as a login accepts is enough to show back.
    let user: String = user
        .chars()
        .take(crate::auth::MAX_USER_NAME_CHARS)
        .collect();
    let body = html! {
        h1 { "Sign in" }
        form.signin method="post" action="/admin/signin" {
            label for="user" { "User name" }
            input #user type="text" name="user" value=(user) autocomplete="username"
                required autofocus;
            label for="password" { "Password" }
            input #password type="password" name="password" autocomplete="current-password"
                required;
            label for="app_token" { "Application token " span.hint { "(online mode only)" } }
            input #app_token type="password" name="app_token" autocomplete="off";
            button type="submit" { "Sign in" }
        }
    };
    plain_page("Sign in", flash, body)
}
