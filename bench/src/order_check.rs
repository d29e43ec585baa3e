//! The receiver's side of `DeliveryOrder` `PerRecord`: per record, the first receipt of each
//! event came in the order the events were signalled (docs/DELIVERY.md, "Ordered delivery").
//! A record's events are signalled one after another in the order of their numbers
//! (`load::Keys::Records`), so signal order is number order.

use std::collections::{HashMap, HashSet};

use crate::load::Keys;
use crate::receiver::Arrival;

/// What the check found over one phase's arrivals (one webhook).
#[derive(Debug, PartialEq)]
pub struct OrderCheck {
    /// Records with at least one event received.
    pub records: usize,
    /// Records whose first receipts were not in signal order.
    pub out_of_order: usize,
    /// Deliveries whose `PrimaryKey` is not the record their number was signalled on.
    pub wrong_record: usize,
    /// A few of the problems, for the error.
    pub examples: Vec<String>,
}

impl OrderCheck {
    pub fn kept(&self) -> bool {
        self.out_of_order == 0 && self.wrong_record == 0
    }

    /// `order kept: yes (100 records)`, or no with what broke it.
    pub fn summary(&self) -> String {
        if self.kept() {
            format!("order kept: yes ({} records)", self.records)
        } else {
            format!(
                "order kept: no ({} records: {} out of signal order, {} deliveries with a wrong \
                 PrimaryKey; {})",
                self.records,
                self.out_of_order,
                self.wrong_record,
                self.examples.join("; ")
            )
        }
    }
}

/// Checks `arrivals` (in arrival order) of events signalled as `keys` says: for each record,
/// the numbers of its events' first receipts must rise. Later receipts of an event
/// (at-least-once duplicates) are not looked at.
pub fn check_order(arrivals: &[Arrival], keys: Keys) -> OrderCheck {
    let base = match keys {
        Keys::Unique(base) | Keys::Records { base, .. } => i64::from(base),
    };
    let mut seen = HashSet::new();
    // Per record, the number of its last first receipt so far.
    let mut last: HashMap<i64, i64> = HashMap::new();
    let mut broken = HashSet::new();
    let (mut wrong_record, mut examples) = (0, Vec::new());
    for a in arrivals {
        if !seen.insert(a.number) {
            continue;
        }
        let signalled_on = usize::try_from(a.number - base)
            .ok()
            .map(|i| i64::from(keys.of(i).1));
        if signalled_on != Some(a.primary_key) {
            wrong_record += 1;
            if examples.len() < 3 {
                examples.push(format!(
                    "event {} came with PrimaryKey {}",
                    a.number, a.primary_key
                ));
            }
            continue;
        }
        match last.insert(a.primary_key, a.number) {
            Some(before) if before > a.number => {
                if broken.insert(a.primary_key) && examples.len() < 3 {
                    examples.push(format!(
                        "record {}: event {} first arrived after event {}",
                        a.primary_key, a.number, before
                    ));
                }
                // Keep the highest: each later event is compared with all before it.
                last.insert(a.primary_key, before);
            }
            _ => {}
        }
    }
    OrderCheck {
        records: last.len(),
        out_of_order: broken.len(),
        wrong_record,
        examples,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    fn arrival(number: i64, primary_key: i64) -> Arrival {
        Arrival {
            phase: 0,
            hook: 0,
            number,
            primary_key,
            event_id: format!("e{number}"),
            header_matches: true,
            at: Instant::now(),
        }
    }

    const KEYS: Keys = Keys::Records {
        base: 100,
        records: 2,
    };

    #[test]
    fn records_in_signal_order_pass_whatever_the_interleaving() {
        // Events 100, 102, 104 are record 1; 101, 103 record 2.
        let a = [
            arrival(101, 2),
            arrival(100, 1),
            arrival(102, 1),
            arrival(103, 2),
            arrival(102, 1), // a duplicate, later: not a first receipt
            arrival(104, 1),
        ];
        let check = check_order(&a, KEYS);
        assert!(check.kept(), "{check:?}");
        assert_eq!(check.records, 2);
        assert_eq!(check.summary(), "order kept: yes (2 records)");
    }

    #[test]
    fn a_later_event_first_is_out_of_order() {
        let a = [
            arrival(100, 1),
            arrival(104, 1),
            arrival(102, 1),
            arrival(101, 2),
        ];
        let check = check_order(&a, KEYS);
        assert_eq!((check.records, check.out_of_order), (2, 1));
        assert!(
            check
                .summary()
                .starts_with("order kept: no (2 records: 1 out")
        );
        assert!(check.examples[0].contains("event 102 first arrived after event 104"));
    }

    #[test]
    fn a_delivery_on_another_record_fails() {
        let check = check_order(&[arrival(100, 2)], KEYS);
        assert_eq!(check.wrong_record, 1);
        assert!(!check.kept());
    }
}
