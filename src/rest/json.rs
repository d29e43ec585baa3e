//! The REST JSON forms of the carriers: PascalCase members as on SOAP, enums as strings,
//! ISO-8601 dates, `Headers` an object of strings, `Properties` an object of any JSON.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::members::{canonical_members, deserialized_members};
use crate::agent::{AssociateCarrier, WebhookCarrier, WebhookResult};
use crate::domain::{
    Associate, DeliveryOrder, NotifyVia, NotifyWhen, TypedValue, WebhookInput, WebhookState,
    wire_date,
};

/// `Associate`, as in `RegisteredAssociate` / `UpdatedAssociate`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct AssociateJson {
    pub associate_id: i32,
    pub name: String,
    pub person_id: i32,
    pub rank: i16,
    pub tooltip: String,
    /// `UserType`.
    pub r#type: String,
    pub group_idx: i32,
    pub full_name: String,
    pub formal_name: String,
    pub deleted: bool,
    pub ej_user_id: i32,
    pub user_name: String,
}

impl From<&Associate> for AssociateJson {
    fn from(a: &Associate) -> Self {
        let a = AssociateCarrier::from(a);
        AssociateJson {
            associate_id: a.associate_id,
            name: a.name,
            person_id: a.person_id,
            rank: a.rank,
            tooltip: a.tooltip,
            r#type: a.r#type.into(),
            group_idx: a.group_idx,
            full_name: a.full_name,
            formal_name: a.formal_name,
            deleted: a.deleted,
            ej_user_id: a.ej_user_id,
            user_name: a.user_name,
        }
    }
}

/// `MDOListItem` of `ErrorAssociates`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct ListItemJson {
    pub id: i32,
    #[serde(default, skip_deserializing)]
    pub name: Option<String>,
    #[serde(default, skip_deserializing)]
    pub deleted: bool,
}

/// Link relations of `WebhookWithLinks`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct LinksJson {
    #[serde(rename = "Self")]
    pub self_link: String,
}

/// The `Webhook` carrier as REST answers it. Members are optional in the schema because
/// `$select` leaves out those not selected.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct WebhookJson {
    #[schema(required = false)]
    pub webhook_id: i32,
    pub name: Option<String>,
    #[schema(required = false)]
    pub events: Vec<String>,
    pub target_url: Option<String>,
    pub secret: Option<String>,
    #[schema(example = "Active")]
    #[schema(required = false)]
    pub state: String,
    pub r#type: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub headers: Option<Map<String, Value>>,
    #[schema(value_type = Option<Object>)]
    pub properties: Option<Map<String, Value>>,
    #[schema(example = "2026-11-25T10:33:03.123Z")]
    #[schema(required = false)]
    pub registered: String,
    pub registered_associate: Option<AssociateJson>,
    #[schema(required = false)]
    pub updated: String,
    pub updated_associate: Option<AssociateJson>,
    pub errors_email: Option<String>,
    #[schema(required = false)]
    pub error_emails: Vec<String>,
    #[schema(required = false)]
    pub error_associates: Vec<ListItemJson>,
    pub description: Option<String>,
    #[schema(required = false)]
    pub notify_via: String,
    #[schema(required = false)]
    pub notify_when: String,
    /// hookwire: `Any` (default) or `PerRecord`: one record's deliveries one after another,
    /// in the order their events were accepted (docs/DELIVERY.md, "Ordered delivery").
    #[schema(required = false, example = "Any")]
    pub delivery_order: String,
    #[schema(required = false)]
    pub total_calls: i32,
    #[schema(required = false)]
    pub total_errors: i32,
    #[schema(required = false)]
    pub consecutive_errors: i32,
    pub last_error: Option<String>,
    /// hookwire: when the last attempt started (null before any).
    #[schema(example = "2026-11-25T10:33:03.123Z")]
    pub last_delivery: Option<String>,
    /// hookwire: that attempt's result, e.g. `200 OK`, `503 Service Unavailable`, `timeout`.
    pub last_result: Option<String>,
    /// hookwire: failed attempts of the last 24 hours.
    #[schema(required = false)]
    #[serde(rename = "Failures24h")]
    pub failures_24h: i64,
}

/// `WebhookWithLinks`: the carrier and its `_Links`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookWithLinks {
    #[serde(flatten)]
    pub webhook: WebhookJson,
    #[serde(rename = "_Links")]
    pub links: LinksJson,
}

impl From<&WebhookCarrier> for WebhookJson {
    fn from(w: &WebhookCarrier) -> Self {
        let nullable_map = |m: Map<String, Value>| (!m.is_empty()).then_some(m);
        WebhookJson {
            webhook_id: w.id,
            name: w.name.clone(),
            events: w.events.clone(),
            target_url: w.target_url.clone(),
            secret: w.secret.clone(),
            state: w.state.as_str().into(),
            r#type: w.kind.clone(),
            headers: nullable_map(
                w.headers
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect(),
            ),
            properties: nullable_map(
                w.properties
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect(),
            ),
            registered: wire_date(w.registered),
            registered_associate: w.registered_associate.as_ref().map(Into::into),
            updated: wire_date(w.updated),
            updated_associate: w.updated_associate.as_ref().map(Into::into),
            errors_email: w.errors_email.clone(),
            error_emails: w.error_emails.clone(),
            error_associates: w
                .error_associates
                .iter()
                .map(|(id, who)| ListItemJson {
                    id: *id,
                    name: who.as_ref().map(|a| a.full_name.clone()),
                    deleted: who.is_none(),
                })
                .collect(),
            description: w.description.clone(),
            notify_via: w.notify_via.to_wire(),
            notify_when: w.notify_when.to_wire(),
            delivery_order: w.delivery_order.to_wire().to_string(),
            total_calls: w.usage.total_calls,
            total_errors: w.usage.total_errors,
            consecutive_errors: w.usage.consecutive_errors,
            last_error: w.usage.last_error.clone(),
            last_delivery: w.activity.last_attempt.map(|t| wire_date(Some(t))),
            last_result: w.last_result(),
            failures_24h: w.activity.failures,
        }
    }
}

/// `WebhookResult` (TestWebhook).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct WebhookResultJson {
    pub success: bool,
    pub message: String,
}

impl From<WebhookResult> for WebhookResultJson {
    fn from(r: WebhookResult) -> Self {
        WebhookResultJson {
            success: r.success,
            message: r.message,
        }
    }
}

/// Present-but-null and absent differ: `Some(None)` is an explicit null.
fn some<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// The `Webhook` carrier as REST clients send it. Server-filled members (dates, associates,
/// statistics) are accepted and ignored. Member names match case-insensitively: the names are
/// this type's own (`members::deserialized_members`), so a new member needs no list.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", default)]
pub struct WebhookBody {
    pub webhook_id: i32,
    #[serde(deserialize_with = "some")]
    #[schema(value_type = Option<String>)]
    pub name: Option<Option<String>>,
    #[serde(deserialize_with = "some")]
    #[schema(value_type = Option<Vec<String>>)]
    pub events: Option<Option<Vec<String>>>,
    #[serde(deserialize_with = "some")]
    #[schema(value_type = Option<String>)]
    pub target_url: Option<Option<String>>,
    #[serde(deserialize_with = "some")]
    #[schema(value_type = Option<String>)]
    pub secret: Option<Option<String>>,
    #[schema(example = "Active")]
    pub state: Option<String>,
    #[serde(deserialize_with = "some")]
    #[schema(value_type = Option<String>, example = "webhook")]
    pub r#type: Option<Option<String>>,
    #[serde(deserialize_with = "some")]
    #[schema(value_type = Option<Object>)]
    pub headers: Option<Option<Map<String, Value>>>,
    #[serde(deserialize_with = "some")]
    #[schema(value_type = Option<Object>)]
    pub properties: Option<Option<Map<String, Value>>>,
    #[serde(deserialize_with = "some")]
    #[schema(value_type = Option<String>)]
    pub errors_email: Option<Option<String>>,
    #[serde(deserialize_with = "some")]
    #[schema(value_type = Option<Vec<String>>)]
    pub error_emails: Option<Option<Vec<String>>>,
    #[serde(deserialize_with = "some")]
    #[schema(value_type = Option<Vec<ListItemJson>>)]
    pub error_associates: Option<Option<Vec<ListItemJson>>>,
    #[serde(deserialize_with = "some")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    pub notify_via: Option<String>,
    pub notify_when: Option<String>,
    /// hookwire: `Any` or `PerRecord`.
    pub delivery_order: Option<String>,
}

impl WebhookBody {
    /// Parses a carrier; the error names the member that does not fit.
    pub fn parse(mut value: Value) -> Result<WebhookBody, String> {
        if !value.is_object() {
            return Err("the body must be a JSON object (a Webhook)".into());
        }
        canonical_members(&mut value, deserialized_members::<WebhookBody>());
        // serde_path_to_error names the member whose value does not fit.
        serde_path_to_error::deserialize(value).map_err(|e| {
            let member = e.path().to_string();
            format!("{member}: {}", e.into_inner())
        })
    }

    pub fn into_input(self) -> Result<WebhookInput, String> {
        let state = match self.state.as_deref() {
            None => None,
            Some(s) => Some(WebhookState::parse(s).ok_or_else(|| {
                format!("State '{s}' is not one of Unknown, Active, Stopped, TooManyErrors")
            })?),
        };
        let notify_via = match self.notify_via.as_deref() {
            None => None,
            Some(s) => Some(
                NotifyVia::parse(s)
                    .ok_or_else(|| format!("NotifyVia '{s}' is not a set of None, Email, InApp"))?,
            ),
        };
        let notify_when = match self.notify_when.as_deref() {
            None => None,
            Some(s) => Some(NotifyWhen::parse(s).ok_or_else(|| {
                format!("NotifyWhen '{s}' is not a set of None, FirstFailure, Disabling")
            })?),
        };
        let delivery_order = match self.delivery_order.as_deref() {
            None => None,
            Some(s) => Some(DeliveryOrder::parse(s).ok_or_else(|| {
                format!(
                    "DeliveryOrder '{s}' is not one of {}",
                    DeliveryOrder::NAMES.join(", ")
                )
            })?),
        };
        let headers = match self.headers {
            None => None,
            Some(None) => Some(Vec::new()),
            Some(Some(map)) => Some(
                map.into_iter()
                    .map(|(k, v)| match v {
                        Value::String(s) => Ok((k, s)),
                        other => Err(format!(
                            "Headers: the value of '{k}' must be a string, not {other}"
                        )),
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        let properties = self.properties.map(|p| {
            p.unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, TypedValue::from_json(&v)))
                .collect()
        });
        Ok(WebhookInput {
            webhook_id: self.webhook_id,
            name: self.name,
            events: self.events.map(Option::unwrap_or_default),
            target_url: self.target_url,
            secret: self.secret,
            state,
            kind: self.r#type,
            headers,
            properties,
            errors_email: self.errors_email,
            error_emails: self.error_emails.map(Option::unwrap_or_default),
            error_associates: self
                .error_associates
                .map(|l| l.unwrap_or_default().into_iter().map(|i| i.id).collect()),
            description: self.description,
            notify_via,
            notify_when,
            delivery_order,
        })
    }
}

/// GetAllWebhooks' filters from REST parameters; `statusFilter` must name a state, and
/// `Unknown` means no filter, as on SOAP. The error names `param`.
pub fn webhook_filter(
    param: &str,
    name: Option<String>,
    event: Option<String>,
    status: Option<String>,
) -> Result<crate::agent::WebhookFilter, String> {
    let state = match status {
        None => None,
        Some(s) => Some(WebhookState::parse(&s).ok_or_else(|| {
            format!("{param} '{s}' is not one of Unknown, Active, Stopped, TooManyErrors")
        })?),
    };
    Ok(crate::agent::WebhookFilter {
        name,
        event,
        state: state.filter(|s| *s != WebhookState::Unknown),
    })
}

/// The error body of every 4xx/5xx answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct ErrorJson {
    /// A short title (the HTTP reason).
    pub error: String,
    /// The exception type, as SOAP's `ExceptionInfo` names it.
    pub error_type: String,
    /// What is wrong, precisely.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_match_case_insensitively_and_null_differs_from_absent() {
        let body = WebhookBody::parse(serde_json::json!({
            "name": "n", "EVENTS": ["a.b"], "secret": null, "Properties": {"i": 5, "l": 9000000000i64, "o": {"x": 1}}
        }))
        .unwrap();
        let input = body.into_input().unwrap();
        assert_eq!(input.name, Some(Some("n".into())));
        assert_eq!(input.events, Some(vec!["a.b".to_string()]));
        assert_eq!(input.secret, Some(None));
        assert_eq!(input.target_url, None);
        let props = input.properties.unwrap();
        assert_eq!(props[0].1, TypedValue::Int(5));
        assert_eq!(props[1].1, TypedValue::Long(9_000_000_000));
        assert_eq!(props[2].1, TypedValue::Json(serde_json::json!({"x": 1})));
    }

    /// A webhook read with GET can be sent back with PUT: every member REST accepts is one it
    /// answers, so a new writable member must be added to both forms.
    #[test]
    fn every_member_accepted_is_one_answered() {
        let answered = serde_json::to_value(WebhookJson::from(&WebhookCarrier::default_new()))
            .unwrap_or_default();
        for member in deserialized_members::<WebhookBody>() {
            assert!(answered.get(member).is_some(), "{member} is not answered");
        }
        assert!(deserialized_members::<WebhookBody>().contains(&"ErrorsEmail"));
    }

    #[test]
    fn bad_members_are_named() {
        let err = WebhookBody::parse(serde_json::json!({"WebhookId": "x"})).unwrap_err();
        assert!(err.starts_with("WebhookId: invalid type"), "{err}");
        let err = WebhookBody::parse(serde_json::json!({"State": "Paused"}))
            .unwrap()
            .into_input()
            .unwrap_err();
        assert!(err.contains("State 'Paused'"), "{err}");
        let err = WebhookBody::parse(serde_json::json!({"Headers": {"X": 1}}))
            .unwrap()
            .into_input()
            .unwrap_err();
        assert!(err.contains("Headers"), "{err}");
    }
}
