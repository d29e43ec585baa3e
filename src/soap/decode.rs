//! Typed reading of operation parameters from namespace-resolved XML.
//!
//! Parameters are matched by local name in the service namespace (unqualified children are
//! accepted too). An absent element is `None`; `xsi:nil="true"` is an explicit null.

use roxmltree::Node;

use super::fault::Fault;
use super::version::{SoapVersion, XSD_NS, XSI_NS};
use crate::agent::WebhookFilter;
use crate::domain::{NotifyVia, NotifyWhen, TypedValue, WebhookInput, WebhookState, out_of_range};

/// Reads the children of one element, with the namespace and SOAP version for errors.
#[derive(Clone, Copy)]
pub struct Params<'a, 'i> {
    node: Node<'a, 'i>,
    tns: &'a str,
    version: SoapVersion,
}

impl<'a, 'i> Params<'a, 'i> {
    pub fn new(node: Node<'a, 'i>, tns: &'a str, version: SoapVersion) -> Self {
        Params { node, tns, version }
    }

    fn in_scope(&self, n: &Node) -> bool {
        n.is_element() && n.tag_name().namespace().is_none_or(|ns| ns == self.tns)
    }

    /// The child element named `local`, if present.
    pub fn child(&self, local: &str) -> Option<Node<'a, 'i>> {
        self.node
            .children()
            .find(|c| self.in_scope(c) && c.tag_name().name() == local)
    }

    /// Parameters of child `local`, for nested structures.
    pub fn nested(&self, local: &str) -> Option<Params<'a, 'i>> {
        self.child(local)
            .map(|n| Params::new(n, self.tns, self.version))
    }

    fn fault(&self, field: &str, problem: impl std::fmt::Display) -> Fault {
        Fault::sender(
            self.version,
            format!("{}/{field}: {problem}", self.node.tag_name().name()),
        )
    }

    /// A nillable string: absent = `None`, nil = `Some(None)`.
    pub fn string(&self, local: &str) -> Option<Option<String>> {
        self.child(local)
            .map(|n| if is_nil(&n) { None } else { Some(text(&n)) })
    }

    /// An `xs:int`; absent, nil or empty = `None`.
    pub fn int(&self, local: &str) -> Result<Option<i32>, Fault> {
        match self.child(local).filter(|n| !is_nil(n)).map(|n| text(&n)) {
            None => Ok(None),
            Some(t) if t.trim().is_empty() => Ok(None),
            Some(t) => t.trim().parse().map(Some).map_err(|_| {
                let problem = out_of_range("int", &t)
                    .unwrap_or_else(|| format!("'{t}' is not a valid xsd:int"));
                self.fault(local, problem)
            }),
        }
    }

    /// An enumeration parsed by `parse`; absent, nil or empty = `None`.
    pub fn enumeration<T>(
        &self,
        local: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<Option<T>, Fault> {
        match self.child(local).filter(|n| !is_nil(n)).map(|n| text(&n)) {
            None => Ok(None),
            Some(t) if t.trim().is_empty() => Ok(None),
            Some(t) => parse(&t)
                .map(Some)
                .ok_or_else(|| self.fault(local, format_args!("'{t}' is not a valid value"))),
        }
    }

    /// `ArrayOfstring` (items matched by local name `string`); nil = empty.
    pub fn strings(&self, local: &str) -> Option<Vec<String>> {
        self.child(local).map(|n| {
            n.children()
                .filter(|c| c.is_element() && c.tag_name().name() == "string" && !is_nil(c))
                .map(|c| text(&c))
                .collect()
        })
    }

    /// `ArrayOfint`-like lists of items holding an int child (MDOListItem `Id`).
    pub fn item_ids(&self, local: &str, item: &str, id: &str) -> Result<Option<Vec<i32>>, Fault> {
        let Some(list) = self.nested(local) else {
            return Ok(None);
        };
        let mut ids = Vec::new();
        for n in list
            .node
            .children()
            .filter(|c| list.in_scope(c) && c.tag_name().name() == item)
        {
            if let Some(v) = Params::new(n, self.tns, self.version).int(id)? {
                ids.push(v);
            }
        }
        Ok(Some(ids))
    }

    /// `StringDictionary`: `StringKeyValuePair` {Key, Value}; nil = empty.
    pub fn string_dictionary(&self, local: &str) -> Option<Vec<(String, String)>> {
        let dict = self.nested(local)?;
        Some(
            dict.pairs("StringKeyValuePair")
                .map(|p| {
                    let key = p.string("Key").flatten().unwrap_or_default();
                    let value = p.string("Value").flatten().unwrap_or_default();
                    (key, value)
                })
                .collect(),
        )
    }

    /// `StringObjectDictionary`: `StringObjectKeyValuePair` {Key, Value anyType}; nil = empty.
    pub fn object_dictionary(
        &self,
        local: &str,
    ) -> Result<Option<Vec<(String, TypedValue)>>, Fault> {
        let Some(dict) = self.nested(local) else {
            return Ok(None);
        };
        let mut out = Vec::new();
        for pair in dict.pairs("StringObjectKeyValuePair") {
            let key = pair.string("Key").flatten().unwrap_or_default();
            let value = match pair.child("Value") {
                None => TypedValue::Null,
                Some(v) => any_type(&v).map_err(|m| pair.fault(&format!("Value of '{key}'"), m))?,
            };
            out.push((key, value));
        }
        Ok(Some(out))
    }

    fn pairs(self, item: &'a str) -> impl Iterator<Item = Params<'a, 'i>> + 'a {
        let tns = self.tns;
        let version = self.version;
        self.node
            .children()
            .filter(move |c| {
                c.is_element()
                    && c.tag_name().name() == item
                    && c.tag_name().namespace().is_none_or(|ns| ns == tns)
            })
            .map(move |n| Params::new(n, tns, version))
    }
}

/// The element's text content (entities already resolved by the parser).
fn text(node: &Node) -> String {
    node.children()
        .filter(Node::is_text)
        .filter_map(|t| t.text())
        .collect()
}

fn is_nil(node: &Node) -> bool {
    matches!(
        node.attribute((XSI_NS, "nil")).map(str::trim),
        Some("true" | "1")
    )
}

/// Decodes an `xs:anyType` value from its `xsi:type` (QName resolved in scope).
fn any_type(node: &Node) -> Result<TypedValue, String> {
    if is_nil(node) {
        return Ok(TypedValue::Null);
    }
    let content = text(node);
    let Some(qname) = node.attribute((XSI_NS, "type")) else {
        return Ok(TypedValue::String(content));
    };
    let (prefix, local) = match qname.trim().split_once(':') {
        Some((p, l)) => (Some(p), l),
        None => (None, qname.trim()),
    };
    // node-soap writes back the types it read with their `xsd:`/`xs:` prefix but not the
    // declaration, which was on the reply's Envelope: unbound, those two mean XML Schema.
    let ns = node.lookup_namespace_uri(prefix).or(match prefix {
        Some("xsd" | "xs") => Some(XSD_NS),
        _ => None,
    });
    match ns {
        Some(XSD_NS) => TypedValue::parse_xsd(local, &content)
            .map_err(|e| out_of_range(local, &content).unwrap_or_else(|| e.to_string())),
        None if prefix.is_some() => Err(format!(
            "xsi:type '{qname}' uses prefix '{}' that is not declared",
            prefix.unwrap_or_default()
        )),
        // Types from other schemas (e.g. WCF serialization types) keep their text.
        _ => Ok(TypedValue::String(content)),
    }
}

/// Decodes a `Webhook` carrier (SaveWebhook, TestWebhook). Server-filled members
/// (Registered, associates, statistics) are ignored.
pub fn webhook_input(p: &Params) -> Result<WebhookInput, Fault> {
    Ok(WebhookInput {
        webhook_id: p.int("WebhookId")?.unwrap_or(0),
        name: p.string("Name"),
        events: p.strings("Events"),
        target_url: p.string("TargetUrl"),
        secret: p.string("Secret"),
        state: p.enumeration("State", WebhookState::parse)?,
        kind: p.string("Type"),
        headers: p.string_dictionary("Headers"),
        properties: p.object_dictionary("Properties")?,
        errors_email: p.string("ErrorsEmail"),
        error_emails: p.strings("ErrorEmails"),
        error_associates: p.item_ids("ErrorAssociates", "MDOListItem", "Id")?,
        description: p.string("Description"),
        notify_via: p.enumeration("NotifyVia", NotifyVia::parse)?,
        notify_when: p.enumeration("NotifyWhen", NotifyWhen::parse)?,
        // Not on NetServer's carrier: a SOAP save keeps the stored value.
        delivery_order: None,
    })
}

/// Decodes GetAllWebhooks' filters; empty strings mean no filter.
pub fn webhook_filter(p: &Params) -> Result<WebhookFilter, Fault> {
    let non_empty = |s: Option<Option<String>>| s.flatten().filter(|s| !s.trim().is_empty());
    Ok(WebhookFilter {
        name: non_empty(p.string("NameFilter")),
        event: non_empty(p.string("EventFilter")),
        state: p
            .enumeration("StatusFilter", WebhookState::parse)?
            .filter(|s| *s != WebhookState::Unknown),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TNS: &str = "urn:t";

    fn with_params<R>(xml: &str, f: impl FnOnce(&Params) -> R) -> R {
        let doc = roxmltree::Document::parse(xml).unwrap();
        let p = Params::new(doc.root_element(), TNS, SoapVersion::Soap11);
        f(&p)
    }

    #[test]
    fn any_type_values_resolve_their_prefix() {
        let xml = r#"<op xmlns="urn:t" xmlns:i="http://www.w3.org/2001/XMLSchema-instance">
          <Data>
            <StringObjectKeyValuePair><Key>n</Key><Value xmlns:q="http://www.w3.org/2001/XMLSchema" i:type="q:int">7</Value></StringObjectKeyValuePair>
            <StringObjectKeyValuePair><Key>s</Key><Value>plain</Value></StringObjectKeyValuePair>
            <StringObjectKeyValuePair><Key>z</Key><Value i:nil="true"/></StringObjectKeyValuePair>
            <StringObjectKeyValuePair><Key>a</Key><Value>a &amp; b</Value></StringObjectKeyValuePair>
          </Data></op>"#;
        let data = with_params(xml, |p| p.object_dictionary("Data"))
            .unwrap()
            .unwrap();
        assert_eq!(
            data,
            vec![
                ("n".into(), TypedValue::Int(7)),
                ("s".into(), TypedValue::String("plain".into())),
                ("z".into(), TypedValue::Null),
                ("a".into(), TypedValue::String("a & b".into())),
            ]
        );
    }

    #[test]
    fn a_value_that_does_not_fit_its_type_names_the_key() {
        let xml = r#"<op xmlns="urn:t" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">
          <Data><StringObjectKeyValuePair><Key>count</Key><Value xsi:type="xsd:int">many</Value></StringObjectKeyValuePair></Data></op>"#;
        let err = with_params(xml, |p| p.object_dictionary("Data")).unwrap_err();
        assert!(err.message().contains("count"), "{}", err.message());
        assert!(err.message().contains("xsd:int"), "{}", err.message());
    }

    #[test]
    fn absent_nil_and_present_are_distinct() {
        let xml = r#"<op xmlns="urn:t" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><Secret xsi:nil="true"/><Name>n</Name></op>"#;
        with_params(xml, |p| {
            assert_eq!(p.string("Secret"), Some(None));
            assert_eq!(p.string("Name"), Some(Some("n".into())));
            assert_eq!(p.string("TargetUrl"), None);
        });
    }

    #[test]
    fn elements_of_another_namespace_are_not_parameters() {
        let xml = r#"<op xmlns="urn:t"><x:WebhookId xmlns:x="urn:other">5</x:WebhookId></op>"#;
        assert_eq!(with_params(xml, |p| p.int("WebhookId")).unwrap(), None);
    }
}
