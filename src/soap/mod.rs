//! The SOAP adapter: NetServer's `Remote/Services8x/*.svc` endpoints over the agent.
//!
//! - `envelope`: the envelope, its version and header blocks;
//! - `decode` / `encode`: parameters in, carriers out;
//! - `webhook_service` / `principal_service`: one module per `.svc`;
//! - `reply` / `fault` / `xml_out`: writing answers; `wsdl`: the service descriptions.
//!
//! The wire contract is `docs/SOAP.md`.

mod decode;
mod encode;
mod envelope;
mod fault;
mod principal_service;
mod reply;
pub mod version;
mod webhook_service;
pub mod wsdl;
mod xml_out;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::state::AppState;
use decode::Params;
use envelope::RequestHeaders;
use fault::Fault;
use version::{ServiceVersion, SoapVersion};

/// Which `.svc` a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Service {
    Webhook,
    Principal,
}

impl Service {
    fn name(self) -> &'static str {
        match self {
            Service::Webhook => "Webhook",
            Service::Principal => "SoPrincipal",
        }
    }
}

/// Resolves `/[{tenant}/]Remote/Services8x/{Webhook|SoPrincipal}.svc`, case-insensitively as IIS does.
fn endpoint(path: &str) -> Option<(ServiceVersion, Service)> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let tail = match segments.len() {
        3 | 4 => &segments[segments.len() - 3..],
        _ => return None,
    };
    if !tail[0].eq_ignore_ascii_case("remote") {
        return None;
    }
    let version = ServiceVersion::from_segment(tail[1])?;
    let service = match tail[2].to_ascii_lowercase().as_str() {
        "webhook.svc" => Service::Webhook,
        "soprincipal.svc" => Service::Principal,
        _ => return None,
    };
    Some((version, service))
}

/// A decoded request: its SOAP version, header values and operation.
pub struct SoapRequest<C> {
    pub version: SoapVersion,
    pub headers: RequestHeaders,
    pub call: C,
}

/// The fallback handler: every path not routed elsewhere comes here.
pub async fn handle(State(state): State<AppState>, request: Request) -> Response {
    let path = request.uri().path().to_string();
    let Some((version, service)) = endpoint(&path) else {
        return (
            StatusCode::NOT_FOUND,
            format!(
                "no endpoint at {path}; SOAP endpoints are /Remote/Services87|Services88/Webhook.svc and SoPrincipal.svc\n"
            ),
        )
            .into_response();
    };
    match *request.method() {
        Method::GET | Method::HEAD => describe(&request, version, service),
        Method::POST => call(state, request, version, service).await,
        _ => (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "GET, POST")],
            "SOAP endpoints take POST; GET ?wsdl returns the WSDL\n",
        )
            .into_response(),
    }
}

/// A query asking for the WSDL: `?wsdl` or `?singleWsdl`, any case.
pub fn asks_wsdl(query: &str) -> bool {
    query.split('&').any(|kv| {
        let key = kv.split('=').next().unwrap_or("");
        key.eq_ignore_ascii_case("wsdl") || key.eq_ignore_ascii_case("singlewsdl")
    })
}

/// `GET ?wsdl` answers the WSDL; a plain GET says what the endpoint is.
fn describe(request: &Request, version: ServiceVersion, service: Service) -> Response {
    let wants_wsdl = request.uri().query().is_some_and(asks_wsdl);
    let address = endpoint_address(request);
    if !wants_wsdl {
        return (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!(
                "hookwire {} service ({}). POST SOAP 1.1 or 1.2 envelopes here; the WSDL is at {address}?wsdl\n",
                service.name(),
                version.segment()
            ),
        )
            .into_response();
    }
    let wsdl = match service {
        Service::Webhook => wsdl::webhook_wsdl(version, &address),
        Service::Principal => wsdl::principal_wsdl(version, &address),
    };
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        wsdl,
    )
        .into_response()
}

/// The URL clients reached this endpoint by (for `soap:address`).
fn endpoint_address(request: &Request) -> String {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| request.uri().authority().map(|a| a.to_string()))
        .unwrap_or_else(|| "localhost".to_string());
    format!("http://{host}{}", request.uri().path())
}

/// A body `crate::body_deadline` did not read: a Sender fault with the problem's status, in the
/// SOAP version the Content-Type names.
pub fn body_fault(headers: &HeaderMap, problem: &crate::body_deadline::BodyProblem) -> Response {
    Fault::sender(
        SoapVersion::from_content_type(content_type(headers)),
        problem.message(),
    )
    .with_status(problem.status())
    .into_response()
}

fn content_type(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
}

async fn call(
    state: AppState,
    request: Request,
    service: ServiceVersion,
    which: Service,
) -> Response {
    let ct = content_type(request.headers()).map(str::to_string);
    let client = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip());
    let fallback = SoapVersion::from_content_type(ct.as_deref());
    if let Some(ct) = &ct {
        let essence = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if !matches!(
            essence.as_str(),
            "text/xml" | "application/soap+xml" | "application/xml" | ""
        ) {
            return Fault::sender(
                fallback,
                format!("Content-Type '{ct}' is not SOAP; use text/xml (SOAP 1.1) or application/soap+xml (SOAP 1.2)"),
            )
            .with_status(StatusCode::UNSUPPORTED_MEDIA_TYPE)
            .into_response();
        }
    }
    // The body deadline layer (src/body_deadline.rs) has read the body whole, in time and
    // within --max-body-bytes, answering 408/413 itself; here it is already in memory.
    let bytes =
        match axum::body::to_bytes(Body::new(request.into_body()), state.max_body_bytes).await {
            Ok(b) => b,
            Err(e) => {
                return Fault::sender(fallback, format!("the request body could not be read: {e}"))
                    .into_response();
            }
        };
    let bytes = bytes
        .strip_prefix(b"\xEF\xBB\xBF".as_slice())
        .unwrap_or(&bytes);
    let text: std::borrow::Cow<str> = if is_latin1(ct.as_deref(), bytes) {
        bytes
            .iter()
            .map(|&b| char::from(b))
            .collect::<String>()
            .into()
    } else {
        match std::str::from_utf8(bytes) {
            Ok(t) => t.into(),
            Err(_) => {
                return Fault::sender(fallback, "the request body is not valid UTF-8")
                    .into_response();
            }
        }
    };
    let text = text.as_ref();
    let path = format!("/Remote/{}/{}.svc", service.segment(), which.name());
    match which {
        Service::Webhook => {
            match decode(
                text,
                fallback,
                service,
                &path,
                &crate::agent::OperationName::NAMES,
                webhook_service::decode_call,
            ) {
                Ok(req) => webhook_service::execute(&state.agent, service, req).await,
                Err(f) => f.into_response(),
            }
        }
        Service::Principal => {
            match decode(
                text,
                fallback,
                service,
                &path,
                &principal_service::OPERATIONS,
                principal_service::decode_call,
            ) {
                Ok(req) => principal_service::execute(&state.agent, service, req, client).await,
                Err(f) => f.into_response(),
            }
        }
    }
}

/// Whether the body is ISO-8859-1, by its Content-Type charset or XML declaration (nusoap's
/// default encoding). Every other body must be UTF-8.
fn is_latin1(content_type: Option<&str>, body: &[u8]) -> bool {
    let is_latin1_name = |name: &str| {
        let name = name.trim().trim_matches(['"', '\'']).to_ascii_lowercase();
        matches!(
            name.as_str(),
            "iso-8859-1" | "latin1" | "latin-1" | "iso8859-1"
        )
    };
    if let Some(charset) = content_type.and_then(|ct| {
        ct.split(';')
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("charset"))
    }) {
        return is_latin1_name(charset.1);
    }
    let head = String::from_utf8_lossy(&body[..body.len().min(100)]).to_ascii_lowercase();
    head.starts_with("<?xml")
        && head
            .split("encoding=")
            .nth(1)
            .and_then(|rest| rest.split(['"', '\'']).nth(1))
            .is_some_and(is_latin1_name)
}

type DecodeCall<C> = fn(&Params, &str, SoapVersion) -> Result<C, Fault>;

/// Parses the envelope and decodes its operation, all before any await (the XML tree
/// borrows the request text).
fn decode<C>(
    text: &str,
    fallback: SoapVersion,
    service: ServiceVersion,
    path: &str,
    operations: &[&str],
    decode_call: DecodeCall<C>,
) -> Result<SoapRequest<C>, Fault> {
    let doc = envelope::parse_document(text, fallback)?;
    let env = envelope::read_envelope(&doc, fallback)?;
    let tns = service.namespace();
    let op = env.operation.tag_name();
    let known = op.namespace() == Some(tns) && operations.contains(&op.name());
    if !known {
        let hint = if op.namespace() == Some(tns) {
            format!("operations are {}", operations.join(", "))
        } else {
            format!("operations must be in namespace {tns}")
        };
        return Err(Fault::sender(
            env.version,
            format!(
                "unknown operation {{{}}}{} on {path}; {hint}",
                op.namespace().unwrap_or(""),
                op.name()
            ),
        ));
    }
    let params = Params::new(env.operation, tns, env.version);
    let call = decode_call(&params, op.name(), env.version)?;
    Ok(SoapRequest {
        version: env.version,
        headers: RequestHeaders::read(&env.header_blocks),
        call,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_match_case_insensitively_with_optional_tenant() {
        assert_eq!(
            endpoint("/Remote/Services88/Webhook.svc"),
            Some((ServiceVersion::V88, Service::Webhook))
        );
        assert_eq!(
            endpoint("/remote/SERVICES87/soprincipal.svc"),
            Some((ServiceVersion::V87, Service::Principal))
        );
        assert_eq!(
            endpoint("/Cust12345/Remote/Services88/Webhook.svc"),
            Some((ServiceVersion::V88, Service::Webhook))
        );
        assert_eq!(endpoint("/Remote/Services86/Webhook.svc"), None);
        assert_eq!(endpoint("/a/b/Remote/Services88/Webhook.svc"), None);
    }

    #[test]
    fn latin1_is_recognised_by_charset_or_declaration() {
        assert!(is_latin1(Some("text/xml; charset=ISO-8859-1"), b"<a/>"));
        assert!(!is_latin1(
            Some("text/xml; charset=utf-8"),
            b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>"
        ));
        assert!(is_latin1(
            Some("text/xml"),
            b"<?xml version='1.0' encoding='iso-8859-1'?><a/>"
        ));
        assert!(!is_latin1(None, b"<a/>"));
    }
}
