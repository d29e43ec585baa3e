//! Member names read from the carrier types themselves, so that no list of them is kept by hand:
//! a member added to `json::WebhookBody` is accepted in any case as soon as it is declared.

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use serde_json::{Map, Value};

/// The member names `T`'s derived `Deserialize` reads, spelled as it expects them (after
/// `rename_all`). serde hands a struct's field names to `deserialize_struct`; a deserializer that
/// only records them and then stops reads them without any input.
pub fn deserialized_members<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    let mut members: &'static [&'static str] = &[];
    // The error is the point: the recorder stops `T` once it has the names.
    let _stopped = T::deserialize(MemberRecorder {
        members: &mut members,
    });
    members
}

struct MemberRecorder<'a> {
    members: &'a mut &'static [&'static str],
}

impl<'de> Deserializer<'de> for MemberRecorder<'_> {
    type Error = de::value::Error;

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        *self.members = fields;
        Err(de::Error::custom("only the member names were wanted"))
    }

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("not a struct"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

/// Renames the members of a JSON object to their spelling in `names`, ignoring case; members
/// not in `names` keep theirs.
pub fn canonical_members(value: &mut Value, names: &[&str]) {
    if let Value::Object(map) = value {
        let renamed: Map<String, Value> = std::mem::take(map)
            .into_iter()
            .map(|(k, v)| {
                let key = names
                    .iter()
                    .find(|n| n.eq_ignore_ascii_case(&k))
                    .map_or(k, |n| n.to_string());
                (key, v)
            })
            .collect();
        *map = renamed;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default, Deserialize)]
    #[serde(rename_all = "PascalCase", default)]
    #[allow(dead_code)] // only its member names are used
    struct Sample {
        webhook_id: i32,
        #[serde(rename = "_Links")]
        links: Option<String>,
        target_url: Option<Option<String>>,
    }

    #[test]
    fn the_names_are_the_derives_own() {
        assert_eq!(
            deserialized_members::<Sample>(),
            ["WebhookId", "_Links", "TargetUrl"]
        );
    }

    #[test]
    fn members_are_renamed_ignoring_case_others_are_kept() {
        let mut value = serde_json::json!({"webhookid": 1, "TARGETURL": "u", "other": 2});
        canonical_members(&mut value, &["WebhookId", "TargetUrl"]);
        assert_eq!(
            value,
            serde_json::json!({"WebhookId": 1, "TargetUrl": "u", "other": 2})
        );
    }
}
