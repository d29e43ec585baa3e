//! REST error messages say exactly what is wrong with the request.

use crate::support::{ADMIN_PASSWORD, TestServer};

async fn post_json(server: &TestServer, path: &str, body: &str) -> (u16, serde_json::Value) {
    let response = server
        .http
        .post(server.url(path))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).expect("a JSON error body"),
    )
}

#[tokio::test]
async fn an_int_out_of_range_is_told_apart_from_a_non_number() {
    let server = TestServer::start(&["--no-save-ping"]);
    let (status, body) =
        post_json(&server, "/api/v1/Webhook/contact.created/99999999999", "{}").await;
    assert_eq!(status, 400);
    let message = body["Message"].as_str().unwrap();
    assert!(
        message.contains(
            "primaryKey '99999999999' is out of the range of xsd:int (-2147483648..2147483647)"
        ),
        "{message}"
    );
    let (status, body) = post_json(&server, "/api/v1/Webhook/contact.created/12abc", "{}").await;
    assert_eq!(status, 400);
    let message = body["Message"].as_str().unwrap();
    assert!(message.contains("'12abc' is not an int"), "{message}");

    let (status, body) = post_json(
        &server,
        "/api/v1/Agents/Webhook/SignalEvent",
        r#"{"EventName": "contact.created", "PrimaryKey": 4294967296}"#,
    )
    .await;
    assert_eq!(status, 400);
    let message = body["Message"].as_str().unwrap();
    assert!(
        message.contains("PrimaryKey '4294967296' is out of the range"),
        "{message}"
    );
}
