//! Slowing down repeated failed logins, per user name and per client address (docs/SOAP.md,
//! "Failed logins").
//!
//! Every login attempt counts against its name and its address until it succeeds. Past a few
//! (the free attempts), each further attempt of a name or an address takes the next turn of
//! that name or address: turns are spaced by a step that doubles per attempt, up to
//! [`Rules::max_step`]. An attempt waits for its turn (it is answered later), unless the turn is
//! more than [`Rules::max_wait`] away: then it is refused at once with the time to retry, so
//! waiting attempts stay few. A correct password is thus never locked out: it is answered
//! after at most one step once the failures stop. Records are forgotten after a quiet period,
//! and at most [`Rules::capacity`] are kept, whatever the input.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// The numbers of the throttle.
#[derive(Debug, Clone)]
struct Rules {
    /// Attempts of one user name answered at once before turns start.
    free_per_name: u32,
    /// Attempts from one client address answered at once before turns start.
    free_per_address: u32,
    /// The space between the first two turns.
    first_step: Duration,
    /// The largest space between two turns.
    max_step: Duration,
    /// Attempts whose turn is further away than this are refused at once.
    max_wait: Duration,
    /// A name or address without attempts for this long starts afresh.
    forget_after: Duration,
    /// The most names and addresses remembered at once.
    capacity: usize,
}

impl Default for Rules {
    fn default() -> Rules {
        Rules {
            free_per_name: 5,
            free_per_address: 10,
            first_step: Duration::from_millis(500),
            max_step: Duration::from_secs(8),
            max_wait: Duration::from_secs(10),
            forget_after: Duration::from_secs(15 * 60),
            capacity: 10_000,
        }
    }
}

/// Whom attempts are counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    /// SHA-256 of the lower-cased user name: the same size whatever the name.
    Name([u8; 32]),
    /// An IPv4 address, or the /64 network of an IPv6 one (one host often has a whole /64).
    Address(IpAddr),
}

impl Key {
    fn name(user_name: &str) -> Key {
        Key::Name(Sha256::digest(user_name.to_lowercase().as_bytes()).into())
    }

    fn address(ip: IpAddr) -> Key {
        match ip.to_canonical() {
            IpAddr::V6(v6) => {
                let network = u128::from(v6) & !u128::from(u64::MAX);
                Key::Address(IpAddr::V6(network.into()))
            }
            v4 => Key::Address(v4),
        }
    }
}

/// The attempts of one name or address.
#[derive(Debug, Clone, Copy)]
struct Record {
    /// Attempts not known to have succeeded.
    attempts: u32,
    /// The earliest time the next attempt past the free ones may be answered.
    next_turn: Instant,
    last_attempt: Instant,
}

/// Why an attempt may not go ahead now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooMany {
    /// When an attempt would be let in again (it may still have to wait its turn then).
    pub retry_after: Duration,
}

/// Failed-login memory shared by every request of the process.
#[derive(Debug, Default)]
pub struct Throttle {
    rules: Rules,
    records: Mutex<HashMap<Key, Record>>,
}

impl Throttle {
    /// Lets an attempt of `user_name` from `client` in, counting it: returns how long it must
    /// wait for its turn (zero while attempts are free), or refuses it, counting nothing.
    pub fn admit(
        &self,
        user_name: &str,
        client: Option<IpAddr>,
        now: Instant,
    ) -> Result<Duration, TooMany> {
        let keys = [
            Some((Key::name(user_name), self.rules.free_per_name)),
            client.map(|ip| (Key::address(ip), self.rules.free_per_address)),
        ];
        let mut records = self.lock();
        let mut turns = [None, None];
        for (turn, (key, free)) in turns.iter_mut().zip(keys.iter().flatten()) {
            let record = self.current(&records, key, now);
            if record.attempts >= *free {
                let at = record.next_turn.max(now);
                let wait = at - now;
                if wait > self.rules.max_wait {
                    return Err(TooMany {
                        retry_after: wait - self.rules.max_wait,
                    });
                }
                *turn = Some(at);
            }
        }
        let mut wait = Duration::ZERO;
        for (turn, (key, free)) in turns.into_iter().zip(keys.into_iter().flatten()) {
            let mut record = self.current(&records, &key, now);
            if let Some(at) = turn {
                record.next_turn = at + self.step(record.attempts - free);
                wait = wait.max(at - now);
            }
            record.attempts = record.attempts.saturating_add(1);
            record.last_attempt = now;
            self.make_room(&mut records, &key, now);
            records.insert(key, record);
        }
        Ok(wait)
    }

    /// The attempt of `user_name` from `client` had the right password: the name starts
    /// afresh, and the attempt no longer counts against the address.
    pub fn succeeded(&self, user_name: &str, client: Option<IpAddr>) {
        let mut records = self.lock();
        records.remove(&Key::name(user_name));
        if let Some(record) = client.and_then(|ip| records.get_mut(&Key::address(ip))) {
            record.attempts = record.attempts.saturating_sub(1);
        }
    }

    /// How many names and addresses are remembered.
    #[cfg(test)]
    fn remembered(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Record>> {
        // A panic elsewhere while holding the lock leaves consistent records: keep using them.
        self.records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The record of `key` as of `now`: a new one if unknown or forgotten.
    fn current(&self, records: &HashMap<Key, Record>, key: &Key, now: Instant) -> Record {
        records
            .get(key)
            .filter(|r| now.saturating_duration_since(r.last_attempt) < self.rules.forget_after)
            .copied()
            .unwrap_or(Record {
                attempts: 0,
                next_turn: now,
                last_attempt: now,
            })
    }

    /// The space after the turn of the `beyond_free`-th attempt past the free ones.
    fn step(&self, beyond_free: u32) -> Duration {
        let factor = 1u32.checked_shl(beyond_free).unwrap_or(u32::MAX);
        self.rules
            .first_step
            .saturating_mul(factor)
            .min(self.rules.max_step)
    }

    /// Before remembering a new key when full: drops forgotten records, then, if still full,
    /// the oldest eighth, so that filling up again takes many attempts.
    fn make_room(&self, records: &mut HashMap<Key, Record>, key: &Key, now: Instant) {
        if records.len() < self.rules.capacity || records.contains_key(key) {
            return;
        }
        let forget_after = self.rules.forget_after;
        records.retain(|_, r| now.saturating_duration_since(r.last_attempt) < forget_after);
        if records.len() < self.rules.capacity {
            return;
        }
        let mut by_age: Vec<(Instant, Key)> =
            records.iter().map(|(k, r)| (r.last_attempt, *k)).collect();
        let oldest = by_age.len() / 8 + 1;
        by_age.select_nth_unstable_by_key(oldest - 1, |(at, _)| *at);
        for (_, key) in &by_age[..oldest] {
            records.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle() -> Throttle {
        Throttle {
            rules: Rules {
                capacity: 64,
                ..Rules::default()
            },
            records: Mutex::default(),
        }
    }

    fn ip(n: u32) -> Option<IpAddr> {
        Some(IpAddr::V4(n.into()))
    }

    #[test]
    fn free_attempts_then_growing_turns_then_refusal() {
        let t = throttle();
        let now = Instant::now();
        for _ in 0..5 {
            assert_eq!(t.admit("Admin", ip(1), now), Ok(Duration::ZERO));
        }
        // Past the 5 free attempts of a name: turns 0, 0.5, 1.5, 3.5, 7.5 s away...
        let waits: Vec<_> = (0..5).map(|_| t.admit("admin", ip(2), now)).collect();
        let ms = |n| Ok(Duration::from_millis(n));
        assert_eq!(waits, [ms(0), ms(500), ms(1500), ms(3500), ms(7500)]);
        // ...then the next is 15.5 s away, over the 10 s bound: refused, counting nothing.
        let refused = t.admit("ADMIN", ip(3), now);
        assert_eq!(
            refused,
            Err(TooMany {
                retry_after: Duration::from_millis(5500)
            })
        );
        assert_eq!(t.admit("ADMIN", ip(3), now), refused);
        // Another name from a fresh address is not concerned.
        assert_eq!(t.admit("alice", ip(4), now), Ok(Duration::ZERO));
    }

    #[test]
    fn success_resets_the_name_and_quiet_forgets() {
        let t = throttle();
        let now = Instant::now();
        for _ in 0..7 {
            t.admit("admin", ip(1), now).ok();
        }
        t.succeeded("admin", ip(1));
        assert_eq!(t.admit("admin", ip(1), now), Ok(Duration::ZERO));
        // The address's 7 attempts are forgotten after a quiet period: 10 free ones again.
        let later = now + Rules::default().forget_after;
        for n in 0..10 {
            let name = format!("n{n}");
            assert_eq!(t.admit(&name, ip(1), later), Ok(Duration::ZERO), "{n}");
        }
        assert_eq!(t.admit("n10", ip(1), later), Ok(Duration::ZERO));
        assert_eq!(t.admit("n11", ip(1), later), Ok(Duration::from_millis(500)));
    }

    #[test]
    fn memory_is_bounded_whatever_the_names_and_addresses() {
        let t = throttle();
        let now = Instant::now();
        for n in 0..10_000u32 {
            t.admit(&format!("name-{n}"), ip(n), now).ok();
            assert!(t.remembered() <= 64, "{} remembered", t.remembered());
        }
        // IPv6 clients count per /64 network.
        let a: IpAddr = "2001:db8::1".parse().unwrap();
        let b: IpAddr = "2001:db8::ffff:2".parse().unwrap();
        assert_eq!(Key::address(a), Key::address(b));
    }
}
