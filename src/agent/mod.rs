//! `WebhookAgent`: the 8 operations of NetServer's Webhook agent and every business rule.
//!
//! It knows nothing of SOAP or REST. Adapters authenticate through [`WebhookAgent::caller`],
//! call an operation (by name through [`WebhookAgent::dispatch`], see `operation`), and
//! translate [`AgentError`] into their wire's error form.

mod alerts;
mod carrier;
mod deliveries;
mod error;
mod operation;
mod paging;
mod recovery;
mod save;
mod secret_rotation;

use std::sync::Arc;
use std::time::Duration;

use crate::auth::{Auth, Caller};
use crate::delivery::sender::Sender;
use crate::delivery::{PingTarget, Wakeup, test_ping};
use crate::domain::{
    Event, TypedValue, WebhookInput, WebhookRecord, WebhookSpec, WebhookState, check_signal_name,
    now_millis, subscription_matches,
};
use crate::store::{Store, StoreError};

pub use alerts::AlertFilter;
pub use carrier::{AssociateCarrier, WebhookCarrier, WebhookResult};
pub use deliveries::{DeliveryDetail, DeliveryFilter, DeliveryPage, deliveries_csv};
pub use error::AgentError;
pub use operation::{Answer, Operation, OperationName};
pub use recovery::RecoverWindow;
pub use save::Precondition;

/// Rules that depend on the server's configuration.
#[derive(Debug, Clone)]
pub struct AgentSettings {
    /// Accept `http://` TargetUrls (`--allow-http-targets`); https only otherwise.
    pub allow_http_targets: bool,
    /// SaveWebhook pings the target before saving (docs/DELIVERY.md, Test pings);
    /// `--no-save-ping` turns it off.
    pub save_ping: bool,
    /// `ContextIdentifier` of test pings.
    pub context_identifier: String,
    /// How long a replaced Secret still signs deliveries (`--secret-grace-secs`; zero: not at
    /// all). docs/DELIVERY.md, Rotating a Secret.
    pub secret_grace: Duration,
}

/// The filters of GetAllWebhooks. `None` (or state `Unknown`) means no filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookFilter {
    /// Keeps webhooks with this name (case-insensitive equality).
    pub name: Option<String>,
    /// Keeps webhooks that receive this event.
    pub event: Option<String>,
    pub state: Option<WebhookState>,
}

/// The Webhook agent. Cheap to clone; shared by every adapter.
#[derive(Clone)]
pub struct WebhookAgent {
    store: Arc<dyn Store>,
    auth: Auth,
    settings: AgentSettings,
    /// The delivery HTTP client, for test pings.
    sender: Sender,
    /// Tells the dispatcher new deliveries were committed.
    wakeup: Wakeup,
}

impl WebhookAgent {
    pub fn new(
        store: Arc<dyn Store>,
        auth: Auth,
        settings: AgentSettings,
        sender: Sender,
        wakeup: Wakeup,
    ) -> WebhookAgent {
        WebhookAgent {
            store,
            auth,
            settings,
            sender,
            wakeup,
        }
    }

    pub fn auth(&self) -> &Auth {
        &self.auth
    }

    /// Authenticates a request's ticket and application token.
    pub async fn caller(
        &self,
        ticket: Option<&str>,
        app_token: Option<&str>,
    ) -> Result<Caller, AgentError> {
        Ok(self.auth.caller(ticket, app_token).await?)
    }

    /// CreateDefaultWebhook: a new, unsaved webhook with NetServer's defaults.
    pub fn create_default_webhook(&self) -> WebhookCarrier {
        WebhookCarrier::default_new()
    }

    /// DeleteWebhook: removes the webhook and its undelivered events.
    pub async fn delete_webhook(&self, caller: &Caller, id: i32) -> Result<(), AgentError> {
        match self.visible_webhook(caller, id).await {
            // An unreadable webhook can still be deleted by a caller who sees every webhook
            // (no application token), which is how an operator clears it.
            Err(AgentError::Unreadable(..)) if caller.app.is_none() => {}
            other => {
                other?;
            }
        }
        if !self.store.delete_webhook(id).await? {
            return Err(not_found(id));
        }
        tracing::info!(webhook_id = id, "webhook deleted");
        Ok(())
    }

    /// GetWebhook: the webhook, or `None` for an unknown id (NetServer answers a nil Response).
    pub async fn get_webhook(
        &self,
        caller: &Caller,
        id: i32,
    ) -> Result<Option<WebhookCarrier>, AgentError> {
        match self.webhook(id).await? {
            None => Ok(None),
            Some(record) => {
                check_owner(caller, &record)?;
                Ok(Some(self.carrier(record).await?))
            }
        }
    }

    /// GetAllWebhooks: the caller's webhooks that pass every given filter, by id.
    pub async fn get_all_webhooks(
        &self,
        caller: &Caller,
        filter: &WebhookFilter,
    ) -> Result<Vec<WebhookCarrier>, AgentError> {
        let mut out = Vec::new();
        for record in self.store.webhooks().await? {
            let visible = check_owner(caller, &record).is_ok();
            let name_ok = filter
                .name
                .as_deref()
                .is_none_or(|n| record.name.eq_ignore_ascii_case(n.trim()));
            let event_ok = filter.event.as_deref().is_none_or(|e| {
                subscription_matches(record.events.iter().map(String::as_str), e.trim())
            });
            let state_ok = filter
                .state
                .is_none_or(|s| s == WebhookState::Unknown || s == record.state);
            if visible && name_ok && event_ok && state_ok {
                out.push(self.carrier(record).await?);
            }
        }
        Ok(out)
    }

    /// TestWebhook: pings the (possibly unsaved) definition with the `test` event.
    pub async fn test_webhook(
        &self,
        caller: &Caller,
        input: WebhookInput,
    ) -> Result<WebhookResult, AgentError> {
        let spec = WebhookSpec::from_input(&input, None, self.settings.allow_http_targets)
            .map_err(AgentError::Invalid)?;
        Ok(self.ping(caller, &spec, None).await)
    }

    /// Pings `spec`'s target; `previous_secret` is the Secret a save replaces, still valid.
    async fn ping(
        &self,
        caller: &Caller,
        spec: &WebhookSpec,
        previous_secret: Option<&str>,
    ) -> WebhookResult {
        let target = PingTarget {
            name: spec.name.as_str(),
            url: spec.target_url.as_str(),
            secret: spec.secret.as_deref(),
            previous_secret,
            headers: &spec.headers,
            properties: &spec.properties,
        };
        let ping = test_ping(
            &self.sender,
            &target,
            caller.user.id,
            &self.settings.context_identifier,
        )
        .await;
        WebhookResult {
            success: ping.success,
            message: ping.report,
        }
    }

    /// Fires `webhook{id}.started|stopped|errors` for a state set by a user, and wakes the
    /// dispatcher when the webhook's parked deliveries became due.
    async fn fire_state_change(&self, record: &WebhookRecord) -> Result<(), AgentError> {
        if let Some(event) = Event::state_change(record, record.updated) {
            self.store.record_event(&event).await?;
        }
        self.wakeup.notify();
        Ok(())
    }

    /// SignalEvent: durably queues the event for every webhook subscribed to it (Active, or
    /// TooManyErrors: parked until restarted; a Stopped webhook gets nothing).
    /// Returns the number of deliveries queued.
    pub async fn signal_event(
        &self,
        caller: &Caller,
        event_name: Option<String>,
        primary_key: i32,
        data: Vec<(String, TypedValue)>,
    ) -> Result<usize, AgentError> {
        let name = event_name.unwrap_or_default().trim().to_string();
        check_signal_name(&name).map_err(AgentError::Invalid)?;
        crate::domain::check_dictionary("Data", &data).map_err(AgentError::Invalid)?;
        let event = Event::signalled(name, primary_key, data, caller.user.id, now_millis());
        let queued = if event.name.is_empty() {
            0
        } else {
            self.store.record_event(&event).await?
        };
        if queued > 0 {
            self.wakeup.notify();
        }
        crate::observe::signal_accepted(queued);
        tracing::debug!(event = %event.name, event_id = %event.event_id, queued, "event signalled");
        Ok(queued)
    }

    /// GetLastError: the last error the target returned, or an empty string.
    pub async fn get_last_error(&self, caller: &Caller, id: i32) -> Result<String, AgentError> {
        let record = self.visible_webhook(caller, id).await?;
        Ok(record.usage.last_error.unwrap_or_default())
    }

    async fn visible_webhook(&self, caller: &Caller, id: i32) -> Result<WebhookRecord, AgentError> {
        let record = self.webhook(id).await?.ok_or_else(|| not_found(id))?;
        check_owner(caller, &record)?;
        Ok(record)
    }

    /// A webhook by id; a row that cannot be decoded is an error on that webhook alone.
    async fn webhook(&self, id: i32) -> Result<Option<WebhookRecord>, AgentError> {
        match self.store.webhook(id).await {
            Err(StoreError::Corrupt(why)) => Err(AgentError::Unreadable(id, why)),
            other => Ok(other?),
        }
    }

    async fn carrier(&self, record: WebhookRecord) -> Result<WebhookCarrier, AgentError> {
        let registered = self.auth.associate(record.registered_associate_id).await?;
        let updated = if record.updated_associate_id == record.registered_associate_id {
            registered.clone()
        } else {
            self.auth.associate(record.updated_associate_id).await?
        };
        let mut error_associates = Vec::with_capacity(record.error_associates.len());
        for id in &record.error_associates {
            error_associates.push((*id, self.auth.associate(*id).await?));
        }
        let activity = self.activity(record.id).await?;
        Ok(WebhookCarrier::from_record(
            record,
            registered,
            updated,
            error_associates,
            activity,
        ))
    }
}

fn not_found(id: i32) -> AgentError {
    AgentError::NotFound(format!("Webhook {id} does not exist"))
}

/// NetServer's Online rule: a request with an application token sees only that application's
/// webhooks. Without a token (on-site), every webhook is visible.
fn check_owner(caller: &Caller, record: &WebhookRecord) -> Result<(), AgentError> {
    match &caller.app {
        Some(app) if record.app_id != Some(app.id) => Err(AgentError::Forbidden(format!(
            "Webhook {} belongs to another application; application '{}' may not use it",
            record.id, app.name
        ))),
        _ => Ok(()),
    }
}
