//! The notification rules, with no SQL and no I/O: which changes in a webhook's health are
//! transitions worth an alert (the first failure after a success, the switch to
//! TooManyErrors), and what a webhook's settings make of one: an in-app alert, a mail and to
//! whom (docs/DELIVERY.md, Notifications). The store records them in the transaction of the
//! attempt that caused them.

use super::outbox::Outcome;
use super::{NotifyVia, NotifyWhen};

/// A change in a webhook's health its notification settings may ask to hear about
/// (docs/DELIVERY.md, Notifications).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertKind {
    /// A counted failure that takes `ConsecutiveErrors` from 0 to 1: the first failure after
    /// a success (or a restart).
    FirstFailure,
    /// The webhook became TooManyErrors.
    Disabled,
}

impl AlertKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::FirstFailure => "first-failure",
            AlertKind::Disabled => "disabled",
        }
    }

    pub fn parse(text: &str) -> Option<AlertKind> {
        [AlertKind::FirstFailure, AlertKind::Disabled]
            .into_iter()
            .find(|k| k.as_str() == text)
    }
}

/// The transitions one attempt makes, given `ConsecutiveErrors` after it and whether it
/// switched the webhook to TooManyErrors (the once-only switch of [`disabled_state`] took):
/// each at most once, however many attempts race, since only one takes the counter from 0 to
/// 1 and only one makes the switch. A 410 on a first failure makes both.
pub fn transitions(outcome: &Outcome, consecutive_after: i32, switched: bool) -> Vec<AlertKind> {
    let mut kinds = Vec::new();
    // The failure that added to the counter (never a manual one) and brought it to 1.
    if outcome.usage_change().add_consecutive > 0 && consecutive_after == 1 {
        kinds.push(AlertKind::FirstFailure);
    }
    if switched {
        kinds.push(AlertKind::Disabled);
    }
    kinds
}

/// A webhook's notification settings, its associates' e-mail addresses resolved.
#[derive(Debug, Clone, Copy)]
pub struct NotifySettings<'a> {
    pub via: NotifyVia,
    pub when: NotifyWhen,
    /// `ErrorEmails`.
    pub error_emails: &'a [String],
    /// The e-mail addresses of the `ErrorAssociates` users that have one.
    pub associate_emails: &'a [String],
    /// The obsolete `ErrorsEmail` (NetServer 10.2.7).
    pub errors_email: Option<&'a str>,
}

/// What one transition leaves: an in-app alert, and/or a mail to `recipients`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertPlan {
    pub in_app: bool,
    /// Empty: no mail.
    pub recipients: Vec<String>,
}

/// What `kind` leaves for a webhook with `settings`; None: nothing. NotifyWhen must name the
/// kind; then NotifyVia InApp keeps an alert and NotifyVia Email mails ErrorEmails and the
/// associates. Independently, the obsolete ErrorsEmail is mailed when the webhook is disabled,
/// whatever NotifyVia and NotifyWhen say: joining the 12.0 recipients when they are mailed
/// too (one mail, not two).
pub fn alert_plan(kind: AlertKind, settings: &NotifySettings) -> Option<AlertPlan> {
    let bit = match kind {
        AlertKind::FirstFailure => NotifyWhen::FIRST_FAILURE,
        AlertKind::Disabled => NotifyWhen::DISABLING,
    };
    let asked = settings.when.0 & bit != 0;
    let mut recipients: Vec<String> = Vec::new();
    let mut add = |address: &str| {
        let address = address.trim();
        if !address.is_empty() && !recipients.iter().any(|r| r.eq_ignore_ascii_case(address)) {
            recipients.push(address.to_string());
        }
    };
    if asked && settings.via.email() {
        settings.error_emails.iter().for_each(|a| add(a));
        settings.associate_emails.iter().for_each(|a| add(a));
    }
    if kind == AlertKind::Disabled {
        settings.errors_email.into_iter().for_each(&mut add);
    }
    let in_app = asked && settings.via.in_app();
    (in_app || !recipients.is_empty()).then_some(AlertPlan { in_app, recipients })
}

/// Whether a webhook may ever ask for an e-mail (what `serve` warns about without SMTP).
pub fn asks_for_email(
    via: NotifyVia,
    when: NotifyWhen,
    error_emails: &[String],
    error_associates: &[i32],
    errors_email: Option<&str>,
) -> bool {
    let modern = via.email()
        && when.0 != 0
        && (error_emails.iter().any(|e| !e.trim().is_empty()) || !error_associates.is_empty());
    modern || errors_email.is_some_and(|e| !e.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::WebhookState;
    use crate::domain::outbox::disabled_state;
    use proptest::prelude::*;

    /// Automatic and manual outcomes; a manual one may even claim to be counted: it must
    /// still make no transition.
    fn outcome() -> impl Strategy<Value = Outcome> {
        (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
            |(success, gone, counted, manual)| Outcome {
                success,
                gone: gone && !success,
                counted: counted && !success,
                manual,
            },
        )
    }

    fn settings<'a>(
        via: u8,
        when: u8,
        emails: &'a [String],
        legacy: Option<&'a str>,
    ) -> NotifySettings<'a> {
        NotifySettings {
            via: NotifyVia(via),
            when: NotifyWhen(when),
            error_emails: emails,
            associate_emails: &[],
            errors_email: legacy,
        }
    }

    proptest! {
        /// Over any run of outcomes from Active, a first-failure transition comes exactly when
        /// a counted failure ends a success streak (or starts the run), and a disabled one
        /// exactly once, when the webhook becomes TooManyErrors.
        #[test]
        fn each_transition_is_reported_once(
            outcomes in prop::collection::vec(outcome(), 0..40),
            limit in 1i32..6,
        ) {
            let (mut state, mut consecutive) = (WebhookState::Active, 0);
            let (mut healthy, mut firsts, mut disabled) = (true, 0, 0);
            let (mut want_firsts, mut want_disabled) = (0, 0);
            for o in &outcomes {
                consecutive = o.usage_change().consecutive_after(consecutive);
                let switched = disabled_state(state, o.disables(consecutive, limit));
                if let Some(next) = switched {
                    state = next;
                    want_disabled += 1;
                }
                if o.manual {
                    // counts nowhere, changes nothing
                } else if o.success {
                    healthy = true;
                } else if o.counted && healthy {
                    healthy = false;
                    want_firsts += 1;
                }
                for kind in transitions(o, consecutive, switched.is_some()) {
                    match kind {
                        AlertKind::FirstFailure => firsts += 1,
                        AlertKind::Disabled => disabled += 1,
                    }
                }
            }
            prop_assert_eq!(firsts, want_firsts);
            prop_assert_eq!(disabled, want_disabled);
            prop_assert!(disabled <= 1);
        }

        /// An alert is kept or mailed only as NotifyWhen and NotifyVia ask, or for the
        /// obsolete ErrorsEmail when disabled; never a recipient twice.
        #[test]
        fn a_plan_follows_the_settings(via in 0u8..4, when in 0u8..4, legacy in any::<bool>(), disabled in any::<bool>()) {
            let emails = vec!["ops@example.com".to_string(), "OPS@example.com".to_string()];
            let kind = if disabled { AlertKind::Disabled } else { AlertKind::FirstFailure };
            let bit = if disabled { NotifyWhen::DISABLING } else { NotifyWhen::FIRST_FAILURE };
            let s = settings(via, when, &emails, legacy.then_some("old@example.com"));
            let plan = alert_plan(kind, &s);
            let asked = when & bit != 0;
            let modern_mail = asked && via & NotifyVia::EMAIL != 0;
            let legacy_mail = disabled && legacy;
            let in_app = asked && via & NotifyVia::IN_APP != 0;
            prop_assert_eq!(plan.is_some(), in_app || modern_mail || legacy_mail);
            if let Some(plan) = plan {
                prop_assert_eq!(plan.in_app, in_app);
                let want = usize::from(modern_mail) + usize::from(legacy_mail);
                prop_assert_eq!(plan.recipients.len(), want);
            }
        }
    }

    #[test]
    fn errors_email_alone_mails_only_when_disabled() {
        let s = settings(0, 0, &[], Some("old@example.com"));
        assert_eq!(alert_plan(AlertKind::FirstFailure, &s), None);
        assert_eq!(
            alert_plan(AlertKind::Disabled, &s),
            Some(AlertPlan {
                in_app: false,
                recipients: vec!["old@example.com".into()]
            })
        );
        assert!(asks_for_email(
            NotifyVia(0),
            NotifyWhen(0),
            &[],
            &[],
            Some("old@example.com")
        ));
        assert!(!asks_for_email(
            NotifyVia(1),
            NotifyWhen(0),
            &["a@b".into()],
            &[],
            None
        ));
        assert!(asks_for_email(NotifyVia(1), NotifyWhen(2), &[], &[7], None));
    }

    #[test]
    fn a_410_on_a_first_failure_is_both_transitions() {
        let gone = Outcome {
            success: false,
            gone: true,
            counted: true,
            manual: false,
        };
        assert_eq!(
            transitions(&gone, 1, true),
            vec![AlertKind::FirstFailure, AlertKind::Disabled]
        );
        let uncounted = Outcome {
            success: false,
            gone: false,
            counted: false,
            manual: false,
        };
        assert!(transitions(&uncounted, 0, false).is_empty());
        assert_eq!(AlertKind::parse("disabled"), Some(AlertKind::Disabled));
    }
}
