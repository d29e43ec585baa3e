//! SOAP-aware mutations: elements removed, repeated, renamed, nested deep; odd values and
//! `xsi:type`s; wrong namespaces; DTDs and other prolog junk; encodings; SOAPAction; tickets.
//!
//! Elements are found by scanning the text for tags, not by parsing: mutants need not be
//! well-formed, and every index used is at an ASCII `<` or `>`, so slicing stays on char
//! boundaries.

use super::mutate::bytes;
use super::request::FuzzRequest;
use super::rng::Rng;
use super::values;
use crate::support::{NS87, NS88, SOAP11, SOAP12};

const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
const XSD: &str = "http://www.w3.org/2001/XMLSchema";

pub fn mutate(rng: &mut Rng, r: &mut FuzzRequest) -> String {
    let Ok(xml) = String::from_utf8(r.body.clone()) else {
        return bytes(rng, r);
    };
    let done = match rng.below(100) {
        0..14 => remove_element(rng, &xml),
        14..26 => repeat_element(rng, &xml),
        26..44 => leaf_value(rng, &xml),
        44..57 => xsi_type(rng, &xml),
        57..62 => rename_element(rng, &xml),
        62..67 => deep_nesting(rng, &xml),
        67..79 => namespace(rng, &xml),
        79..86 => prolog(rng, &xml),
        86..91 => return encoding(rng, r, &xml),
        _ => return soap_action(rng, r),
    };
    match done {
        Some((what, new)) => {
            r.body = new.into_bytes();
            what
        }
        None => bytes(rng, r),
    }
}

/// One element found in the text.
struct Element {
    name: String,
    /// Index of its `<`.
    start: usize,
    /// Index just past the `>` of its start tag.
    tag_end: usize,
    /// Index of its end tag's `<` (== `tag_end` when self-closing).
    close: usize,
    /// Index just past its end.
    end: usize,
}

impl Element {
    fn is_leaf(&self, xml: &str) -> bool {
        !xml[self.tag_end..self.close].contains('<')
    }
}

/// The start positions and names of every start tag.
fn start_tags(xml: &str) -> Vec<(usize, String)> {
    let b = xml.as_bytes();
    let mut out = Vec::new();
    for (i, _) in xml.match_indices('<') {
        if b.get(i + 1)
            .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
        {
            let name: String = xml[i + 1..]
                .chars()
                .take_while(|c| !matches!(c, ' ' | '\t' | '\r' | '\n' | '/' | '>'))
                .collect();
            out.push((i, name));
        }
    }
    out
}

/// The element whose start tag is at `start`, if its end can be found: one pass over the
/// later occurrences of its name, counting same-name start and end tags (mutants nest an
/// element in itself 150 000 deep).
fn element_at(xml: &str, start: usize, name: &str) -> Option<Element> {
    let tag_end = start + xml[start..].find('>')? + 1;
    let element = |close: usize, end: usize| Element {
        name: name.to_string(),
        start,
        tag_end,
        close,
        end,
    };
    if xml[..tag_end].ends_with("/>") {
        return Some(element(tag_end, tag_end));
    }
    let b = xml.as_bytes();
    let mut depth = 1;
    for (i, _) in xml[tag_end..].match_indices(name) {
        let at = tag_end + i;
        let after = b.get(at + name.len());
        if at >= 2 && &b[at - 2..at] == b"</" && after == Some(&b'>') {
            depth -= 1;
            if depth == 0 {
                return Some(element(at - 2, at + name.len() + 1));
            }
        } else if at >= 1
            && b[at - 1] == b'<'
            && matches!(after, Some(b' ' | b'\t' | b'\r' | b'\n' | b'>'))
        {
            depth += 1;
        }
    }
    None
}

/// A random element (of those `keep` accepts), trying a few start tags.
fn pick_element(rng: &mut Rng, xml: &str, keep: impl Fn(&Element) -> bool) -> Option<Element> {
    let tags = start_tags(xml);
    if tags.is_empty() {
        return None;
    }
    for _ in 0..12 {
        let (start, name) = rng.pick(&tags);
        if let Some(e) = element_at(xml, *start, name).filter(|e| keep(e)) {
            return Some(e);
        }
    }
    None
}

fn remove_element(rng: &mut Rng, xml: &str) -> Option<(String, String)> {
    let e = pick_element(rng, xml, |_| true)?;
    let new = format!("{}{}", &xml[..e.start], &xml[e.end..]);
    Some((format!("remove <{}>", e.name), new))
}

fn repeat_element(rng: &mut Rng, xml: &str) -> Option<(String, String)> {
    let e = pick_element(rng, xml, |_| true)?;
    let one = &xml[e.start..e.end];
    let limit = super::mutate::MAX_BODY / one.len().max(1);
    let times = (*rng.pick(&[2, 3, 10, 1000, 100_000])).min(limit).max(2);
    let new = format!("{}{}{}", &xml[..e.start], one.repeat(times), &xml[e.end..]);
    Some((format!("<{}> x{times}", e.name), new))
}

/// XML-escapes `&`, `<` and `>` (control characters stay: they are illegal in XML 1.0).
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn leaf_value(rng: &mut Rng, xml: &str) -> Option<(String, String)> {
    let e = pick_element(rng, xml, |e| e.is_leaf(xml))?;
    let raw = match rng.below(10) {
        0..5 => values::text(rng),
        5..8 => rng.pick(values::NUMBERS).to_string(),
        _ => rng.pick(values::MARKUP).to_string(),
    };
    let value = if rng.chance(80) { escape(&raw) } else { raw };
    let what = format!(
        "<{}> = {:?}",
        e.name,
        value.chars().take(40).collect::<String>()
    );
    let new = if e.close == e.tag_end {
        // Self-closing: give it content.
        let open = xml[e.start..e.tag_end - 2].to_string();
        format!(
            "{}{open}>{value}</{}>{}",
            &xml[..e.start],
            e.name,
            &xml[e.end..]
        )
    } else {
        format!("{}{value}{}", &xml[..e.tag_end], &xml[e.close..])
    };
    Some((what, new))
}

const XSI_TYPES: &[&str] = &[
    "xsd:double",
    "xsd:float",
    "xsd:int",
    "xsd:short",
    "xsd:long",
    "xsd:decimal",
    "xsd:boolean",
    "xsd:dateTime",
    "xsd:string",
    "xs:int",
    "foo:int",
    "int",
    ":int",
    "xsd:",
    "xsd:anyType",
    "xsd:base64Binary",
    "xsd:unsignedLong",
    "tns:Webhook",
    "tns:StringObjectDictionary",
    "arr:ArrayOfstring",
    "xsd:int xsd:int",
    "",
    "xsi:nil",
    "a:b:c",
];

/// An odd `xsi:type` (or `xsi:nil`), often with a value that does not fit it.
fn xsi_type(rng: &mut Rng, xml: &str) -> Option<(String, String)> {
    let e = pick_element(rng, xml, |_| true)?;
    let tag = &xml[e.start..e.tag_end];
    let self_closing = tag.ends_with("/>");
    let inner = tag
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim_end_matches('/');
    let kept: Vec<&str> = inner
        .split(' ')
        .filter(|a| !a.starts_with("xsi:type=") && !a.starts_with("xsi:nil="))
        .collect();
    let attr = if rng.chance(20) {
        format!(
            "xsi:nil=\"{}\"",
            rng.pick(&["true", "1", "false", "maybe", ""])
        )
    } else {
        format!("xsi:type=\"{}\"", rng.pick(XSI_TYPES))
    };
    let new_tag = format!(
        "<{} {attr}{}>",
        kept.join(" "),
        if self_closing { "/" } else { "" }
    );
    let body = if !self_closing && e.is_leaf(xml) && rng.chance(60) {
        let number = *rng.pick(values::NUMBERS);
        escape(number)
    } else {
        xml[e.tag_end..e.close].to_string()
    };
    let what = format!(
        "<{}> {attr} value {:?}",
        e.name,
        body.chars().take(30).collect::<String>()
    );
    let new = if self_closing {
        format!("{}{new_tag}{}", &xml[..e.start], &xml[e.end..])
    } else {
        format!("{}{new_tag}{body}{}", &xml[..e.start], &xml[e.close..])
    };
    Some((what, new))
}

fn rename_element(rng: &mut Rng, xml: &str) -> Option<(String, String)> {
    let e = pick_element(rng, xml, |e| e.close != e.tag_end)?;
    let prefix = e.name.split_once(':').map(|(p, _)| p).unwrap_or("");
    let local = *rng.pick(&[
        "Frobnicate",
        "WebhookId",
        "Webhook",
        "Body",
        "Header",
        "Envelope",
        "Value",
        "Key",
        "string",
        "Fault",
        "SignalEvent",
        "GetWebhookResponse",
    ]);
    let new_name = match rng.below(3) {
        0 => local.to_string(),
        1 => format!("zz:{local}"),
        _ if prefix.is_empty() => local.to_string(),
        _ => format!("{prefix}:{local}"),
    };
    let open_rest = &xml[e.start + 1 + e.name.len()..e.tag_end];
    let new = format!(
        "{}<{new_name}{open_rest}{}</{new_name}>{}",
        &xml[..e.start],
        &xml[e.tag_end..e.close],
        &xml[e.end..]
    );
    Some((format!("rename <{}> to <{new_name}>", e.name), new))
}

fn deep_nesting(rng: &mut Rng, xml: &str) -> Option<(String, String)> {
    let e = pick_element(rng, xml, |e| e.close != e.tag_end)?;
    let wrapper = if rng.chance(50) { e.name.as_str() } else { "a" };
    let per_level = 2 * wrapper.len() + 5;
    let depth =
        (*rng.pick(&[2, 50, 1000, 20_000, 150_000])).min(super::mutate::MAX_BODY / per_level);
    let new = format!(
        "{}{}{}{}{}",
        &xml[..e.tag_end],
        format!("<{wrapper}>").repeat(depth),
        &xml[e.tag_end..e.close],
        format!("</{wrapper}>").repeat(depth),
        &xml[e.close..]
    );
    Some((
        format!("nest <{}> content {depth} deep in <{wrapper}>", e.name),
        new,
    ))
}

fn namespace(rng: &mut Rng, xml: &str) -> Option<(String, String)> {
    let uris: Vec<&str> = xml
        .match_indices("xmlns")
        .filter_map(|(i, _)| {
            let rest = &xml[i..];
            let open = rest.find("=\"")? + 2;
            let len = rest[open..].find('"')?;
            Some(&rest[open..open + len])
        })
        .collect();
    if uris.is_empty() {
        return None;
    }
    let from = *rng.pick(&uris);
    match rng.below(4) {
        0 => {
            // Drop the declaration: its prefix becomes undeclared.
            let decl_start = xml.find(&format!("=\"{from}\""))?;
            let attr_start = xml[..decl_start].rfind(' ')?;
            let new = format!(
                "{}{}",
                &xml[..attr_start],
                &xml[decl_start + from.len() + 3..]
            );
            Some((format!("drop declaration of {from}"), new))
        }
        1 => {
            // Rebind `tns` on the operation element (the first element in Body).
            let body = xml.find(":Body>")? + ":Body>".len();
            let op_end = body + xml[body..].find([' ', '>'])?;
            let to = rng.pick(&["urn:evil", NS87, NS88, ""]);
            let new = format!(
                "{} xmlns:tns=\"{to}\" xmlns=\"{to}\"{}",
                &xml[..op_end],
                &xml[op_end..]
            );
            Some((format!("rebind tns to {to:?} on the operation"), new))
        }
        _ => {
            let to = *rng.pick(&[
                SOAP11,
                SOAP12,
                NS87,
                NS88,
                XSI,
                XSD,
                "urn:garbage",
                "",
                "http://www.superoffice.net/ws/crm/NetServer/Services86",
                "http://www.superoffice.net/ws/crm/NetServer/Services88/",
                "HTTP://WWW.SUPEROFFICE.NET/ws/crm/NetServer/Services88",
            ]);
            let new = xml.replace(&format!("\"{from}\""), &format!("\"{to}\""));
            Some((format!("namespace {from} -> {to:?}"), new))
        }
    }
}

/// DTDs, entities, processing instructions, comments and junk around the root.
fn prolog(rng: &mut Rng, xml: &str) -> Option<(String, String)> {
    let root = xml.find("Envelope").and_then(|i| xml[..i].rfind('<'))?;
    let (what, new) = match rng.below(7) {
        0 => (
            "billion laughs DTD",
            format!(
                "{}<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;\">\
                 <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;\">]>{}",
                &xml[..root],
                xml[root..].replace("fuzz made", "&lol3;")
            ),
        ),
        1 => (
            "XXE DTD",
            format!(
                "{}<!DOCTYPE e [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>{}",
                &xml[..root],
                xml[root..].replace("fuzz made", "&xxe;")
            ),
        ),
        2 => (
            "processing instruction and comment before the root",
            format!("{}<?php echo 1; ?><!-- c -->{}", &xml[..root], &xml[root..]),
        ),
        3 => ("a second root", format!("{xml}<extra/>")),
        4 => ("text before the root", format!("junk{xml}")),
        5 => (
            "a second XML declaration",
            format!("{}<?xml version=\"1.0\"?>{}", &xml[..root], &xml[root..]),
        ),
        _ => (
            "CDATA in a value",
            xml.replacen("fuzz made", "<![CDATA[fuzz ]]]]><![CDATA[> made]]>", 1),
        ),
    };
    Some((what.to_string(), new))
}

/// Declared or announced encodings that do not match the bytes.
fn encoding(rng: &mut Rng, r: &mut FuzzRequest, xml: &str) -> String {
    match rng.below(4) {
        0 => {
            r.body = xml
                .replacen("encoding=\"utf-8\"", "encoding=\"ISO-8859-1\"", 1)
                .replacen("encoding=\"UTF-8\"", "encoding=\"ISO-8859-1\"", 1)
                .into_bytes();
            "declare ISO-8859-1".to_string()
        }
        1 => {
            // Valid Latin-1, invalid UTF-8.
            r.body = xml.replace("fuzz made", "fuzz m\u{e9}de").into_bytes();
            if let Some(i) = r.body.windows(2).position(|w| w == "\u{e9}".as_bytes()) {
                r.body.splice(i..i + 2, [0xE9]);
            }
            r.set_header("Content-Type", b"text/xml; charset=iso-8859-1");
            "Latin-1 bytes, charset=iso-8859-1".to_string()
        }
        2 => {
            r.body = xml
                .replacen("encoding=\"utf-8\"", "encoding=\"UTF-16\"", 1)
                .into_bytes();
            "declare UTF-16".to_string()
        }
        _ => {
            let decl_end = xml.find("?>").map_or(0, |i| i + 2);
            r.body = xml.as_bytes()[decl_end..].to_vec();
            "no XML declaration".to_string()
        }
    }
}

fn soap_action(rng: &mut Rng, r: &mut FuzzRequest) -> String {
    let long = "a".repeat(rng.size(4000));
    let action = match rng.below(5) {
        0 => {
            r.remove_header("SOAPAction");
            return "no SOAPAction".to_string();
        }
        1 => String::new(),
        2 => format!("\"{NS88}/Webhook/DeleteWebhook\""),
        3 => long,
        _ => "\"urn:x\ty\"".to_string(),
    };
    r.set_header("SOAPAction", action.as_bytes());
    format!(
        "SOAPAction {:?}",
        action.chars().take(40).collect::<String>()
    )
}

/// The ticket and application token in the SOAP header: missing, empty, wrong, huge.
pub fn credentials(rng: &mut Rng, r: &mut FuzzRequest) -> String {
    let Ok(xml) = String::from_utf8(r.body.clone()) else {
        return bytes(rng, r);
    };
    let target = if rng.chance(70) {
        "Ticket"
    } else {
        "ApplicationToken"
    };
    let found = start_tags(&xml)
        .into_iter()
        .find(|(_, n)| n.rsplit(':').next() == Some(target))
        .and_then(|(start, name)| element_at(&xml, start, &name));
    let Some(e) = found else {
        return bytes(rng, r);
    };
    let value = match rng.below(8) {
        0 => {
            r.body = format!("{}{}", &xml[..e.start], &xml[e.end..]).into_bytes();
            return format!("remove <{}>", e.name);
        }
        1 => String::new(),
        2 => "7T:".to_string(),
        3 => "garbage".to_string(),
        4 => format!("7T:{}", "A".repeat(rng.size(8000))),
        5 => "&#1;7T:x".to_string(),
        6 => format!("{}x", &xml[e.tag_end..e.close]),
        _ => format!(" {} ", xml[e.tag_end..e.close].to_lowercase()),
    };
    let what = format!(
        "<{}> = {:?}",
        e.name,
        value.chars().take(40).collect::<String>()
    );
    r.body = format!("{}{value}{}", &xml[..e.tag_end], &xml[e.close..]).into_bytes();
    what
}
