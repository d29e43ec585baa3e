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
    /// No attempt before this (backoff after the probe's cycle failed, or `Retry-After`).
    not_before: Millis,
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

    /// Whether delivery `delivery` of `webhook` may make an attempt now: `None` when another
    /// delivery is probing (this one waits in the queue, uncounted).
    pub fn begin(&self, webhook: i32, delivery: i64) -> Option<AttemptTicket> {
        self.with(webhook, |h| match h.probe {
            Some(probe) if probe != delivery => None,
            _ => {
                if h.probing {
                    h.probe = Some(delivery);
                }
                Some(AttemptTicket(
                    self.generation.load(std::sync::atomic::Ordering::SeqCst),
                ))
            }
        })
    }

    /// An attempt succeeded: the receiver is healthy again.
    pub fn succeeded(&self, webhook: i32) {
        // A healthy receiver needs no memory at all.
        self.with(webhook, |h| *h = ReceiverHealth::default());
    }

    /// An attempt of `delivery` failed. Returns whether the failure counts in
    /// `ConsecutiveErrors`; a counted failure makes `delivery` the probe.
    pub fn failed(&self, webhook: i32, delivery: i64, ticket: AttemptTicket) -> bool {
        self.with(webhook, |h| {
            let counted = ticket.0 >= h.last_counted && h.probe.is_none_or(|p| p == delivery);
            if counted {
                h.last_counted = self
                    .generation
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
                    + 1;
                h.probing = true;
                h.probe = Some(delivery);
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
            if let Some(until) = wait_until {
                h.not_before = h.not_before.max(until);
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
        });
    }

    /// Forgets the receiver's health: its webhook is no longer Active, and a restart (by an
    /// operator, maybe on another node) must find its deliveries due at once.
    pub fn forget(&self, webhook: i32) {
        let mut map = self.receivers.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(&webhook);
    }

    /// The claim caps as of `now`: 1 for a probing webhook, 0 for one that must wait.
    pub fn caps(&self, per_webhook: usize, now: Millis) -> ClaimCaps {
        let mut map = self.receivers.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, h| h.probing || h.not_before > now);
        let overrides = map
            .iter()
            .map(|(id, h)| {
                let cap = if h.not_before > now {
                    0
                } else {
                    1.min(per_webhook)
                };
                (*id, cap)
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
        let tickets: Vec<_> = (1..=8).map(|d| p.begin(7, d).unwrap()).collect();
        assert!(p.failed(7, 1, tickets[0]), "the first failure counts");
        for (d, t) in (2..=8).zip(&tickets[1..]) {
            assert!(!p.failed(7, d, *t), "delivery {d} was already in flight");
        }
        assert_eq!(p.caps(8, 0).of(7), 1, "probing: one at a time");
        assert_eq!(p.begin(7, 2), None, "another delivery waits");
        let retry = p.begin(7, 1).expect("the probe goes on");
        assert!(p.failed(7, 1, retry), "the probe's own retry counts");
        p.succeeded(7);
        assert_eq!(p.caps(8, 0).of(7), 8, "healthy: full concurrency");
        assert!(p.receivers.lock().unwrap().is_empty(), "nothing remembered");
    }

    #[test]
    fn a_failed_probe_cycle_holds_the_webhook_until_its_backoff_ends() {
        let p = Probing::default();
        let t = p.begin(3, 10).unwrap();
        assert!(p.failed(3, 10, t));
        p.requeued(3, 10, 60_000, None);
        assert_eq!(
            p.caps(8, 1_000).of(3),
            0,
            "nobody calls it during the backoff"
        );
        assert_eq!(p.caps(8, 60_000).of(3), 1, "then one probe");
        let t = p.begin(3, 11).expect("another delivery may probe");
        assert!(p.failed(3, 11, t));
    }

    #[test]
    fn a_disabled_webhook_is_forgotten_so_a_restart_delivers_at_once() {
        let p = Probing::default();
        let t = p.begin(5, 1).unwrap();
        assert!(p.failed(5, 1, t));
        p.requeued(5, 1, 43_200_000, None);
        assert_eq!(p.caps(8, 1_000).of(5), 0);
        p.forget(5);
        assert_eq!(p.caps(8, 1_000).of(5), 8);
    }

    #[test]
    fn retry_after_holds_every_delivery_back() {
        let p = Probing::default();
        let t = p.begin(4, 1).unwrap();
        let t2 = p.begin(4, 2).unwrap();
        assert!(p.failed(4, 1, t));
        assert!(!p.failed(4, 2, t2));
        p.requeued(4, 2, 500, Some(30_000));
        assert_eq!(p.caps(8, 10_000).of(4), 0);
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
                        if let Some(t) = p.begin(1, delivery) {
                            open.insert(delivery, t);
                            begun_since_counted += 1;
                            if probing {
                                begun_while_probing.insert(delivery);
                            }
                        }
                    }
                    (1, Some(ticket)) => {
                        begun_while_probing.remove(&delivery);
                        if p.failed(1, delivery, ticket) {
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
