//! Counts every request by route family and answered status.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

/// Middleware: `hookwire_http_requests_total{family, status}` after the answer is built.
pub async fn count_request(request: Request, next: Next) -> Response {
    let family = family(request.uri().path(), request.uri().query());
    let response = next.run(request).await;
    metrics::counter!(
        "hookwire_http_requests_total",
        "family" => family,
        "status" => response.status().as_str().to_string(),
    )
    .increment(1);
    response
}

/// The route family of a (canonical) path: a fixed, small set, so paths carrying ids or
/// event names never become labels.
fn family(path: &str, query: Option<&str>) -> &'static str {
    if path == "/health" {
        "health"
    } else if path == "/metrics" {
        "metrics"
    } else if crate::rest::is_rest_path(path) {
        "rest"
    } else if path.to_ascii_lowercase().ends_with(".svc") {
        if query.is_some_and(crate::soap::asks_wsdl) {
            "wsdl"
        } else {
            "soap"
        }
    } else {
        "other"
    }
}

#[cfg(test)]
mod tests {
    use super::family;

    #[test]
    fn families() {
        assert_eq!(family("/health", None), "health");
        assert_eq!(family("/metrics", None), "metrics");
        assert_eq!(family("/api/v1/Webhook", None), "rest");
        assert_eq!(family("/Remote/Services88/Webhook.svc", None), "soap");
        assert_eq!(
            family("/t1/Remote/Services87/WEBHOOK.SVC", Some("x=1")),
            "soap"
        );
        assert_eq!(
            family("/Remote/Services88/Webhook.svc", Some("singleWsdl")),
            "wsdl"
        );
        assert_eq!(
            family("/Remote/Services88/Webhook.svc", Some("WSDL")),
            "wsdl"
        );
        assert_eq!(family("/favicon.ico", None), "other");
    }
}
