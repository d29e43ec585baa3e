//! The admin page's sign-in (issue 15, docs/ADMIN.md): in a real headless Chromium, signing in
//! lands on the list, a wrong password is told on the form, signing out ends the session, and
//! the page loads nothing from elsewhere; over HTTP, what a browser hides: the cookies' flags,
//! the security headers, repeated failures refused, and a forged POST (no CSRF token) refused
//! with nothing changed.

use crate::support::admin::AdminHttp;
use crate::support::browser::Browser;
use crate::support::*;

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' \
                   data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'";

#[tokio::test]
async fn signing_in_shows_the_list_and_signing_out_ends_the_session() {
    let server = TestServer::start(&[]);
    let browser = Browser::start().await;

    // Without a session, /admin is the sign-in form.
    browser.open(&server, "/admin").await;
    assert_eq!(browser.path().await, "/admin/signin");
    assert_eq!(browser.text("h1").await, "Sign in");

    browser.sign_in(&server).await;
    assert_eq!(browser.path().await, "/admin");
    assert_eq!(browser.text("main h1").await, "Webhooks");
    assert_eq!(browser.text("header .user").await, "admin");
    // The page's own stylesheet and script ran under its Content-Security-Policy, and every
    // resource came from this server.
    let styled = browser
        .run("return getComputedStyle(document.querySelector('header.top')).display;")
        .await;
    assert_eq!(styled, "flex", "the stylesheet did not apply");
    assert_eq!(browser.run("return typeof htmx;").await, "object");
    assert_eq!(
        browser.foreign_resources(&server).await,
        Vec::<String>::new()
    );

    browser.click("form.signout button").await;
    assert_eq!(browser.text("main h1").await, "Sign in");
    assert_eq!(browser.path().await, "/admin/signin");
    assert_eq!(browser.text(".flash").await, "You are signed out.");
    // The session is over: the list asks to sign in again.
    browser.open(&server, "/admin").await;
    assert_eq!(browser.path().await, "/admin/signin");
    browser.close().await;
}

#[tokio::test]
async fn a_wrong_password_is_told_on_the_form() {
    let server = TestServer::start(&[]);
    let browser = Browser::start().await;
    browser
        .sign_in_as(&server, "admin", "not-the-password")
        .await;
    assert_eq!(browser.path().await, "/admin/signin");
    assert_eq!(
        browser.text(".flash.error").await,
        "The user name or password is wrong."
    );
    // The user name stays filled in; the password does not.
    let user = browser.find("#user").await.prop("value").await;
    assert_eq!(user.ok().flatten().as_deref(), Some("admin"));
    let password = browser.find("#password").await.prop("value").await;
    assert_eq!(password.ok().flatten().as_deref(), Some(""));
    browser.close().await;
}

#[tokio::test]
async fn repeated_wrong_passwords_are_refused_with_429() {
    let server = TestServer::start(&[]);
    // Eleven wrong passwords at once: past the free ones, each waits a growing turn, and the
    // one whose turn would be too far away is refused at once.
    let mut attempts = tokio::task::JoinSet::new();
    for _ in 0..11 {
        let client = AdminHttp::anonymous(&server);
        attempts.spawn(async move {
            client
                .post("/admin/signin", &[("user", "admin"), ("password", "wrong")])
                .await
        });
    }
    let answers = attempts.join_all().await;
    let refused: Vec<_> = answers.iter().filter(|a| a.status == 429).collect();
    assert!(!refused.is_empty(), "no attempt was refused");
    for answer in &refused {
        assert!(
            answer
                .body
                .contains("Too many failed logins for this user name or from this address"),
            "{}",
            answer.body
        );
        assert!(answer.header("retry-after").parse::<u64>().is_ok());
    }
    for answer in answers.iter().filter(|a| a.status != 429) {
        assert_eq!(answer.status, 401);
        assert!(answer.body.contains("The user name or password is wrong."));
    }
}

#[tokio::test]
async fn the_session_cookie_and_the_pages_are_locked_down() {
    let server = TestServer::start(&[]);
    let anonymous = AdminHttp::anonymous(&server);
    let to_sign_in = anonymous.get("/admin").await;
    assert_eq!(to_sign_in.status, 303);
    assert_eq!(to_sign_in.header("location"), "/admin/signin");

    let form = anonymous.get("/admin/signin").await;
    assert_eq!(form.status, 200);
    assert_eq!(form.header("content-security-policy"), CSP);
    assert_eq!(form.header("x-content-type-options"), "nosniff");
    assert_eq!(form.header("referrer-policy"), "same-origin");
    assert_eq!(form.header("cache-control"), "no-store");

    let signed_in = anonymous
        .post(
            "/admin/signin",
            &[("user", "admin"), ("password", ADMIN_PASSWORD)],
        )
        .await;
    assert_eq!(signed_in.status, 303);
    assert_eq!(signed_in.header("location"), "/admin");
    let session = signed_in
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("hw_session=7T"))
        .expect("a session cookie");
    assert!(
        session.ends_with("; Path=/admin; HttpOnly; SameSite=Strict"),
        "{session}"
    );
    // Behind a proxy serving https the cookie is Secure.
    let over_https = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .post(server.url("/admin/signin"))
        .header("x-forwarded-proto", "https")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("user=admin&password={ADMIN_PASSWORD}"))
        .send()
        .await
        .expect("sign in over https");
    let cookie = over_https
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("hw_session="))
        .expect("a session cookie")
        .to_string();
    assert!(cookie.ends_with("; SameSite=Strict; Secure"), "{cookie}");
}

#[tokio::test]
async fn a_post_without_the_csrf_token_is_refused_and_changes_nothing() {
    let server = TestServer::start(&[]);
    let admin = AdminHttp::sign_in(&server).await;
    let token = admin.csrf_token().await;

    // Signing out is a change: forged without the token, or with another session's, it is
    // refused and the session goes on.
    let other = AdminHttp::sign_in(&server).await.csrf_token().await;
    for fields in [vec![], vec![("csrf", other.as_str())], vec![("csrf", "x")]] {
        let refused = admin.post("/admin/signout", &fields).await;
        assert_eq!(refused.status, 403, "{fields:?}");
        assert!(
            refused.body.contains("nothing was changed"),
            "{}",
            refused.body
        );
        assert_eq!(refused.header("content-security-policy"), CSP);
        let list = admin.get("/admin").await;
        assert_eq!(list.status, 200, "still signed in after {fields:?}");
    }

    // With the page's token it is done.
    let signed_out = admin.post("/admin/signout", &[("csrf", &token)]).await;
    assert_eq!(signed_out.status, 303);
    assert_eq!(signed_out.header("location"), "/admin/signin");
    assert_eq!(admin.get("/admin").await.status, 303);
}

/// A form over `--max-body-bytes` is refused with the admin page's own error page (HTML), not
/// a SOAP fault or a JSON error.
#[tokio::test]
async fn an_oversized_form_gets_an_error_page() {
    let server = TestServer::start(&["--max-body-bytes", "2000"]);
    let anonymous = AdminHttp::anonymous(&server);
    let long = "x".repeat(5000);
    let refused = anonymous
        .post(
            "/admin/signin",
            &[("user", "admin"), ("password", long.as_str())],
        )
        .await;
    assert_eq!(refused.status, 413, "{}", refused.body);
    assert!(
        refused.header("content-type").starts_with("text/html"),
        "{}",
        refused.header("content-type")
    );
    assert!(
        refused.body.contains("2000"),
        "names the limit: {}",
        refused.body
    );
    assert!(!refused.body.contains("Envelope"), "{}", refused.body);
}

/// Online mode: signed in with an application's token, the page shows only that application's
/// webhooks, and another application's webhook is refused, as over REST.
#[tokio::test]
async fn an_application_token_scopes_the_page_as_rest_does() {
    let mut args = LOOPBACK.to_vec();
    args.push("--online");
    let api = rest::Api::start(&args).await;
    let (a, b) = api.two_apps();
    let created = api
        .post("/api/v1/Webhook")
        .header("SO-AppToken", &a)
        .json(
            &serde_json::json!({"Name": "owned-by-a", "Events": ["contact.created"],
                                  "TargetUrl": "http://127.0.0.1:9/a", "State": "Active"}),
        )
        .send()
        .await
        .ok();
    let id = rest::id_of(&created);

    let as_a = AdminHttp::sign_in_for_app(&api.server, &a).await;
    assert!(as_a.get("/admin").await.body.contains("owned-by-a"));
    let page = as_a.get(&format!("/admin/webhooks/{id}")).await;
    assert_eq!(page.status, 200, "{}", page.body);

    let as_b = AdminHttp::sign_in_for_app(&api.server, &b).await;
    assert!(!as_b.get("/admin").await.body.contains("owned-by-a"));
    let refused = as_b.get(&format!("/admin/webhooks/{id}")).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(
        refused.body.contains("another application"),
        "{}",
        refused.body
    );
    // Nor can b act on it: Stop is refused and the webhook stays Active.
    let token = as_b.csrf_token().await;
    as_b.post(
        &format!("/admin/webhooks/{id}/stop"),
        &[("csrf", token.as_str())],
    )
    .await;
    let after = api
        .get(&format!("/api/v1/Webhook/{id}"))
        .header("SO-AppToken", &a)
        .send()
        .await
        .ok();
    assert_eq!(after["State"], "Active", "{after}");
}
