//! REST-aware mutations: JSON values of the wrong type or out of range, members removed,
//! added or given twice, deep nesting, big collections, and JSON Patch / Merge Patch documents
//! (many operations, big subtrees copied and moved).

use serde_json::{Map, Value, json};

use super::mutate::{MAX_BODY, bytes};
use super::request::FuzzRequest;
use super::rng::Rng;
use super::values;

pub fn mutate(rng: &mut Rng, r: &mut FuzzRequest) -> String {
    if r.method == "PATCH" && rng.chance(60) {
        return patch_document(rng, r);
    }
    let parsed: Option<Value> = serde_json::from_slice(&r.body).ok();
    let Some(mut doc) = parsed else {
        return match rng.below(3) {
            0 => {
                let mut raw = Raw::default();
                let v = raw.value(rng, 3);
                r.body = raw.render(&v).into_bytes();
                "a random JSON body".to_string()
            }
            _ => bytes(rng, r),
        };
    };
    let mut raw = Raw::default();
    let what = match rng.below(100) {
        0..35 => replace_node(rng, &mut doc, &mut raw),
        35..47 => remove_member(rng, &mut doc),
        47..57 => add_member(rng, &mut doc, &mut raw),
        57..65 => {
            let text = raw.render(&doc);
            return match text.find('{') {
                Some(i) => {
                    r.body = format!(
                        "{}\"Name\":1,\"name\":\"dup\",{}",
                        &text[..=i],
                        &text[i + 1..]
                    )
                    .into_bytes();
                    "duplicate and case-twin keys".to_string()
                }
                None => bytes(rng, r),
            };
        }
        65..73 => {
            let depth = *rng.pick(&[100, 127, 128, 129, 1000, 100_000]);
            let (open, close) = if rng.chance(50) {
                ("[", "]")
            } else {
                ("{\"a\":", "}")
            };
            let nested = format!("{}1{}", open.repeat(depth), close.repeat(depth));
            let what = replace_random(rng, &mut doc, raw.token(nested));
            format!("{what} = nesting {depth} deep")
        }
        73..83 => big_collection(rng, &mut doc),
        _ => {
            let swap = *rng.pick(&[
                "[]", "[{}]", "\"text\"", "42", "null", "true", "\"\"", "1e400",
            ]);
            r.body = swap.as_bytes().to_vec();
            return format!("body = {swap}");
        }
    };
    r.body = raw.render(&doc).into_bytes();
    what
}

/// Raw JSON text spliced into a serialised document: numbers serde_json cannot hold (`1e400`)
/// and tokens that are not JSON at all (`NaN`). Each stands in the tree as a marker string.
#[derive(Default)]
pub struct Raw(Vec<String>);

impl Raw {
    fn token(&mut self, text: String) -> Value {
        self.0.push(text);
        Value::String(format!("\u{1}RAW{}\u{1}", self.0.len() - 1))
    }

    /// `doc` as JSON text with each marker replaced by its raw text, in one pass.
    fn render(&self, doc: &Value) -> String {
        const OPEN: &str = "\"\\u0001RAW";
        const CLOSE: &str = "\\u0001\"";
        let text = doc.to_string();
        let mut out = String::with_capacity(text.len());
        let mut rest = text.as_str();
        while let Some(at) = rest.find(OPEN) {
            out.push_str(&rest[..at]);
            let after = &rest[at + OPEN.len()..];
            let raw = after.find(CLOSE).and_then(|end| {
                let index: usize = after[..end].parse().ok()?;
                Some((self.0.get(index)?, end))
            });
            match raw {
                Some((raw, end)) => {
                    out.push_str(raw);
                    rest = &after[end + CLOSE.len()..];
                }
                None => {
                    out.push_str(OPEN);
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }

    /// A scalar: null, a boolean, an odd number or one of the odd texts (never a long one).
    fn scalar(&mut self, rng: &mut Rng) -> Value {
        match rng.below(4) {
            0 => Value::Null,
            1 => Value::Bool(rng.chance(50)),
            2 => self.token(rng.pick(values::NUMBERS).to_string().replace(' ', "")),
            _ => Value::String(rng.pick(values::TEXTS).to_string()),
        }
    }

    /// A random JSON value, at most `depth` levels deep.
    fn value(&mut self, rng: &mut Rng, depth: usize) -> Value {
        match rng.below(if depth == 0 { 6 } else { 8 }) {
            0 => Value::Null,
            1 => Value::Bool(rng.chance(50)),
            2 => json!(*rng.pick(&[
                0_i64,
                -1,
                1,
                2_147_483_648,
                -2_147_483_649,
                i64::MAX,
                i64::MIN
            ])),
            3 => json!(*rng.pick(&[0.5_f64, -0.0, 1e308, f64::MIN_POSITIVE, 12.25])),
            4 => self.token(rng.pick(values::NUMBERS).to_string().replace(' ', "")),
            5 => Value::String(values::text(rng)),
            6 => {
                let n = rng.size(20);
                Value::Array((0..n).map(|_| self.value(rng, depth - 1)).collect())
            }
            _ => {
                let n = rng.size(20);
                let members: Map<String, Value> = (0..n)
                    .map(|i| (format!("k{i}"), self.value(rng, depth - 1)))
                    .collect();
                Value::Object(members)
            }
        }
    }
}

/// JSON Pointers of every node below the root.
fn pointers(doc: &Value) -> Vec<String> {
    fn walk(v: &Value, at: String, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, child) in m {
                    let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                    out.push(p.clone());
                    walk(child, p, out);
                }
            }
            Value::Array(a) => {
                for (i, child) in a.iter().enumerate() {
                    let p = format!("{at}/{i}");
                    out.push(p.clone());
                    walk(child, p, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(doc, String::new(), &mut out);
    out
}

/// Puts `value` at a random node (the root when there is none); says where.
fn replace_random(rng: &mut Rng, doc: &mut Value, value: Value) -> String {
    let all = pointers(doc);
    if all.is_empty() {
        *doc = value;
        return "root".to_string();
    }
    let p = rng.pick(&all).clone();
    if let Some(slot) = doc.pointer_mut(&p) {
        *slot = value;
    }
    p
}

fn replace_node(rng: &mut Rng, doc: &mut Value, raw: &mut Raw) -> String {
    let value = raw.value(rng, 2);
    let shown: String = raw.render(&value).chars().take(40).collect();
    let at = replace_random(rng, doc, value);
    format!("{at} = {shown}")
}

fn remove_member(rng: &mut Rng, doc: &mut Value) -> String {
    let all: Vec<String> = pointers(doc);
    let Some(p) = (!all.is_empty()).then(|| rng.pick(&all).clone()) else {
        return "nothing to remove".to_string();
    };
    let (parent, key) = p.rsplit_once('/').unwrap_or(("", &p));
    match doc.pointer_mut(parent) {
        Some(Value::Object(m)) => {
            m.remove(&key.replace("~1", "/").replace("~0", "~"));
        }
        Some(Value::Array(a)) => {
            if let Ok(i) = key.parse::<usize>()
                && i < a.len()
            {
                a.remove(i);
            }
        }
        _ => {}
    }
    format!("remove {p}")
}

fn add_member(rng: &mut Rng, doc: &mut Value, raw: &mut Raw) -> String {
    let name = rng
        .pick(&[
            "Unknown",
            "webhookid",
            "WEBHOOKID",
            "webhook",
            "Webhook",
            "_Links",
            "State",
            "data",
            "Data",
            "EventName",
            "PrimaryKey",
            "",
            "\u{0}",
            "$select",
        ])
        .to_string();
    let value = raw.value(rng, 2);
    match doc {
        Value::Object(m) => {
            m.insert(name.clone(), value);
            format!("add member {name:?}")
        }
        _ => "not an object".to_string(),
    }
}

fn big_collection(rng: &mut Rng, doc: &mut Value) -> String {
    let n = *rng.pick(&[1000, 10_000, 50_000]);
    let big = if rng.chance(50) {
        Value::Array((0..n).map(|i| json!(format!("fuzz.e{i}"))).collect())
    } else {
        Value::Object((0..n).map(|i| (format!("k{i}"), json!(i))).collect())
    };
    let at = match doc {
        Value::Object(m) => {
            let key = rng
                .pick(&[
                    "Events",
                    "Properties",
                    "Headers",
                    "Data",
                    "ErrorEmails",
                    "ErrorAssociates",
                ])
                .to_string();
            m.insert(key.clone(), big);
            key
        }
        _ => replace_random(rng, doc, big),
    };
    format!("{at} = {n} items")
}

/// Paths a JSON Patch names: real members, loose spellings, bad indexes, escapes, nonsense.
const PATCH_PATHS: &[&str] = &[
    "/Name",
    "name",
    "/Events",
    "/Events/-",
    "/Events/0",
    "/Events/1",
    "/Events/99",
    "/Events/01",
    "/Events/-1",
    "/Headers",
    "/Headers/X-Fuzz",
    "/Headers/x-new",
    "/Properties",
    "/Properties/tenant",
    "/Properties/nested/k",
    "/Properties/a/b/c",
    "/Properties/~0~1",
    "/Properties/~2",
    "/",
    "",
    "/WebhookId",
    "/State",
    "/TargetUrl",
    "/Secret",
    "/Registered",
    "/_Links",
    "/Nope",
    "//",
    "/ErrorAssociates/0/Id",
    "/NotifyWhen",
    "/TotalCalls",
];

/// A whole JSON Patch or Merge Patch body for a PATCH request.
fn patch_document(rng: &mut Rng, r: &mut FuzzRequest) -> String {
    let mut raw = Raw::default();
    let (what, doc, content_type): (String, Value, &[u8]) = match rng.below(10) {
        0..2 => {
            // Copy a subtree into itself again and again: each copy doubles it. At most 16
            // doublings (64 MiB), so that a server without a bound shows in its RSS but does
            // not take the machine down.
            let k = rng.range(8, 16);
            let mut ops =
                vec![json!({"op": "add", "path": "/Properties/seed", "value": "x".repeat(1024)})];
            for i in 0..k {
                ops.push(json!({"op": "copy", "from": "/Properties", "path": format!("/Properties/c{i}")}));
            }
            (
                format!("JSON Patch: {k} self-copies of /Properties"),
                Value::Array(ops),
                b"application/json-patch+json",
            )
        }
        2..7 => {
            let n = *rng.pick(&[1, 3, 10, 100, 2000]);
            let ops: Vec<Value> = (0..n).map(|_| patch_op(rng, &mut raw, n > 10)).collect();
            (
                format!("JSON Patch of {n} random ops"),
                Value::Array(ops),
                b"application/json-patch+json",
            )
        }
        _ => {
            let members = [
                "Name",
                "Events",
                "TargetUrl",
                "Secret",
                "State",
                "Headers",
                "Properties",
                "NotifyWhen",
                "ErrorAssociates",
                "webhookid",
                "Nope",
            ];
            let n = rng.range(1, 5);
            let doc: Map<String, Value> = (0..n)
                .map(|_| (rng.pick(&members).to_string(), raw.value(rng, 3)))
                .collect();
            (
                format!("Merge Patch of {n} members"),
                Value::Object(doc),
                b"application/merge-patch+json",
            )
        }
    };
    let body = raw.render(&doc);
    if body.len() > MAX_BODY {
        return format!("{what} (too big, skipped)");
    }
    r.body = body.into_bytes();
    r.set_header("Content-Type", content_type);
    what
}

/// One JSON Patch operation; in `many` (a patch of hundreds of them) values stay small.
fn patch_op(rng: &mut Rng, raw: &mut Raw, many: bool) -> Value {
    let op: Value = match rng.below(12) {
        0 => json!(7),
        1 => json!("bogus"),
        2 => json!("ADD"),
        _ => json!(*rng.pick(&["add", "remove", "replace", "move", "copy", "test"])),
    };
    let mut m = Map::new();
    m.insert("op".into(), op);
    if rng.chance(95) {
        m.insert("path".into(), json!(*rng.pick(PATCH_PATHS)));
    }
    if rng.chance(50) {
        m.insert("from".into(), json!(*rng.pick(PATCH_PATHS)));
    }
    if rng.chance(80) {
        let value = if many {
            raw.scalar(rng)
        } else if rng.chance(5) {
            Value::Object(
                (0..rng.size(5000))
                    .map(|i| (format!("k{i}"), json!("v".repeat(16))))
                    .collect(),
            )
        } else {
            raw.value(rng, 3)
        };
        m.insert("value".into(), value);
    }
    Value::Object(m)
}
