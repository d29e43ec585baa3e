//! Reading a SOAP request: the envelope version, its header blocks and the operation element.
//!
//! roxmltree resolves namespaces (any prefix, default namespaces, declarations anywhere) and
//! refuses DTDs, which shuts out billion-laughs and XXE before any entity is seen.

use roxmltree::{Document, Node, ParsingOptions};

use super::fault::Fault;

/// Most XML nodes a request may have; 1 MiB of XML has far fewer in practice.
const MAX_NODES: u32 = 200_000;

use super::version::{SOAP11_NS, SOAP12_NS, SoapVersion};

/// The parts of a request envelope hookwire reads.
pub struct Envelope<'a, 'input> {
    pub version: SoapVersion,
    /// Header blocks: children of `<Header>` and elements placed directly under `<Envelope>`
    /// (the SuperOffice doc examples do the latter).
    pub header_blocks: Vec<Node<'a, 'input>>,
    /// The first element child of `<Body>`: the operation.
    pub operation: Node<'a, 'input>,
}

/// Parses the request text. `fallback` is the version used for faults before the envelope is known.
pub fn parse_document(text: &str, fallback: SoapVersion) -> Result<Document<'_>, Fault> {
    let options = ParsingOptions {
        allow_dtd: false,
        nodes_limit: MAX_NODES,
        ..ParsingOptions::default()
    };
    Document::parse_with_options(text, options).map_err(|e| {
        let what = match e {
            roxmltree::Error::DtdDetected => {
                "a DTD (<!DOCTYPE>) is not allowed in SOAP messages".to_string()
            }
            roxmltree::Error::NodesLimitReached => {
                format!("the message has more than {MAX_NODES} XML nodes")
            }
            other => format!("malformed XML: {other}"),
        };
        Fault::sender(fallback, what)
    })
}

/// Finds the envelope's version, header blocks and operation element.
pub fn read_envelope<'a, 'i>(
    doc: &'a Document<'i>,
    fallback: SoapVersion,
) -> Result<Envelope<'a, 'i>, Fault> {
    let root = doc.root_element();
    let version = match (root.tag_name().namespace(), root.tag_name().name()) {
        (Some(SOAP11_NS), "Envelope") => SoapVersion::Soap11,
        (Some(SOAP12_NS), "Envelope") => SoapVersion::Soap12,
        (ns, name) => {
            return Err(Fault::version_mismatch(
                fallback,
                format!(
                    "the root element {{{}}}{name} is not a SOAP Envelope; expected {{{SOAP11_NS}}}Envelope or {{{SOAP12_NS}}}Envelope",
                    ns.unwrap_or("")
                ),
            ));
        }
    };
    let env_ns = version.envelope_ns();
    let is_env = |n: &Node, local: &str| {
        n.is_element() && n.tag_name().namespace() == Some(env_ns) && n.tag_name().name() == local
    };
    let mut header_blocks = Vec::new();
    let mut body = None;
    for child in root.children().filter(Node::is_element) {
        if is_env(&child, "Header") {
            header_blocks.extend(child.children().filter(Node::is_element));
        } else if is_env(&child, "Body") {
            body = Some(child);
        } else {
            header_blocks.push(child);
        }
    }
    let body = body.ok_or_else(|| Fault::sender(version, "the Envelope has no Body element"))?;
    let operation = body.children().find(Node::is_element).ok_or_else(|| {
        Fault::sender(
            version,
            "the Body is empty: it must contain the operation element",
        )
    })?;
    Ok(Envelope {
        version,
        header_blocks,
        operation,
    })
}

/// The `ApplicationToken` and `Credentials/Ticket` header values (empty = absent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestHeaders {
    pub app_token: Option<String>,
    pub ticket: Option<String>,
}

impl RequestHeaders {
    /// Reads the header blocks by local name; any SuperOffice namespace is accepted, since
    /// clients built for one service version sometimes send another's header namespace.
    pub fn read(blocks: &[Node]) -> RequestHeaders {
        let mut out = RequestHeaders::default();
        for block in blocks {
            match block.tag_name().name() {
                "ApplicationToken" => out.app_token = non_empty(block.text()),
                "Credentials" => {
                    out.ticket = block
                        .children()
                        .find(|c| c.is_element() && c.tag_name().name() == "Ticket")
                        .and_then(|t| non_empty(t.text()));
                }
                _ => {}
            }
        }
        out
    }
}

fn non_empty(text: Option<&str>) -> Option<String> {
    text.map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
}
