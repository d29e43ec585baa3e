//! One fuzz request as sent: method, path, headers and body as raw bytes, plus where it came
//! from (its seed and mutations) so that a failure can be read and replayed.

/// Which protocol the seed spoke; mutations and checks depend on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Soap,
    Rest,
}

#[derive(Clone)]
pub struct FuzzRequest {
    pub kind: Kind,
    pub method: String,
    /// Path and query, ASCII (anything else percent-encoded).
    pub path: String,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
    /// The seed's name, then each mutation applied.
    pub history: Vec<String>,
}

impl FuzzRequest {
    pub fn new(kind: Kind, name: &str, method: &str, path: &str) -> FuzzRequest {
        FuzzRequest {
            kind,
            method: method.to_string(),
            path: path.to_string(),
            headers: Vec::new(),
            body: Vec::new(),
            history: vec![name.to_string()],
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> FuzzRequest {
        self.set_header(name, value.as_bytes());
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> FuzzRequest {
        self.body = body.into();
        self
    }

    pub fn get_header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    pub fn set_header(&mut self, name: &str, value: &[u8]) {
        self.remove_header(name);
        self.headers.push((name.to_string(), value.to_vec()));
    }

    pub fn remove_header(&mut self, name: &str) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    /// The path without its query.
    pub fn path_only(&self) -> &str {
        self.path.split('?').next().unwrap_or("")
    }

    /// The request for a failure message: seed and mutations, request line, headers (the
    /// credentials too: they are throwaway test values) and the body, cut to `max` bytes.
    pub fn describe(&self, max: usize) -> String {
        let mut out = format!(
            "{}\n  {} {}\n",
            self.history.join(" -> "),
            self.method,
            self.path
        );
        for (name, value) in &self.headers {
            out.push_str(&format!("  {name}: {}\n", shown(value, 200)));
        }
        out.push_str(&format!(
            "  body ({} bytes): {}",
            self.body.len(),
            shown(&self.body, max)
        ));
        out
    }
}

/// Bytes as text for a message: invalid UTF-8 and control characters escaped, cut to `max`.
pub fn shown(bytes: &[u8], max: usize) -> String {
    let cut = &bytes[..bytes.len().min(max)];
    let mut out = String::new();
    for chunk in cut.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() && c != '\n' {
                out.push_str(&c.escape_default().to_string());
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02X}"));
        }
    }
    if bytes.len() > max {
        out.push_str(&format!("… ({} more bytes)", bytes.len() - max));
    }
    out
}
