//! `PATCH /api/v1/Webhook/{id}`: applies a JSON Patch (RFC 6902) or a JSON
//! Merge Patch (RFC 7396) to a webhook rendered as a JSON object with
//! `PascalCase` members (docs/REST.md, PATCH).
//!
//! `NetServer` documents patch paths as case-insensitive with an optional
//! leading `/` (`"path": "name"` ≡ `"/Name"`), so clients written against it
//! may send either; this module accepts both, by these rules:
//!
//! * A path segment (or merge-patch key) matches an existing object member
//!   case-insensitively (an exact match wins) and then uses the member's
//!   existing spelling. A key that matches nothing is added with the spelling
//!   given, except at the top level: the webhook carrier has a fixed set of
//!   members, so an unknown top-level name is an error.
//! * Top-level members are never deleted. `remove` (and a merge-patch `null`)
//!   sets a top-level member to `null`; inside `Headers`, `Properties` and
//!   other nested objects they delete the key.
//! * `add` below a top-level member that is `null` first creates it: an
//!   empty object for `Headers`/`Properties`, an empty array for `Events`,
//!   `ErrorEmails` and `ErrorAssociates`.
//! * A `test` whose path does not exist fails as a conflict (409), just like
//!   a `test` whose value differs; a path that could never exist (an unknown
//!   top-level member, a malformed index such as `01`) is a malformed patch (400).
//! * `move` and `copy` are supported; `from` follows the same path rules.
//!
//! The whole patch is applied to a copy, so on error the target is unchanged. What a patch may
//! build is bounded (`budget`): operations, bytes, values and nesting.

mod budget;
mod folded_keys;

use serde_json::{Map, Value};

use budget::{Budget, Exceeded};
use folded_keys::FoldedKeys;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    /// The patch document is malformed or names something that does not exist → HTTP 400.
    #[error("{0}")]
    Invalid(String),
    /// A `test` operation did not match → HTTP 409.
    #[error("{0}")]
    TestFailed(String),
    /// The patch has too many operations or would make the webhook too large → HTTP 413.
    #[error("{0}")]
    TooLarge(String),
}

/// Applies `patch` to `target` (a JSON object): a JSON Patch when `patch` is an array,
/// a JSON Merge Patch when it is an object; anything else is `Invalid`. A JSON Patch may add
/// at most `max_bytes` of JSON to the target, counting the target itself (`budget`); a merge
/// patch adds no more than its own size.
/// Atomic: on error `target` is unchanged.
///
/// # Errors
///
/// [`PatchError::TestFailed`] when a `test` operation does not match (or its path does not
/// exist in this webhook); [`PatchError::TooLarge`] for a patch over a `budget` limit;
/// [`PatchError::Invalid`] for everything else that goes wrong.
pub fn apply(target: &mut Value, patch: &Value, max_bytes: usize) -> Result<(), PatchError> {
    let mut work = target.clone();
    let Value::Object(root) = &mut work else {
        return Err(PatchError::Invalid(format!(
            "the patch target must be a JSON object, found {}",
            kind(target)
        )));
    };
    match patch {
        Value::Array(ops) => {
            if ops.len() > budget::MAX_OPERATIONS {
                return Err(PatchError::TooLarge(format!(
                    "the JSON Patch has {} operations; at most {} are allowed",
                    ops.len(),
                    budget::MAX_OPERATIONS
                )));
            }
            let mut budget = Budget::new(root, max_bytes);
            for (index, op) in ops.iter().enumerate() {
                apply_operation(root, &mut budget, index, op)?;
            }
        }
        Value::Object(members) => merge_top(root, members)?,
        other => {
            return Err(PatchError::Invalid(format!(
                "the patch must be a JSON Patch array or a JSON Merge Patch object, found {}",
                kind(other)
            )));
        }
    }
    *target = work;
    Ok(())
}

/// Names of top-level members that `add` turns from `null` into an array.
const ARRAY_MEMBERS: &[&str] = &["Events", "ErrorEmails", "ErrorAssociates"];
/// Names of top-level members that `add` turns from `null` into an object.
const OBJECT_MEMBERS: &[&str] = &["Headers", "Properties"];

/// Why a path could not be followed. Only matters for `test`: a path that
/// merely does not exist in this webhook is a conflict, anything else is a
/// malformed patch.
enum Fail {
    Missing(String),
    Bad(String),
}

impl Fail {
    fn message(self) -> String {
        match self {
            Fail::Missing(m) | Fail::Bad(m) => m,
        }
    }
}

fn apply_operation(
    root: &mut Map<String, Value>,
    budget: &mut Budget,
    index: usize,
    op: &Value,
) -> Result<(), PatchError> {
    let invalid = |msg: String| PatchError::Invalid(format!("operation {index}: {msg}"));
    let Value::Object(fields) = op else {
        return Err(invalid(format!(
            "expected an object with 'op' and 'path', found {}",
            kind(op)
        )));
    };
    let name = match member(fields, "op") {
        Some(Value::String(s)) => s.to_ascii_lowercase(),
        Some(other) => {
            return Err(invalid(format!(
                "'op' must be a string, found {}",
                kind(other)
            )));
        }
        None => return Err(invalid("missing 'op'".to_owned())),
    };
    let path = match member(fields, "path") {
        Some(Value::String(s)) => s.as_str(),
        Some(other) => {
            return Err(invalid(format!(
                "{name}: 'path' must be a string, found {}",
                kind(other)
            )));
        }
        None => return Err(invalid(format!("{name}: missing 'path'"))),
    };
    let from = match (name.as_str(), member(fields, "from")) {
        ("move" | "copy", Some(Value::String(s))) => Some(s.as_str()),
        ("move" | "copy", Some(other)) => {
            return Err(invalid(format!(
                "{name} {path}: 'from' must be a string, found {}",
                kind(other)
            )));
        }
        ("move" | "copy", None) => return Err(invalid(format!("{name} {path}: missing 'from'"))),
        _ => None,
    };
    let context = match from {
        Some(from) => format!("operation {index} ({name} from {from} to {path})"),
        None => format!("operation {index} ({name} {path})"),
    };
    let invalid = |msg: String| PatchError::Invalid(format!("{context}: {msg}"));
    let over = |limit: Exceeded| match limit {
        Exceeded::Depth => invalid(limit.message()),
        Exceeded::Bytes(_) | Exceeded::Values => {
            PatchError::TooLarge(format!("{context}: {}", limit.message()))
        }
    };
    let value = || member(fields, "value").ok_or_else(|| invalid("missing 'value'".to_owned()));
    let segments = parse_path(path).map_err(invalid)?;

    match name.as_str() {
        "add" => {
            let new = value()?;
            budget.charge(new, &segments).map_err(over)?;
            add(root, &segments, new.clone()).map_err(|f| invalid(f.message()))
        }
        "replace" => {
            let new = value()?;
            budget.charge(new, &segments).map_err(over)?;
            let slot = resolve(root, &segments).map_err(|f| invalid(f.message()))?;
            *slot = new.clone();
            Ok(())
        }
        "remove" => remove(root, &segments)
            .map(drop)
            .map_err(|f| invalid(f.message())),
        "test" => {
            let expected = value()?;
            match resolve(root, &segments) {
                Ok(found) if json_eq(found, expected) => Ok(()),
                Ok(found) => Err(PatchError::TestFailed(format!(
                    "{context}: expected {expected}, found {found}"
                ))),
                Err(Fail::Missing(m)) => Err(PatchError::TestFailed(format!(
                    "{context}: expected {expected}, but {m}"
                ))),
                Err(Fail::Bad(m)) => Err(invalid(m)),
            }
        }
        "copy" | "move" => {
            let from = from.unwrap_or_default();
            let from_segments = parse_path(from).map_err(|m| invalid(format!("'from': {m}")))?;
            let from_error = |f: Fail| invalid(format!("'from': {}", f.message()));
            let moved = if name == "copy" {
                let source = resolve(root, &from_segments).map_err(from_error)?;
                budget.charge(source, &segments).map_err(over)?;
                source.clone()
            } else if is_proper_prefix(&from_segments, &segments) {
                return Err(invalid(
                    "cannot move a value into one of its own children".to_owned(),
                ));
            } else {
                let moved = remove(root, &from_segments).map_err(from_error)?;
                // Only a move to a deeper place can nest the webhook deeper than it was.
                if segments.len() > from_segments.len() {
                    Budget::check_depth(&moved, &segments).map_err(over)?;
                }
                moved
            };
            add(root, &segments, moved).map_err(|f| invalid(f.message()))
        }
        _ => Err(invalid(
            "unknown op (expected add, remove, replace, move, copy or test)".to_owned(),
        )),
    }
}

/// Splits a JSON Pointer whose leading `/` is optional and unescapes `~1`, `~0`.
fn parse_path(path: &str) -> Result<Vec<String>, String> {
    let body = path.strip_prefix('/').unwrap_or(path);
    if body.is_empty() {
        return Err("the path must name a member of the webhook".to_owned());
    }
    body.split('/').map(unescape).collect()
}

fn unescape(segment: &str) -> Result<String, String> {
    let mut out = String::with_capacity(segment.len());
    let mut chars = segment.chars();
    while let Some(c) = chars.next() {
        match c {
            '~' => match chars.next() {
                Some('0') => out.push('~'),
                Some('1') => out.push('/'),
                _ => {
                    return Err(format!(
                        "'{segment}' has an invalid escape ('~' must be followed by 0 or 1)"
                    ));
                }
            },
            c => out.push(c),
        }
    }
    Ok(out)
}

fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// Compares member names the way .NET's `OrdinalIgnoreCase` roughly does.
fn eq_ignore_case(a: &str, b: &str) -> bool {
    a.chars()
        .flat_map(char::to_lowercase)
        .eq(b.chars().flat_map(char::to_lowercase))
}

/// The existing key matching `name`: exact match first, then case-insensitive.
fn find_key(map: &Map<String, Value>, name: &str) -> Option<String> {
    if map.contains_key(name) {
        return Some(name.to_owned());
    }
    map.keys().find(|k| eq_ignore_case(k, name)).cloned()
}

/// A member of a patch operation object, looked up case-insensitively.
fn member<'a>(fields: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    fields.get(name).or_else(|| {
        fields
            .iter()
            .find(|(k, _)| eq_ignore_case(k, name))
            .map(|(_, v)| v)
    })
}

fn is_proper_prefix(prefix: &[String], path: &[String]) -> bool {
    prefix.len() < path.len() && prefix.iter().zip(path).all(|(a, b)| eq_ignore_case(a, b))
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parses an array index. `-` (past the end) and `len` itself are only
/// accepted when `for_add` is set.
fn parse_index(segment: &str, len: usize, for_add: bool, at: &str) -> Result<usize, Fail> {
    if segment == "-" {
        return if for_add {
            Ok(len)
        } else {
            Err(Fail::Bad(format!(
                "'-' (past the end of '{at}') can only be used to add"
            )))
        };
    }
    let well_formed = !segment.is_empty()
        && segment.bytes().all(|b| b.is_ascii_digit())
        && (segment == "0" || !segment.starts_with('0'));
    if !well_formed {
        return Err(Fail::Bad(format!(
            "'{at}' is an array and '{segment}' is not a valid index"
        )));
    }
    let limit = if for_add { len + 1 } else { len };
    match segment.parse::<usize>() {
        Ok(i) if i < limit => Ok(i),
        _ => Err(Fail::Missing(format!(
            "index {segment} is out of range for '{at}' (length {len})"
        ))),
    }
}

/// One step down from `parent` (found at `at`) to the existing child `segment`.
/// Returns the child and its canonical path.
fn child<'a>(
    parent: &'a mut Value,
    segment: &str,
    at: &str,
) -> Result<(&'a mut Value, String), Fail> {
    match parent {
        Value::Object(map) => match find_key(map, segment) {
            Some(key) => {
                let path = format!("{at}/{}", escape(&key));
                match map.get_mut(&key) {
                    Some(v) => Ok((v, path)),
                    None => Err(Fail::Missing(format!("'{at}' has no member '{segment}'"))),
                }
            }
            None => Err(Fail::Missing(format!("'{at}' has no member '{segment}'"))),
        },
        Value::Array(items) => {
            let i = parse_index(segment, items.len(), false, at)?;
            let path = format!("{at}/{i}");
            match items.get_mut(i) {
                Some(v) => Ok((v, path)),
                None => Err(Fail::Missing(format!(
                    "index {i} is out of range for '{at}'"
                ))),
            }
        }
        Value::Null => Err(Fail::Missing(format!(
            "'{at}' is null, so it has no member '{segment}'"
        ))),
        other => Err(Fail::Bad(format!(
            "'{at}' is {}, so it has no member '{segment}'",
            kind(other)
        ))),
    }
}

/// Follows all but the last segment. With `create`, a `null` top-level
/// container member is first replaced by an empty object or array.
fn parent<'a>(
    root: &'a mut Map<String, Value>,
    segments: &[String],
    create: bool,
) -> Result<(&'a mut Value, String), Fail> {
    let Some((first, rest)) = segments.split_first() else {
        return Err(Fail::Bad(
            "the path must name a member of the webhook".to_owned(),
        ));
    };
    if rest.is_empty() {
        return Err(Fail::Bad(
            "internal: a top-level path has no parent value".to_owned(),
        ));
    }
    let key = find_key(root, first)
        .ok_or_else(|| Fail::Bad(format!("the webhook has no member '{first}'")))?;
    let mut path = format!("/{}", escape(&key));
    let mut current = root
        .get_mut(&key)
        .ok_or_else(|| Fail::Bad(format!("the webhook has no member '{first}'")))?;
    if create && current.is_null() {
        if OBJECT_MEMBERS.contains(&key.as_str()) {
            *current = Value::Object(Map::new());
        } else if ARRAY_MEMBERS.contains(&key.as_str()) {
            *current = Value::Array(Vec::new());
        }
    }
    for segment in &rest[..rest.len() - 1] {
        let (next, next_path) = child(current, segment, &path)?;
        current = next;
        path = next_path;
    }
    Ok((current, path))
}

/// The existing value at `segments`.
fn resolve<'a>(
    root: &'a mut Map<String, Value>,
    segments: &[String],
) -> Result<&'a mut Value, Fail> {
    if let [only] = segments {
        let key = find_key(root, only)
            .ok_or_else(|| Fail::Bad(format!("the webhook has no member '{only}'")))?;
        return root
            .get_mut(&key)
            .ok_or_else(|| Fail::Bad(format!("the webhook has no member '{only}'")));
    }
    let last = segments.last().map_or("", String::as_str);
    let (parent, at) = parent(root, segments, false)?;
    child(parent, last, &at).map(|(v, _)| v)
}

fn add(root: &mut Map<String, Value>, segments: &[String], value: Value) -> Result<(), Fail> {
    if let [only] = segments {
        let slot = resolve(root, std::slice::from_ref(only))?;
        *slot = value;
        return Ok(());
    }
    let last = segments.last().map_or("", String::as_str);
    let (parent, at) = parent(root, segments, true)?;
    match parent {
        Value::Object(map) => {
            let key = find_key(map, last).unwrap_or_else(|| last.to_owned());
            map.insert(key, value);
            Ok(())
        }
        Value::Array(items) => {
            let i = parse_index(last, items.len(), true, &at)?;
            items.insert(i, value);
            Ok(())
        }
        Value::Null => Err(Fail::Missing(format!(
            "'{at}' is null, so '{last}' cannot be added to it"
        ))),
        other => Err(Fail::Bad(format!(
            "'{at}' is {}, so '{last}' cannot be added to it",
            kind(other)
        ))),
    }
}

/// Removes and returns the value at `segments`; a top-level member is set to `null`.
fn remove(root: &mut Map<String, Value>, segments: &[String]) -> Result<Value, Fail> {
    if let [only] = segments {
        let slot = resolve(root, std::slice::from_ref(only))?;
        return Ok(std::mem::take(slot));
    }
    let last = segments.last().map_or("", String::as_str);
    let (parent, at) = parent(root, segments, false)?;
    match parent {
        Value::Object(map) => find_key(map, last)
            .and_then(|key| map.shift_remove(&key))
            .ok_or_else(|| Fail::Missing(format!("'{at}' has no member '{last}'"))),
        Value::Array(items) => {
            let i = parse_index(last, items.len(), false, &at)?;
            Ok(items.remove(i))
        }
        Value::Null => Err(Fail::Missing(format!(
            "'{at}' is null, so it has no member '{last}'"
        ))),
        other => Err(Fail::Bad(format!(
            "'{at}' is {}, so it has no member '{last}'",
            kind(other)
        ))),
    }
}

/// JSON equality for `test`: like `==`, but numbers compare by value (`1` equals `1.0`).
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x == y || matches!((x.as_f64(), y.as_f64()), (Some(p), Some(q)) if p == q)
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, p)| y.get(k).is_some_and(|q| json_eq(p, q)))
        }
        _ => a == b,
    }
}

/// RFC 7396 at the top level: names must be existing members, `null` sets a member to `null`.
fn merge_top(root: &mut Map<String, Value>, patch: &Map<String, Value>) -> Result<(), PatchError> {
    for (name, value) in patch {
        let slot = find_key(root, name)
            .and_then(|key| root.get_mut(&key))
            .ok_or_else(|| {
                PatchError::Invalid(format!("merge patch: the webhook has no member '{name}'"))
            })?;
        if value.is_null() {
            *slot = Value::Null;
        } else {
            merge(slot, value);
        }
    }
    Ok(())
}

/// RFC 7396 `MergePatch(Target, Patch)` with case-insensitive member names.
fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(members) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(map) = target else {
        return;
    };
    let mut keys = FoldedKeys::of(map);
    for (name, value) in members {
        match (keys.find(map, name), value.is_null()) {
            (Some(key), true) => {
                map.shift_remove(&key);
                keys.removed(&key);
            }
            (None, true) => {}
            (Some(key), false) => {
                if let Some(slot) = map.get_mut(&key) {
                    merge(slot, value);
                }
            }
            (None, false) => {
                let mut fresh = Value::Null;
                merge(&mut fresh, value);
                map.insert(name.clone(), fresh);
                keys.inserted(name);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `super::apply` without a size limit: these tests are about what patches do.
    fn apply(target: &mut Value, patch: &Value) -> Result<(), PatchError> {
        super::apply(target, patch, usize::MAX)
    }

    fn hook() -> Value {
        json!({
            "WebhookId": 7,
            "Name": "orders",
            "Events": ["contact.created", "sale.changed"],
            "TargetUrl": "https://example.com/hook",
            "Secret": "s3cret",
            "State": "Active",
            "Type": "webhook",
            "Headers": {"X-Api-Key": "abc"},
            "Properties": {"Tenant": "acme", "Level": 3},
            "ErrorEmails": null,
            "Description": null,
            "TotalCalls": 1
        })
    }

    fn patched(patch: Value) -> Value {
        let mut target = hook();
        apply(&mut target, &patch).expect("patch applies");
        target
    }

    fn invalid(patch: Value) -> String {
        let mut target = hook();
        match apply(&mut target, &patch) {
            Err(PatchError::Invalid(m)) => {
                assert_eq!(target, hook(), "target changed on error");
                m
            }
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn add_replace_remove_top_level_case_insensitive_with_and_without_slash() {
        let t = patched(json!([
            {"op": "add", "path": "name", "value": "a"},
            {"op": "replace", "path": "/DESCRIPTION", "value": "d"},
            {"op": "remove", "path": "secret"},
            {"op": "Replace", "path": "/state", "value": "Stopped"}
        ]));
        assert_eq!(t["Name"], "a");
        assert_eq!(t["Description"], "d");
        assert_eq!(t["Secret"], Value::Null);
        assert_eq!(t["State"], "Stopped");
        let keys: Vec<_> = t
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        let original: Vec<_> = hook()
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        assert_eq!(keys, original, "no member added, removed or reordered");
    }

    #[test]
    fn nested_object_keys_match_existing_spelling_and_new_keys_keep_theirs() {
        let t = patched(json!([
            {"op": "add", "path": "/headers/x-api-key", "value": "new"},
            {"op": "add", "path": "Headers/X-Trace", "value": "1"},
            {"op": "replace", "path": "/properties/tenant", "value": "globex"},
            {"op": "add", "path": "/Properties/nested", "value": {"A": 1}},
            {"op": "add", "path": "/Properties/NESTED/b", "value": 2}
        ]));
        assert_eq!(t["Headers"], json!({"X-Api-Key": "new", "X-Trace": "1"}));
        assert_eq!(
            t["Properties"],
            json!({"Tenant": "globex", "Level": 3, "nested": {"A": 1, "b": 2}})
        );
        let t = patched(json!([{"op": "remove", "path": "/HEADERS/X-API-KEY"}]));
        assert_eq!(t["Headers"], json!({}));
    }

    #[test]
    fn add_to_null_container_creates_it() {
        let mut target = hook();
        target["Headers"] = Value::Null;
        target["Properties"] = Value::Null;
        apply(
            &mut target,
            &json!([
                {"op": "add", "path": "/Headers/X-A", "value": "1"},
                {"op": "add", "path": "/properties/k", "value": true},
                {"op": "add", "path": "/ErrorEmails/-", "value": "ops@example.com"}
            ]),
        )
        .expect("patch applies");
        assert_eq!(target["Headers"], json!({"X-A": "1"}));
        assert_eq!(target["Properties"], json!({"k": true}));
        assert_eq!(target["ErrorEmails"], json!(["ops@example.com"]));
        // Only add creates; `Description` is not a container.
        let m = invalid(json!([{"op": "add", "path": "/Description/x", "value": 1}]));
        assert_eq!(
            m,
            "operation 0 (add /Description/x): '/Description' is null, so 'x' cannot be added to it"
        );
    }

    #[test]
    fn arrays_append_insert_replace_remove() {
        let t = patched(json!([
            {"op": "add", "path": "/Events/-", "value": "person.created"},
            {"op": "add", "path": "events/0", "value": "first"},
            {"op": "replace", "path": "/EVENTS/1", "value": "contact.changed"},
            {"op": "remove", "path": "/Events/2"}
        ]));
        assert_eq!(
            t["Events"],
            json!(["first", "contact.changed", "person.created"])
        );
    }

    #[test]
    fn array_index_out_of_range_or_malformed_is_invalid() {
        assert_eq!(
            invalid(json!([{"op": "add", "path": "/Events/3", "value": "x"}])),
            "operation 0 (add /Events/3): index 3 is out of range for '/Events' (length 2)"
        );
        assert_eq!(
            invalid(json!([{"op": "replace", "path": "/Events/2", "value": "x"}])),
            "operation 0 (replace /Events/2): index 2 is out of range for '/Events' (length 2)"
        );
        assert_eq!(
            invalid(json!([{"op": "remove", "path": "/Events/-"}])),
            "operation 0 (remove /Events/-): '-' (past the end of '/Events') can only be used to add"
        );
        assert_eq!(
            invalid(json!([{"op": "add", "path": "/Events/01", "value": "x"}])),
            "operation 0 (add /Events/01): '/Events' is an array and '01' is not a valid index"
        );
    }

    #[test]
    fn test_op_passes_and_fails_with_409() {
        patched(json!([
            {"op": "test", "path": "state", "value": "Active"},
            {"op": "test", "path": "/Headers/x-api-key", "value": "abc"},
            {"op": "test", "path": "/TotalCalls", "value": 1.0},
            {"op": "test", "path": "/Properties", "value": {"Level": 3, "Tenant": "acme"}}
        ]));
        let mut target = hook();
        assert_eq!(
            apply(
                &mut target,
                &json!([{"op": "test", "path": "/State", "value": "Stopped"}])
            ),
            Err(PatchError::TestFailed(
                "operation 0 (test /State): expected \"Stopped\", found \"Active\"".to_owned()
            ))
        );
        assert_eq!(
            apply(&mut target, &json!([{"op": "test", "path": "/Headers/X-Missing", "value": "v"}])),
            Err(PatchError::TestFailed(
                "operation 0 (test /Headers/X-Missing): expected \"v\", but '/Headers' has no member 'X-Missing'"
                    .to_owned()
            ))
        );
        // An unknown top-level member can never exist: malformed, not a conflict.
        assert_eq!(
            invalid(json!([{"op": "test", "path": "/Nme", "value": "x"}])),
            "operation 0 (test /Nme): the webhook has no member 'Nme'"
        );
    }

    #[test]
    fn failing_operation_in_the_middle_leaves_target_unchanged() {
        let m = invalid(json!([
            {"op": "replace", "path": "/Name", "value": "changed"},
            {"op": "add", "path": "/Events/-", "value": "x"},
            {"op": "replace", "path": "/Nme", "value": "typo"},
            {"op": "replace", "path": "/State", "value": "Stopped"}
        ]));
        assert_eq!(
            m,
            "operation 2 (replace /Nme): the webhook has no member 'Nme'"
        );

        let mut target = hook();
        let result = apply(
            &mut target,
            &json!([
                {"op": "replace", "path": "/Name", "value": "changed"},
                {"op": "test", "path": "/Name", "value": "orders"},
                {"op": "remove", "path": "/Secret"}
            ]),
        );
        assert!(matches!(result, Err(PatchError::TestFailed(_))));
        assert_eq!(target, hook());
    }

    #[test]
    fn unknown_top_level_member_is_invalid_for_every_op() {
        assert_eq!(
            invalid(json!([{"op": "add", "path": "Colour", "value": "red"}])),
            "operation 0 (add Colour): the webhook has no member 'Colour'"
        );
        assert_eq!(
            invalid(json!([{"op": "remove", "path": "/Colour"}])),
            "operation 0 (remove /Colour): the webhook has no member 'Colour'"
        );
        assert_eq!(
            invalid(json!([{"op": "add", "path": "/Colour/x", "value": 1}])),
            "operation 0 (add /Colour/x): the webhook has no member 'Colour'"
        );
        assert_eq!(
            invalid(json!({"Colour": "red"})),
            "merge patch: the webhook has no member 'Colour'"
        );
    }

    #[test]
    fn malformed_operations_are_invalid() {
        assert_eq!(
            invalid(json!([{"op": "frobnicate", "path": "/Name"}])),
            "operation 0 (frobnicate /Name): unknown op (expected add, remove, replace, move, copy or test)"
        );
        assert_eq!(
            invalid(json!([{"op": "add", "path": "/Name"}])),
            "operation 0 (add /Name): missing 'value'"
        );
        assert_eq!(
            invalid(json!([{"path": "/Name"}])),
            "operation 0: missing 'op'"
        );
        assert_eq!(
            invalid(json!([{"op": "remove"}])),
            "operation 0: remove: missing 'path'"
        );
        assert_eq!(
            invalid(json!(["add"])),
            "operation 0: expected an object with 'op' and 'path', found a string"
        );
        assert_eq!(
            invalid(json!([{"op": "replace", "path": "/", "value": 1}])),
            "operation 0 (replace /): the path must name a member of the webhook"
        );
        assert_eq!(
            invalid(json!([{"op": "add", "path": "/Name/x", "value": 1}])),
            "operation 0 (add /Name/x): '/Name' is a string, so 'x' cannot be added to it"
        );
        assert_eq!(
            invalid(json!([{"op": "remove", "path": "/Headers/X-Nope"}])),
            "operation 0 (remove /Headers/X-Nope): '/Headers' has no member 'X-Nope'"
        );
    }

    #[test]
    fn patch_that_is_neither_array_nor_object_is_invalid() {
        for patch in [json!("x"), json!(1), json!(null), json!(true)] {
            let m = invalid(patch);
            assert!(
                m.starts_with("the patch must be a JSON Patch array or a JSON Merge Patch object"),
                "{m}"
            );
        }
        let mut not_object = json!([1]);
        assert!(matches!(
            apply(&mut not_object, &json!([])),
            Err(PatchError::Invalid(_))
        ));
    }

    #[test]
    fn pointer_escapes_in_header_names() {
        let t = patched(json!([
            {"op": "add", "path": "/Headers/a~1b", "value": "slash"},
            {"op": "add", "path": "/Headers/c~0d", "value": "tilde"},
            {"op": "add", "path": "/Headers/~01", "value": "literal ~1"}
        ]));
        assert_eq!(t["Headers"]["a/b"], "slash");
        assert_eq!(t["Headers"]["c~d"], "tilde");
        assert_eq!(t["Headers"]["~1"], "literal ~1");
        let mut t = t;
        apply(&mut t, &json!([{"op": "remove", "path": "/Headers/A~1B"}])).expect("remove applies");
        assert!(t["Headers"].get("a/b").is_none());
        assert_eq!(
            invalid(json!([{"op": "add", "path": "/Headers/a~2", "value": "x"}])),
            "operation 0 (add /Headers/a~2): 'a~2' has an invalid escape ('~' must be followed by 0 or 1)"
        );
        // Canonical paths in messages are re-escaped.
        let mut target = hook();
        target["Headers"] = json!({"a/b": "x"});
        assert_eq!(
            apply(&mut target, &json!([{"op": "add", "path": "/Headers/a~1b/c", "value": 1}])),
            Err(PatchError::Invalid(
                "operation 0 (add /Headers/a~1b/c): '/Headers/a~1b' is a string, so 'c' cannot be added to it"
                    .to_owned()
            ))
        );
    }

    #[test]
    fn move_and_copy() {
        let t = patched(json!([
            {"op": "copy", "from": "/name", "path": "/Description"},
            {"op": "move", "from": "/Headers/x-api-key", "path": "/Headers/Authorization"},
            {"op": "move", "from": "/Events/0", "path": "/Events/-"}
        ]));
        assert_eq!(t["Description"], "orders");
        assert_eq!(t["Name"], "orders");
        assert_eq!(t["Headers"], json!({"Authorization": "abc"}));
        assert_eq!(t["Events"], json!(["sale.changed", "contact.created"]));
        assert_eq!(
            invalid(json!([{"op": "move", "from": "/Properties", "path": "/properties/x"}])),
            "operation 0 (move from /Properties to /properties/x): cannot move a value into one of its own children"
        );
        assert_eq!(
            invalid(json!([{"op": "copy", "from": "/Headers/none", "path": "/Name"}])),
            "operation 0 (copy from /Headers/none to /Name): 'from': '/Headers' has no member 'none'"
        );
        assert_eq!(
            invalid(json!([{"op": "copy", "path": "/Name"}])),
            "operation 0: copy /Name: missing 'from'"
        );
    }

    #[test]
    fn limits_name_the_operation_and_leave_the_target_unchanged() {
        let copy = json!({"op": "copy", "from": "/Events", "path": "/Events/-"});
        let mut target = hook();
        let result = super::apply(&mut target, &json!([copy, copy, copy, copy]), 600);
        assert_eq!(
            result,
            Err(PatchError::TooLarge(
                "operation 3 (copy from /Events to /Events/-): the webhook and the values this \
                 patch adds would be larger than 600 bytes of JSON (the --max-body-bytes limit)"
                    .to_owned()
            ))
        );
        assert_eq!(target, hook());
        let ops = Value::Array(vec![
            json!({"op": "test", "path": "/Name", "value": "orders"});
            1001
        ]);
        assert_eq!(
            super::apply(&mut target, &ops, usize::MAX),
            Err(PatchError::TooLarge(
                "the JSON Patch has 1001 operations; at most 1000 are allowed".to_owned()
            ))
        );
        // A move to a deeper place may not nest the webhook too deep either.
        target["Properties"]["deep"] = (1..125).fold(json!([]), |inner, _| json!([inner]));
        let deeper =
            json!([{"op": "move", "from": "/Properties/deep", "path": "/Properties/x/y"},]);
        target["Properties"]["x"] = json!({});
        assert_eq!(
            super::apply(&mut target, &deeper, usize::MAX),
            Err(PatchError::Invalid(
                "operation 0 (move from /Properties/deep to /Properties/x/y): the patched webhook \
                 would nest deeper than 127 levels"
                    .to_owned()
            ))
        );
    }

    #[test]
    fn merge_patch_case_insensitive_with_null_semantics() {
        let t = patched(json!({
            "name": "renamed",
            "SECRET": null,
            "properties": {"tenant": null, "New": {"x": 1, "y": null}},
            "headers": {"x-api-key": "k2"},
            "Events": ["a"]
        }));
        assert_eq!(t["Name"], "renamed");
        assert_eq!(t["Secret"], Value::Null);
        assert!(t.as_object().is_some_and(|m| m.contains_key("Secret")));
        assert_eq!(t["Properties"], json!({"Level": 3, "New": {"x": 1}}));
        assert_eq!(t["Headers"], json!({"X-Api-Key": "k2"}));
        assert_eq!(t["Events"], json!(["a"]));

        let mut target = hook();
        target["Headers"] = Value::Null;
        apply(&mut target, &json!({"Headers": {"X-A": "1"}})).expect("merge applies");
        assert_eq!(target["Headers"], json!({"X-A": "1"}));
        apply(&mut target, &json!({"Headers": null})).expect("merge applies");
        assert_eq!(target["Headers"], Value::Null);

        assert_eq!(patched(json!({})), hook());
        assert_eq!(patched(json!([])), hook());
    }
}
