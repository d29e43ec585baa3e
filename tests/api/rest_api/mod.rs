//! The REST twins of the Webhook agent (docs/REST.md): every RESTful `/api/v1/Webhook` route and
//! every Agent RPC `/api/v1/Agents/Webhook/{Method}`, with every status code they answer, over
//! real HTTP against the real binary; the same webhook seen through SOAP and REST; SignalEvent by
//! REST reaching a real receiver with the SOAP payload; the OpenAPI document and docs page.

use std::time::Duration;

use crate::support::receiver::{Receiver, Request};
use crate::support::rest::{Api, basic, id_of, ids};
use crate::support::*;
use reqwest::Method;
use serde_json::{Value, json};

const NO_PING: [&str; 1] = ["--no-save-ping"];
const LOOPBACK: [&str; 4] = [
    "--allow-http-targets",
    "--allow-targets",
    "127.0.0.0/8",
    "--no-save-ping",
];

/// Every member of the Services88 `Webhook` carrier (docs/SOAP.md), as REST names them.
const CARRIER_MEMBERS: [&str; 23] = [
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

/// hookwire's summary members, answered by REST beside the carrier's (docs/REST.md, JSON).
const SUMMARY_MEMBERS: [&str; 3] = ["LastDelivery", "LastResult", "Failures24h"];

/// A request of a route table: method, path, (Content-Type, body).
type Route = (Method, String, Option<(&'static str, String)>);

const UNSET_DATE: &str = "0001-01-01T00:00:00";

mod agents;
mod auth;
mod http;
mod patch;
mod signal;
mod soap_twins;
mod webhooks;

/// A minimal carrier to create.
fn hook(name: &str, events: &[&str], url: &str) -> Value {
    json!({
        "Name": name,
        "Events": events,
        "TargetUrl": url,
        "State": "Active",
        "Type": "webhook",
    })
}

/// Every Services88 member, and hookwire's summary members, are present.
fn assert_all_members(webhook: &Value, ctx: &str) {
    let obj = webhook
        .as_object()
        .unwrap_or_else(|| panic!("{ctx}: not a JSON object: {webhook}"));
    let missing: Vec<&str> = CARRIER_MEMBERS
        .iter()
        .chain(&SUMMARY_MEMBERS)
        .copied()
        .filter(|m| !obj.contains_key(*m))
        .collect();
    assert!(
        missing.is_empty(),
        "{ctx}: carrier lacks {missing:?}: {webhook}"
    );
}

/// `_Links.Self` ends with `/api/v1/Webhook/{id}`; returns it.
fn self_link(webhook: &Value, id: i64) -> String {
    let link = webhook["_Links"]["Self"]
        .as_str()
        .unwrap_or_else(|| panic!("no _Links.Self string in {webhook}"))
        .to_string();
    assert!(
        link.ends_with(&format!("/api/v1/Webhook/{id}")),
        "_Links.Self {link:?} should end with /api/v1/Webhook/{id}"
    );
    link
}

/// A member is absent or null.
fn absent_or_null(webhook: &Value, member: &str) -> bool {
    webhook.get(member).is_none_or(Value::is_null)
}

/// GET /api/v1/Webhook{query}: the ids listed, sorted.
async fn list(api: &Api, query: &str) -> Vec<i64> {
    let mut got = ids(&api
        .get(&format!("/api/v1/Webhook{query}"))
        .send()
        .await
        .ok());
    got.sort();
    got
}

/// A delivery body without `EventId` and `Timestamp`: (member names in order, the rest).
fn comparable(request: &Request) -> (Vec<String>, Value) {
    let body = request.json();
    let kept: serde_json::Map<String, Value> = body
        .as_object()
        .unwrap_or_else(|| panic!("delivery body is not an object: {body}"))
        .iter()
        .filter(|(k, _)| *k != "EventId" && *k != "Timestamp")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let keys = kept.keys().cloned().collect();
    (keys, Value::Object(kept))
}

/// `dt` as an HTTP date (IMF-fixdate).
fn http_date(dt: chrono::DateTime<chrono::Utc>) -> String {
    dt.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}
