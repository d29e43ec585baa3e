//! Writing a reply envelope: `Succeeded` and, on agent errors, `ExceptionInfo` in the header,
//! then the operation's response element.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::version::ARRAYS_NS;
use super::version::{SoapVersion, XSD_NS, XSI_NS};
use super::xml_out::XmlOut;

/// An in-band error: NetServer's `SoExceptionInfo`.
pub struct ExceptionInfo<'a> {
    pub message: &'a str,
    pub exception_type: &'a str,
}

/// Writes a whole reply. `body` writes the content of `<s:Body>`; `tns` is bound to prefix `tns`.
pub fn reply(
    version: SoapVersion,
    tns: &str,
    exception: Option<ExceptionInfo>,
    body: impl FnOnce(&mut XmlOut),
) -> Response {
    let mut x = XmlOut::new();
    x.declaration();
    x.raw(&format!(
        "<s:Envelope xmlns:s=\"{}\" xmlns:xsi=\"{XSI_NS}\" xmlns:xsd=\"{XSD_NS}\" xmlns:tns=\"{tns}\" xmlns:arr=\"{ARRAYS_NS}\">",
        version.envelope_ns()
    ));
    x.raw("<s:Header>");
    if let Some(e) = &exception {
        x.open("tns:ExceptionInfo");
        x.leaf("tns:Message", e.message);
        x.nil("tns:StackTrace");
        x.leaf("tns:FriendlyText", e.message);
        x.leaf("tns:ExceptionType", e.exception_type);
        x.leaf("tns:Source", "hookwire");
        x.nil("tns:InnerException");
        x.close("tns:ExceptionInfo");
    }
    x.leaf(
        "tns:Succeeded",
        if exception.is_none() { "true" } else { "false" },
    );
    x.raw("</s:Header><s:Body>");
    body(&mut x);
    x.raw("</s:Body></s:Envelope>");
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, version.content_type())],
        x.finish(),
    )
        .into_response()
}
