//! Failed logins per source address: past the limit within the window, an address gets
//! refusals without its passwords being checked at all, which stops online guessing on
//! both the MD5 (MSNP2–7) and the Passport (MSNP8) login.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

/// Failures counted per address in a fixed window that starts with the first one.
#[derive(Debug)]
pub struct LoginThrottle {
    max_failures: u32,
    window: Duration,
    failures: Mutex<Failures>,
}

#[derive(Debug, Default)]
struct Failures {
    by_address: HashMap<IpAddr, (u32, Instant)>,
    /// Entry count at which lapsed windows are next swept out.
    sweep_at: usize,
}

impl LoginThrottle {
    pub fn new(max_failures: u32, window: Duration) -> LoginThrottle {
        LoginThrottle { max_failures, window, failures: Mutex::default() }
    }

    /// Whether `ip` may try a password now.
    pub fn allows(&self, ip: IpAddr) -> bool {
        let now = Instant::now();
        self.lock()
            .by_address
            .get(&ip)
            .is_none_or(|&(count, since)| count < self.max_failures || now >= since + self.window)
    }

    /// Counts a failed login from `ip`.
    pub fn failed(&self, ip: IpAddr) {
        let now = Instant::now();
        let mut failures = self.lock();
        if failures.by_address.len() >= failures.sweep_at {
            let window = self.window;
            failures.by_address.retain(|_, (_, since)| now < *since + window);
            failures.sweep_at = (failures.by_address.len() * 2).max(1024);
        }
        let entry = failures.by_address.entry(ip).or_insert((0, now));
        if now >= entry.1 + self.window {
            *entry = (0, now);
        }
        entry.0 += 1;
    }

    fn lock(&self) -> MutexGuard<'_, Failures> {
        // Each change is one statement under the lock, so a poisoned map is still whole.
        self.failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
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
            assert!(throttle.allows(guesser));
            throttle.failed(guesser);
        }
        assert!(!throttle.allows(guesser));
        assert!(throttle.allows(other));
        tokio::time::advance(Duration::from_secs(61)).await;
        assert!(throttle.allows(guesser));
        throttle.failed(guesser);
        assert!(throttle.allows(guesser), "a new window starts from zero");
    }
}
