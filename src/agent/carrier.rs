//! What the operations return: the `Webhook` carrier and `WebhookResult`, wire-neutral, and
//! the `Associate` values NetServer fills that hookwire has no data for, once for every wire.
//!
//! # Adding a field to the webhook
//!
//! A new member of the `Webhook` carrier (say Services88's `ErrorsEmail`) is written in these
//! files, from the bottom layer up; the compiler points at most of the rest once the structs
//! have it:
//!
//! 1. `migrations/sqlite/` and `migrations/postgres/`: a new migration adding the column.
//! 2. `src/domain/webhook.rs`: `WebhookInput` (absent, null or a value), its rule in
//!    `WebhookSpec::from_input`, and `WebhookRecord` (+ `from_spec`).
//! 3. `src/store/rows.rs` (the column list, reading a row) and `src/store/webhooks.rs`
//!    (`DEFINITION_COLUMNS`, `definition_args`): one INSERT and one UPDATE for both backends.
//! 4. Here: [`WebhookCarrier`], [`WebhookCarrier::default_new`] (NetServer's default) and
//!    [`WebhookCarrier::from_record`].
//! 5. `src/rest/json.rs`: `WebhookJson` (answers) and `WebhookBody` (input, with
//!    `into_input`). Nothing else in REST: the names it accepts in any case are read from
//!    `WebhookBody` itself (`rest/members.rs`), and PATCH paths and `$select` work on the
//!    members `WebhookJson` answers.
//! 6. SOAP: `src/soap/decode.rs` (`webhook_input`), `src/soap/encode.rs` (`webhook`, in the
//!    WSDL's sequence order) and the XSD in `src/soap/wsdl/webhook.wsdl`, or `WEBHOOK_88_FIELDS`
//!    in `src/soap/wsdl.rs` for a Services88-only member.
//! 7. `docs/SOAP.md` (the `Webhook` sequence) and `docs/REST.md` if REST treats it specially.
//!
//! Tests that list every member (`tests/api/rest_api/mod.rs` `CARRIER_MEMBERS`, the WSDL order test in
//! `soap/wsdl.rs`) fail until the member is in all of these.

use crate::domain::{
    Associate, DeliveryOrder, Millis, NotifyVia, NotifyWhen, TypedValue, WebhookRecord,
    WebhookState, WebhookUsage, now_millis,
};
use crate::store::WebhookActivity;

/// The `Webhook` carrier as clients see it, associates resolved. Unsaved webhooks
/// (CreateDefaultWebhook) have id 0, no dates and nulls where NetServer has nulls.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookCarrier {
    pub id: i32,
    pub name: Option<String>,
    pub events: Vec<String>,
    pub target_url: Option<String>,
    pub secret: Option<String>,
    pub state: WebhookState,
    pub kind: Option<String>,
    pub headers: Vec<(String, String)>,
    pub properties: Vec<(String, TypedValue)>,
    /// `None` is the unset date `0001-01-01T00:00:00`.
    pub registered: Option<Millis>,
    pub registered_associate: Option<Associate>,
    pub updated: Option<Millis>,
    pub updated_associate: Option<Associate>,
    pub errors_email: Option<String>,
    pub error_emails: Vec<String>,
    /// Associate ids to notify, with the user when it still exists.
    pub error_associates: Vec<(i32, Option<Associate>)>,
    pub description: Option<String>,
    pub notify_via: NotifyVia,
    pub notify_when: NotifyWhen,
    /// hookwire's, answered by REST only (SOAP carriers stay as NetServer's).
    pub delivery_order: DeliveryOrder,
    pub usage: WebhookUsage,
    /// Its last attempt and failures of the last 24 hours: hookwire's summary, answered by
    /// REST only (SOAP carriers stay as NetServer's).
    pub activity: WebhookActivity,
    /// Until when the Secret the current one replaced still signs deliveries; `None` when
    /// none does (hookwire's, on no wire carrier: the answer of a regenerated Secret has it).
    pub previous_secret_valid_until: Option<Millis>,
}

impl WebhookCarrier {
    /// CreateDefaultWebhook's answer (docs/SOAP.md, Operations).
    pub fn default_new() -> WebhookCarrier {
        WebhookCarrier {
            id: 0,
            name: None,
            events: vec!["contact.created".into(), "contact.deleted".into()],
            target_url: None,
            secret: None,
            state: WebhookState::Active,
            kind: Some("webhook".into()),
            headers: Vec::new(),
            properties: Vec::new(),
            registered: None,
            registered_associate: None,
            updated: None,
            updated_associate: None,
            errors_email: None,
            error_emails: Vec::new(),
            error_associates: Vec::new(),
            description: None,
            notify_via: NotifyVia::default(),
            notify_when: NotifyWhen::default(),
            delivery_order: DeliveryOrder::default(),
            usage: WebhookUsage::default(),
            activity: WebhookActivity::default(),
            previous_secret_valid_until: None,
        }
    }

    pub fn from_record(
        r: WebhookRecord,
        registered_associate: Option<Associate>,
        updated_associate: Option<Associate>,
        error_associates: Vec<(i32, Option<Associate>)>,
        activity: WebhookActivity,
    ) -> WebhookCarrier {
        let now = now_millis();
        let previous_secret_valid_until = r
            .previous_secret
            .as_ref()
            .filter(|previous| previous.valid_at(now))
            .map(|previous| previous.valid_until);
        WebhookCarrier {
            id: r.id,
            name: Some(r.name),
            events: r.events,
            target_url: Some(r.target_url),
            secret: r.secret,
            state: r.state,
            kind: Some(r.kind),
            headers: r.headers,
            properties: r.properties,
            registered: Some(r.registered),
            registered_associate,
            updated: Some(r.updated),
            updated_associate,
            errors_email: r.errors_email,
            error_emails: r.error_emails,
            error_associates,
            description: r.description,
            notify_via: r.notify_via,
            notify_when: r.notify_when,
            delivery_order: r.delivery_order,
            usage: r.usage,
            activity,
            previous_secret_valid_until,
        }
    }
}

impl WebhookCarrier {
    /// The last attempt's result in plain words: `200 OK`, `503 Service Unavailable`, or
    /// the transport error class (`timeout`, `connect`, ...); None before any attempt.
    pub fn last_result(&self) -> Option<String> {
        let a = &self.activity;
        match (a.last_status, &a.last_error) {
            (Some(status), _) => Some(
                u16::try_from(status)
                    .ok()
                    .and_then(|s| axum::http::StatusCode::from_u16(s).ok())
                    .and_then(|s| s.canonical_reason())
                    .map_or_else(|| status.to_string(), |why| format!("{status} {why}")),
            ),
            (None, Some(class)) => Some(class.clone()),
            (None, None) => None,
        }
    }
}

/// TestWebhook's answer: whether the target accepted the ping, and what it said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookResult {
    pub success: bool,
    /// Status line, headers and body of the target's answer, or the transport error.
    pub message: String,
}

/// An `Associate` carrier (RegisteredAssociate, UpdatedAssociate) with the members NetServer
/// fills that hookwire has no data for set to NetServer's values for an internal user, once for
/// every wire format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssociateCarrier {
    pub associate_id: i32,
    pub name: String,
    pub person_id: i32,
    pub rank: i16,
    pub tooltip: String,
    pub r#type: &'static str,
    pub group_idx: i32,
    pub full_name: String,
    pub formal_name: String,
    pub deleted: bool,
    pub ej_user_id: i32,
    pub user_name: String,
}

impl From<&Associate> for AssociateCarrier {
    fn from(a: &Associate) -> Self {
        AssociateCarrier {
            associate_id: a.id,
            name: a.name.clone(),
            person_id: 0,
            rank: 0,
            tooltip: a.full_name.clone(),
            r#type: "InternalAssociate",
            group_idx: 0,
            full_name: a.full_name.clone(),
            formal_name: a.full_name.clone(),
            deleted: false,
            ej_user_id: 0,
            user_name: a.name.clone(),
        }
    }
}
