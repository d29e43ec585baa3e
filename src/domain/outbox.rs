//! The outbox's rules, with no SQL and no I/O: which webhooks take and send deliveries, what an
//! attempt does to a webhook's counters and state, what a restart resets, what happens to a
//! delivery after an attempt, and how many deliveries a claim may lease. Both store backends
//! bind these into their SQL; changing a rule is a change here (docs/DELIVERY.md describes them).

use std::collections::HashMap;

use super::{Millis, WebhookState};

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
    /// Queued behind an unfinished delivery of the same record (`DeliveryOrder::PerRecord`):
    /// not claimable until that one is done (docs/DELIVERY.md, "Ordered delivery").
    Waiting = 3,
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
    /// An operator's Retry that failed: the delivery stays as it was (queued, parked or dead),
    /// lease included.
    Unchanged,
}

/// A delivery's new status and, when it is due again at another time, when: what the store
/// writes (releasing the lease) after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settled {
    pub status: DeliveryStatus,
    pub due: Option<Millis>,
}

impl Disposition {
    /// Whether the delivery leaves the queue for good (delivered or dead): the next delivery
    /// of its record may go (docs/DELIVERY.md, "Ordered delivery").
    pub fn finishes(self) -> bool {
        matches!(self, Disposition::Delivered | Disposition::Dead)
    }

    /// The delivery's fate, or None while a retry within the cycle keeps its lease.
    pub fn settled(self) -> Option<Settled> {
        let (status, due) = match self {
            Disposition::Delivered => (DeliveryStatus::Delivered, None),
            Disposition::Requeue { due } => (DeliveryStatus::Pending, Some(due)),
            Disposition::Dead => (DeliveryStatus::Dead, None),
            Disposition::KeepLease | Disposition::Unchanged => return None,
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
    /// Asked for by an operator (Retry, Recover): it changes no counter of the webhook and
    /// never disables it; only a restart does that (docs/DELIVERY.md, Retry and Recover).
    pub manual: bool,
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
    /// No change: a manual attempt's.
    pub const NONE: UsageChange = UsageChange {
        calls: 0,
        errors: 0,
        reset_consecutive: false,
        add_consecutive: 0,
    };

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
        if self.manual {
            return UsageChange::NONE;
        }
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
        !self.success
            && !self.manual
            && (self.gone || (self.counted && consecutive_after >= failures_to_disable))
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn automatic() -> impl Strategy<Value = Outcome> {
        (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(success, gone, counted)| Outcome {
            success,
            gone: gone && !success,
            counted: counted && !success,
            manual: false,
        })
    }

    fn manual() -> impl Strategy<Value = Outcome> {
        automatic().prop_map(|o| Outcome { manual: true, ..o })
    }

    proptest! {
        /// From Active, a run of outcomes disables the webhook exactly when one of them is a
        /// 410, or `limit` counted failures come with no success between them; after that it
        /// stays TooManyErrors.
        #[test]
        fn n_counted_failures_in_a_row_or_a_410_disable(
            outcomes in prop::collection::vec(automatic(), 0..40),
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

        /// Manual attempts interleaved with automatic ones change nothing: the webhook's
        /// counters and state are those of the automatic ones alone.
        #[test]
        fn manual_attempts_never_count_nor_disable(
            outcomes in prop::collection::vec(prop_oneof![automatic(), manual()], 0..40),
            limit in 1i32..6,
        ) {
            let run = |only_automatic: bool| {
                let (mut state, mut consecutive, mut calls) = (WebhookState::Active, 0, 0);
                for o in outcomes.iter().filter(|o| !(only_automatic && o.manual)) {
                    let change = o.usage_change();
                    calls += change.calls;
                    consecutive = change.consecutive_after(consecutive);
                    if let Some(next) = disabled_state(state, o.disables(consecutive, limit)) {
                        state = next;
                    }
                }
                (state, consecutive, calls)
            };
            prop_assert_eq!(run(false), run(true));
        }

        /// Every automatic attempt is a call; every failure, counted or not, is an error.
        #[test]
        fn every_attempt_is_a_call_and_every_failure_an_error(o in automatic()) {
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
        assert_eq!(Disposition::Unchanged.settled(), None);
        assert_eq!(
            Disposition::Requeue { due: 5 }.settled(),
            Some(Settled {
                status: DeliveryStatus::Pending,
                due: Some(5)
            })
        );
    }
}
