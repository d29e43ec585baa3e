//! What a node holds and sends, webhook by webhook (docs/DELIVERY.md, "Concurrency"):
//! - how many deliveries of each webhook it holds leased ([`Holding`]), so a claim only tops
//!   each up to its share ([`PREFETCH`] times the per-webhook cap);
//! - a send slot per request in flight to a webhook (`per_webhook_in_flight` of them), and a
//!   global permit per attempt not yet recorded (`max_in_flight`), taken together as a
//!   [`Turn`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

use super::probing::Probing;
use crate::domain::Millis;
use crate::store::ClaimCaps;

/// How many deliveries a node holds per send slot: the claim leases this many times the
/// per-webhook cap, so a slot that frees finds its next delivery in memory rather than
/// behind a claim's round trip.
pub(super) const PREFETCH: usize = 4;

/// Webhooks remembered in the slot map before idle ones are swept out of it.
const SLOTS_SWEEP_AT: usize = 256;

/// What this node holds and sends.
pub(super) struct Capacity {
    /// Requests to one webhook at once.
    per_webhook: usize,
    /// Attempts started and not yet recorded, over all webhooks: bounds what the node has
    /// sent but not yet written down (what a crash can make it repeat).
    unrecorded: Arc<Semaphore>,
    /// One semaphore of `per_webhook` permits per webhook with a request out or waiting.
    slots: Mutex<HashMap<i32, Arc<Semaphore>>>,
    /// Deliveries held per webhook (the store does not count leases: this node knows).
    held: Arc<Mutex<HashMap<i32, usize>>>,
}

/// A delivery's turn to send: its webhook's slot and a global permit.
pub(super) struct Turn {
    pub(super) slot: OwnedSemaphorePermit,
    pub(super) unrecorded: OwnedSemaphorePermit,
}

/// A delivery held by this node, counted in [`Capacity`] while it lives.
pub(super) struct Holding {
    held: Arc<Mutex<HashMap<i32, usize>>>,
    webhook_id: i32,
}

impl Capacity {
    pub(super) fn new(max_in_flight: usize, per_webhook: usize) -> Capacity {
        Capacity {
            per_webhook: per_webhook.max(1),
            unrecorded: Arc::new(Semaphore::new(max_in_flight.max(1))),
            slots: Mutex::default(),
            held: Arc::default(),
        }
    }

    /// The claim caps as of `now`: what this node may still lease of each webhook (its
    /// share, or what probing allows, less what it holds).
    pub(super) fn caps(&self, probing: &Probing, now: Millis) -> ClaimCaps {
        let mut caps = probing.caps(self.per_webhook * PREFETCH, now);
        let held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        for (webhook_id, n) in held.iter() {
            let room = caps.of(*webhook_id) - i64::try_from(*n).unwrap_or(i64::MAX);
            caps.overrides
                .insert(*webhook_id, usize::try_from(room).unwrap_or(0));
        }
        caps
    }

    /// Counts a delivery of `webhook_id` as held until the returned guard drops.
    pub(super) fn hold(&self, webhook_id: i32) -> Holding {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        *held.entry(webhook_id).or_default() += 1;
        Holding {
            held: self.held.clone(),
            webhook_id,
        }
    }

    /// Waits for a delivery's turn to send; None at shutdown.
    pub(super) async fn turn(&self, webhook_id: i32, shutdown: &CancellationToken) -> Option<Turn> {
        let slots = {
            let mut map = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            // Webhooks nobody sends to or waits for are forgotten now and then, so the map
            // stays about as large as the set of busy webhooks without a sweep per request.
            if map.len() >= SLOTS_SWEEP_AT && !map.contains_key(&webhook_id) {
                map.retain(|_, sem| Arc::strong_count(sem) > 1);
            }
            map.entry(webhook_id)
                .or_insert_with(|| Arc::new(Semaphore::new(self.per_webhook)))
                .clone()
        };
        // The webhook's slot first: waiting for it must not hold one of the global permits
        // every other webhook needs.
        let acquire = async {
            let slot = slots.acquire_owned().await.ok()?;
            let unrecorded = self.unrecorded.clone().acquire_owned().await.ok()?;
            Some(Turn { slot, unrecorded })
        };
        tokio::select! {
            // Shutdown first: no attempt starts once it has begun, even with a slot free.
            biased;
            _ = shutdown.cancelled() => None,
            turn = acquire => turn,
        }
    }
}

impl Drop for Holding {
    fn drop(&mut self) {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = held.get_mut(&self.webhook_id) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                held.remove(&self.webhook_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_tops_each_webhook_up_to_its_share_and_probing_holds_it_to_one() {
        let capacity = Capacity::new(16, 2);
        let probing = Probing::default();
        let share = i64::try_from(2 * PREFETCH).unwrap();
        assert_eq!(capacity.caps(&probing, 0).of(7), share, "nothing held");
        let held: Vec<Holding> = (0..3).map(|_| capacity.hold(7)).collect();
        assert_eq!(capacity.caps(&probing, 0).of(7), share - 3);
        assert_eq!(capacity.caps(&probing, 0).of(8), share, "others unaffected");
        let ticket = probing.begin(7, 1, 0).unwrap();
        assert!(probing.failed(7, 1, ticket, false));
        assert_eq!(
            capacity.caps(&probing, 0).of(7),
            0,
            "probing: the probe is held"
        );
        drop(held);
        assert_eq!(
            capacity.caps(&probing, 0).of(7),
            1,
            "probing: one at a time"
        );
        assert!(
            capacity.held.lock().unwrap().is_empty(),
            "nothing remembered"
        );
    }

    #[tokio::test]
    async fn a_webhook_gets_its_cap_of_turns_and_the_next_waits() {
        let capacity = Capacity::new(16, 2);
        let shutdown = CancellationToken::new();
        let first = capacity.turn(7, &shutdown).await.unwrap();
        let _second = capacity.turn(7, &shutdown).await.unwrap();
        let _other = capacity.turn(8, &shutdown).await.unwrap();
        let third = capacity.turn(7, &shutdown);
        tokio::pin!(third);
        let polled =
            std::future::poll_fn(|cx| std::task::Poll::Ready(third.as_mut().poll(cx))).await;
        assert!(polled.is_pending(), "a third request to one webhook waits");
        drop(first);
        assert!(third.await.is_some(), "and goes when a slot frees");
        shutdown.cancel();
        assert!(
            capacity.turn(7, &shutdown).await.is_none(),
            "none at shutdown"
        );
    }
}
