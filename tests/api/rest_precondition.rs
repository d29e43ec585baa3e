//! `PATCH /api/v1/Webhook/{id}` with `If-Unmodified-Since` is a real precondition: of two
//! PATCHes that race with the same date, exactly one is applied and the other answers 412,
//! whichever order the server reads and writes them in (docs/REST.md).

use crate::support::*;
use serde_json::{Value, json};

const ROUNDS: usize = 20;

/// An admin's `Authorization` value.
async fn authorization(server: &TestServer) -> String {
    format!("SOTicket {}", server.ticket().await)
}

async fn create(server: &TestServer, auth: &str, name: &str) -> Value {
    let response = server
        .http
        .post(server.url("/api/v1/Webhook"))
        .header("Authorization", auth)
        .header("Content-Type", "application/json")
        .body(
            json!({
                "Name": name,
                "Events": ["contact.created"],
                "TargetUrl": "https://example.com/race",
                "Description": "created",
            })
            .to_string(),
        )
        .send()
        .await
        .expect("POST /api/v1/Webhook");
    assert_eq!(response.status(), 200, "create {name}");
    json_of(response).await
}

/// A merge patch with `If-Unmodified-Since: since`: the status and the JSON answer.
async fn patch(server: &TestServer, auth: &str, id: i64, since: &str, body: Value) -> (u16, Value) {
    let response = server
        .http
        .patch(server.url(&format!("/api/v1/Webhook/{id}")))
        .header("Authorization", auth)
        .header("If-Unmodified-Since", since)
        .header("Content-Type", "application/merge-patch+json")
        .body(body.to_string())
        .send()
        .await
        .expect("PATCH");
    let status = response.status().as_u16();
    (status, json_of(response).await)
}

async fn json_of(response: reqwest::Response) -> Value {
    let text = response.text().await.expect("a body");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn updated_of(webhook: &Value) -> chrono::DateTime<chrono::Utc> {
    let text = webhook["Updated"].as_str().unwrap_or_default();
    chrono::DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("Updated is not RFC 3339 ({e}): {webhook}"))
        .with_timezone(&chrono::Utc)
}

fn http_date(dt: chrono::DateTime<chrono::Utc>) -> String {
    dt.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

#[tokio::test]
async fn of_two_racing_patches_with_the_same_precondition_exactly_one_wins() {
    let server = TestServer::start(&["--no-save-ping"]);
    let auth = authorization(&server).await;
    let mut webhooks = Vec::new();
    for round in 0..ROUNDS {
        webhooks.push(create(&server, &auth, &format!("race{round}")).await);
    }
    // HTTP dates have whole seconds. Once the clock is past the second every webhook was last
    // changed in, any PATCH that lands makes the webhook "modified since" that second, so a
    // PATCH that reads it afterwards must fail its precondition too, not only one that raced.
    let last_change = webhooks.iter().map(updated_of).max().unwrap_or_default();
    let next_second = last_change.timestamp() + 1;
    while chrono::Utc::now().timestamp() < next_second {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    let mut both_won = Vec::new();
    for (round, webhook) in webhooks.iter().enumerate() {
        let id = webhook["WebhookId"].as_i64().expect("WebhookId");
        let since = http_date(updated_of(webhook));
        let edit = |who: &str| json!({"Name": format!("{who}{round}"), "Description": who});
        let (a, b) = tokio::join!(
            patch(&server, &auth, id, &since, edit("a")),
            patch(&server, &auth, id, &since, edit("b")),
        );
        let (winner, loser) = match (a.0, b.0) {
            (200, 200) => {
                both_won.push(round);
                continue;
            }
            (200, _) => ((a, "a"), b),
            (_, 200) => ((b, "b"), a),
            _ => panic!("round {round}: neither PATCH won: {a:?} {b:?}"),
        };
        assert_eq!(
            loser.0, 412,
            "round {round}: the losing PATCH is a failed precondition: {loser:?}"
        );
        assert_eq!(
            loser.1["ErrorType"], "PreconditionFailedException",
            "{loser:?}"
        );
        let ((_, answered), who) = winner;
        assert_eq!(answered["Name"], format!("{who}{round}"), "{answered}");
        let stored = json_of(
            server
                .http
                .get(server.url(&format!("/api/v1/Webhook/{id}")))
                .header("Authorization", &auth)
                .send()
                .await
                .expect("GET"),
        )
        .await;
        assert_eq!(stored["Name"], format!("{who}{round}"), "round {round}");
        assert_eq!(stored["Description"], who, "round {round}: {stored}");
    }
    assert!(
        both_won.is_empty(),
        "both PATCHes were applied in rounds {both_won:?} of {ROUNDS}"
    );
}
