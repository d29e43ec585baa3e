//! `WebhookAgent`: the 8 operations of NetServer's Webhook agent and every business rule.
//!
//! It knows nothing of SOAP or REST. Adapters authenticate through [`WebhookAgent::caller`],
//! call an operation, and translate [`AgentError`] into their wire's error form.

mod carrier;
mod error;

use std::sync::Arc;

use crate::auth::{Auth, Caller};
use crate::domain::{
    TypedValue, WebhookInput, WebhookRecord, WebhookSpec, WebhookState, check_signal_name,
    now_millis, subscription_matches,
};
use crate::store::{NewEvent, Store};

pub use carrier::{WebhookCarrier, WebhookResult};
pub use error::AgentError;

/// Rules that depend on the server's configuration.
#[derive(Debug, Clone)]
pub struct AgentSettings {
    /// Accept `http://` TargetUrls (`--allow-http-targets`); https only otherwise.
    pub allow_http_targets: bool,
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
}

impl WebhookAgent {
    pub fn new(store: Arc<dyn Store>, auth: Auth, settings: AgentSettings) -> WebhookAgent {
        WebhookAgent {
            store,
            auth,
            settings,
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

    /// SaveWebhook: creates the webhook when `WebhookId` is 0, else replaces that webhook.
    pub async fn save_webhook(
        &self,
        caller: &Caller,
        input: WebhookInput,
    ) -> Result<WebhookCarrier, AgentError> {
        let base = match input.webhook_id {
            0 => None,
            id if id < 0 => {
                return Err(AgentError::Invalid(format!("WebhookId {id} is not valid")));
            }
            id => Some(self.visible_webhook(caller, id).await?),
        };
        let spec = WebhookSpec::from_input(&input, base.as_ref(), self.settings.allow_http_targets)
            .map_err(AgentError::Invalid)?;
        let app_id = caller.app.as_ref().map(|a| a.id);
        let mut record = WebhookRecord::from_spec(
            spec,
            input.webhook_id,
            now_millis(),
            caller.user.id,
            app_id,
            base.as_ref(),
        );
        if base.is_some() {
            if !self.store.update_webhook(&record).await? {
                return Err(AgentError::NotFound(format!(
                    "Webhook {} does not exist (it was deleted meanwhile)",
                    record.id
                )));
            }
        } else {
            record.id = self.store.insert_webhook(&record).await?;
        }
        tracing::info!(webhook_id = record.id, state = %record.state, "webhook saved");
        self.carrier(record).await
    }

    /// DeleteWebhook: removes the webhook and its undelivered events.
    pub async fn delete_webhook(&self, caller: &Caller, id: i32) -> Result<(), AgentError> {
        self.visible_webhook(caller, id).await?;
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
        match self.store.webhook(id).await? {
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

    /// TestWebhook: checks the definition; sending the test ping arrives with the delivery engine.
    pub async fn test_webhook(
        &self,
        _caller: &Caller,
        input: WebhookInput,
    ) -> Result<WebhookResult, AgentError> {
        WebhookSpec::from_input(&input, None, self.settings.allow_http_targets)
            .map_err(AgentError::Invalid)?;
        Ok(WebhookResult {
            success: false,
            message: "hookwire does not send test pings yet: the delivery engine is not built"
                .to_string(),
        })
    }

    /// SignalEvent: durably queues the event for every Active webhook subscribed to it.
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
        let event = NewEvent {
            event_id: uuid::Uuid::new_v4().to_string(),
            name,
            primary_key,
            data,
            associate_id: caller.user.id,
            occurred_at: now_millis(),
        };
        let queued = if event.name.is_empty() {
            0
        } else {
            self.store.record_event(&event).await?
        };
        tracing::debug!(event = %event.name, event_id = %event.event_id, queued, "event signalled");
        Ok(queued)
    }

    /// GetLastError: the last error the target returned, or an empty string.
    pub async fn get_last_error(&self, caller: &Caller, id: i32) -> Result<String, AgentError> {
        let record = self.visible_webhook(caller, id).await?;
        Ok(record.usage.last_error.unwrap_or_default())
    }

    async fn visible_webhook(&self, caller: &Caller, id: i32) -> Result<WebhookRecord, AgentError> {
        let record = self.store.webhook(id).await?.ok_or_else(|| not_found(id))?;
        check_owner(caller, &record)?;
        Ok(record)
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
        Ok(WebhookCarrier::from_record(
            record,
            registered,
            updated,
            error_associates,
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
