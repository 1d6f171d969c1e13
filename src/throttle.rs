//! Counting what clients do per key (address, account) in fixed windows, to refuse what
//! exceeds a limit: failed logins per address (past the limit an address is refused
//! without its passwords being checked, which stops online guessing on both the MD5 and
//! the Passport login), Passport attempts, contact-list changes and the notices they send.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

/// Events counted per key in a fixed window that starts with the key's first event.
#[derive(Debug)]
pub struct Throttle<K> {
    max: u32,
    window: Duration,
    counts: Mutex<Counts<K>>,
}

/// Failed logins per source address, shared by the MD5 and Passport logins.
pub type LoginThrottle = Throttle<IpAddr>;

#[derive(Debug)]
struct Counts<K> {
    by_key: HashMap<K, (u32, Instant)>,
    /// Entry count at which lapsed windows are next swept out.
    sweep_at: usize,
}

impl<K: Hash + Eq> Throttle<K> {
    /// At most `max` events per key within `window`.
    pub fn new(max: u32, window: Duration) -> Throttle<K> {
        Throttle { max, window, counts: Mutex::new(Counts { by_key: HashMap::new(), sweep_at: 0 }) }
    }

    /// Whether `key` is still under the limit (nothing is counted).
    pub fn allows(&self, key: &K) -> bool {
        let now = Instant::now();
        self.lock()
            .by_key
            .get(key)
            .is_none_or(|&(count, since)| count < self.max || now >= since + self.window)
    }

    /// Counts one event of `key` if it is under the limit; false (and nothing counted) if not.
    pub fn take(&self, key: K) -> bool {
        self.count_if(key, true)
    }

    /// Counts one event of `key`.
    pub fn count(&self, key: K) {
        self.count_if(key, false);
    }

    fn count_if(&self, key: K, only_under_limit: bool) -> bool {
        let now = Instant::now();
        let mut counts = self.lock();
        if counts.by_key.len() >= counts.sweep_at {
            let window = self.window;
            counts.by_key.retain(|_, (_, since)| now < *since + window);
            counts.sweep_at = (counts.by_key.len() * 2).max(1024);
        }
        let entry = counts.by_key.entry(key).or_insert((0, now));
        if now >= entry.1 + self.window {
            *entry = (0, now);
        }
        if only_under_limit && entry.0 >= self.max {
            return false;
        }
        entry.0 += 1;
        true
    }

    fn lock(&self) -> MutexGuard<'_, Counts<K>> {
        // Each change is one statement under the lock, so a poisoned map is still whole.
        self.counts.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn an_address_is_refused_after_too_many_failures_until_the_window_ends() {
        let throttle = LoginThrottle::new(3, Duration::from_secs(60));
        let (guesser, other): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        for _ in 0..3 {
            assert!(throttle.allows(&guesser));
            throttle.count(guesser);
        }
        assert!(!throttle.allows(&guesser));
        assert!(throttle.allows(&other));
        tokio::time::advance(Duration::from_secs(61)).await;
        assert!(throttle.allows(&guesser));
        throttle.count(guesser);
        assert!(throttle.allows(&guesser), "a new window starts from zero");
    }

    #[tokio::test(start_paused = true)]
    async fn take_counts_only_what_it_allows() {
        let throttle = Throttle::new(2, Duration::from_secs(60));
        assert!(throttle.take(7) && throttle.take(7));
        assert!(!throttle.take(7) && !throttle.allows(&7));
        assert!(throttle.take(8), "per key");
        tokio::time::advance(Duration::from_secs(60)).await;
        assert!(throttle.take(7));
    }
}
