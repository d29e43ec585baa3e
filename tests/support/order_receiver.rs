//! A receiver's view of per-record delivery order (docs/DELIVERY.md, "Ordered delivery"): a
//! seeded, flaky answer for a [`Receiver`] (random delays, a share of 500s, records made to
//! fail on demand), and the checks of what it received: per record, the first successful
//! receipt of each event comes in signal order, every event arrives, and no event is sent
//! before the one signalled before it succeeded.
//!
//! Events are told apart by their record (`Entity` and `PrimaryKey` of the body) and a
//! sequence number the test puts in their data (`FieldValues.seq`: 0, 1, 2 ... in the order the
//! record's SignalEvents were accepted).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::receiver::{Answer, Receiver, Request};

/// A record as the promise keys it: the event's entity and its PrimaryKey.
pub type Record = (String, i64);

/// The record and sequence number of a delivery, from its body (None for any other request).
pub fn tag(request: &Request) -> Option<(Record, u64)> {
    let body: serde_json::Value = serde_json::from_slice(&request.body).ok()?;
    let entity = body.get("Entity")?.as_str()?.to_string();
    let pk = body.get("PrimaryKey")?.as_i64()?;
    let seq = body.get("FieldValues")?.get("seq")?.as_u64()?;
    Some(((entity, pk), seq))
}

/// SplitMix64: a small seeded generator, so a run's answers can be replayed from its seed.
pub struct SeededRng(u64);

impl SeededRng {
    pub fn new(seed: u64) -> SeededRng {
        SeededRng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `range` (inclusive), near enough to uniform for test timings.
    pub fn in_range(&mut self, range: &RangeInclusive<u64>) -> u64 {
        let span = range.end() - range.start() + 1;
        range.start() + self.next_u64() % span
    }
}

/// How a [`Flaky`] receiver answers.
pub struct FlakyConfig {
    pub seed: u64,
    /// Each answer waits a random time in this range, in milliseconds.
    pub delay_ms: RangeInclusive<u64>,
    /// Share of the other attempts answered 500, in per mille.
    pub fail_per_mille: u64,
}

/// The switches and counters of a receiver answering as [`FlakyConfig`] says.
pub struct Flaky {
    /// Records every attempt of which is answered 500 (the rest as configured).
    failing: Mutex<HashSet<Record>>,
    /// Tagged deliveries answered 200 so far (repeats included).
    succeeded: AtomicUsize,
}

impl Flaky {
    /// Makes `receiver` answer every request as `config` says; returns the switches.
    pub fn install(receiver: &Receiver, config: FlakyConfig) -> Arc<Flaky> {
        let flaky = Arc::new(Flaky {
            failing: Mutex::new(HashSet::new()),
            succeeded: AtomicUsize::new(0),
        });
        let rng = Mutex::new(SeededRng::new(config.seed));
        let this = flaky.clone();
        receiver.set_responder(move |request| {
            let (delay, roll) = {
                let mut rng = rng.lock().unwrap_or_else(|e| e.into_inner());
                (rng.in_range(&config.delay_ms), rng.next_u64() % 1000)
            };
            let record = tag(request).map(|(record, _)| record);
            let failing = record.as_ref().is_some_and(|r| this.is_failing(r));
            let status = if failing || roll < config.fail_per_mille {
                500
            } else {
                200
            };
            if status == 200 && record.is_some() {
                this.succeeded.fetch_add(1, Ordering::SeqCst);
            }
            Answer::status(status)
                .with_body(if status == 200 { "ok" } else { "flaky" })
                .with_delay(Duration::from_millis(delay))
        });
        flaky
    }

    /// From now on every attempt of `record` is answered 500 (`true`), or as configured.
    pub fn set_failing(&self, record: &Record, failing: bool) {
        let mut set = self.failing.lock().unwrap_or_else(|e| e.into_inner());
        if failing {
            set.insert(record.clone());
        } else {
            set.remove(record);
        }
    }

    fn is_failing(&self, record: &Record) -> bool {
        self.failing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(record)
    }

    /// Tagged deliveries answered 200 so far (repeats included).
    pub fn succeeded(&self) -> usize {
        self.succeeded.load(Ordering::SeqCst)
    }
}

/// Per record, the sequence numbers in the order of their first successful receipt.
pub fn first_successes(requests: &[Request]) -> BTreeMap<Record, Vec<u64>> {
    let mut seen: HashSet<(Record, u64)> = HashSet::new();
    let mut order: BTreeMap<Record, Vec<u64>> = BTreeMap::new();
    for r in requests.iter().filter(|r| r.status == 200) {
        if let Some((record, seq)) = tag(r)
            && seen.insert((record.clone(), seq))
        {
            order.entry(record).or_default().push(seq);
        }
    }
    order
}

/// What breaks the promise, one line per record at most: `signalled` is, per record, the
/// sequence numbers in the order their SignalEvents were accepted. Checked: every event was
/// received with a 200 (`missing`), the first successful receipts are in signal order
/// (`out of order`), nothing arrived that was not signalled (`unknown`).
pub fn order_problems(requests: &[Request], signalled: &BTreeMap<Record, Vec<u64>>) -> Vec<String> {
    let received = first_successes(requests);
    let mut problems = Vec::new();
    for (record, want) in signalled {
        let got = received.get(record).cloned().unwrap_or_default();
        let got_set: BTreeSet<u64> = got.iter().copied().collect();
        let missing: Vec<u64> = want
            .iter()
            .filter(|s| !got_set.contains(s))
            .copied()
            .collect();
        if !missing.is_empty() {
            problems.push(format!(
                "{record:?}: {} of {} events never received with a 200, seq {missing:?}",
                missing.len(),
                want.len()
            ));
        }
        let want_set: BTreeSet<u64> = want.iter().copied().collect();
        let got_known: Vec<u64> = got
            .iter()
            .filter(|s| want_set.contains(s))
            .copied()
            .collect();
        let want_received: Vec<u64> = want
            .iter()
            .filter(|s| got_set.contains(s))
            .copied()
            .collect();
        if let Some(i) = (0..got_known.len()).find(|&i| got_known[i] != want_received[i]) {
            problems.push(format!(
                "{record:?}: seq {} was received before seq {}, signalled before it; first \
                 successful receipts: {got_known:?}",
                got_known[i], want_received[i]
            ));
        }
        let unknown: Vec<u64> = got
            .iter()
            .filter(|s| !want_set.contains(s))
            .copied()
            .collect();
        if !unknown.is_empty() {
            problems.push(format!(
                "{record:?}: received seq {unknown:?}, never signalled"
            ));
        }
    }
    for record in received.keys().filter(|r| !signalled.contains_key(*r)) {
        problems.push(format!("{record:?}: received, never signalled"));
    }
    problems
}

/// Attempts sent too early, one line each: an attempt of an event that arrived before an
/// event signalled earlier for the same record had been received with a 200 (the promise:
/// a later one is not sent before the earlier one succeeded). `signalled` as for
/// [`order_problems`]; repeats of an event already received are not early.
pub fn early_attempts(requests: &[Request], signalled: &BTreeMap<Record, Vec<u64>>) -> Vec<String> {
    // Per record: its events in signal order, and how many of them (a prefix) have succeeded.
    let mut position: BTreeMap<&Record, BTreeMap<u64, usize>> = BTreeMap::new();
    for (record, seqs) in signalled {
        let at = seqs.iter().enumerate().map(|(i, s)| (*s, i)).collect();
        position.insert(record, at);
    }
    let mut succeeded: BTreeMap<&Record, BTreeSet<usize>> = BTreeMap::new();
    let mut early = Vec::new();
    for r in requests {
        let Some((record, seq)) = tag(r) else {
            continue;
        };
        let Some((key, at)) = position.get_key_value(&record) else {
            continue;
        };
        let Some(&index) = at.get(&seq) else {
            continue;
        };
        let done = succeeded.entry(*key).or_default();
        let waiting_for = (0..index).find(|i| !done.contains(i));
        if let Some(before) = waiting_for {
            early.push(format!(
                "{record:?} seq {seq} sent while seq {} (signalled before it) had not \
                 succeeded: {}",
                signalled[*key][before],
                r.summary()
            ));
        }
        if r.status == 200 {
            done.insert(index);
        }
    }
    early
}

/// First successful receipts of records `counted` accepts that arrived in `[from, to)`.
pub fn successes_between(
    requests: &[Request],
    from: Instant,
    to: Instant,
    counted: impl Fn(&Record) -> bool,
) -> usize {
    let mut seen: HashSet<(Record, u64)> = HashSet::new();
    let mut n = 0;
    for r in requests.iter().filter(|r| r.status == 200) {
        if let Some((record, seq)) = tag(r)
            && seen.insert((record.clone(), seq))
            && counted(&record)
            && r.at >= from
            && r.at < to
        {
            n += 1;
        }
    }
    n
}

/// Lines listing at most `n` of `problems`, for an assertion message.
pub fn first_lines(problems: &[String], n: usize) -> String {
    let shown = problems[..problems.len().min(n)].join("\n  ");
    format!("{} problems, first ones:\n  {shown}", problems.len())
}
