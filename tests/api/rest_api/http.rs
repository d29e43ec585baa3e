//! HTTP around the routes: body limits, media types, unknown paths and methods, the OpenAPI
//! document and the docs page.

use super::*;

// ---------------------------------------------------------------------------------------------
// Body limits and media types
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn bodies_over_the_limit_are_413() {
    let api = Api::start(&["--no-save-ping", "--max-body-bytes", "4096"]).await;
    let padded = |n: usize| {
        let mut body = hook("padded", &["contact.created"], "https://example.com/p");
        body["Properties"] = json!({"pad": "x".repeat(n)});
        body
    };
    let small = padded(3000);
    assert!(small.to_string().len() < 4096);
    let id = id_of(&api.create(small).await);
    let big = padded(5000);
    assert!(big.to_string().len() > 4096);
    api.post("/api/v1/Webhook")
        .json(&big)
        .send()
        .await
        .error(413, "", "");
    api.put(&format!("/api/v1/Webhook/{id}"))
        .json(&big)
        .send()
        .await
        .error(413, "", "");
    api.post("/api/v1/Agents/Webhook/SaveWebhook")
        .json(&big)
        .send()
        .await
        .error(413, "", "");
    api.post("/api/v1/Webhook/contact.created/1")
        .json(&json!({"pad": "x".repeat(5000)}))
        .send()
        .await
        .error(413, "", "");
    // Without a Content-Length (chunked), the limit holds too.
    let big = big.to_string();
    let request = format!(
        "POST /api/v1/Webhook HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
         {:x}\r\n{big}\r\n0\r\n\r\n",
        api.auth,
        big.len()
    );
    let answer = api.server.raw_http(request.as_bytes()).await;
    assert!(
        answer.starts_with("HTTP/1.1 413"),
        "chunked body over the limit: {answer}"
    );
    assert_eq!(api.list_ids().await, vec![id], "nothing else saved");
}

#[tokio::test]
async fn wrong_content_types_are_415() {
    let api = Api::start(&NO_PING).await;
    let id = id_of(
        &api.create(hook("typed", &["contact.created"], "https://example.com/t"))
            .await,
    );
    let body = hook("plain", &["contact.created"], "https://example.com/x").to_string();
    let cases = [
        (Method::POST, "/api/v1/Webhook".to_string()),
        (Method::PUT, format!("/api/v1/Webhook/{id}")),
        (Method::PATCH, format!("/api/v1/Webhook/{id}")),
        (Method::POST, "/api/v1/Webhook/Test".to_string()),
        (
            Method::POST,
            "/api/v1/Webhook/contact.created/1".to_string(),
        ),
        (
            Method::POST,
            "/api/v1/Agents/Webhook/SaveWebhook".to_string(),
        ),
    ];
    for (method, path) in cases {
        for ct in ["text/plain", "application/x-www-form-urlencoded"] {
            api.call(method.clone(), &path)
                .raw(ct, body.clone())
                .send()
                .await
                .error(415, "", "");
        }
    }
    assert_eq!(api.list_ids().await, vec![id]);
    assert_eq!(api.fetch(id).await["Name"], "typed", "nothing changed");
}

#[tokio::test]
async fn json_media_type_variants_are_accepted() {
    let api = Api::start(&NO_PING).await;
    // A charset parameter, and `text/json` (NetServer accepts it: docs/REST.md).
    for ct in ["application/json; charset=utf-8", "text/json"] {
        api.post("/api/v1/Webhook")
            .raw(
                ct,
                hook(ct, &["contact.created"], "https://example.com/j").to_string(),
            )
            .send()
            .await
            .ok();
    }
}

#[tokio::test]
async fn unknown_api_paths_and_wrong_methods_answer_json_errors() {
    let api = Api::start(&NO_PING).await;
    let id = id_of(
        &api.create(hook("m", &["contact.created"], "https://example.com/m"))
            .await,
    );
    // Every 4xx answer under /api carries the JSON error body.
    let mut problems = Vec::new();
    for path in [
        "/api/v1/Nope".to_string(),
        "/api/v1/Webhook/1/Nope".to_string(),
        "/api/v2/Webhook".to_string(),
    ] {
        let reply = api.get(&path).send().await;
        if let Err(p) = reply.check_error(404, "", "") {
            problems.push(p);
        }
    }
    let wrong_methods = [
        (Method::DELETE, "/api/v1/Webhook".to_string()),
        (Method::PUT, "/api/v1/Webhook/default".to_string()),
        (Method::POST, format!("/api/v1/Webhook/{id}")),
        (
            Method::GET,
            "/api/v1/Agents/Webhook/GetAllWebhooks".to_string(),
        ),
    ];
    for (method, path) in wrong_methods {
        let reply = api.call(method, &path).send().await;
        if let Err(p) = reply.check_error(405, "", "") {
            problems.push(p);
        }
        if reply.header("allow").is_none() {
            problems.push(format!("{}: 405 without an Allow header", reply.what));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// OpenAPI and the docs page
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn openapi_document_describes_the_rest_routes() {
    let api = Api::start(&NO_PING).await;
    let doc = api.anon(Method::GET, "/api/openapi.json").send().await.ok();
    let version = doc["openapi"].as_str().unwrap_or("");
    assert!(version.starts_with("3."), "openapi version {version:?}");
    let paths = doc["paths"]
        .as_object()
        .unwrap_or_else(|| panic!("no paths object in the OpenAPI document"));
    let keys: Vec<&String> = paths.keys().collect();
    for path in [
        "/api/v1/Webhook",
        "/api/v1/Webhook/default",
        "/api/v1/Webhook/Test",
    ] {
        assert!(paths.contains_key(path), "no {path} in {keys:?}");
    }
    let webhook = &paths["/api/v1/Webhook"];
    assert!(
        webhook.get("get").is_some() && webhook.get("post").is_some(),
        "/api/v1/Webhook has get and post: {webhook}"
    );
    let by_id = paths
        .iter()
        .find(|(k, v)| {
            k.starts_with("/api/v1/Webhook/{")
                && k.matches('/').count() == 4
                && v.get("patch").is_some()
        })
        .unwrap_or_else(|| panic!("no /api/v1/Webhook/{{id}} path with patch in {keys:?}"));
    for method in ["get", "put", "patch", "delete"] {
        assert!(by_id.1.get(method).is_some(), "{} lacks {method}", by_id.0);
    }
    assert!(
        keys.iter().any(|k| k.ends_with("/LastError")),
        "no LastError path in {keys:?}"
    );
    assert!(
        keys.iter()
            .any(|k| k.starts_with("/api/v1/Agents/Webhook/")),
        "no Agent RPC path in {keys:?}"
    );
}

#[tokio::test]
async fn docs_page_is_served_offline() {
    let api = Api::start(&NO_PING).await;
    let mut page = api.anon(Method::GET, "/api/docs").send().await;
    if page.status != 200 {
        page = api.anon(Method::GET, "/api/docs/").send().await;
    }
    page.expect_status(200);
    assert!(
        page.content_type().starts_with("text/html"),
        "{}: Content-Type {:?}",
        page.what,
        page.content_type()
    );
    let html = page.body.to_ascii_lowercase();
    assert!(html.contains("<html"), "not an HTML page: {}", page.body);
    assert!(
        !html.contains("://cdn") && !html.contains("unpkg.com") && !html.contains("jsdelivr"),
        "the page loads assets from a CDN: {}",
        page.body
    );
    // Every script and stylesheet is local, and loads.
    let mut assets = Vec::new();
    for attr in ["src=\"", "href=\""] {
        for (start, _) in html.match_indices(attr) {
            let rest = &page.body[start + attr.len()..];
            let end = rest.find('"').unwrap_or(rest.len());
            assets.push(rest[..end].to_string());
        }
    }
    let mut local_sources = Vec::new();
    for asset in assets
        .iter()
        .filter(|a| a.ends_with(".js") || a.ends_with(".css"))
    {
        assert!(
            !asset.starts_with("http:") && !asset.starts_with("https:") && !asset.starts_with("//"),
            "external asset {asset:?} in the docs page"
        );
        let url = page.url.join(asset).expect("asset URL");
        let response = api
            .server
            .http
            .get(url.clone())
            .send()
            .await
            .expect("GET asset");
        assert_eq!(response.status().as_u16(), 200, "docs asset {url}");
        let text = response.text().await.expect("asset body");
        // The UI is pointed at hookwire's document, not Swagger's demo Petstore.
        if !asset.contains("bundle") {
            assert!(
                !text.contains("petstore.swagger.io"),
                "docs asset {url} loads the Petstore demo"
            );
        }
        local_sources.push(text);
    }
    assert!(
        page.body.contains("/api/openapi.json")
            || local_sources
                .iter()
                .any(|t| t.contains("/api/openapi.json")),
        "neither the docs page nor its scripts point at /api/openapi.json"
    );
}
