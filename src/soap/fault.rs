//! SOAP Faults: transport and parse errors, in the request's SOAP version.
//!
//! Agent errors are not faults; they travel in-band in `ExceptionInfo` (see `reply.rs`).

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::version::SoapVersion;
use super::xml_out::XmlOut;

/// Who is at fault, in SOAP terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultCode {
    /// The request is wrong (1.2 `Sender`, 1.1 `Client`).
    Sender,
    /// The server failed (1.2 `Receiver`, 1.1 `Server`).
    Receiver,
    /// The envelope is not SOAP 1.1 or 1.2.
    VersionMismatch,
}

#[derive(Debug, Clone)]
pub struct Fault {
    version: SoapVersion,
    code: FaultCode,
    message: String,
    /// An HTTP status that says more than the SOAP default (413, 415).
    status: Option<StatusCode>,
}

impl Fault {
    pub fn sender(version: SoapVersion, message: impl Into<String>) -> Fault {
        Fault {
            version,
            code: FaultCode::Sender,
            message: message.into(),
            status: None,
        }
    }

    pub fn version_mismatch(version: SoapVersion, message: impl Into<String>) -> Fault {
        Fault {
            code: FaultCode::VersionMismatch,
            ..Fault::sender(version, message)
        }
    }

    pub fn with_status(mut self, status: StatusCode) -> Fault {
        self.status = Some(status);
        self
    }

    #[cfg(test)]
    pub fn message(&self) -> &str {
        &self.message
    }

    /// HTTP status: SOAP 1.1 faults are all 500 (SOAP 1.1 §6.2; nusoap ignores 4xx bodies);
    /// SOAP 1.2 maps Sender to 400 and Receiver to 500.
    fn http_status(&self) -> StatusCode {
        if let Some(status) = self.status {
            return status;
        }
        match (self.version, self.code) {
            (SoapVersion::Soap11, _) | (_, FaultCode::Receiver) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            (SoapVersion::Soap12, _) => StatusCode::BAD_REQUEST,
        }
    }

    fn render(&self) -> String {
        let mut x = XmlOut::new();
        x.declaration();
        x.raw(&format!(
            "<s:Envelope xmlns:s=\"{}\"><s:Body><s:Fault>",
            self.version.envelope_ns()
        ));
        match self.version {
            SoapVersion::Soap11 => {
                let code = match self.code {
                    FaultCode::Sender => "s:Client",
                    FaultCode::Receiver => "s:Server",
                    FaultCode::VersionMismatch => "s:VersionMismatch",
                };
                x.leaf("faultcode", code);
                x.leaf("faultstring", &self.message);
            }
            SoapVersion::Soap12 => {
                let code = match self.code {
                    FaultCode::Sender => "s:Sender",
                    FaultCode::Receiver => "s:Receiver",
                    FaultCode::VersionMismatch => "s:VersionMismatch",
                };
                x.open("s:Code");
                x.leaf("s:Value", code);
                x.close("s:Code");
                x.open("s:Reason");
                x.raw("<s:Text xml:lang=\"en\">");
                x.text(&self.message);
                x.raw("</s:Text>");
                x.close("s:Reason");
            }
        }
        x.raw("</s:Fault></s:Body></s:Envelope>");
        x.finish()
    }
}

impl IntoResponse for Fault {
    fn into_response(self) -> Response {
        if self.code == FaultCode::Receiver {
            tracing::error!(message = %self.message, "SOAP fault (server side)");
        } else {
            tracing::debug!(message = %self.message, "SOAP fault (client side)");
        }
        (
            self.http_status(),
            [(header::CONTENT_TYPE, self.version.content_type())],
            self.render(),
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soap12_fault_is_well_formed_and_escaped() {
        let f = Fault::sender(SoapVersion::Soap12, "bad <thing> & more");
        let xml = f.render();
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let text = doc.descendants().find(|n| n.has_tag_name("Text")).unwrap();
        assert_eq!(text.text(), Some("bad <thing> & more"));
        assert_eq!(f.http_status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            Fault::sender(SoapVersion::Soap11, "x").http_status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
