//! What the fuzz pass found, each pinned by a focused test so it stays fixed whatever seed the
//! pass runs with.

use serde_json::{Value, json};

use super::request::{FuzzRequest, Kind};
use super::runner::{self, Outcome};
use super::verdict;
use crate::support::TestServer;

/// A webhook made over REST; returns its id and the `Authorization` value used.
async fn rest_webhook(server: &TestServer) -> (i64, String) {
    let auth = format!("SOTicket {}", server.ticket().await);
    let body = json!({"Name": "merge", "Events": ["contact.created"],
                      "TargetUrl": "https://example.com/hook", "State": "Active"});
    let text = server
        .http
        .post(server.url("/api/v1/Webhook"))
        .header("Authorization", &auth)
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("create")
        .text()
        .await
        .expect("create: the answer");
    let made: Value = serde_json::from_str(&text).expect("created webhook as JSON");
    let id = made["WebhookId"].as_i64().expect("a WebhookId");
    (id, auth)
}

/// A merge patch looked each member up by comparing it with every key of the object, so one
/// patch of 30 000 new Properties (a 500 KB body) cost 450 million comparisons: minutes of one
/// core, with the client long gone. It is answered now, like any request, within the pass's
/// answer timeout (20 s; it takes about a second in a debug build).
#[tokio::test]
async fn a_merge_patch_of_thirty_thousand_new_properties_is_answered() {
    let server = TestServer::start(&["--no-save-ping"]);
    let (id, auth) = rest_webhook(&server).await;
    let properties: serde_json::Map<String, Value> =
        (0..30_000).map(|i| (format!("p{i}"), json!(i))).collect();
    let patch = json!({"Properties": properties}).to_string();
    let request = FuzzRequest::new(
        Kind::Rest,
        "merge patch",
        "PATCH",
        &format!("/api/v1/Webhook/{id}"),
    )
    .header("Authorization", &auth)
    .header("Content-Type", "application/merge-patch+json")
    .body(patch);
    let outcome = runner::run_batch(&runner::client(), &server.base, vec![(0, request)])
        .await
        .pop()
        .map(|(_, _, outcome, _)| outcome);
    let answer = match outcome {
        Some(Outcome::Answered(answer)) => answer,
        Some(Outcome::NoAnswer(why) | Outcome::Unsendable(why)) => {
            panic!("the merge patch got no answer: {why}")
        }
        None => panic!("the merge patch was not sent"),
    };
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let patched: Value = serde_json::from_slice(&answer.body).expect("the patched webhook");
    let count = patched["Properties"].as_object().map_or(0, |p| p.len());
    assert_eq!(count, 30_000, "every new property is kept");
}

/// `/API` and `/{tenant}/api` name the REST API as `/api` does (paths match case-insensitively,
/// with an optional tenant), but answered SOAP's plain-text 404 instead of the JSON error.
#[tokio::test]
async fn the_rest_root_in_any_case_or_behind_a_tenant_answers_the_json_error() {
    let server = TestServer::start(&[]);
    let client = runner::client();
    for path in ["/API", "/Api", "/Cust12345/api", "/Cust12345/API"] {
        let request = FuzzRequest::new(Kind::Rest, path, "GET", path);
        let answer = match runner::run_batch(&client, &server.base, vec![(0, request.clone())])
            .await
            .pop()
        {
            Some((_, _, Outcome::Answered(answer), _)) => answer,
            _ => panic!("GET {path} got no answer"),
        };
        assert_eq!(answer.status, 404, "GET {path}");
        if let Err(why) = verdict::check(&request, &answer) {
            panic!(
                "GET {path}: {why}: {}",
                String::from_utf8_lossy(&answer.body)
            );
        }
    }
}
