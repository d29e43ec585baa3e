//! A small XML text builder for replies. Escaping is quick-xml's; characters XML 1.0 cannot
//! carry (NUL and other C0 controls, which may come from a target's error body) are dropped.

use quick_xml::escape::escape;

#[derive(Default)]
pub struct XmlOut {
    buf: String,
}

fn is_xml_char(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

impl XmlOut {
    pub fn new() -> XmlOut {
        XmlOut {
            buf: String::with_capacity(2048),
        }
    }

    pub fn declaration(&mut self) {
        self.buf
            .push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
    }

    /// Appends markup verbatim: only for fixed strings written by hookwire itself.
    pub fn raw(&mut self, markup: &str) {
        self.buf.push_str(markup);
    }

    /// Appends escaped character data.
    pub fn text(&mut self, text: &str) {
        if text.chars().all(is_xml_char) {
            self.buf.push_str(&escape(text));
        } else {
            let clean: String = text.chars().filter(|c| is_xml_char(*c)).collect();
            self.buf.push_str(&escape(clean.as_str()));
        }
    }

    pub fn open(&mut self, name: &str) {
        self.buf.push('<');
        self.buf.push_str(name);
        self.buf.push('>');
    }

    pub fn close(&mut self, name: &str) {
        self.buf.push_str("</");
        self.buf.push_str(name);
        self.buf.push('>');
    }

    /// `<name>text</name>`.
    pub fn leaf(&mut self, name: &str, text: &str) {
        self.open(name);
        self.text(text);
        self.close(name);
    }

    /// `<name xsi:nil="true"/>`.
    pub fn nil(&mut self, name: &str) {
        self.declared_nil(name, "");
    }

    /// `<name{declarations} xsi:nil="true"/>`; `declarations` is fixed markup written by
    /// hookwire itself (` xmlns:p="..."`).
    pub fn declared_nil(&mut self, name: &str, declarations: &str) {
        self.buf.push('<');
        self.buf.push_str(name);
        self.buf.push_str(declarations);
        self.buf.push_str(" xsi:nil=\"true\"/>");
    }

    /// A nillable string: the text, or nil for `None`.
    pub fn opt_leaf(&mut self, name: &str, text: Option<&str>) {
        match text {
            Some(t) => self.leaf(name, t),
            None => self.nil(name),
        }
    }

    /// `<name{declarations} xsi:type="xsd:{ty}">text</name>`: an `anyType` value with its type.
    /// `declarations` is fixed markup written by hookwire itself (` xmlns:p="..."`).
    pub fn typed_leaf(&mut self, name: &str, declarations: &str, xsd_type: &str, text: &str) {
        self.buf.push('<');
        self.buf.push_str(name);
        self.buf.push_str(declarations);
        self.buf.push_str(" xsi:type=\"xsd:");
        self.buf.push_str(xsd_type);
        self.buf.push_str("\">");
        self.text(text);
        self.close(name);
    }

    pub fn finish(self) -> String {
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_dropped_and_markup_escaped() {
        let mut x = XmlOut::new();
        x.leaf("a", "1 < 2 & \u{0}nul");
        assert_eq!(x.finish(), "<a>1 &lt; 2 &amp; nul</a>");
    }
}
