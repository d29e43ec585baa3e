//! SaveWebhook, and the read-edit-write of REST's PATCH (`update_webhook`) with its
//! precondition, both ending in the same validated write.

use super::{AgentError, WebhookAgent, WebhookCarrier};
use crate::auth::Caller;
use crate::domain::{
    MAX_NAME, Millis, PreviousSecret, WebhookInput, WebhookRecord, WebhookSpec, WebhookState,
    now_millis, wire_date,
};

/// A condition the webhook must meet for an update to be made. It is checked against the
/// version the update is computed from, and the write is made only if that version is still
/// the stored one, so two updates racing with the same condition cannot both pass it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    /// HTTP `If-Unmodified-Since`: the webhook was not changed after this time. HTTP dates have
    /// whole seconds, so a change within that same second passes (RFC 9110 §13.1.4).
    UnmodifiedSince { seconds: i64 },
}

impl Precondition {
    fn check(self, webhook: &WebhookRecord) -> Result<(), AgentError> {
        match self {
            Precondition::UnmodifiedSince { seconds }
                if webhook.updated.div_euclid(1000) > seconds =>
            {
                Err(AgentError::PreconditionFailed(format!(
                    "Webhook {} was changed at {} (after If-Unmodified-Since)",
                    webhook.id,
                    wire_date(Some(webhook.updated))
                )))
            }
            Precondition::UnmodifiedSince { .. } => Ok(()),
        }
    }
}

/// How many times an update without a precondition is computed again from a webhook that
/// changed while it was being computed, before the caller is told to try again.
const UPDATE_ATTEMPTS: usize = 8;

/// The `updated` of a write: now, but always later than the version it replaces, so that two
/// writes within one millisecond (or a clock step back) never leave the same `updated`, which
/// conditional writes and `If-Unmodified-Since` tell versions apart by.
fn next_updated(now: Millis, replaced: Option<Millis>) -> Millis {
    replaced.map_or(now, |previous| now.max(previous.saturating_add(1)))
}

impl WebhookAgent {
    /// SaveWebhook: creates the webhook when `WebhookId` is 0, else replaces that webhook.
    pub async fn save_webhook(
        &self,
        caller: &Caller,
        input: WebhookInput,
    ) -> Result<WebhookCarrier, AgentError> {
        let id = input.webhook_id;
        let base = match id {
            0 => None,
            id if id < 0 => {
                return Err(AgentError::Invalid(format!("WebhookId {id} is not valid")));
            }
            id => Some(self.visible_webhook(caller, id).await?),
        };
        self.save(caller, input, base, None, Ping::AsSaveWebhook)
            .await?
            .ok_or_else(|| {
                AgentError::NotFound(format!(
                    "Webhook {id} does not exist (it was deleted meanwhile)"
                ))
            })
    }

    /// Changes webhook `id` to what `edit` makes of it (REST's PATCH): reads the webhook, checks
    /// `precondition` against it, has `edit` compute the new definition from it, and saves that
    /// as SaveWebhook does, only if the webhook is still the version read. If it changed
    /// meanwhile: with a precondition, [`AgentError::PreconditionFailed`]; without, `edit` runs
    /// again on the new version (up to `UPDATE_ATTEMPTS` times). A webhook that is gone is
    /// [`AgentError::NotFound`].
    pub async fn update_webhook<E: From<AgentError>>(
        &self,
        caller: &Caller,
        id: i32,
        precondition: Option<Precondition>,
        edit: impl FnMut(&WebhookCarrier) -> Result<WebhookInput, E>,
    ) -> Result<WebhookCarrier, E> {
        self.update_webhook_with(caller, id, precondition, Ping::AsSaveWebhook, edit)
            .await
    }

    /// [`Self::update_webhook`], with the test ping as `ping` says.
    pub(super) async fn update_webhook_with<E: From<AgentError>>(
        &self,
        caller: &Caller,
        id: i32,
        precondition: Option<Precondition>,
        ping: Ping,
        mut edit: impl FnMut(&WebhookCarrier) -> Result<WebhookInput, E>,
    ) -> Result<WebhookCarrier, E> {
        for _ in 0..UPDATE_ATTEMPTS {
            let read = self.visible_webhook(caller, id).await?;
            if let Some(precondition) = precondition {
                precondition.check(&read)?;
            }
            let mut input = edit(&self.carrier(read.clone()).await?)?;
            input.webhook_id = id;
            let read_version = read.updated;
            if let Some(saved) = self
                .save(caller, input, Some(read), Some(read_version), ping)
                .await?
            {
                return Ok(saved);
            }
            if precondition.is_some() {
                // Gone is NotFound; otherwise it changed after the version the condition held for.
                let now = self.visible_webhook(caller, id).await?;
                return Err(AgentError::PreconditionFailed(format!(
                    "Webhook {id} was changed at {} while this change was being made \
                     (after If-Unmodified-Since)",
                    wire_date(Some(now.updated))
                ))
                .into());
            }
        }
        Err(AgentError::PreconditionFailed(format!(
            "Webhook {id} was changed {UPDATE_ATTEMPTS} times while this change was being made; \
             send it again"
        ))
        .into())
    }

    /// Sets webhook `id`'s State as a SaveWebhook changing only the State does (the same
    /// rules: to Active resets the counters and makes parked deliveries due now; the
    /// state-change event fires). The operator CLI's `webhook stop|restart`.
    pub async fn set_webhook_state(
        &self,
        caller: &Caller,
        id: i32,
        state: WebhookState,
    ) -> Result<WebhookCarrier, AgentError> {
        self.update_webhook(caller, id, None, |_| {
            Ok::<_, AgentError>(WebhookInput {
                webhook_id: id,
                state: Some(state),
                ..WebhookInput::default()
            })
        })
        .await
    }

    /// A copy of webhook `id` (the admin page's Copy): the same definition, secret included,
    /// named "NAME (copy)" (the name cut short if it would be too long) and Stopped, so it
    /// sends nothing until someone activates it; created as SaveWebhook creates.
    pub async fn copy_webhook(
        &self,
        caller: &Caller,
        id: i32,
    ) -> Result<WebhookCarrier, AgentError> {
        const SUFFIX: &str = " (copy)";
        let source = self.visible_webhook(caller, id).await?;
        let name: String = source.name.chars().take(MAX_NAME - SUFFIX.len()).collect();
        let input = WebhookInput {
            webhook_id: 0,
            name: Some(Some(format!("{}{SUFFIX}", name.trim_end()))),
            events: Some(source.events),
            target_url: Some(Some(source.target_url)),
            secret: Some(source.secret),
            state: Some(WebhookState::Stopped),
            kind: Some(Some(source.kind)),
            headers: Some(source.headers),
            properties: Some(source.properties),
            errors_email: Some(source.errors_email),
            error_emails: Some(source.error_emails),
            error_associates: Some(source.error_associates),
            description: Some(source.description),
            notify_via: Some(source.notify_via),
            notify_when: Some(source.notify_when),
            delivery_order: Some(source.delivery_order),
        };
        // A creation always writes (`save` answers None only for an update).
        self.save(caller, input, None, None, Ping::AsSaveWebhook)
            .await?
            .ok_or_else(|| AgentError::NotFound(format!("Webhook {id} could not be copied")))
    }

    /// Validates `input` over `base` (the stored version it replaces; `None` creates), pings
    /// the target when SaveWebhook must, and writes. An update is written only if the stored
    /// webhook's `updated` is still `if_updated` (`None`: whatever it is); `Ok(None)` when the
    /// update matched no webhook.
    async fn save(
        &self,
        caller: &Caller,
        input: WebhookInput,
        base: Option<WebhookRecord>,
        if_updated: Option<Millis>,
        ping: Ping,
    ) -> Result<Option<WebhookCarrier>, AgentError> {
        let spec = WebhookSpec::from_input(&input, base.as_ref(), self.settings.allow_http_targets)
            .map_err(AgentError::Invalid)?;
        // The grace starts now; the ping below may sign with the replaced Secret too.
        let previous_secret = PreviousSecret::after_save(
            base.as_ref(),
            spec.secret.as_deref(),
            now_millis(),
            self.grace(),
        );
        let definition_changed = base
            .as_ref()
            .is_none_or(|b| b.target_url != spec.target_url.as_str() || b.secret != spec.secret);
        if self.settings.save_ping
            && ping == Ping::AsSaveWebhook
            && definition_changed
            && spec.state == WebhookState::Active
        {
            let previous = previous_secret.as_ref().map(|p| p.secret.as_str());
            let ping = self.ping(caller, &spec, previous).await;
            if !ping.success {
                return Err(AgentError::PingFailed(format!(
                    "The test ping to {} failed, so the webhook was not saved: {}",
                    spec.target_url.as_str(),
                    ping.message
                )));
            }
        }
        let app_id = caller.app.as_ref().map(|a| a.id);
        let mut record = WebhookRecord::from_spec(
            spec,
            input.webhook_id,
            next_updated(now_millis(), base.as_ref().map(|b| b.updated)),
            caller.user.id,
            app_id,
            base.as_ref(),
        );
        record.previous_secret = previous_secret;
        if let Some(base) = &base {
            if !self.store.update_webhook(&record, if_updated).await? {
                return Ok(None);
            }
            if base.state != record.state {
                self.fire_state_change(&record).await?;
            }
        } else {
            record.id = self.store.insert_webhook(&record).await?;
        }
        tracing::info!(webhook_id = record.id, state = %record.state, "webhook saved");
        Ok(Some(self.carrier(record).await?))
    }

    /// How long a replaced Secret still signs, in ms.
    fn grace(&self) -> Millis {
        Millis::try_from(self.settings.secret_grace.as_millis()).unwrap_or(Millis::MAX)
    }
}

/// Whether a save pings the target first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ping {
    /// As SaveWebhook does: when the webhook is new, or its TargetUrl or Secret changed.
    AsSaveWebhook,
    /// Never: a Secret rotation. The receiver cannot know the new Secret before it is made,
    /// so a ping signed with it would fail the rotation; the grace period covers the switch.
    Never,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_is_always_later_than_the_version_it_replaces() {
        assert_eq!(next_updated(9_000, Some(5_000)), 9_000);
        assert_eq!(
            next_updated(5_000, Some(5_000)),
            5_001,
            "within one millisecond"
        );
        assert_eq!(next_updated(6_000, Some(7_000)), 7_001, "a clock step back");
        assert_eq!(next_updated(6_000, None), 6_000, "a new webhook");
    }
}
