//! Rotating a webhook's Secret (docs/DELIVERY.md, Rotating a Secret): the Secret a change
//! replaces stays valid for a grace period, so receivers can switch without losing events.
//! During it, the Standard Webhooks `webhook-signature` carries a signature with each Secret;
//! `X-SuperOffice-Signature` (one signature, NetServer's contract) only ever uses the current.

use super::{Millis, WebhookRecord};

/// The Secret a webhook had before its Secret last changed, and until when deliveries are
/// also signed with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousSecret {
    pub secret: String,
    /// Milliseconds since the epoch; from then on, only the current Secret signs.
    pub valid_until: Millis,
}

impl PreviousSecret {
    /// The previous Secret of a webhook saved at `now` with `secret` over `base` (the stored
    /// version; `None` creates), `grace` being how long a replaced Secret stays valid, in ms:
    /// - the Secret changed from one to another: the replaced one, until `now + grace` (none
    ///   when `grace` is 0); a change during a grace replaces the older Secret, so only the
    ///   last two ever sign;
    /// - the Secret unchanged: the stored previous one while it is still valid;
    /// - the Secret cleared, set where there was none, or a new webhook: none.
    pub fn after_save(
        base: Option<&WebhookRecord>,
        secret: Option<&str>,
        now: Millis,
        grace: Millis,
    ) -> Option<PreviousSecret> {
        let base = base?;
        secret?;
        if base.secret.as_deref() == secret {
            return base
                .previous_secret
                .clone()
                .filter(|previous| previous.valid_at(now));
        }
        let replaced = base.secret.clone()?;
        (grace > 0).then(|| PreviousSecret {
            secret: replaced,
            valid_until: now.saturating_add(grace),
        })
    }

    /// Whether it still signs at `now`.
    pub fn valid_at(&self, now: Millis) -> bool {
        now < self.valid_until
    }
}

impl WebhookRecord {
    /// The previous Secret, if deliveries made at `now` are still signed with it too.
    pub fn previous_secret_at(&self, now: Millis) -> Option<&str> {
        self.previous_secret
            .as_ref()
            .filter(|previous| previous.valid_at(now))
            .map(|previous| previous.secret.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{WebhookState, WebhookUsage};

    const GRACE: Millis = 1_000;

    fn stored(secret: Option<&str>, previous: Option<(&str, Millis)>) -> WebhookRecord {
        WebhookRecord {
            id: 1,
            name: "hook".into(),
            events: vec!["contact.created".into()],
            target_url: "https://example.com/h".into(),
            secret: secret.map(str::to_string),
            previous_secret: previous.map(|(s, until)| PreviousSecret {
                secret: s.into(),
                valid_until: until,
            }),
            state: WebhookState::Active,
            kind: "webhook".into(),
            headers: Vec::new(),
            properties: Vec::new(),
            registered: 0,
            registered_associate_id: 0,
            updated: 0,
            updated_associate_id: 0,
            errors_email: None,
            error_emails: Vec::new(),
            error_associates: Vec::new(),
            description: None,
            notify_via: Default::default(),
            notify_when: Default::default(),
            delivery_order: Default::default(),
            app_id: None,
            usage: WebhookUsage::default(),
        }
    }

    fn previous(secret: &str, valid_until: Millis) -> Option<PreviousSecret> {
        Some(PreviousSecret {
            secret: secret.into(),
            valid_until,
        })
    }

    #[test]
    fn a_changed_secret_keeps_the_replaced_one_for_the_grace() {
        let base = stored(Some("old"), None);
        let after = |secret, grace| PreviousSecret::after_save(Some(&base), secret, 5_000, grace);
        assert_eq!(after(Some("new"), GRACE), previous("old", 6_000));
        assert_eq!(after(Some("new"), 0), None, "no grace");
        assert_eq!(after(None, GRACE), None, "cleared");
        assert_eq!(
            PreviousSecret::after_save(None, Some("new"), 5_000, GRACE),
            None,
            "a new webhook"
        );
        let unsigned = stored(None, None);
        assert_eq!(
            PreviousSecret::after_save(Some(&unsigned), Some("new"), 5_000, GRACE),
            None,
            "a first Secret replaces none"
        );
    }

    #[test]
    fn an_unchanged_secret_keeps_its_previous_one_until_its_deadline() {
        let base = stored(Some("new"), Some(("old", 6_000)));
        let at = |now| PreviousSecret::after_save(Some(&base), Some("new"), now, GRACE);
        assert_eq!(
            at(5_999),
            previous("old", 6_000),
            "the deadline is not moved"
        );
        assert_eq!(at(6_000), None);
        assert_eq!(
            PreviousSecret::after_save(Some(&base), Some("newer"), 5_000, GRACE),
            previous("new", 6_000),
            "a second change during the grace drops the oldest"
        );
        assert_eq!(
            PreviousSecret::after_save(Some(&base), None, 5_000, GRACE),
            None,
            "clearing the Secret clears the previous one too"
        );
        assert_eq!(base.previous_secret_at(5_999), Some("old"));
        assert_eq!(base.previous_secret_at(6_000), None);
    }
}
