//! Load generators (closed loop with N connections, open loop on a schedule) and the check
//! that a phase's deliveries are exactly the expected set.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::receiver::Arrival;
use crate::server::Soap;

/// When each call of a phase was sent, by index (lock-free; written once per index).
pub struct SendLog {
    base: Instant,
    /// Nanoseconds after `base`, plus one; 0 = not sent.
    nanos: Vec<AtomicU64>,
}

impl SendLog {
    pub fn new(n: usize) -> Arc<SendLog> {
        Arc::new(SendLog {
            base: Instant::now(),
            nanos: (0..n).map(|_| AtomicU64::new(0)).collect(),
        })
    }

    fn set(&self, i: usize, at: Instant) {
        let ns = at.saturating_duration_since(self.base).as_nanos() as u64 + 1;
        self.nanos[i].store(ns, Ordering::Release);
    }

    pub fn get(&self, i: usize) -> Option<Instant> {
        match self.nanos.get(i)?.load(Ordering::Acquire) {
            0 => None,
            ns => Some(self.base + Duration::from_nanos(ns - 1)),
        }
    }
}

/// A closed-loop run: every call's latency, and when the first was sent and the last answered.
pub struct ClosedLoop {
    pub started: Instant,
    pub elapsed: Duration,
    pub latencies: Vec<Duration>,
}

/// How call `i` of a closed loop names its event: the event's number (unique in the run, what
/// the receiver tells deliveries apart by) and its `PrimaryKey`.
#[derive(Debug, Clone, Copy)]
pub enum Keys {
    /// Number and PrimaryKey `base + i`: every event its own record.
    Unique(i32),
    /// Number `base + i`, PrimaryKey `1 + i % records` (round-robin over the records), and a
    /// record's calls one after another: call `i` is sent only once call `i - records` was
    /// answered, so each record's events are accepted in the order of `i`.
    Records { base: i32, records: usize },
}

impl Keys {
    /// (number, PrimaryKey) of call `i`.
    pub fn of(self, i: usize) -> (i32, i32) {
        match self {
            Keys::Unique(base) => (base + i as i32, base + i as i32),
            Keys::Records { base, records } => (base + i as i32, 1 + (i % records.max(1)) as i32),
        }
    }
}

/// Per record, how many of its calls were answered: the turn of its next call.
struct Turns {
    done: Vec<tokio::sync::watch::Sender<usize>>,
}

impl Turns {
    fn new(records: usize) -> Turns {
        Turns {
            done: (0..records.max(1))
                .map(|_| tokio::sync::watch::channel(0).0)
                .collect(),
        }
    }

    /// Waits until the calls of call `i`'s record before it were answered. No deadlock: calls
    /// are handed out in order, so the smallest one not answered never waits.
    async fn wait(&self, i: usize) {
        let (record, turn) = (i % self.done.len(), i / self.done.len());
        let mut done = self.done[record].subscribe();
        // The sender lives as long as `self`: an error cannot happen while we borrow it.
        let _ = done.wait_for(|d| *d >= turn).await;
    }

    fn answered(&self, i: usize) {
        self.done[i % self.done.len()].send_modify(|d| *d += 1);
    }
}

/// Signals `n` events named `event` (numbered and keyed as `keys` says) over `concurrency`
/// workers, each sending its next call as soon as the previous one is answered; call `i` goes
/// to node `nodes[i % nodes.len()]` (round-robin). Any failed call fails the run.
pub async fn closed_loop(
    nodes: &[Soap],
    event: &str,
    keys: Keys,
    n: usize,
    concurrency: usize,
    log: Option<Arc<SendLog>>,
) -> Result<ClosedLoop, String> {
    if nodes.is_empty() {
        return Err("no node to signal".into());
    }
    let nodes: Arc<[Soap]> = nodes.into();
    let turns = match keys {
        Keys::Unique(_) => None,
        Keys::Records { records, .. } => Some(Arc::new(Turns::new(records))),
    };
    let next = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut workers = Vec::with_capacity(concurrency);
    for _ in 0..concurrency.max(1) {
        let (nodes, event, next, stop, log, turns) = (
            nodes.clone(),
            event.to_string(),
            next.clone(),
            stop.clone(),
            log.clone(),
            turns.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(n / concurrency.max(1) + 1);
            loop {
                let i = next.fetch_add(1, Ordering::AcqRel);
                if i >= n || stop.load(Ordering::Acquire) {
                    return Ok(latencies);
                }
                let (number, pk) = keys.of(i);
                if let Some(turns) = &turns {
                    turns.wait(i).await;
                }
                let t = Instant::now();
                if let Some(log) = &log {
                    log.set(i, t);
                }
                let node = &nodes[i % nodes.len()];
                if let Err(e) = node.signal_numbered(&event, pk, number).await {
                    stop.store(true, Ordering::Release);
                    return Err(e);
                }
                latencies.push(t.elapsed());
                if let Some(turns) = &turns {
                    turns.answered(i);
                }
            }
        }));
    }
    let mut latencies = Vec::with_capacity(n);
    let mut first_error = None;
    for worker in workers {
        match worker.await {
            Ok(Ok(l)) => latencies.extend(l),
            Ok(Err(e)) => {
                first_error.get_or_insert(e);
            }
            Err(e) => {
                first_error.get_or_insert(format!("a load worker panicked: {e}"));
            }
        }
    }
    let elapsed = started.elapsed();
    if let Some(e) = first_error {
        return Err(e);
    }
    Ok(ClosedLoop {
        started,
        elapsed,
        latencies,
    })
}

/// An open-loop run.
pub struct OpenLoop {
    pub elapsed: Duration,
    /// SignalEvent round trips.
    pub latencies: Vec<Duration>,
    /// Largest delay between a call's scheduled time and when its task started sending.
    pub max_lag: Duration,
}

/// Signals `n` events at `rate` per second on a fixed schedule: each call in its own task,
/// started on time whether or not earlier calls were answered.
pub async fn open_loop(
    soap: &Soap,
    event: &str,
    pk_base: i32,
    n: usize,
    rate: u32,
    log: Arc<SendLog>,
) -> Result<OpenLoop, String> {
    let period = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
    let start = Instant::now() + Duration::from_millis(5);
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let due = start + period.mul_f64(i as f64);
        tokio::time::sleep_until(due.into()).await;
        let (soap, event, log) = (soap.clone(), event.to_string(), log.clone());
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            log.set(i, t);
            soap.signal(&event, pk_base + i as i32).await?;
            Ok::<_, String>((t.elapsed(), t.saturating_duration_since(due)))
        }));
    }
    let mut latencies = Vec::with_capacity(n);
    let mut max_lag = Duration::ZERO;
    for task in tasks {
        let (latency, lag) = task
            .await
            .map_err(|e| format!("a load task panicked: {e}"))??;
        latencies.push(latency);
        max_lag = max_lag.max(lag);
    }
    Ok(OpenLoop {
        elapsed: start.elapsed(),
        latencies,
        max_lag,
    })
}

/// What the check of one phase found (every problem but duplicates is an error).
#[derive(Debug)]
pub struct Verified {
    /// Deliveries expected (= received distinct).
    pub expected: usize,
    /// Requests received, duplicates included.
    pub received: usize,
    pub duplicates: usize,
    /// Distinct EventIds (one per signalled event).
    pub event_ids: usize,
    /// Arrival of the last delivery that completed the set.
    pub last_arrival: Instant,
    /// First arrival per (hook, event index), `hooks * n` entries, hook-major.
    pub first_arrivals: Vec<Instant>,
}

/// Checks that `arrivals` hold exactly one delivery per webhook `0..hooks` and event number
/// `base..base + n`, with one EventId per event shared by its webhooks, matching the
/// `X-SuperOffice-EventId` header. Duplicates are counted, not refused (at-least-once).
pub fn verify(arrivals: &[Arrival], hooks: usize, base: i32, n: usize) -> Result<Verified, String> {
    let mut first: Vec<Option<Instant>> = vec![None; hooks * n];
    let mut ids: Vec<Option<&str>> = vec![None; n];
    let (mut unexpected, mut duplicates, mut header_mismatch, mut id_mismatch) = (0, 0, 0, 0);
    let mut examples = Vec::new();
    for a in arrivals {
        let i = a.number - i64::from(base);
        if a.hook >= hooks || i < 0 || i >= n as i64 {
            unexpected += 1;
            if examples.len() < 3 {
                examples.push(format!(
                    "unexpected delivery hook {} event {} (PrimaryKey {})",
                    a.hook, a.number, a.primary_key
                ));
            }
            continue;
        }
        let i = i as usize;
        if !a.header_matches {
            header_mismatch += 1;
        }
        match ids[i] {
            None => ids[i] = Some(&a.event_id),
            Some(id) if id != a.event_id => {
                id_mismatch += 1;
                if examples.len() < 3 {
                    examples.push(format!(
                        "event {} came with EventIds {id} and {}",
                        a.number, a.event_id
                    ));
                }
            }
            Some(_) => {}
        }
        let slot = &mut first[a.hook * n + i];
        match slot {
            None => *slot = Some(a.at),
            Some(_) => duplicates += 1,
        }
    }
    let missing = first.iter().filter(|f| f.is_none()).count();
    let event_ids = ids.iter().flatten().collect::<HashSet<_>>().len();
    let distinct_ok = missing > 0 || event_ids == n;
    if missing > 0 || unexpected > 0 || header_mismatch > 0 || id_mismatch > 0 || !distinct_ok {
        return Err(format!(
            "expected {} deliveries ({hooks} webhook(s) x {n} events): {missing} missing, \
             {unexpected} unexpected, {duplicates} duplicates, {header_mismatch} with \
             X-SuperOffice-EventId != body EventId, {id_mismatch} EventId disagreements, \
             {event_ids} distinct EventIds for {n} events. {}",
            hooks * n,
            examples.join("; ")
        ));
    }
    let first_arrivals: Vec<Instant> = first.into_iter().flatten().collect();
    let last_arrival = first_arrivals
        .iter()
        .copied()
        .max()
        .unwrap_or_else(Instant::now);
    Ok(Verified {
        expected: hooks * n,
        received: arrivals.len(),
        duplicates,
        event_ids,
        last_arrival,
        first_arrivals,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arrival(hook: usize, pk: i64, id: &str) -> Arrival {
        Arrival {
            phase: 0,
            hook,
            number: pk,
            primary_key: pk,
            event_id: id.to_string(),
            header_matches: true,
            at: Instant::now(),
        }
    }

    #[test]
    fn records_take_their_turns_in_call_order() {
        use std::task::{Context, Waker};
        let keys = Keys::Records {
            base: 50,
            records: 2,
        };
        assert_eq!(
            (0..5).map(|i| keys.of(i)).collect::<Vec<_>>(),
            [(50, 1), (51, 2), (52, 1), (53, 2), (54, 1)]
        );
        assert_eq!(Keys::Unique(7).of(3), (10, 10));
        let turns = Turns::new(2);
        let mut cx = Context::from_waker(Waker::noop());
        // Call 2 is record 1's second: it waits for call 0, not for call 1 (record 2).
        let mut third = std::pin::pin!(turns.wait(2));
        assert!(third.as_mut().poll(&mut cx).is_pending());
        turns.answered(1);
        assert!(third.as_mut().poll(&mut cx).is_pending());
        turns.answered(0);
        assert!(third.as_mut().poll(&mut cx).is_ready());
        assert!(std::pin::pin!(turns.wait(1)).poll(&mut cx).is_ready());
    }

    #[test]
    fn exact_set_passes_and_counts_duplicates() {
        let a = vec![
            arrival(0, 10, "a"),
            arrival(1, 10, "a"),
            arrival(0, 11, "b"),
            arrival(1, 11, "b"),
            arrival(1, 11, "b"),
        ];
        let v = verify(&a, 2, 10, 2).expect("complete");
        assert_eq!(
            (v.expected, v.received, v.duplicates, v.event_ids),
            (4, 5, 1, 2)
        );
        assert_eq!(v.first_arrivals.len(), 4);
    }

    #[test]
    fn missing_unexpected_and_mixed_ids_fail() {
        let missing = vec![arrival(0, 10, "a")];
        assert!(
            verify(&missing, 1, 10, 2)
                .unwrap_err()
                .contains("1 missing")
        );
        let stray = vec![
            arrival(0, 10, "a"),
            arrival(0, 11, "b"),
            arrival(0, 12, "c"),
        ];
        assert!(
            verify(&stray, 1, 10, 2)
                .unwrap_err()
                .contains("1 unexpected")
        );
        let mixed = vec![arrival(0, 10, "a"), arrival(1, 10, "z")];
        assert!(verify(&mixed, 2, 10, 1).is_err());
        let shared = vec![arrival(0, 10, "a"), arrival(0, 11, "a")];
        assert!(
            verify(&shared, 1, 10, 2)
                .unwrap_err()
                .contains("1 distinct")
        );
    }
}
