//! Every screen of the admin page (docs/ADMIN.md), in a real headless Chromium, at a desktop
//! width (1280 px) and a phone width (390 px): readable (the page itself never scrolls
//! sideways; a wide table scrolls inside its own box), every form field labelled, nothing
//! loaded from elsewhere, and, with JavaScript off, the same content in the HTML the server
//! sends. With `HOOKWIRE_SCREENSHOTS=DIR` it also saves each screen as `DIR/NAME-WIDTH.png`
//! (how docs/admin/ was made).

use serde_json::json;

use crate::support::admin::AdminHttp;
use crate::support::browser::Browser;
use crate::support::receiver::{Answer, Receiver};
use crate::support::rest::{self, Api};
use crate::support::*;

/// The screens: a name for the file, the path, and a text the screen must show.
fn screens(id: i64, delivery: i64) -> Vec<(&'static str, String, &'static str)> {
    vec![
        ("list", "/admin".into(), "Orders"),
        ("webhook", format!("/admin/webhooks/{id}"), "Orders"),
        (
            "events",
            format!("/admin/webhooks/{id}/events"),
            "contact.created",
        ),
        (
            "attempts",
            format!("/admin/webhooks/{id}/events/{delivery}"),
            "503",
        ),
        (
            "edit",
            format!("/admin/webhooks/{id}/edit"),
            "Order sync to the ERP",
        ),
        ("new", "/admin/webhooks/new".into(), "Name"),
        ("alerts", "/admin/alerts".into(), "Orders"),
    ]
}

#[tokio::test]
async fn every_screen_is_readable_at_desktop_and_phone_width() {
    let failing = Receiver::start().await;
    failing.set_answer(Answer::status(503).with_body("maintenance"));
    let mut args = LOOPBACK.to_vec();
    args.extend(["--failures-to-disable", "3", "--retry-delays-ms", "10,10"]);
    let api = Api::start(&args).await;
    let id = rest::id_of(
        &api.create(json!({
            "Name": "Orders", "Events": ["contact.created", "sale.*"],
            "TargetUrl": failing.url("/orders"), "State": "Active",
            "Description": "Order sync to the ERP", "NotifyVia": "InApp",
            "NotifyWhen": "FirstFailure Disabling", "ErrorEmails": ["ops@example.com"],
            "Headers": {"X-Tenant": "acme"}, "Properties": {"region": "eu"}
        }))
        .await,
    );
    api.signal("contact.created", 7).await;
    let page = api
        .get_when(&format!("/api/v1/Webhook/{id}/Deliveries"), |p| {
            p["Deliveries"][0]["Attempts"].as_i64().unwrap_or(0) >= 3
        })
        .await;
    let delivery = page["Deliveries"][0]["DeliveryId"]
        .as_i64()
        .unwrap_or_default();
    let shots = std::env::var("HOOKWIRE_SCREENSHOTS").ok();

    let browser = Browser::start().await;
    for width in [1280u32, 390] {
        browser
            .client
            .set_window_size(width, 900)
            .await
            .unwrap_or_else(|e| panic!("window size {width}: {e}"));
        // The sign-in screen first, then the others signed in.
        let mut all = vec![("signin", "/admin/signin".to_string(), "Sign in")];
        all.extend(screens(id, delivery));
        for (name, path, shows) in all {
            browser.open(&api.server, &path).await;
            if name == "signin" && browser.path().await != "/admin/signin" {
                continue; // signed in already (the second width)
            }
            let what = format!("{name} ({path}) at {width} px");
            let text = browser.text("main").await;
            assert!(
                text.contains(shows),
                "{what} does not show {shows:?}: {text}"
            );
            let overflow = browser
                .run("return document.documentElement.scrollWidth - window.innerWidth;")
                .await;
            if overflow.as_i64().unwrap_or(i64::MAX) > 0 {
                // Name the widest elements sticking out, for whoever fixes it.
                let culprits = browser
                    .run(
                        "return [...document.querySelectorAll('main *')]\
                         .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)\
                         .filter(e => !e.closest('.table-wrap *'))\
                         .slice(0, 8).map(e => e.tagName + '.' + e.className + ' ' + \
                         Math.round(e.getBoundingClientRect().right));",
                    )
                    .await;
                panic!("{what} scrolls sideways by {overflow} px: {culprits}");
            }
            let unlabelled = browser
                .run(
                    "return [...document.querySelectorAll('input:not([type=hidden]), select, \
                     textarea')].filter(e => e.labels.length === 0 && !e.getAttribute('aria-label'))\
                     .map(e => e.name || e.id);",
                )
                .await;
            assert_eq!(unlabelled, json!([]), "{what}: fields without a label");
            assert_eq!(
                browser.foreign_resources(&api.server).await,
                Vec::<String>::new(),
                "{what}"
            );
            if let Some(dir) = &shots {
                let png = browser
                    .client
                    .screenshot()
                    .await
                    .unwrap_or_else(|e| panic!("screenshot of {what}: {e}"));
                let file = format!("{dir}/{name}-{width}.png");
                std::fs::write(&file, png).unwrap_or_else(|e| panic!("write {file}: {e}"));
            }
            if name == "signin" {
                browser.sign_in(&api.server).await;
            }
        }
    }
    browser.close().await;

    // With JavaScript off, the server's HTML already holds what the screen shows.
    let http = AdminHttp::sign_in(&api.server).await;
    for (name, path, shows) in screens(id, delivery) {
        let answer = http.get(&path).await;
        assert_eq!(answer.status, 200, "{name}: {}", answer.body);
        assert!(
            answer.body.contains(shows),
            "{name} without script lacks {shows:?}"
        );
    }
}
