//! Typed values of `StringObjectDictionary` (`xs:anyType`): SignalEvent data and webhook Properties.

use serde::{Deserialize, Serialize};

/// One `anyType` value, keeping the XSD type the client declared so that a value saved as
/// `xsd:int` comes back as `xsd:int` and reaches receivers as a JSON number.
///
/// Decimal and dateTime keep their lexical form: they were validated on the way in, and
/// re-formatting them would change what the client sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", content = "v", rename_all = "lowercase")]
pub enum TypedValue {
    Null,
    String(String),
    Int(i32),
    Short(i16),
    Long(i64),
    Double(#[serde(deserialize_with = "legacy_non_finite")] f64),
    Float(#[serde(deserialize_with = "legacy_non_finite")] f32),
    Decimal(String),
    Boolean(bool),
    DateTime(String),
    /// A JSON array or object given through REST; SOAP sees its JSON text as a string.
    Json(serde_json::Value),
}

/// Reads a stored number; `null` (how versions before 0.1 stored NaN and infinities, which JSON
/// cannot carry) reads as NaN, so such rows still decode and deliver the `null` they always
/// meant. New values are checked by [`TypedValue::unsendable`] and are always finite.
fn legacy_non_finite<'de, D, F>(deserializer: D) -> Result<F, D::Error>
where
    D: serde::Deserializer<'de>,
    F: Deserialize<'de> + num_nan::Nan,
{
    Ok(Option::<F>::deserialize(deserializer)?.unwrap_or(F::NAN))
}

mod num_nan {
    /// The NaN of a float type.
    pub trait Nan {
        const NAN: Self;
    }
    impl Nan for f64 {
        const NAN: f64 = f64::NAN;
    }
    impl Nan for f32 {
        const NAN: f32 = f32::NAN;
    }
}

/// Why a lexical value does not fit its declared type.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("'{value}' is not a valid xsd:{type_name}")]
pub struct ValueError {
    pub type_name: String,
    pub value: String,
}

impl TypedValue {
    /// Parses `text` as the XSD builtin `type_name` (local name in the XMLSchema namespace).
    /// Unknown type names keep the text as a string: WCF clients may send types we do not model.
    pub fn parse_xsd(type_name: &str, text: &str) -> Result<TypedValue, ValueError> {
        let err = || ValueError {
            type_name: type_name.to_string(),
            value: text.to_string(),
        };
        let t = text.trim();
        Ok(match type_name {
            "int" => TypedValue::Int(t.parse().map_err(|_| err())?),
            "short" => TypedValue::Short(t.parse().map_err(|_| err())?),
            "long" => TypedValue::Long(t.parse().map_err(|_| err())?),
            "double" => TypedValue::Double(parse_xsd_float(t).ok_or_else(err)?),
            "float" => TypedValue::Float(parse_xsd_float(t).ok_or_else(err)? as f32),
            "decimal" => {
                let ok = !t.is_empty()
                    && t.trim_start_matches(['+', '-'])
                        .chars()
                        .all(|c| c.is_ascii_digit() || c == '.')
                    && t.matches('.').count() <= 1
                    && t.chars().any(|c| c.is_ascii_digit());
                if !ok {
                    return Err(err());
                }
                TypedValue::Decimal(t.to_string())
            }
            "boolean" => TypedValue::Boolean(match t {
                "true" | "1" => true,
                "false" | "0" => false,
                _ => return Err(err()),
            }),
            "dateTime" => {
                if !is_xsd_datetime(t) {
                    return Err(err());
                }
                TypedValue::DateTime(t.to_string())
            }
            _ => TypedValue::String(text.to_string()),
        })
    }

    /// Why this value cannot be stored and sent, if it cannot: receivers get JSON, which has no
    /// NaN or infinity, and SOAP readers get XML, which cannot carry most control characters.
    /// Every value that passes reads back equal through SOAP, REST and the delivered payload.
    pub fn unsendable(&self) -> Option<String> {
        match self {
            TypedValue::Double(f) if !f.is_finite() => Some(format!(
                "xsd:double '{}' is out of range: only finite numbers within \u{b1}{:e} can be sent (JSON has no NaN or infinity)",
                self.lexical(),
                f64::MAX
            )),
            TypedValue::Float(f) if !f.is_finite() => Some(format!(
                "xsd:float '{}' is out of range: only finite numbers within \u{b1}{:e} can be sent (JSON has no NaN or infinity)",
                self.lexical(),
                f32::MAX
            )),
            TypedValue::String(s) | TypedValue::Decimal(s) | TypedValue::DateTime(s) => {
                xml_unsafe_char(s)
            }
            TypedValue::Json(v) => xml_unsafe_char(&v.to_string()),
            _ => None,
        }
    }

    /// A plain JSON value as REST clients send it: integers that fit stay `int`, larger ones
    /// `long`, other numbers `double`.
    pub fn from_json(value: &serde_json::Value) -> TypedValue {
        use serde_json::Value as J;
        match value {
            J::Null => TypedValue::Null,
            J::Bool(b) => TypedValue::Boolean(*b),
            J::String(s) => TypedValue::String(s.clone()),
            J::Number(n) => match (n.as_i64(), n.as_f64()) {
                (Some(i), _) => i32::try_from(i).map_or(TypedValue::Long(i), TypedValue::Int),
                (None, Some(f)) => TypedValue::Double(f),
                (None, None) => TypedValue::Decimal(n.to_string()),
            },
            other => TypedValue::Json(other.clone()),
        }
    }

    /// The XSD type name written back as `xsi:type`, or `None` for null.
    pub fn xsd_type(&self) -> Option<&'static str> {
        Some(match self {
            TypedValue::Null => return None,
            TypedValue::String(_) => "string",
            TypedValue::Int(_) => "int",
            TypedValue::Short(_) => "short",
            TypedValue::Long(_) => "long",
            TypedValue::Double(_) => "double",
            TypedValue::Float(_) => "float",
            TypedValue::Decimal(_) => "decimal",
            TypedValue::Boolean(_) => "boolean",
            TypedValue::DateTime(_) => "dateTime",
            TypedValue::Json(_) => "string",
        })
    }

    /// The XSD lexical form (empty for null).
    pub fn lexical(&self) -> String {
        match self {
            TypedValue::Null => String::new(),
            TypedValue::String(s) | TypedValue::Decimal(s) | TypedValue::DateTime(s) => s.clone(),
            TypedValue::Int(n) => n.to_string(),
            TypedValue::Short(n) => n.to_string(),
            TypedValue::Long(n) => n.to_string(),
            TypedValue::Double(f) => format_xsd_float(*f),
            // f32's own shortest form, so that the text parses back to the same f32.
            TypedValue::Float(f) if f.is_finite() => f.to_string(),
            TypedValue::Float(f) => format_xsd_float(f64::from(*f)),
            TypedValue::Boolean(b) => b.to_string(),
            TypedValue::Json(v) => v.to_string(),
        }
    }

    /// The value as plain JSON, as receivers and REST clients see it.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            TypedValue::Null => J::Null,
            TypedValue::String(s) | TypedValue::DateTime(s) => J::String(s.clone()),
            TypedValue::Int(n) => J::from(*n),
            TypedValue::Short(n) => J::from(*n),
            TypedValue::Long(n) => J::from(*n),
            TypedValue::Double(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            // The f32's shortest decimal form, as .NET writes a float (0.1f is 0.1, not
            // 0.10000000149011612).
            TypedValue::Float(f) => f
                .to_string()
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map_or(J::Null, J::Number),
            TypedValue::Decimal(s) => s
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map_or_else(|| J::String(s.clone()), J::Number),
            TypedValue::Boolean(b) => J::Bool(*b),
            TypedValue::Json(v) => v.clone(),
        }
    }
}

/// Checks the keys and values of a dictionary (SignalEvent `Data`, webhook `Properties`),
/// naming the first key whose key or value cannot be stored and sent.
pub fn check_dictionary(what: &str, entries: &[(String, TypedValue)]) -> Result<(), String> {
    for (key, value) in entries {
        if let Some(problem) = xml_unsafe_char(key) {
            return Err(format!(
                "{what}: the key '{}' {problem}",
                key.escape_debug()
            ));
        }
        if let Some(problem) = value.unsendable() {
            return Err(format!("{what}: the value of '{key}': {problem}"));
        }
    }
    Ok(())
}

/// Why `text` cannot be written in XML 1.0, if it cannot (control characters other than tab,
/// CR and LF; U+FFFE and U+FFFF): a SOAP reader could never read it back.
pub fn xml_unsafe_char(text: &str) -> Option<String> {
    text.chars()
        .find(|&c| {
            (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{fffe}' || c == '\u{ffff}'
        })
        .map(|c| {
            format!(
                "contains U+{:04X}, a character XML cannot carry",
                u32::from(c)
            )
        })
}

/// The message for `text`, which did not parse as the XSD integer type `type_name`, when it is
/// a whole number and so can only be out of the type's range. `None` when it is no whole number
/// (or `type_name` is not a bounded integer type): the caller's "not valid" message fits then.
pub fn out_of_range(type_name: &str, text: &str) -> Option<String> {
    let (min, max): (i64, i64) = match type_name {
        "short" => (i16::MIN.into(), i16::MAX.into()),
        "int" => (i32::MIN.into(), i32::MAX.into()),
        "long" => (i64::MIN, i64::MAX),
        _ => return None,
    };
    let t = text.trim();
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| format!("'{text}' is out of the range of xsd:{type_name} ({min}..{max})"))
}

fn parse_xsd_float(t: &str) -> Option<f64> {
    match t {
        "INF" => Some(f64::INFINITY),
        "-INF" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ if t
            .chars()
            .any(|c| c.is_ascii_alphabetic() && c != 'e' && c != 'E') =>
        {
            None
        }
        _ => t.parse().ok(),
    }
}

fn format_xsd_float(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f.is_infinite() {
        if f > 0.0 { "INF".into() } else { "-INF".into() }
    } else {
        f.to_string()
    }
}

/// `xsd:dateTime`: `YYYY-MM-DDThh:mm:ss[.fff...][Z|±hh:mm]`.
fn is_xsd_datetime(t: &str) -> bool {
    use chrono::{DateTime, NaiveDateTime};
    DateTime::parse_from_rfc3339(t).is_ok()
        || NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f").is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_builtin() {
        assert_eq!(
            TypedValue::parse_xsd("int", " 42 "),
            Ok(TypedValue::Int(42))
        );
        assert_eq!(
            TypedValue::parse_xsd("boolean", "1"),
            Ok(TypedValue::Boolean(true))
        );
        assert_eq!(
            TypedValue::parse_xsd("long", "9000000000"),
            Ok(TypedValue::Long(9_000_000_000))
        );
        assert_eq!(
            TypedValue::parse_xsd("double", "2.5"),
            Ok(TypedValue::Double(2.5))
        );
        assert!(TypedValue::parse_xsd("decimal", "-12.50").is_ok());
        assert!(TypedValue::parse_xsd("dateTime", "2021-03-25T21:37:14Z").is_ok());
        assert!(TypedValue::parse_xsd("dateTime", "2021-03-25T21:37:14.1234567").is_ok());
    }

    #[test]
    fn rejects_values_that_do_not_fit() {
        assert!(TypedValue::parse_xsd("int", "abc").is_err());
        assert!(TypedValue::parse_xsd("int", "99999999999").is_err());
        assert!(TypedValue::parse_xsd("boolean", "yes").is_err());
        assert!(TypedValue::parse_xsd("decimal", "1.2.3").is_err());
        assert!(TypedValue::parse_xsd("double", "infinity").is_err());
        assert!(TypedValue::parse_xsd("dateTime", "yesterday").is_err());
    }

    #[test]
    fn non_finite_numbers_are_refused_and_legacy_rows_still_decode() {
        for (t, v) in [
            ("double", "1e400"),
            ("double", "NaN"),
            ("double", "INF"),
            ("double", "-INF"),
            ("float", "3.5e38"),
        ] {
            let value = TypedValue::parse_xsd(t, v).unwrap();
            let why = value.unsendable().expect("refused");
            assert!(why.contains("out of range"), "{why}");
        }
        let legacy: TypedValue = serde_json::from_str(r#"{"t":"double","v":null}"#).unwrap();
        assert!(matches!(legacy, TypedValue::Double(f) if f.is_nan()));
        assert_eq!(legacy.to_json(), serde_json::Value::Null);
        let err = check_dictionary("Data", &[("amount".into(), legacy)]).unwrap_err();
        assert!(err.contains("'amount'"), "{err}");
    }

    #[test]
    fn json_keeps_the_declared_type() {
        assert_eq!(TypedValue::Int(5).to_json(), serde_json::json!(5));
        assert_eq!(TypedValue::Boolean(true).to_json(), serde_json::json!(true));
        assert_eq!(TypedValue::Null.to_json(), serde_json::Value::Null);
        let stored = serde_json::to_string(&TypedValue::Int(5)).unwrap();
        assert_eq!(
            serde_json::from_str::<TypedValue>(&stored).unwrap(),
            TypedValue::Int(5)
        );
    }
}
