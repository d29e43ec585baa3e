//! Probing: what this node knows of each receiver's health, so that a blip cannot disable a
//! webhook (docs/DELIVERY.md, "Probing").
//!
//! After a failed attempt a webhook is *probing*: one delivery (the probe) goes on with its
//! retry cycle, every other one waits, uncounted, until an attempt succeeds. A failure counts in
//! `ConsecutiveErrors` only if no counted failure came since its attempt started: attempts that
//! were already in flight when the receiver's first failure came add nothing. So
//! `ConsecutiveErrors` grows by at most one per probe attempt and counts the receiver's failures
//! over time, as NetServer's sequential sender does.
//!
//! A webhook whose deliveries are ordered per record (docs/DELIVERY.md, "Ordered delivery")
//! also lets one delivery of another record try while probing, a *scout*: one record the
//! receiver keeps refusing must not hold back the others. A scout's success ends probing; its
//! failure counts nowhere and no other scout goes until the probe's next attempt (so a
//! receiver that is down gets at most one scout per probe attempt).
//!
//! The state is per node and in memory: after a restart a webhook starts healthy. On
//! PostgreSQL one node at a time serves a webhook, so its probing is the cluster's.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::domain::Millis;
use crate::store::ClaimCaps;

/// One receiver's health on this node.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct ReceiverHealth {
    /// The generation of this receiver's last counted failure (0: none remembered). An attempt
    /// that started before it was in flight when that failure came.
    last_counted: u64,
    /// Probing: a failure came and no attempt has succeeded since.
    probing: bool,
    /// The delivery that probes, while its cycle runs.
    probe: Option<i64>,
    /// No probe before this (backoff after the probe's cycle failed); a scout may go.
    not_before: Millis,
    /// No attempt at all before this: the receiver's `Retry-After`.
    hold_until: Millis,
    /// Scouts are allowed while probing (its webhook orders deliveries per record).
    scouting: bool,
    /// The delivery scouting now.
    scout: Option<i64>,
    /// A scout failed since the probe's last attempt: no other one until the next.
    scout_failed: bool,
}

impl ReceiverHealth {
    /// Whether a scout may start now.
    fn scout_may_go(&self) -> bool {
        self.scouting && self.scout.is_none() && !self.scout_failed
    }
}

/// What an attempt must present when it ends: the generation it started in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptTicket(u64);

/// The health of every receiver with something to remember (healthy ones are forgotten, so
/// the map holds only webhooks that failed recently).
#[derive(Debug, Default)]
pub struct Probing {
    receivers: Mutex<HashMap<i32, ReceiverHealth>>,
    /// Counts counted failures of every receiver; it never goes back, so a ticket from before
    /// a success cannot pass for one started after a later failure.
    generation: std::sync::atomic::AtomicU64,
}

impl Probing {
    fn with<T>(&self, webhook: i32, f: impl FnOnce(&mut ReceiverHealth) -> T) -> T {
        let mut map = self.receivers.lock().unwrap_or_else(|e| e.into_inner());
        let health = map.entry(webhook).or_default();
        let out = f(health);
        if *health == ReceiverHealth::default() {
            map.remove(&webhook);
        }
        out
    }

    /// Whether delivery `delivery` of `webhook` may make an attempt at `now`: `None` when
    /// another delivery is probing (this one waits in the queue, uncounted), unless it may
    /// scout.
    pub fn begin(&self, webhook: i32, delivery: i64, now: Millis) -> Option<AttemptTicket> {
        self.with(webhook, |h| {
            // Read under the lock, as `failed` bumps it: no failure slips in between.
            let ticket = AttemptTicket(self.generation.load(std::sync::atomic::Ordering::SeqCst));
            if h.hold_until > now {
                return None;
            }
            let probes = match h.probe {
                Some(probe) => probe == delivery,
                // A probe starts only once the last one's backoff is over.
                None => !h.probing || h.not_before <= now,
            };
            if probes {
                if h.probing {
                    h.probe = Some(delivery);
                    h.scout_failed = false; // a new probe attempt: a scout may follow it
                }
                Some(ticket)
            } else if h.scout == Some(delivery) || h.scout_may_go() {
                h.scout = Some(delivery);
                Some(ticket)
            } else {
                None
            }
        })
    }

    /// An attempt succeeded: the receiver is healthy again.
    pub fn succeeded(&self, webhook: i32) {
        // A healthy receiver needs no memory at all.
        self.with(webhook, |h| *h = ReceiverHealth::default());
    }

    /// An attempt of `delivery` failed. Returns whether the failure counts in
    /// `ConsecutiveErrors`; a counted failure makes `delivery` the probe, and with `scouts`
    /// (its webhook orders per record) lets scouts go while probing.
    pub fn failed(&self, webhook: i32, delivery: i64, ticket: AttemptTicket, scouts: bool) -> bool {
        self.with(webhook, |h| {
            if h.scout == Some(delivery) {
                h.scout = None;
                h.scout_failed = true;
                return false;
            }
            let counted = ticket.0 >= h.last_counted && h.probe.is_none_or(|p| p == delivery);
            if counted {
                h.last_counted = self
                    .generation
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
                    + 1;
                h.probing = true;
                h.probe = Some(delivery);
                h.scouting = scouts;
            }
            counted
        })
    }

    /// `delivery` leaves its cycle back to the queue after a failure, due at `due`. When it
    /// was the probe, no other probe starts before then; `wait_until` (a `Retry-After`) holds
    /// every delivery of the webhook back.
    pub fn requeued(&self, webhook: i32, delivery: i64, due: Millis, wait_until: Option<Millis>) {
        self.with(webhook, |h| {
            if h.probe == Some(delivery) {
                h.probe = None;
                h.not_before = h.not_before.max(due);
            }
            if h.scout == Some(delivery) {
                h.scout = None;
            }
            if let Some(until) = wait_until {
                h.hold_until = h.hold_until.max(until);
            }
        });
    }

    /// `delivery` ended its cycle without a verdict (stopped, shutting down): it no longer
    /// probes, and the next claim may pick a probe.
    pub fn abandoned(&self, webhook: i32, delivery: i64) {
        self.with(webhook, |h| {
            if h.probe == Some(delivery) {
                h.probe = None;
            }
            if h.scout == Some(delivery) {
                h.scout = None;
            }
        });
    }

    /// Forgets the receiver's health: its webhook is no longer Active, and a restart (by an
    /// operator, maybe on another node) must find its deliveries due at once.
    pub fn forget(&self, webhook: i32) {
        let mut map = self.receivers.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(&webhook);
    }

    /// The claim caps as of `now`: 1 for a probing webhook (one more while a scout may go),
    /// 0 for one that must wait.
    pub fn caps(&self, per_webhook: usize, now: Millis) -> ClaimCaps {
        let mut map = self.receivers.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, h| h.probing || h.not_before > now || h.hold_until > now);
        let overrides = map
            .iter()
            .map(|(id, h)| {
                let cap = if h.hold_until > now {
                    0
                } else {
                    usize::from(h.not_before <= now) + usize::from(h.scout_may_go())
                };
                (*id, cap.min(per_webhook))
            })
            .collect();
        ClaimCaps {
            per_webhook,
            overrides,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn attempts_in_flight_at_the_first_failure_do_not_count() {
        let p = Probing::default();
        let tickets: Vec<_> = (1..=8).map(|d| p.begin(7, d, 0).unwrap()).collect();
        assert!(
            p.failed(7, 1, tickets[0], false),
            "the first failure counts"
        );
        for (d, t) in (2..=8).zip(&tickets[1..]) {
            assert!(
                !p.failed(7, d, *t, false),
                "delivery {d} was already in flight"
            );
        }
        assert_eq!(p.caps(8, 0).of(7), 1, "probing: one at a time");
        assert_eq!(p.begin(7, 2, 0), None, "another delivery waits");
        let retry = p.begin(7, 1, 0).expect("the probe goes on");
        assert!(p.failed(7, 1, retry, false), "the probe's own retry counts");
        p.succeeded(7);
        assert_eq!(p.caps(8, 0).of(7), 8, "healthy: full concurrency");
        assert!(p.receivers.lock().unwrap().is_empty(), "nothing remembered");
    }

    #[test]
    fn a_failed_probe_cycle_holds_the_webhook_until_its_backoff_ends() {
        let p = Probing::default();
        let t = p.begin(3, 10, 0).unwrap();
        assert!(p.failed(3, 10, t, false));
        p.requeued(3, 10, 60_000, None);
        assert_eq!(
            p.caps(8, 1_000).of(3),
            0,
            "nobody calls it during the backoff"
        );
        assert_eq!(p.caps(8, 60_000).of(3), 1, "then one probe");
        let t = p.begin(3, 11, 60_000).expect("another delivery may probe");
        assert!(p.failed(3, 11, t, false));
    }

    #[test]
    fn a_disabled_webhook_is_forgotten_so_a_restart_delivers_at_once() {
        let p = Probing::default();
        let t = p.begin(5, 1, 0).unwrap();
        assert!(p.failed(5, 1, t, false));
        p.requeued(5, 1, 43_200_000, None);
        assert_eq!(p.caps(8, 1_000).of(5), 0);
        p.forget(5);
        assert_eq!(p.caps(8, 1_000).of(5), 8);
    }

    #[test]
    fn retry_after_holds_every_delivery_back() {
        let p = Probing::default();
        let t = p.begin(4, 1, 0).unwrap();
        let t2 = p.begin(4, 2, 0).unwrap();
        assert!(p.failed(4, 1, t, false));
        assert!(!p.failed(4, 2, t2, false));
        p.requeued(4, 2, 500, Some(30_000));
        assert_eq!(p.caps(8, 10_000).of(4), 0);
    }

    #[test]
    fn an_ordered_webhook_lets_one_scout_try_while_probing() {
        let p = Probing::default();
        let t = p.begin(6, 1, 0).unwrap();
        assert!(p.failed(6, 1, t, true), "the probe's failure counts");
        assert_eq!(p.caps(8, 0).of(6), 2, "the probe and one scout");
        let scout = p.begin(6, 2, 0).expect("another record scouts");
        assert_eq!(p.begin(6, 3, 0), None, "one scout at a time");
        assert!(
            !p.failed(6, 2, scout, true),
            "a scout's failure counts nowhere"
        );
        assert_eq!(p.begin(6, 3, 0), None, "no scout after a failed one...");
        assert_eq!(p.caps(8, 0).of(6), 1);
        let retry = p.begin(6, 1, 0).expect("the probe goes on");
        let scout = p.begin(6, 3, 0).expect("...until the probe's next attempt");
        assert!(p.failed(6, 1, retry, true));
        p.requeued(6, 1, 60_000, None);
        assert_eq!(p.caps(8, 1_000).of(6), 0, "backoff, a scout out");
        p.succeeded(6); // the scout got through: the receiver takes the other records
        assert_eq!(p.caps(8, 1_000).of(6), 8);
        assert!(p.begin(6, 4, 1_000).is_some());
        let _ = scout;
    }

    #[test]
    fn a_scout_may_go_during_the_probes_backoff_but_not_during_retry_after() {
        let p = Probing::default();
        let t = p.begin(2, 1, 0).unwrap();
        assert!(p.failed(2, 1, t, true));
        p.requeued(2, 1, 60_000, None);
        assert_eq!(p.caps(8, 1_000).of(2), 1, "only a scout");
        let scout = p.begin(2, 5, 1_000).expect("a scout");
        assert_eq!(p.begin(2, 6, 1_000), None, "no probe during the backoff");
        assert!(
            !p.failed(2, 5, scout, true),
            "a scout's failure counts nowhere"
        );
        p.requeued(2, 5, 2_000, Some(30_000));
        assert_eq!(p.caps(8, 1_000).of(2), 0);
        assert_eq!(
            p.begin(2, 6, 20_000),
            None,
            "Retry-After holds every delivery"
        );
        assert_eq!(p.caps(8, 60_000).of(2), 1, "then one probe");
    }

    #[test]
    fn an_unordered_webhook_never_scouts() {
        let p = Probing::default();
        let t = p.begin(9, 1, 0).unwrap();
        assert!(p.failed(9, 1, t, false));
        assert_eq!(p.caps(8, 0).of(9), 1);
        assert_eq!(p.begin(9, 2, 0), None);
    }

    proptest! {
        /// However attempts of several deliveries interleave: while probing at most one
        /// attempt is started at a time, and each counted failure needs an attempt started
        /// after the previous counted one (so a burst in flight counts once).
        #[test]
        fn probing_serialises_attempts_and_counts_each_failure_once(
            ops in proptest::collection::vec((0i64..6, 0u8..3), 1..300)
        ) {
            let p = Probing::default();
            let mut open: HashMap<i64, AttemptTicket> = HashMap::new();
            let mut probing = false;
            let mut begun_while_probing: std::collections::HashSet<i64> = Default::default();
            let mut begun_since_counted = 1u32;
            for (delivery, action) in ops {
                match (action, open.remove(&delivery)) {
                    (0, None) => {
                        if let Some(t) = p.begin(1, delivery, 0) {
                            open.insert(delivery, t);
                            begun_since_counted += 1;
                            if probing {
                                begun_while_probing.insert(delivery);
                            }
                        }
                    }
                    (1, Some(ticket)) => {
                        begun_while_probing.remove(&delivery);
                        if p.failed(1, delivery, ticket, false) {
                            prop_assert!(begun_since_counted >= 1, "a counted failure without a new attempt");
                            begun_since_counted = 0;
                            probing = true;
                        }
                    }
                    (2, Some(_)) => {
                        begun_while_probing.remove(&delivery);
                        p.succeeded(1);
                        probing = false;
                        // A success ends the episode: the next failure is a first one again.
                        begun_since_counted = 1;
                        begun_while_probing.clear();
                    }
                    (_, Some(ticket)) => { open.insert(delivery, ticket); }
                    (_, None) => {}
                }
                prop_assert!(begun_while_probing.len() <= 1, "{:?}", begun_while_probing);
            }
        }
    }
}
