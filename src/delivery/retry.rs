//! The retry policy, a pure function: when to try again after a failed attempt.
//!
//! SuperOffice: cycles of 3 attempts, the 2nd 1 s after the 1st, the 3rd 4 s after the 2nd.
//! NetServer drops an event after a failed cycle; hookwire puts it back in the queue with a
//! growing backoff until the retention window ends (docs/DELIVERY.md, "Retries and states").

use std::time::Duration;

/// Delays of the retry schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delays between the attempts of one cycle; a cycle has `len() + 1` attempts.
    pub in_cycle: Vec<Duration>,
    /// Wait after the n-th failed cycle (the last one repeats).
    pub cycle_backoff: Vec<Duration>,
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextAttempt {
    /// Same cycle: try again after this delay, holding the lease.
    Retry(Duration),
    /// The cycle failed: back to the queue, due after this delay.
    NextCycle(Duration),
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            in_cycle: vec![Duration::from_secs(1), Duration::from_secs(4)],
            cycle_backoff: [60, 300, 1800, 7200, 21600, 43200]
                .into_iter()
                .map(Duration::from_secs)
                .collect(),
        }
    }
}

impl RetryPolicy {
    /// Attempts in one cycle.
    pub fn attempts_per_cycle(&self) -> u32 {
        u32::try_from(self.in_cycle.len()).unwrap_or(u32::MAX - 1) + 1
    }

    /// After `attempts` attempts of a delivery (counting the one that just failed, so ≥ 1).
    pub fn after_failure(&self, attempts: u32) -> NextAttempt {
        let attempts = attempts.max(1);
        let per_cycle = self.attempts_per_cycle();
        let position = (attempts - 1) % per_cycle; // 0-based position of the failed attempt
        if let Some(delay) = self.in_cycle.get(position as usize) {
            return NextAttempt::Retry(*delay);
        }
        let cycle = (attempts / per_cycle).max(1) as usize - 1;
        let backoff = self
            .cycle_backoff
            .get(cycle)
            .or(self.cycle_backoff.last())
            .copied()
            .unwrap_or(Duration::from_secs(60));
        NextAttempt::NextCycle(backoff)
    }

    /// [`after_failure`](Self::after_failure), honouring a `Retry-After` the target sent: a
    /// retry within the cycle waits at least that long, or, when it asks for longer than the
    /// cycle's delay, the delivery goes back to the queue until then.
    pub fn after_failure_with(&self, attempts: u32, retry_after: Option<Duration>) -> NextAttempt {
        match (self.after_failure(attempts), retry_after) {
            (next, None) => next,
            (NextAttempt::Retry(delay), Some(wait)) if wait <= delay => NextAttempt::Retry(delay),
            (NextAttempt::Retry(_), Some(wait)) => NextAttempt::NextCycle(wait),
            (NextAttempt::NextCycle(delay), Some(wait)) => NextAttempt::NextCycle(delay.max(wait)),
        }
    }

    /// How long a delivery waits after its manual attempt (Recover) failed: as after a first
    /// failed cycle, or longer if the target asked for it.
    pub fn after_manual_failure(&self, retry_after: Option<Duration>) -> Duration {
        let first_cycle = self.attempts_per_cycle();
        match self.after_failure_with(first_cycle, retry_after) {
            NextAttempt::NextCycle(wait) => wait,
            NextAttempt::Retry(wait) => wait, // cannot happen: a cycle's last attempt ends it
        }
    }

    /// The longest a cycle can hold its lease: every attempt timing out plus the delays.
    pub fn cycle_span(&self, attempt_timeout: Duration) -> Duration {
        attempt_timeout * self.attempts_per_cycle() + self.in_cycle.iter().sum::<Duration>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_failed_manual_attempt_waits_as_after_a_first_failed_cycle() {
        let p = RetryPolicy::default();
        let secs = Duration::from_secs;
        assert_eq!(p.after_manual_failure(None), secs(60));
        assert_eq!(p.after_manual_failure(Some(secs(5))), secs(60));
        assert_eq!(p.after_manual_failure(Some(secs(600))), secs(600));
    }

    #[test]
    fn retry_after_stretches_the_wait_or_ends_the_cycle() {
        let p = RetryPolicy::default();
        let secs = Duration::from_secs;
        assert_eq!(p.after_failure_with(1, None), NextAttempt::Retry(secs(1)));
        assert_eq!(
            p.after_failure_with(1, Some(Duration::from_millis(500))),
            NextAttempt::Retry(secs(1)),
            "a shorter Retry-After changes nothing"
        );
        assert_eq!(
            p.after_failure_with(1, Some(secs(3))),
            NextAttempt::NextCycle(secs(3)),
            "a longer one sends the delivery back to the queue until then"
        );
        assert_eq!(
            p.after_failure_with(3, Some(secs(30))),
            NextAttempt::NextCycle(secs(60)),
            "the cycle's backoff when it is longer"
        );
        assert_eq!(
            p.after_failure_with(3, Some(secs(600))),
            NextAttempt::NextCycle(secs(600))
        );
    }

    #[test]
    fn superoffice_schedule() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.after_failure(1),
            NextAttempt::Retry(Duration::from_secs(1))
        );
        assert_eq!(
            p.after_failure(2),
            NextAttempt::Retry(Duration::from_secs(4))
        );
        assert_eq!(
            p.after_failure(3),
            NextAttempt::NextCycle(Duration::from_secs(60))
        );
        assert_eq!(
            p.after_failure(4),
            NextAttempt::Retry(Duration::from_secs(1))
        );
        assert_eq!(
            p.after_failure(6),
            NextAttempt::NextCycle(Duration::from_secs(300))
        );
        assert_eq!(
            p.after_failure(300),
            NextAttempt::NextCycle(Duration::from_secs(43200))
        );
    }

    fn policy() -> impl Strategy<Value = RetryPolicy> {
        (
            prop::collection::vec(1u64..10_000, 0..5),
            prop::collection::vec(1u64..100_000, 1..8),
        )
            .prop_map(|(a, b)| RetryPolicy {
                in_cycle: a.into_iter().map(Duration::from_millis).collect(),
                cycle_backoff: b.into_iter().map(Duration::from_millis).collect(),
            })
    }

    proptest! {
        #[test]
        fn every_cycle_ends_with_exactly_one_requeue(p in policy(), cycles in 1u32..20) {
            let per = p.attempts_per_cycle();
            for attempt in 1..=cycles * per {
                let next = p.after_failure(attempt);
                let last_of_cycle = attempt % per == 0;
                prop_assert_eq!(matches!(next, NextAttempt::NextCycle(_)), last_of_cycle);
                if let NextAttempt::Retry(d) = next {
                    prop_assert_eq!(d, p.in_cycle[((attempt - 1) % per) as usize]);
                }
            }
        }

        #[test]
        fn backoff_follows_the_list_then_repeats_its_last(p in policy(), cycle in 1u32..50) {
            let per = p.attempts_per_cycle();
            let NextAttempt::NextCycle(d) = p.after_failure(cycle * per) else {
                return Err(TestCaseError::fail("end of cycle must requeue"));
            };
            let expected = p.cycle_backoff.get(cycle as usize - 1).or(p.cycle_backoff.last()).copied().unwrap();
            prop_assert_eq!(d, expected);
        }

        #[test]
        fn lease_covers_a_whole_cycle(p in policy(), timeout_ms in 1u64..60_000) {
            let timeout = Duration::from_millis(timeout_ms);
            let worst: Duration = p.in_cycle.iter().sum::<Duration>() + timeout * p.attempts_per_cycle();
            prop_assert!(p.cycle_span(timeout) >= worst);
        }
    }
}
