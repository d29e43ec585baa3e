//! The WSDLs served on `GET …/Webhook.svc?wsdl` and `GET …/SoPrincipal.svc?wsdl`.
//!
//! Each service has one template (`wsdl/webhook.wsdl`, `wsdl/principal.wsdl`) shared by
//! Services87 and Services88. Rendering substitutes the target namespace, the endpoint
//! address and the schema fragments that only Services88 has. The templates describe
//! `docs/SOAP.md`; when the wire format changes, change both.
//!
//! Like NetServer's WSDL, they declare the SOAP 1.1 `BasicHttpBinding_*` binding (document/literal,
//! SOAPAction `{tns}/{PortType}/{Op}`, the `*_Headers` messages as `soap:header`); unlike
//! NetServer they also declare a SOAP 1.2 `CustomBinding_*` at the same address, because the
//! server answers both envelope versions and a client generator should be able to pick either.

use std::borrow::Cow;

use crate::soap::version::ServiceVersion;

const WEBHOOK_TEMPLATE: &str = include_str!("wsdl/webhook.wsdl");
const PRINCIPAL_TEMPLATE: &str = include_str!("wsdl/principal.wsdl");

/// `Webhook` elements after `UpdatedAssociate` (ErrorsEmail from 10.2.7, the rest from 12.0).
/// Order matters: WCF reads a sequence in declaration order.
const WEBHOOK_88_FIELDS: &str = r#"
          <xs:element minOccurs="0" name="ErrorsEmail" nillable="true" type="xs:string"/>
          <xs:element minOccurs="0" name="ErrorEmails" nillable="true" type="arr:ArrayOfstring"/>
          <xs:element minOccurs="0" name="ErrorAssociates" nillable="true" type="tns:ArrayOfMDOListItem"/>
          <xs:element minOccurs="0" name="Description" nillable="true" type="xs:string"/>
          <xs:element minOccurs="0" name="NotifyVia" type="tns:WebhookNotifyVia"/>
          <xs:element minOccurs="0" name="NotifyWhen" type="tns:WebhookNotifyWhen"/>
          <xs:element minOccurs="0" name="TotalCalls" type="xs:int"/>
          <xs:element minOccurs="0" name="TotalErrors" type="xs:int"/>
          <xs:element minOccurs="0" name="ConsecutiveErrors" type="xs:int"/>
          <xs:element minOccurs="0" name="LastError" nillable="true" type="xs:string"/>"#;

/// `Associate` elements Services88 appends after `UserName`.
const ASSOCIATE_88_FIELDS: &str = r#"
              <xs:element minOccurs="0" name="ExtraFields" nillable="true" type="tns:StringDictionary"/>
              <xs:element minOccurs="0" name="CustomFields" nillable="true" type="tns:StringDictionary"/>"#;

/// Types only the Services88 `Webhook` fields use; Services87 leaves them out so its schema
/// has no unreferenced types.
const WEBHOOK_88_TYPES: &str = r#"
      <xs:simpleType name="WebhookNotifyVia">
        <xs:annotation><xs:appinfo><ActualType Name="short" Namespace="http://www.w3.org/2001/XMLSchema" xmlns="http://schemas.microsoft.com/2003/10/Serialization/"/></xs:appinfo></xs:annotation>
        <xs:restriction base="xs:string">
          <xs:enumeration value="None"/>
          <xs:enumeration value="Email"/>
          <xs:enumeration value="InApp"/>
        </xs:restriction>
      </xs:simpleType>
      <xs:element name="WebhookNotifyVia" nillable="true" type="tns:WebhookNotifyVia"/>
      <!-- A [Flags] enum: WCF writes the set names space-separated ("FirstFailure Disabling"). -->
      <xs:simpleType name="WebhookNotifyWhen">
        <xs:list>
          <xs:simpleType>
            <xs:restriction base="xs:string">
              <xs:enumeration value="None"/>
              <xs:enumeration value="FirstFailure"/>
              <xs:enumeration value="Disabling"/>
            </xs:restriction>
          </xs:simpleType>
        </xs:list>
      </xs:simpleType>
      <xs:element name="WebhookNotifyWhen" nillable="true" type="tns:WebhookNotifyWhen"/>
      <xs:complexType name="ArrayOfMDOListItem">
        <xs:sequence>
          <xs:element minOccurs="0" maxOccurs="unbounded" name="MDOListItem" nillable="true" type="tns:MDOListItem"/>
        </xs:sequence>
      </xs:complexType>
      <xs:element name="ArrayOfMDOListItem" nillable="true" type="tns:ArrayOfMDOListItem"/>
      <xs:complexType name="MDOListItem">
        <xs:complexContent mixed="false">
          <xs:extension base="tns:Carrier">
            <xs:sequence>
              <xs:element minOccurs="0" name="Id" type="xs:int"/>
              <xs:element minOccurs="0" name="Name" nillable="true" type="xs:string"/>
              <xs:element minOccurs="0" name="ToolTip" nillable="true" type="xs:string"/>
              <xs:element minOccurs="0" name="Deleted" type="xs:boolean"/>
              <xs:element minOccurs="0" name="Rank" type="xs:int"/>
              <xs:element minOccurs="0" name="Type" nillable="true" type="xs:string"/>
              <xs:element minOccurs="0" name="ChildItems" nillable="true" type="tns:ArrayOfMDOListItem"/>
              <xs:element minOccurs="0" name="IconHint" nillable="true" type="xs:string"/>
              <xs:element minOccurs="0" name="ColorBlock" type="xs:int"/>
              <xs:element minOccurs="0" name="ExtraInfo" nillable="true" type="xs:string"/>
              <xs:element minOccurs="0" name="StyleHint" nillable="true" type="xs:string"/>
              <xs:element minOccurs="0" name="FullName" nillable="true" type="xs:string"/>
            </xs:sequence>
          </xs:extension>
        </xs:complexContent>
      </xs:complexType>
      <xs:element name="MDOListItem" nillable="true" type="tns:MDOListItem"/>"#;

/// `ETableRight` flags Services88 adds (Services87 stops at `RestrictedUpdate`).
const ETABLERIGHT_88_VALUES: &str = r#"
              <xs:enumeration value="Unused1"/>
              <xs:enumeration value="Uninitialized"/>
              <xs:enumeration value="R"/>
              <xs:enumeration value="F"/>"#;

/// `EFieldRight` flag Services88 adds.
const EFIELDRIGHT_88_VALUES: &str = r#"
              <xs:enumeration value="Nullable"/>"#;

/// WSDL of Webhook.svc for `version`, with `address` as the endpoint URL.
pub fn webhook_wsdl(version: ServiceVersion, address: &str) -> String {
    render(WEBHOOK_TEMPLATE, version, address)
}

/// WSDL of SoPrincipal.svc for `version`.
pub fn principal_wsdl(version: ServiceVersion, address: &str) -> String {
    render(PRINCIPAL_TEMPLATE, version, address)
}

fn render(template: &str, version: ServiceVersion, address: &str) -> String {
    let v88 = version.has_88_fields();
    let pick = |fragment: &'static str| if v88 { fragment } else { "" };
    // The address comes from the request's Host header, so it is escaped, and it is
    // substituted last so that nothing in it can be taken for a placeholder.
    let address: Cow<'_, str> = quick_xml::escape::escape(address);
    template
        .replace("{{WEBHOOK_88_FIELDS}}", pick(WEBHOOK_88_FIELDS))
        .replace("{{ASSOCIATE_88_FIELDS}}", pick(ASSOCIATE_88_FIELDS))
        .replace("{{WEBHOOK_88_TYPES}}", pick(WEBHOOK_88_TYPES))
        .replace("{{ETABLERIGHT_88_VALUES}}", pick(ETABLERIGHT_88_VALUES))
        .replace("{{EFIELDRIGHT_88_VALUES}}", pick(EFIELDRIGHT_88_VALUES))
        .replace("{{TNS}}", version.namespace())
        .replace("{{ADDRESS}}", &address)
}

#[cfg(test)]
mod tests {
    use super::*;

    const WSDL_NS: &str = "http://schemas.xmlsoap.org/wsdl/";
    const XS_NS: &str = "http://www.w3.org/2001/XMLSchema";
    const ADDR: &str = "http://example.test:8080/Remote/Services88/Webhook.svc";

    fn all() -> Vec<(ServiceVersion, &'static str, String)> {
        let mut out = Vec::new();
        for v in [ServiceVersion::V87, ServiceVersion::V88] {
            out.push((v, "webhook", webhook_wsdl(v, ADDR)));
            out.push((v, "principal", principal_wsdl(v, ADDR)));
        }
        out
    }

    /// Names of the `xs:element`s declared in the sequence of complexType `name`.
    fn sequence_of(doc: &roxmltree::Document, name: &str) -> Vec<String> {
        let ty = doc
            .descendants()
            .find(|n| n.has_tag_name((XS_NS, "complexType")) && n.attribute("name") == Some(name))
            .unwrap_or_else(|| panic!("complexType {name} missing"));
        let seq = ty
            .descendants()
            .find(|n| n.has_tag_name((XS_NS, "sequence")))
            .expect("sequence");
        seq.children()
            .filter(|n| n.has_tag_name((XS_NS, "element")))
            .map(|n| n.attribute("name").unwrap().to_string())
            .collect()
    }

    #[test]
    fn every_output_parses_and_has_no_placeholder_left() {
        for (v, which, wsdl) in all() {
            assert!(!wsdl.contains("{{"), "{which} {v:?}: placeholder left");
            let doc = roxmltree::Document::parse(&wsdl)
                .unwrap_or_else(|e| panic!("{which} {v:?} is not XML: {e}"));
            let root = doc.root_element();
            assert!(root.has_tag_name((WSDL_NS, "definitions")));
            assert_eq!(root.attribute("targetNamespace"), Some(v.namespace()));
        }
    }

    #[test]
    fn v88_webhook_has_the_88_fields_and_v87_does_not() {
        let w88 = webhook_wsdl(ServiceVersion::V88, ADDR);
        let w87 = webhook_wsdl(ServiceVersion::V87, ADDR);
        for name in [
            "ErrorsEmail",
            "ExtraFields",
            "CustomFields",
            "WebhookNotifyWhen",
            "LastError",
        ] {
            assert!(w88.contains(&format!("\"{name}\"")), "88 lacks {name}");
            assert!(!w87.contains(&format!("\"{name}\"")), "87 has {name}");
        }
        // The address given is a Services88 URL, so check the namespaces, not the bare word.
        assert!(!w87.contains(ServiceVersion::V88.namespace()));
        assert!(!w88.contains(ServiceVersion::V87.namespace()));
    }

    #[test]
    fn webhook_sequence_order_matches_soap_md() {
        let base = [
            "WebhookId",
            "Name",
            "Events",
            "TargetUrl",
            "Secret",
            "State",
            "Type",
            "Headers",
            "Properties",
            "Registered",
            "RegisteredAssociate",
            "Updated",
            "UpdatedAssociate",
        ];
        let extra = [
            "ErrorsEmail",
            "ErrorEmails",
            "ErrorAssociates",
            "Description",
            "NotifyVia",
            "NotifyWhen",
            "TotalCalls",
            "TotalErrors",
            "ConsecutiveErrors",
            "LastError",
        ];
        let w87 = webhook_wsdl(ServiceVersion::V87, ADDR);
        let doc = roxmltree::Document::parse(&w87).unwrap();
        assert_eq!(sequence_of(&doc, "Webhook"), base);
        assert_eq!(sequence_of(&doc, "Associate").last().unwrap(), "UserName");

        let w88 = webhook_wsdl(ServiceVersion::V88, ADDR);
        let doc = roxmltree::Document::parse(&w88).unwrap();
        let expected: Vec<&str> = base.iter().chain(extra.iter()).copied().collect();
        assert_eq!(sequence_of(&doc, "Webhook"), expected);
        let assoc = sequence_of(&doc, "Associate");
        assert_eq!(assoc[assoc.len() - 2..], ["ExtraFields", "CustomFields"]);
    }

    #[test]
    fn both_bindings_at_the_escaped_address() {
        let wsdl = webhook_wsdl(ServiceVersion::V88, "http://h/x?a=1&b=\"2\"");
        let doc = roxmltree::Document::parse(&wsdl).unwrap();
        let addrs: Vec<(&str, &str)> = doc
            .descendants()
            .filter(|n| n.tag_name().name() == "address")
            .map(|n| {
                (
                    n.tag_name().namespace().unwrap(),
                    n.attribute("location").unwrap(),
                )
            })
            .collect();
        assert_eq!(
            addrs,
            [
                (
                    "http://schemas.xmlsoap.org/wsdl/soap/",
                    "http://h/x?a=1&b=\"2\""
                ),
                (
                    "http://schemas.xmlsoap.org/wsdl/soap12/",
                    "http://h/x?a=1&b=\"2\""
                ),
            ]
        );
    }

    #[test]
    fn soap_actions_follow_the_netserver_pattern() {
        let ns = ServiceVersion::V87.namespace();
        let w = webhook_wsdl(ServiceVersion::V87, ADDR);
        let doc = roxmltree::Document::parse(&w).unwrap();
        let actions: Vec<&str> = doc
            .descendants()
            .filter(|n| n.tag_name().name() == "operation")
            .filter_map(|n| n.attribute("soapAction"))
            .collect();
        // 8 operations in each of the two bindings.
        assert_eq!(actions.len(), 16);
        assert!(actions.contains(&format!("{ns}/Webhook/SignalEvent").as_str()));
        assert!(
            actions
                .iter()
                .all(|a| a.starts_with(&format!("{ns}/Webhook/")))
        );

        let p = principal_wsdl(ServiceVersion::V88, ADDR);
        let ns88 = ServiceVersion::V88.namespace();
        assert!(p.contains(&format!(
            "soapAction=\"{ns88}/SoPrincipal/AuthenticateUsernamePassword\""
        )));
        assert!(p.contains("element=\"tns:AuthenticateResponse\""));
        // SoPrincipal is called before there is a ticket: no Credentials header.
        assert!(!p.contains("part=\"Credentials\""));
    }
}
