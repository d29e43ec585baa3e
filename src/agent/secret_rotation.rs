//! Generate / Regenerate a webhook's Secret (docs/DELIVERY.md, Rotating a Secret): a new
//! random Secret saved as any other change of the Secret is, so the replaced one keeps
//! signing `webhook-signature` for the grace period.

use super::save::Ping;
use super::{AgentError, WebhookAgent};
use crate::auth::{Caller, random_secret};
use crate::domain::{Millis, WebhookInput};

/// A Secret just generated, shown once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegeneratedSecret {
    pub secret: String,
    /// Until when the replaced Secret still signs; `None` when there was none or there is no
    /// grace (`--secret-grace-secs 0`).
    pub previous_valid_until: Option<Millis>,
}

impl WebhookAgent {
    /// Generate / Regenerate: gives webhook `id` a new random Secret (letters and digits) and
    /// returns it, with until when the replaced one still signs. Saved as SaveWebhook saves
    /// (the owner check, `Updated`/`UpdatedAssociate`) but without the test ping: the receiver
    /// does not know the new Secret yet (the grace period is for that).
    pub async fn rotate_secret(
        &self,
        caller: &Caller,
        id: i32,
    ) -> Result<RegeneratedSecret, AgentError> {
        let secret = random_secret();
        let saved = self
            .update_webhook_with(caller, id, None, Ping::Never, |_| {
                Ok::<_, AgentError>(WebhookInput {
                    webhook_id: id,
                    secret: Some(Some(secret.clone())),
                    ..WebhookInput::default()
                })
            })
            .await?;
        tracing::info!(webhook_id = id, "webhook Secret regenerated");
        Ok(RegeneratedSecret {
            secret,
            previous_valid_until: saved.previous_secret_valid_until,
        })
    }
}
