//! What one JSON Patch may build (docs/REST.md "Limits"). A patch is small, but each `copy`
//! duplicates whatever it points at, so 21 copies of `/Events` into itself in 1 KiB would make
//! two million event names. Every value an operation adds (an `add` or `replace` value, the
//! copy a `copy` makes) is therefore weighed, before it is cloned or inserted, against what is
//! left of the patch's budget: the webhook's own weight is spent first, and nothing is ever
//! given back (a `remove` does not refund), so the work a patch can cause is bounded by the
//! limits, not by the number of operations.

use std::io;

use serde_json::{Map, Value};

/// The most operations one JSON Patch may have.
pub const MAX_OPERATIONS: usize = 1000;
/// The most JSON values (scalars, arrays and objects, at any depth) the webhook and what a
/// patch adds to it may hold: a bound on memory, where a byte of JSON can cost 80 in memory.
pub const MAX_VALUES: usize = 100_000;
/// The deepest nesting of arrays and objects (the webhook object itself is level 1): serde_json
/// reads no deeper than 127 levels, so a deeper webhook could be saved but never read back.
pub const MAX_DEPTH: usize = 127;

/// Which limit a patch would break.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exceeded {
    /// `--max-body-bytes`, the limit given.
    Bytes(usize),
    Values,
    Depth,
}

impl Exceeded {
    pub fn message(self) -> String {
        match self {
            Exceeded::Bytes(limit) => format!(
                "the webhook and the values this patch adds would be larger than {limit} bytes of \
                 JSON (the --max-body-bytes limit)"
            ),
            Exceeded::Values => format!(
                "the webhook and the values this patch adds would hold more than {MAX_VALUES} JSON values"
            ),
            Exceeded::Depth => {
                format!("the patched webhook would nest deeper than {MAX_DEPTH} levels")
            }
        }
    }
}

/// What one patch has spent so far, in serialized bytes and in values.
pub struct Budget {
    max_bytes: usize,
    bytes: usize,
    values: usize,
}

impl Budget {
    /// The budget of a patch on `root`, which has spent what `root` weighs (counted up to just
    /// past the limits, so a huge stored webhook is not walked in full).
    pub fn new(root: &Map<String, Value>, max_bytes: usize) -> Budget {
        let bytes = serialized_len(root, max_bytes.saturating_add(1));
        let mut tally = Tally {
            values: 1,
            max_values: MAX_VALUES + 1,
            max_depth: usize::MAX,
        };
        // An error only says the count reached its cap, which is all the budget needs to know.
        let _ = root.values().try_for_each(|v| tally.visit(v, 1));
        Budget {
            max_bytes,
            bytes,
            values: tally.values,
        }
    }

    /// Spends what `value` weighs once added at `path` (its member name included), or says
    /// which limit it would break. Call it before cloning or inserting `value`.
    pub fn charge(&mut self, value: &Value, path: &[String]) -> Result<(), Exceeded> {
        // The member name, its quotes, the colon and a comma: an upper bound for array items too.
        let name = path
            .last()
            .map_or(0, |name| serialized_len(name, usize::MAX));
        let left = self.max_bytes.saturating_sub(self.bytes);
        let bytes = serialized_len(value, left).saturating_add(name + 2);
        if bytes > left {
            return Err(Exceeded::Bytes(self.max_bytes));
        }
        let mut tally = Tally {
            values: 0,
            max_values: MAX_VALUES.saturating_sub(self.values),
            max_depth: MAX_DEPTH,
        };
        tally.visit(value, path.len())?;
        self.bytes += bytes;
        self.values += tally.values;
        Ok(())
    }

    /// Checks that `value`, moved to `path`, nests no deeper than allowed. A move adds nothing,
    /// so it costs nothing.
    pub fn check_depth(value: &Value, path: &[String]) -> Result<(), Exceeded> {
        Tally {
            values: 0,
            max_values: usize::MAX,
            max_depth: MAX_DEPTH,
        }
        .visit(value, path.len())
    }
}

/// Counts values and checks nesting, stopping at the first limit broken.
struct Tally {
    values: usize,
    max_values: usize,
    max_depth: usize,
}

impl Tally {
    /// Visits `value`, which sits inside `level` arrays or objects.
    fn visit(&mut self, value: &Value, level: usize) -> Result<(), Exceeded> {
        self.values += 1;
        if self.values > self.max_values {
            return Err(Exceeded::Values);
        }
        let children: &mut dyn Iterator<Item = &Value> = match value {
            Value::Array(items) => &mut items.iter(),
            Value::Object(members) => &mut members.values(),
            _ => return Ok(()),
        };
        if level + 1 > self.max_depth {
            return Err(Exceeded::Depth);
        }
        for child in children {
            self.visit(child, level + 1)?;
        }
        Ok(())
    }
}

/// The length of `value` as compact JSON, counted up to just past `cap` (then it stops).
fn serialized_len(value: &impl serde::Serialize, cap: usize) -> usize {
    let mut counter = Counter { count: 0, cap };
    // Writing stops with an error once past the cap; the count then says so.
    let _ = serde_json::to_writer(&mut counter, value);
    counter.count
}

/// An `io::Write` that only counts, and fails once past its cap so serialization stops early.
struct Counter {
    count: usize,
    cap: usize,
}

impl io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.count = self.count.saturating_add(buf.len());
        if self.count > self.cap {
            return Err(io::Error::other("over the cap"));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path(segments: &[&str]) -> Vec<String> {
        segments.iter().map(|s| s.to_string()).collect()
    }

    fn nested(levels: usize) -> Value {
        (1..levels).fold(json!([]), |inner, _| json!([inner]))
    }

    #[test]
    fn values_are_charged_with_their_member_name_until_the_bytes_run_out() {
        let root = json!({"Name": "x"});
        let root = root.as_object().expect("object");
        let mut budget = Budget::new(root, 40);
        assert_eq!((budget.bytes, budget.values), (12, 2));
        // "abc" (5) + "Name" (6) + 2
        budget
            .charge(&json!("abc"), &path(&["Name"]))
            .expect("fits");
        assert_eq!((budget.bytes, budget.values), (25, 3));
        assert_eq!(
            budget.charge(&json!("0123456789ab"), &path(&["Name"])),
            Err(Exceeded::Bytes(40))
        );
        assert_eq!(budget.bytes, 25, "a refused value costs nothing");
    }

    #[test]
    fn values_and_depth_are_bounded() {
        let root = json!({});
        let mut budget = Budget::new(root.as_object().expect("object"), usize::MAX);
        let many = Value::Array(vec![json!(0); MAX_VALUES]);
        assert_eq!(
            budget.charge(&many, &path(&["Properties", "a"])),
            Err(Exceeded::Values)
        );
        // Level 1 is the webhook, 2 `Properties`: 125 more levels fit, 126 do not.
        let at = path(&["Properties", "a"]);
        assert_eq!(budget.charge(&nested(125), &at), Ok(()));
        assert_eq!(budget.charge(&nested(126), &at), Err(Exceeded::Depth));
        assert_eq!(Budget::check_depth(&nested(126), &at), Err(Exceeded::Depth));
        assert_eq!(Budget::check_depth(&nested(125), &at), Ok(()));
        // The limit is what serde_json can read back.
        let deepest = nested(MAX_DEPTH).to_string();
        assert!(serde_json::from_str::<Value>(&deepest).is_ok());
        let deeper = nested(MAX_DEPTH + 1).to_string();
        assert!(serde_json::from_str::<Value>(&deeper).is_err());
    }
}
