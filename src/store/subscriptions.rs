//! The subscriptions of the webhooks that take new deliveries, cached in memory by a store that
//! is the only writer of its webhooks (SQLite: one process). Most SignalEvents then need no
//! database read to find their subscribers, and an event nobody subscribes to needs no
//! database work at all.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::domain::{DeliveryOrder, Event};

/// A webhook that takes new deliveries, as SignalEvent needs it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Subscriber {
    pub id: i32,
    /// The event names it subscribes to (patterns included).
    pub events: Vec<String>,
    /// Decides each delivery's record (`DeliveryOrder::record_key`).
    pub order: DeliveryOrder,
}

/// Every webhook that takes new deliveries.
pub(crate) type Subscriptions = Arc<Vec<Subscriber>>;

/// A delivery to queue: its webhook and, when ordered, its record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub webhook_id: i32,
    pub record_key: Option<String>,
}

/// The subscribers whose subscriptions match the event name `name`.
pub(crate) fn subscribers_of<'a>(
    subscriptions: &'a [Subscriber],
    name: &'a str,
) -> impl Iterator<Item = &'a Subscriber> + 'a {
    subscriptions.iter().filter(move |s| {
        crate::domain::subscription_matches(s.events.iter().map(String::as_str), name)
    })
}

/// The deliveries `event` makes: one per matching subscriber.
pub(crate) fn targets(subscriptions: &[Subscriber], event: &Event) -> Vec<Target> {
    subscribers_of(subscriptions, &event.name)
        .map(|s| Target {
            webhook_id: s.id,
            record_key: s.order.record_key(event),
        })
        .collect()
}

/// A generation-checked cache: a load that started before an invalidation can never be
/// served after it.
#[derive(Default)]
pub(crate) struct SubscriptionCache {
    /// Bumped after every committed change to webhooks.
    generation: AtomicU64,
    /// The last load and the generation it was read at.
    loaded: Mutex<Option<(u64, Subscriptions)>>,
}

impl SubscriptionCache {
    /// The cached subscriptions, if still current.
    pub(crate) fn get(&self) -> Option<Subscriptions> {
        let current = self.generation.load(Ordering::Acquire);
        let loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
        match &*loaded {
            Some((generation, subs)) if *generation == current => Some(subs.clone()),
            _ => None,
        }
    }

    /// The generation to pass to [`SubscriptionCache::store`]; read it *before* reading the
    /// database.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Keeps `subs`, read from the database at `generation`.
    pub(crate) fn store(&self, generation: u64, subs: Subscriptions) {
        let mut loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
        *loaded = Some((generation, subs));
    }

    /// Forgets the cached subscriptions; call after a change to webhooks commits.
    pub(crate) fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_load_read_before_an_invalidation_is_never_served() {
        let cache = SubscriptionCache::default();
        assert!(cache.get().is_none());
        let before = cache.generation();
        cache.invalidate(); // a webhook saved while the load was reading
        let subscriber = |id: i32, event: &str| Subscriber {
            id,
            events: vec![event.into()],
            order: DeliveryOrder::Any,
        };
        cache.store(before, Arc::new(vec![subscriber(1, "contact.created")]));
        assert!(cache.get().is_none(), "a stale load must not be served");
        let now = cache.generation();
        cache.store(now, Arc::new(vec![subscriber(2, "*")]));
        assert_eq!(cache.get().map(|s| s[0].id), Some(2));
        cache.invalidate();
        assert!(cache.get().is_none());
    }
}
