//! schemathesis (PyPI) fuzzes every operation of `/api/openapi.json` against the real server:
//! no server error, and every response conforms to the schema.

use crate::support::*;

#[tokio::test]
async fn schemathesis_finds_no_server_error_and_no_schema_violation() {
    let probe = std::process::Command::new("schemathesis")
        .arg("--version")
        .output();
    assert!(
        probe.as_ref().is_ok_and(|o| o.status.success()),
        "schemathesis is not installed: run the suite with scripts/test (it installs it), or pip install schemathesis"
    );
    let server = TestServer::start(&["--no-save-ping"]);
    let ticket = server.ticket().await;
    // One webhook, so that operations on /api/v1/Webhook/{id} reach real data too.
    server
        .call(
            NS88,
            SOAP11,
            &ticket,
            "SaveWebhook",
            &webhook_xml(
                0,
                "fuzzed",
                &["contact.created"],
                "https://example.com/h",
                "",
            ),
        )
        .await
        .ok();
    let spec = server.url("/api/openapi.json");
    let auth = format!("Authorization: SOTicket {ticket}");
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("schemathesis")
            .args([
                "run",
                &spec,
                "-H",
                &auth,
                "--checks",
                "not_a_server_error,response_schema_conformance",
                "--max-examples",
                "25",
                "--request-timeout",
                "10",
            ])
            .env("SCHEMATHESIS_TELEMETRY", "false")
            .output()
            .expect("run schemathesis")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis found problems:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("19 selected"),
        "every operation was tested:\n{stdout}"
    );
}
