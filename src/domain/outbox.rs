//! The outbox's rules, with no SQL and no I/O: which webhooks take and send deliveries, what an
//! attempt does to a webhook's counters and state, what a restart resets, what happens to a
//! delivery after an attempt, and how many deliveries a claim may lease. Both store backends
//! bind these into their SQL; changing a rule is a change here (docs/DELIVERY.md describes them).

use std::collections::HashMap;

use super::{Millis, NotifyVia, NotifyWhen, WebhookState};

/// The states whose webhooks take new deliveries: Active ones, and TooManyErrors ones, whose
/// deliveries wait parked until a restart instead of being lost. A Stopped webhook was stopped
/// on purpose and gets none.
pub const TAKES_DELIVERIES: [WebhookState; 2] = [WebhookState::Active, WebhookState::TooManyErrors];

/// The one state whose deliveries are claimed and sent.
pub const SENDS: WebhookState = WebhookState::Active;

/// A delivery row's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    Pending = 0,
    Delivered = 1,
    Dead = 2,
}

/// What happens to a delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Done: the target answered 2xx.
    Delivered,
    /// Failed, retried within the cycle: keep the lease.
    KeepLease,
    /// The cycle failed: back in the queue, due then.
    Requeue { due: Millis },
    /// Past the retention window: to the dead-letter list.
    Dead,
}

/// A delivery's new status and, when it is due again at another time, when: what the store
/// writes (releasing the lease) after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settled {
    pub status: DeliveryStatus,
    pub due: Option<Millis>,
}

impl Disposition {
    /// The delivery's fate, or None while a retry within the cycle keeps its lease.
    pub fn settled(self) -> Option<Settled> {
        let (status, due) = match self {
            Disposition::Delivered => (DeliveryStatus::Delivered, None),
            Disposition::Requeue { due } => (DeliveryStatus::Pending, Some(due)),
            Disposition::Dead => (DeliveryStatus::Dead, None),
            Disposition::KeepLease => return None,
        };
        Some(Settled { status, due })
    }
}

/// What an attempt did, as the rules see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub success: bool,
    /// The target answered `410 Gone`.
    pub gone: bool,
    /// A failure that adds to `ConsecutiveErrors` (attempts already in flight when the
    /// receiver's first failure came count only in `TotalErrors`: docs/DELIVERY.md, probing).
    pub counted: bool,
}

/// How attempts change a webhook's usage counters: `TotalCalls` grows by `calls`,
/// `TotalErrors` by `errors`, and `ConsecutiveErrors` is reset or grows by `add_consecutive`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsageChange {
    pub calls: i32,
    pub errors: i32,
    pub reset_consecutive: bool,
    pub add_consecutive: i32,
}

impl UsageChange {
    /// `calls` successful attempts: counted as calls, and the failure streak ends.
    pub fn successes(calls: i32) -> UsageChange {
        UsageChange {
            calls,
            errors: 0,
            reset_consecutive: true,
            add_consecutive: 0,
        }
    }

    /// `ConsecutiveErrors` after this change, from `before`. The store computes this in its
    /// UPDATE (`store/outbox_sql.rs`, from `reset_consecutive` and `add_consecutive`); this is
    /// that statement's model, which the property tests below check the rules against.
    #[cfg(test)]
    pub fn consecutive_after(&self, before: i32) -> i32 {
        if self.reset_consecutive {
            0
        } else {
            before.saturating_add(self.add_consecutive)
        }
    }
}

impl Outcome {
    /// The counters this one attempt changes.
    pub fn usage_change(&self) -> UsageChange {
        if self.success {
            return UsageChange::successes(1);
        }
        UsageChange {
            calls: 1,
            errors: 1,
            reset_consecutive: false,
            add_consecutive: i32::from(self.counted),
        }
    }

    /// Whether this attempt disables its webhook, given `ConsecutiveErrors` after it: a 410,
    /// or a counted failure that reaches `failures_to_disable` in a row.
    pub fn disables(&self, consecutive_after: i32, failures_to_disable: i32) -> bool {
        !self.success && (self.gone || (self.counted && consecutive_after >= failures_to_disable))
    }
}

/// The state a webhook in `current` moves to when an attempt `disables` it: only an Active
/// webhook becomes TooManyErrors (once, however many attempts race to it); None: unchanged.
pub fn disabled_state(current: WebhookState, disables: bool) -> Option<WebhookState> {
    (disables && current == WebhookState::Active).then_some(WebhookState::TooManyErrors)
}

/// Whether saving a webhook that was in `before` (None: no such webhook) with state `after`
/// restarts it. A restart starts clean: `ConsecutiveErrors` goes back to 0 and the deliveries
/// parked while it was not Active are due at once.
pub fn restarts(before: Option<WebhookState>, after: WebhookState) -> bool {
    before.is_some_and(|s| s != WebhookState::Active) && after == WebhookState::Active
}

/// How many deliveries of each webhook may be leased at once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClaimCaps {
    /// The cap of every webhook not in `overrides` (`--per-webhook-in-flight`).
    pub per_webhook: usize,
    /// Webhooks with a cap of their own: 1 while probing a failing receiver, 0 while it must
    /// not be called (backoff, `Retry-After`).
    pub overrides: HashMap<i32, usize>,
}

impl ClaimCaps {
    pub fn of(&self, webhook_id: i32) -> i64 {
        let cap = self
            .overrides
            .get(&webhook_id)
            .copied()
            .unwrap_or(self.per_webhook);
        i64::try_from(cap).unwrap_or(i64::MAX)
    }

    /// How many more deliveries of `webhook_id` a claim may lease, with `leased` already in
    /// flight and room for `left` more in the claim (0 or less: none).
    pub fn room(&self, webhook_id: i32, leased: i64, left: i64) -> i64 {
        (self.of(webhook_id) - leased).min(left)
    }
}

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
    if !outcome.success && outcome.counted && consecutive_after == 1 {
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
    use proptest::prelude::*;

    fn outcome() -> impl Strategy<Value = Outcome> {
        (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(success, gone, counted)| Outcome {
            success,
            gone: gone && !success,
            counted: counted && !success,
        })
    }

    proptest! {
        /// From Active, a run of outcomes disables the webhook exactly when one of them is a
        /// 410, or `limit` counted failures come with no success between them; after that it
        /// stays TooManyErrors.
        #[test]
        fn n_counted_failures_in_a_row_or_a_410_disable(
            outcomes in prop::collection::vec(outcome(), 0..40),
            limit in 1i32..6,
        ) {
            let (mut state, mut consecutive) = (WebhookState::Active, 0);
            let (mut streak, mut expect_disabled) = (0, false);
            for o in &outcomes {
                consecutive = o.usage_change().consecutive_after(consecutive);
                if let Some(next) = disabled_state(state, o.disables(consecutive, limit)) {
                    state = next;
                }
                if o.success { streak = 0 } else if o.counted { streak += 1 }
                expect_disabled |= o.gone || streak >= limit;
                prop_assert_eq!(consecutive, streak);
            }
            let want = if expect_disabled { WebhookState::TooManyErrors } else { WebhookState::Active };
            prop_assert_eq!(state, want);
        }

        /// Every attempt is a call; every failure, counted or not, is an error.
        #[test]
        fn every_attempt_is_a_call_and_every_failure_an_error(o in outcome()) {
            let change = o.usage_change();
            prop_assert_eq!(change.calls, 1);
            prop_assert_eq!(change.errors, i32::from(!o.success));
            prop_assert!(!o.success || !o.disables(i32::MAX, 1));
        }

        /// A Stopped webhook never becomes TooManyErrors, and only a save to Active from
        /// another state restarts it.
        #[test]
        fn only_active_is_disabled_and_only_a_save_to_active_restarts(
            before in 0i64..4, after in 0i64..4, disables in any::<bool>(),
        ) {
            let (before, after) = (WebhookState::from_number(before), WebhookState::from_number(after));
            prop_assert_eq!(
                disabled_state(before, disables).is_some(),
                disables && before == WebhookState::Active
            );
            prop_assert_eq!(
                restarts(Some(before), after),
                before != WebhookState::Active && after == WebhookState::Active
            );
            prop_assert!(!restarts(None, after));
        }

        /// A claim never leases more than the webhook's cap in all, nor more than it has room for.
        #[test]
        fn a_claim_stays_within_the_caps(
            per_webhook in 0usize..8, own in prop::option::of(0usize..3),
            leased in 0i64..10, left in 0i64..20,
        ) {
            let mut caps = ClaimCaps { per_webhook, overrides: HashMap::new() };
            if let Some(cap) = own { caps.overrides.insert(7, cap); }
            let take = caps.room(7, leased, left).max(0);
            prop_assert!(take <= left);
            prop_assert!(leased + take <= caps.of(7).max(leased));
        }
    }

    #[test]
    fn stopped_webhooks_take_no_deliveries_and_only_active_ones_send() {
        assert!(TAKES_DELIVERIES.contains(&WebhookState::Active));
        assert!(TAKES_DELIVERIES.contains(&WebhookState::TooManyErrors));
        assert!(!TAKES_DELIVERIES.contains(&WebhookState::Stopped));
        assert_eq!(SENDS, WebhookState::Active);
        assert_eq!(Disposition::KeepLease.settled(), None);
        assert_eq!(
            Disposition::Requeue { due: 5 }.settled(),
            Some(Settled {
                status: DeliveryStatus::Pending,
                due: Some(5)
            })
        );
    }
}

#[cfg(test)]
mod alert_tests {
    use super::*;
    use proptest::prelude::*;

    fn outcome() -> impl Strategy<Value = Outcome> {
        (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(success, gone, counted)| Outcome {
            success,
            gone: gone && !success,
            counted: counted && !success,
        })
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
                if o.success {
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
        };
        assert_eq!(
            transitions(&gone, 1, true),
            vec![AlertKind::FirstFailure, AlertKind::Disabled]
        );
        let uncounted = Outcome {
            success: false,
            gone: false,
            counted: false,
        };
        assert!(transitions(&uncounted, 0, false).is_empty());
        assert_eq!(AlertKind::parse("disabled"), Some(AlertKind::Disabled));
    }
}
