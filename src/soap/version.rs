//! The two NetServer service versions hookwire serves, and their namespaces.

/// `Services87` or `Services88`: the two SOAP service generations clients call.
///
/// They share the 8 operations; 88 adds fields to `Webhook` (ErrorsEmail and the
/// 12.0 statistics) and to `Associate` (ExtraFields, CustomFields).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceVersion {
    V87,
    V88,
}

/// Namespace of the `ArrayOfstring` items (`<arr:string>`).
pub const ARRAYS_NS: &str = "http://schemas.microsoft.com/2003/10/Serialization/Arrays";

impl ServiceVersion {
    /// The target namespace of this version's WSDL and of every element in its messages.
    pub fn namespace(self) -> &'static str {
        match self {
            ServiceVersion::V87 => "http://www.superoffice.net/ws/crm/NetServer/Services87",
            ServiceVersion::V88 => "http://www.superoffice.net/ws/crm/NetServer/Services88",
        }
    }

    /// The path segment clients use: `Services87` or `Services88`.
    pub fn segment(self) -> &'static str {
        match self {
            ServiceVersion::V87 => "Services87",
            ServiceVersion::V88 => "Services88",
        }
    }

    /// Parses a lower-cased path segment (`services88`).
    pub fn from_segment(segment: &str) -> Option<Self> {
        match segment.to_ascii_lowercase().as_str() {
            "services87" => Some(ServiceVersion::V87),
            "services88" => Some(ServiceVersion::V88),
            _ => None,
        }
    }

    /// Whether this version carries the fields added after 8.7 (`ErrorsEmail` onward).
    pub fn has_88_fields(self) -> bool {
        self == ServiceVersion::V88
    }
}
