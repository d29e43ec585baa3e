//! Writing carriers (`Webhook`, `Associate`, dictionaries) in the order of each version's schema.

use super::version::ServiceVersion;
use super::version::{XSD_NS, XSI_NS};
use super::xml_out::XmlOut;
use crate::agent::{AssociateCarrier, WebhookCarrier, WebhookResult};
use crate::domain::{Associate, TypedValue, wire_date};

fn strings(x: &mut XmlOut, name: &str, items: &[String]) {
    x.open(name);
    for item in items {
        x.leaf("arr:string", item);
    }
    x.close(name);
}

fn string_dictionary(x: &mut XmlOut, name: &str, pairs: &[(String, String)]) {
    x.open(name);
    for (k, v) in pairs {
        x.open("tns:StringKeyValuePair");
        x.leaf("tns:Key", k);
        x.leaf("tns:Value", v);
        x.close("tns:StringKeyValuePair");
    }
    x.close(name);
}

/// `StringObjectDictionary`: each value with its `xsi:type`, null as `xsi:nil`.
///
/// Each `Value` declares every prefix it uses (`tns` bound to `tns`, `xsi`, `xsd`), as WCF
/// declares the type's prefix on the element: message loggers that copy a value out of the
/// body drop the Envelope's declarations, and `xsi:type="xsd:int"` would then name an unbound
/// prefix (docs/SOAP.md, Replies).
pub fn object_dictionary(x: &mut XmlOut, name: &str, tns: &str, pairs: &[(String, TypedValue)]) {
    x.open(name);
    let declarations =
        format!(" xmlns:tns=\"{tns}\" xmlns:xsi=\"{XSI_NS}\" xmlns:xsd=\"{XSD_NS}\"");
    for (k, v) in pairs {
        x.open("tns:StringObjectKeyValuePair");
        x.leaf("tns:Key", k);
        match v.xsd_type() {
            Some(ty) => x.typed_leaf("tns:Value", &declarations, ty, &v.lexical()),
            None => x.declared_nil("tns:Value", &declarations),
        }
        x.close("tns:StringObjectKeyValuePair");
    }
    x.close(name);
}

fn associate(x: &mut XmlOut, name: &str, a: Option<&Associate>, version: ServiceVersion) {
    let Some(a) = a else {
        x.nil(name);
        return;
    };
    let a = AssociateCarrier::from(a);
    x.open(name);
    x.leaf("tns:AssociateId", &a.associate_id.to_string());
    x.leaf("tns:Name", &a.name);
    x.leaf("tns:PersonId", &a.person_id.to_string());
    x.leaf("tns:Rank", &a.rank.to_string());
    x.leaf("tns:Tooltip", &a.tooltip);
    x.leaf("tns:Type", a.r#type);
    x.leaf("tns:GroupIdx", &a.group_idx.to_string());
    x.leaf("tns:FullName", &a.full_name);
    x.leaf("tns:FormalName", &a.formal_name);
    x.leaf("tns:Deleted", if a.deleted { "true" } else { "false" });
    x.leaf("tns:EjUserId", &a.ej_user_id.to_string());
    x.leaf("tns:UserName", &a.user_name);
    if version.has_88_fields() {
        x.nil("tns:ExtraFields");
        x.nil("tns:CustomFields");
    }
    x.close(name);
}

/// The members of a `Webhook` (without the enclosing element).
pub fn webhook_members(x: &mut XmlOut, w: &WebhookCarrier, version: ServiceVersion) {
    x.leaf("tns:WebhookId", &w.id.to_string());
    x.opt_leaf("tns:Name", w.name.as_deref());
    strings(x, "tns:Events", &w.events);
    x.opt_leaf("tns:TargetUrl", w.target_url.as_deref());
    x.opt_leaf("tns:Secret", w.secret.as_deref());
    x.leaf("tns:State", w.state.as_str());
    x.opt_leaf("tns:Type", w.kind.as_deref());
    string_dictionary(x, "tns:Headers", &w.headers);
    object_dictionary(x, "tns:Properties", version.namespace(), &w.properties);
    x.leaf("tns:Registered", &wire_date(w.registered));
    associate(
        x,
        "tns:RegisteredAssociate",
        w.registered_associate.as_ref(),
        version,
    );
    x.leaf("tns:Updated", &wire_date(w.updated));
    associate(
        x,
        "tns:UpdatedAssociate",
        w.updated_associate.as_ref(),
        version,
    );
    if !version.has_88_fields() {
        return;
    }
    x.opt_leaf("tns:ErrorsEmail", w.errors_email.as_deref());
    strings(x, "tns:ErrorEmails", &w.error_emails);
    x.open("tns:ErrorAssociates");
    for (id, who) in &w.error_associates {
        x.open("tns:MDOListItem");
        x.leaf("tns:Id", &id.to_string());
        x.opt_leaf("tns:Name", who.as_ref().map(|a| a.full_name.as_str()));
        x.leaf("tns:Deleted", if who.is_some() { "false" } else { "true" });
        x.leaf("tns:Rank", "0");
        x.leaf("tns:ColorBlock", "0");
        x.close("tns:MDOListItem");
    }
    x.close("tns:ErrorAssociates");
    x.opt_leaf("tns:Description", w.description.as_deref());
    x.leaf("tns:NotifyVia", &w.notify_via.to_wire());
    x.leaf("tns:NotifyWhen", &w.notify_when.to_wire());
    x.leaf("tns:TotalCalls", &w.usage.total_calls.to_string());
    x.leaf("tns:TotalErrors", &w.usage.total_errors.to_string());
    x.leaf(
        "tns:ConsecutiveErrors",
        &w.usage.consecutive_errors.to_string(),
    );
    x.opt_leaf("tns:LastError", w.usage.last_error.as_deref());
}

/// A `Webhook` element named `name`, or nil.
pub fn webhook(x: &mut XmlOut, name: &str, w: Option<&WebhookCarrier>, version: ServiceVersion) {
    match w {
        Some(w) => {
            x.open(name);
            webhook_members(x, w, version);
            x.close(name);
        }
        None => x.nil(name),
    }
}

pub fn webhook_result(x: &mut XmlOut, name: &str, r: &WebhookResult) {
    x.open(name);
    x.leaf("tns:Success", if r.success { "true" } else { "false" });
    x.leaf("tns:Message", &r.message);
    x.close(name);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_with_millis_or_min_value() {
        assert_eq!(wire_date(Some(0)), "1970-01-01T00:00:00.000Z");
        assert_eq!(wire_date(None), "0001-01-01T00:00:00");
    }

    #[test]
    fn services87_carriers_stop_at_updated_associate() {
        let w = WebhookCarrier::default_new();
        let mut x87 = XmlOut::new();
        webhook_members(&mut x87, &w, ServiceVersion::V87);
        let mut x88 = XmlOut::new();
        webhook_members(&mut x88, &w, ServiceVersion::V88);
        let (s87, s88) = (x87.finish(), x88.finish());
        assert!(
            s87.ends_with("<tns:UpdatedAssociate xsi:nil=\"true\"/>"),
            "{s87}"
        );
        assert!(!s87.contains("ErrorsEmail"));
        assert!(s88.contains("<tns:NotifyWhen>None</tns:NotifyWhen>"));
    }
}
