//! The operator's actions on the delivery log: Retry one delivery now, Recover a time window,
//! and the recent activity a webhook list shows (docs/REST.md, Deliveries). Neither action
//! counts towards TooManyErrors nor changes a webhook's State: a restart does that.

use super::deliveries::{DeliveryDetail, no_delivery, parse_time};
use super::{AgentError, WebhookAgent};
use crate::auth::Caller;
use crate::delivery::manual;
use crate::domain::{Millis, now_millis};
use crate::store::{AttemptEntry, DeliveryState, RecoverScope, WebhookActivity};

/// The window `Failures24h` counts over.
const FAILURE_WINDOW_MS: Millis = 24 * 3600 * 1000;

/// Recover's window as given: `since` is required, `until` defaults to now.
#[derive(Debug, Clone, Default)]
pub struct RecoverWindow {
    pub since: Option<String>,
    pub until: Option<String>,
}

impl WebhookAgent {
    /// Retry: one attempt of the delivery now (trigger `manual`), whatever its state; answers
    /// that attempt as the attempt log keeps it, failed or not.
    pub async fn retry_delivery(
        &self,
        caller: &Caller,
        webhook_id: i32,
        delivery_id: i64,
    ) -> Result<AttemptEntry, AgentError> {
        let webhook = self.visible_webhook(caller, webhook_id).await?;
        let state = self
            .delivery(caller, webhook_id, delivery_id)
            .await?
            .delivery
            .state;
        if state == DeliveryState::Waiting {
            // Sending it now would overtake the earlier delivery of its record.
            return Err(AgentError::Conflict(format!(
                "delivery {delivery_id} waits for an earlier delivery of the same record \
                 (DeliveryOrder PerRecord): retry or discard that one first"
            )));
        }
        let delivery = self
            .store
            .delivery_to_send(webhook_id, delivery_id)
            .await?
            .ok_or_else(|| no_delivery(webhook_id, delivery_id))?;
        manual::retry_now(
            self.store.as_ref(),
            &self.sender,
            &webhook,
            &delivery,
            &self.settings.context_identifier,
        )
        .await?;
        tracing::info!(webhook_id, delivery_id, "delivery retried by hand");
        self.store
            .last_attempt(delivery_id)
            .await?
            .ok_or_else(|| no_delivery(webhook_id, delivery_id))
    }

    /// Discard: sets a queued delivery aside on the dead-letter list (reason "discarded by an
    /// operator"), so the next delivery of its record may go (docs/DELIVERY.md, "Ordered
    /// delivery"). Answers the delivery as it is now.
    pub async fn discard_delivery(
        &self,
        caller: &Caller,
        webhook_id: i32,
        delivery_id: i64,
    ) -> Result<DeliveryDetail, AgentError> {
        let before = self.delivery(caller, webhook_id, delivery_id).await?;
        if !self
            .store
            .discard(webhook_id, delivery_id, now_millis())
            .await?
        {
            let state = before.delivery.state;
            return Err(AgentError::Conflict(match state {
                DeliveryState::Delivered | DeliveryState::Dead => format!(
                    "delivery {delivery_id} is {}: only a queued delivery can be discarded",
                    state.as_str()
                ),
                _ => format!(
                    "delivery {delivery_id} is being sent right now; discard it when the \
                     attempt has ended"
                ),
            }));
        }
        self.wakeup.notify();
        tracing::info!(webhook_id, delivery_id, "delivery discarded by hand");
        self.delivery(caller, webhook_id, delivery_id).await
    }

    /// Recover: queues again, due now, every delivery of the webhook created in the window
    /// that is not delivered (dead letters included). Returns how many.
    pub async fn recover(
        &self,
        caller: &Caller,
        webhook_id: i32,
        window: &RecoverWindow,
    ) -> Result<u64, AgentError> {
        let now = now_millis();
        let given = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let since_text = given(&window.since).ok_or_else(|| {
            AgentError::Invalid(
                "Since is required: the start of the window to recover (ISO 8601)".into(),
            )
        })?;
        let since = parse_time("Since", &since_text)?;
        let until_text = given(&window.until);
        let until = match &until_text {
            Some(v) => parse_time("Until", v)?,
            None => now,
        };
        if since > until {
            return Err(AgentError::Invalid(format!(
                "Since ({since_text}) is after Until ({}): no delivery can match",
                until_text.as_deref().unwrap_or("now")
            )));
        }
        self.visible_webhook(caller, webhook_id).await?;
        let scope = RecoverScope::Window {
            webhook_id,
            since,
            until,
        };
        let queued = self.store.recover(scope, now).await?;
        if queued > 0 {
            self.wakeup.notify();
        }
        tracing::info!(webhook_id, queued, "deliveries recovered by hand");
        Ok(queued)
    }

    /// The operator's Retry from the command line, which sends nothing itself: the delivery is
    /// queued for one manual attempt, due now, whatever its state, and the running server
    /// sends it (a parked one once its webhook is restarted). Only for callers who see every
    /// webhook.
    pub async fn queue_retry(&self, caller: &Caller, delivery_id: i64) -> Result<(), AgentError> {
        if caller.app.is_some() {
            return Err(AgentError::Forbidden(
                "only an on-site caller may queue a delivery by its id alone".into(),
            ));
        }
        match self
            .store
            .recover(RecoverScope::Delivery(delivery_id), now_millis())
            .await?
        {
            0 => Err(AgentError::NotFound(format!(
                "delivery {delivery_id} was not queued: there is no such delivery, an \
                 attempt is sending it right now, or it waits for an earlier delivery of its \
                 record"
            ))),
            _ => {
                self.wakeup.notify();
                Ok(())
            }
        }
    }

    /// A webhook's last attempt and its failed attempts of the last 24 hours.
    pub(super) async fn activity(&self, webhook_id: i32) -> Result<WebhookActivity, AgentError> {
        Ok(self
            .store
            .webhook_activity(webhook_id, now_millis() - FAILURE_WINDOW_MS)
            .await?)
    }
}
