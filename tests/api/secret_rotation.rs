//! Rotating a webhook's Secret (docs/DELIVERY.md, Rotating a Secret; docs/REST.md, Secret):
//! - `POST /api/v1/Webhook/{id}/Secret` answers a new random Secret, once, and until when the
//!   replaced one still signs;
//! - during that grace, deliveries carry `X-SuperOffice-Signature` with the new Secret only and
//!   `webhook-signature` with two signatures, the new Secret's then the old one's; after it,
//!   only the new one; a Secret changed by PUT does the same, and clearing it clears both;
//! - the replaced Secret is stored encrypted, like the Secret;
//! - another application's webhook is a 403 (and keeps its Secret), an unknown one a 404.

use std::time::Duration;

use serde_json::{Value, json};
use sqlx::Connection;

use crate::support::LOOPBACK;
use crate::support::receiver::{Receiver, Request, verify_standard_webhooks};
use crate::support::rest::{self, Api};

const OLD: &str = "the-old-secret-value";

fn hook(url: &str) -> Value {
    json!({"Name": "rotated", "Events": ["contact.created"], "TargetUrl": url,
           "Secret": OLD, "State": "Active"})
}

/// Signals one event and returns the delivery the receiver gets.
async fn delivery(api: &Api, receiver: &Receiver, key: i32) -> Request {
    receiver.clear();
    api.post(&format!("/api/v1/Webhook/contact.created/{key}"))
        .raw("application/json", "{}")
        .send()
        .await
        .no_content();
    receiver.wait_for_requests(1, Duration::from_secs(20)).await[0].clone()
}

/// The entries of `webhook-signature`, each checked on its own against the request.
fn standard_signatures(request: &Request) -> Vec<String> {
    let header = request.header("webhook-signature").unwrap_or_default();
    header.split(' ').map(str::to_string).collect()
}

/// Whether the one signature `entry` verifies `request` under `secret`.
fn signed_by(request: &Request, entry: &str, secret: &str) -> bool {
    verify_standard_webhooks(
        secret,
        request.header("webhook-id").unwrap_or_default(),
        request.header("webhook-timestamp").unwrap_or_default(),
        entry,
        &request.body,
        chrono::Utc::now().timestamp(),
    )
    .is_ok()
}

/// Asserts `request` is signed for receivers that know `new`, and during a grace also for
/// those that still know `old`: SuperOffice's signature only with `new`, the Standard
/// Webhooks signatures `new` then `old` (`old` None: `new` alone).
fn assert_signed(request: &Request, new: &str, old: Option<&str>) {
    request
        .verify_superoffice(new)
        .expect("X-SuperOffice-Signature is signed with the new Secret");
    if let Some(old) = old {
        assert!(
            request.verify_superoffice(old).is_err(),
            "X-SuperOffice-Signature verifies with the replaced Secret"
        );
    }
    let entries = standard_signatures(request);
    let want: Vec<&str> = [Some(new), old].into_iter().flatten().collect();
    assert_eq!(entries.len(), want.len(), "webhook-signature {entries:?}");
    for (entry, secret) in entries.iter().zip(&want) {
        assert!(
            signed_by(request, entry, secret),
            "webhook-signature {entries:?}: {entry} is not signed with {secret:?}"
        );
    }
}

/// The `previous_secret` column of webhook `id`, read straight from the database.
async fn stored_previous_secret(url: &str, id: i64) -> Option<String> {
    let sql = "SELECT previous_secret FROM webhooks WHERE id = $1";
    if url.starts_with("sqlite:") {
        let mut db = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query_scalar(sql)
            .bind(i32::try_from(id).unwrap())
            .fetch_one(&mut db)
            .await
            .unwrap()
    } else {
        let mut db = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query_scalar(sql)
            .bind(i32::try_from(id).unwrap())
            .fetch_one(&mut db)
            .await
            .unwrap()
    }
}

/// Asserts the replaced Secret is stored sealed, and (SQLite) is in no byte of the database
/// file nor its WAL.
async fn assert_previous_sealed(url: &str, id: i64, secret: &str) {
    let stored = stored_previous_secret(url, id)
        .await
        .expect("the replaced Secret is kept");
    assert!(
        stored.starts_with("enc:v1:") && !stored.contains(secret),
        "previous_secret holds {stored:?}"
    );
    let Some(db) = url.strip_prefix("sqlite://") else {
        return;
    };
    for path in [db.to_string(), format!("{db}-wal")] {
        let Ok(bytes) = std::fs::read(&path) else {
            continue; // no WAL at the moment
        };
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{path} holds the replaced Secret in plaintext"
        );
    }
}

/// `PreviousValidUntil` of a regeneration, as a time.
fn valid_until(answer: &Value) -> chrono::DateTime<chrono::Utc> {
    let text = answer["PreviousValidUntil"].as_str().unwrap_or_default();
    chrono::DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("PreviousValidUntil of {answer} is not ISO 8601: {e}"))
        .with_timezone(&chrono::Utc)
}

#[tokio::test]
async fn a_regenerated_secret_signs_alone_for_superoffice_and_beside_the_old_one_for_the_grace() {
    let receiver = Receiver::start().await;
    let api = Api::start(&LOOPBACK).await;
    let id = rest::id_of(&api.create(hook(&receiver.url("/in"))).await);
    let before = chrono::Utc::now();

    let answer = api
        .post(&format!("/api/v1/Webhook/{id}/Secret"))
        .send()
        .await
        .ok();
    let new = answer["Secret"].as_str().unwrap_or_default().to_string();
    assert!(
        new.len() == 40 && new.bytes().all(|b| b.is_ascii_alphanumeric()),
        "a new Secret of 40 letters and digits: {answer}"
    );
    // The default grace is a day.
    let until = valid_until(&answer);
    assert!(
        until >= before + chrono::Duration::hours(24)
            && until <= chrono::Utc::now() + chrono::Duration::hours(24),
        "{answer}"
    );
    let webhook = api.fetch(id).await;
    assert_eq!(webhook["Secret"], new.as_str(), "{webhook}");

    let request = delivery(&api, &receiver, 1).await;
    assert_signed(&request, &new, Some(OLD));
    assert_previous_sealed(&api.server.database_url(), id, OLD).await;

    // Another regeneration replaces the oldest: the last two sign.
    let again = api
        .post(&format!("/api/v1/Webhook/{id}/Secret"))
        .send()
        .await
        .ok();
    let newest = again["Secret"].as_str().unwrap_or_default().to_string();
    assert_ne!(newest, new);
    let request = delivery(&api, &receiver, 2).await;
    assert_signed(&request, &newest, Some(&new));
}

#[tokio::test]
async fn after_the_grace_only_the_new_secret_signs() {
    let receiver = Receiver::start().await;
    let mut args = LOOPBACK.to_vec();
    args.extend(["--secret-grace-secs", "1"]);
    let api = Api::start(&args).await;
    let id = rest::id_of(&api.create(hook(&receiver.url("/in"))).await);
    let answer = api
        .post(&format!("/api/v1/Webhook/{id}/Secret"))
        .send()
        .await
        .ok();
    let new = answer["Secret"].as_str().unwrap_or_default().to_string();
    let until = valid_until(&answer);
    // Past the deadline the answer gave (not a timing assertion: the wait only gets there).
    while chrono::Utc::now() <= until + chrono::Duration::milliseconds(100) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let request = delivery(&api, &receiver, 1).await;
    assert_signed(&request, &new, None);
    assert!(
        !signed_by(&request, &standard_signatures(&request)[0], OLD),
        "the replaced Secret still signs after its grace"
    );
}

#[tokio::test]
async fn a_secret_changed_by_put_keeps_the_old_one_for_the_grace_and_clearing_clears_both() {
    let receiver = Receiver::start().await;
    let api = Api::start(&LOOPBACK).await;
    let id = rest::id_of(&api.create(hook(&receiver.url("/in"))).await);
    let new = "a-secret-set-by-put";
    let mut body = hook(&receiver.url("/in"));
    body["Secret"] = json!(new);
    api.put(&format!("/api/v1/Webhook/{id}"))
        .json(&body)
        .send()
        .await
        .ok();

    let request = delivery(&api, &receiver, 1).await;
    assert_signed(&request, new, Some(OLD));
    assert_previous_sealed(&api.server.database_url(), id, OLD).await;

    // Clearing the Secret: nothing signs any more, not even the replaced Secret.
    api.patch(&format!("/api/v1/Webhook/{id}"))
        .json(&json!({"Secret": null}))
        .send()
        .await
        .ok();
    let request = delivery(&api, &receiver, 2).await;
    assert_eq!(request.header("X-SuperOffice-Signature"), None);
    assert_eq!(request.header("webhook-signature"), None);
    assert_eq!(
        stored_previous_secret(&api.server.database_url(), id).await,
        None
    );
}

#[tokio::test]
async fn another_application_gets_403_and_an_unknown_webhook_404() {
    let receiver = Receiver::start().await;
    let mut args = LOOPBACK.to_vec();
    args.push("--online");
    let api = Api::start(&args).await;
    let (a, b) = api.two_apps();
    let created = api
        .post("/api/v1/Webhook")
        .header("SO-AppToken", &a)
        .json(&hook(&receiver.url("/a")))
        .send()
        .await
        .ok();
    let id = rest::id_of(&created);
    let path = format!("/api/v1/Webhook/{id}/Secret");

    api.post(&path)
        .header("SO-AppToken", &b)
        .send()
        .await
        .error(403, "SoSecurityException", "another application");
    let webhook = api
        .get(&format!("/api/v1/Webhook/{id}"))
        .header("SO-AppToken", &a)
        .send()
        .await
        .ok();
    assert_eq!(webhook["Secret"], OLD, "the Secret is unchanged: {webhook}");

    api.post("/api/v1/Webhook/424242/Secret")
        .header("SO-AppToken", &a)
        .send()
        .await
        .error(404, "", "Webhook 424242 does not exist");
    api.post("/api/v1/Webhook/x/Secret")
        .header("SO-AppToken", &a)
        .send()
        .await
        .error(400, "ArgumentException", "'x' is not a webhook id");
    let answer = api.post(&path).header("SO-AppToken", &a).send().await.ok();
    assert!(answer["Secret"].is_string(), "{answer}");
}

/// With the save ping on, a rotation still sends no ping: the receiver cannot know the new
/// Secret yet, and a receiver checking `X-SuperOffice-Signature` would refuse it.
#[tokio::test]
async fn a_rotation_sends_no_test_ping() {
    let receiver = Receiver::start().await;
    let api = Api::start(&LOOPBACK[..3]).await;
    let id = rest::id_of(&api.create(hook(&receiver.url("/in"))).await);
    let pinged = receiver.wait_for_requests(1, Duration::from_secs(20)).await;
    assert_eq!(
        pinged[0].header("x-hook-test"),
        Some("true"),
        "the save pinged"
    );
    receiver.clear();
    api.post(&format!("/api/v1/Webhook/{id}/Secret"))
        .send()
        .await
        .ok();
    // A save's ping is answered before the save is: had there been one, it would be here.
    assert!(receiver.is_empty(), "pinged: {}", receiver.summary());
}
