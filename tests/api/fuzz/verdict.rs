//! What every answer must be, whatever the request (docs/SOAP.md "Faults" and "Replies",
//! docs/REST.md "Errors"): a SOAP endpoint answers a well-formed envelope holding a normal
//! response, an `ExceptionInfo` (`Succeeded` false) or a Fault blaming the sender; a REST path
//! answers JSON, errors as `{"Error", "ErrorType", "Message"}`; nothing answers 5xx except the
//! SOAP 1.1 Fault, which is HTTP 500 by design.

use super::request::FuzzRequest;
use crate::support::{NS87, NS88, SOAP11, SOAP12};

/// An answer as received.
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    fn content_type(&self) -> String {
        self.header("content-type").to_ascii_lowercase()
    }

    fn text(&self) -> Result<&str, String> {
        std::str::from_utf8(&self.body).map_err(|e| format!("the body is not UTF-8: {e}"))
    }
}

/// Which part of the server a path reaches, by the routing rules of README.md "Endpoints"
/// (case-insensitive, optional tenant segment).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    Soap,
    Rest,
    /// The OpenAPI document and the docs page (not what the fuzz pass is about).
    Docs,
    Other,
}

pub fn target(request: &FuzzRequest) -> Target {
    let path = request.path_only();
    let nonempty: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let soap_tail = match nonempty.len() {
        3 | 4 => Some(&nonempty[nonempty.len() - 3..]),
        _ => None,
    };
    if let Some(tail) = soap_tail
        && tail[0].eq_ignore_ascii_case("remote")
        && ["services87", "services88"].contains(&tail[1].to_ascii_lowercase().as_str())
        && ["webhook.svc", "soprincipal.svc"].contains(&tail[2].to_ascii_lowercase().as_str())
    {
        return Target::Soap;
    }
    let segments: Vec<&str> = path.split('/').collect();
    let api_at = if segments
        .get(1)
        .is_some_and(|s| s.eq_ignore_ascii_case("api"))
    {
        Some(1)
    } else if segments.len() > 2 && segments[2].eq_ignore_ascii_case("api") {
        Some(2)
    } else {
        None
    };
    match api_at {
        Some(i) => {
            let next = segments.get(i + 1).copied().unwrap_or("");
            if next.eq_ignore_ascii_case("docs") || next.eq_ignore_ascii_case("openapi.json") {
                Target::Docs
            } else {
                Target::Rest
            }
        }
        None => Target::Other,
    }
}

/// The server's default `--max-body-bytes` (README).
pub const MAX_BODY_BYTES: usize = 1_048_576;

/// Whether a request that got no answer may lose it: one whose body is over the limit. The
/// server answers 413 without reading the rest and closes, and the client, still writing,
/// can fail before it reads that answer (rest_api.rs and soap_errors.rs check the 413 itself).
pub fn may_lose_answer(request: &FuzzRequest, why: &str) -> bool {
    request.body.len() > MAX_BODY_BYTES
        && ["Broken pipe", "reset", "connection closed"]
            .iter()
            .any(|w| why.contains(w))
}

/// Checks one answer; the error says what is wrong with it.
pub fn check(request: &FuzzRequest, answer: &Answer) -> Result<(), String> {
    let head = request.method == "HEAD";
    // A body over the limit is refused before any route looks at it (docs/REST.md, 413).
    if answer.status == 413
        && request.body.len() > MAX_BODY_BYTES
        && target(request) != Target::Rest
    {
        return Ok(());
    }
    match target(request) {
        Target::Soap if request.method == "POST" => soap(answer),
        Target::Soap => soap_other_method(request, answer),
        Target::Rest => rest(answer, head),
        Target::Docs | Target::Other => {
            if answer.status >= 500 {
                return Err(format!(
                    "HTTP {} on a path that is no endpoint",
                    answer.status
                ));
            }
            Ok(())
        }
    }
}

fn soap(answer: &Answer) -> Result<(), String> {
    let ct = answer.content_type();
    let version = if ct.starts_with("text/xml") {
        SOAP11
    } else if ct.starts_with("application/soap+xml") {
        SOAP12
    } else {
        return Err(format!("a SOAP answer with Content-Type {ct:?}"));
    };
    let text = answer.text()?;
    let doc = roxmltree::Document::parse(text)
        .map_err(|e| format!("the SOAP answer is not well-formed XML: {e}"))?;
    let root = doc.root_element();
    if root.tag_name().namespace() != Some(version) || root.tag_name().name() != "Envelope" {
        return Err(format!(
            "the root is {{{}}}{}, not the Envelope of the SOAP version its Content-Type {ct:?} names",
            root.tag_name().namespace().unwrap_or(""),
            root.tag_name().name()
        ));
    }
    let body = child(root, version, "Body").ok_or("the Envelope has no Body")?;
    let mut elements = body.children().filter(|n| n.is_element());
    let first = elements.next().ok_or("the Body is empty")?;
    if elements.next().is_some() {
        return Err("the Body holds more than one element".into());
    }
    if first.has_tag_name((version, "Fault")) {
        return fault(answer.status, version, first);
    }
    let ns = first.tag_name().namespace().unwrap_or("");
    if ![NS87, NS88].contains(&ns) || !first.tag_name().name().ends_with("Response") {
        return Err(format!(
            "the Body holds {{{ns}}}{}, neither a Fault nor an operation's Response",
            first.tag_name().name()
        ));
    }
    if answer.status != 200 {
        return Err(format!(
            "a SOAP response (not a Fault) with HTTP {}",
            answer.status
        ));
    }
    let header = child(root, version, "Header").ok_or("a SOAP response without a Header")?;
    let text_of = |parent: roxmltree::Node<'_, '_>, local: &str| {
        child(parent, ns, local).map(|n| n.text().unwrap_or("").trim().to_string())
    };
    match text_of(header, "Succeeded").as_deref() {
        Some("true") => Ok(()),
        Some("false") => {
            let info = child(header, ns, "ExceptionInfo")
                .ok_or("Succeeded is false without an ExceptionInfo")?;
            let kind = text_of(info, "ExceptionType").unwrap_or_default();
            let message = text_of(info, "Message").unwrap_or_default();
            if kind.is_empty() || message.is_empty() {
                return Err(format!(
                    "an ExceptionInfo without ExceptionType or Message ({kind:?}, {message:?})"
                ));
            }
            if kind == "SoServerException" {
                return Err(format!("the server failed on this input: {message}"));
            }
            Ok(())
        }
        other => Err(format!("the Succeeded header is {other:?}")),
    }
}

/// The first child element `{ns}local` of `parent`.
fn child<'a, 'i>(
    parent: roxmltree::Node<'a, 'i>,
    ns: &str,
    local: &str,
) -> Option<roxmltree::Node<'a, 'i>> {
    parent
        .children()
        .find(|n| n.is_element() && n.has_tag_name((ns, local)))
}

/// A Fault must blame the sender (or the envelope's version), say why, and carry the status
/// of docs/SOAP.md "Faults".
fn fault(status: u16, version: &str, fault: roxmltree::Node<'_, '_>) -> Result<(), String> {
    let find = |local: &str| {
        fault
            .descendants()
            .find(|n| n.is_element() && n.tag_name().name() == local)
            .map(|n| n.text().unwrap_or("").trim().to_string())
    };
    let (code, reason, default_status, sender) = if version == SOAP11 {
        (find("faultcode"), find("faultstring"), 500, "Client")
    } else {
        (find("Value"), find("Text"), 400, "Sender")
    };
    let code = code.ok_or("a Fault without a code")?;
    let local = code.rsplit(':').next().unwrap_or("");
    if local != sender && local != "VersionMismatch" {
        return Err(format!(
            "a Fault with code {code:?} (the server blames itself)"
        ));
    }
    if reason.as_deref().is_none_or(str::is_empty) {
        return Err("a Fault without a reason text".into());
    }
    if ![default_status, 413, 415].contains(&status) {
        return Err(format!("a {code} Fault with HTTP {status}"));
    }
    Ok(())
}

/// GET/HEAD describe the endpoint (`?wsdl`: the WSDL); other methods are 405.
fn soap_other_method(request: &FuzzRequest, answer: &Answer) -> Result<(), String> {
    match request.method.as_str() {
        "GET" | "HEAD" => {
            if answer.status != 200 {
                return Err(format!(
                    "{} of a SOAP endpoint answered {}",
                    request.method, answer.status
                ));
            }
            if request.method == "GET" && answer.content_type().starts_with("text/xml") {
                roxmltree::Document::parse(answer.text()?)
                    .map_err(|e| format!("the WSDL is not well-formed XML: {e}"))?;
            }
            Ok(())
        }
        _ if answer.status == 405 => Ok(()),
        _ => Err(format!(
            "{} of a SOAP endpoint answered {}",
            request.method, answer.status
        )),
    }
}

fn rest(answer: &Answer, head: bool) -> Result<(), String> {
    let status = answer.status;
    if status >= 500 {
        return Err(format!("HTTP {status} from the REST API"));
    }
    if head {
        return Ok(());
    }
    let json = || -> Result<serde_json::Value, String> {
        if !answer.content_type().starts_with("application/json") {
            return Err(format!(
                "HTTP {status} with Content-Type {:?}, not application/json",
                answer.content_type()
            ));
        }
        serde_json::from_slice(&answer.body).map_err(|e| format!("the body is not JSON: {e}"))
    };
    match status {
        204 if answer.body.is_empty() => Ok(()),
        204 => Err("a 204 with a body".into()),
        200..=299 => json().map(|_| ()),
        400..=499 => {
            let body = json()?;
            for member in ["Error", "ErrorType", "Message"] {
                if body
                    .get(member)
                    .and_then(|v| v.as_str())
                    .is_none_or(str::is_empty)
                {
                    return Err(format!("the error body lacks a non-empty string {member}"));
                }
            }
            let reason = reqwest::StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("");
            if body["Error"] != reason {
                return Err(format!(
                    "Error is {} for HTTP {status} ({reason})",
                    body["Error"]
                ));
            }
            if status == 401 && answer.header("www-authenticate").is_empty() {
                return Err("a 401 without WWW-Authenticate".into());
            }
            if status == 405 && answer.header("allow").is_empty() {
                return Err("a 405 without Allow".into());
            }
            Ok(())
        }
        _ => Err(format!("HTTP {status} from the REST API")),
    }
}
