//! An independent SOAP client, zeep (PyPI), loads every WSDL and calls every operation on
//! both service versions and both bindings (`tests/interop/zeep_client.py`).

use crate::support::*;

#[tokio::test]
async fn zeep_calls_every_operation_through_the_wsdls() {
    let probe = std::process::Command::new("python3")
        .args(["-c", "import zeep"])
        .output();
    assert!(
        probe.as_ref().is_ok_and(|o| o.status.success()),
        "zeep is not installed: run the suite with scripts/test (it installs zeep), or pip install zeep"
    );
    let server = TestServer::start(&["--no-save-ping"]);
    let script = format!(
        "{}/tests/interop/zeep_client.py",
        env!("CARGO_MANIFEST_DIR")
    );
    let base = server.base.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .args([script.as_str(), base.as_str(), "admin", ADMIN_PASSWORD])
            .output()
            .expect("run python3")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "zeep client failed:\n{stdout}\n{stderr}"
    );
    for segment in ["Services87", "Services88"] {
        assert!(
            stdout.contains(segment),
            "no {segment} checks ran:\n{stdout}"
        );
    }
}
