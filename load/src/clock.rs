//! One clock for every process of the tool: CLOCK_MONOTONIC in nanoseconds. A time taken
//! in one worker process can be compared with a time taken in another (presence fan-out is
//! sent by one worker and seen by others), which `std::time::Instant` cannot do.

use std::time::Duration;

use rustix::time::{clock_gettime, ClockId};

/// Nanoseconds since an arbitrary point fixed at boot, the same in every process.
pub fn now_ns() -> u64 {
    let t = clock_gettime(ClockId::Monotonic);
    // Both parts are non-negative for CLOCK_MONOTONIC.
    (t.tv_sec as u64) * 1_000_000_000 + t.tv_nsec as u64
}

/// Sleeps until `at` (a [`now_ns`] value); returns at once if it has passed. Tokio's timer
/// has millisecond resolution, so callers measure from the time they actually act.
pub async fn sleep_until_ns(at: u64) {
    let now = now_ns();
    if at > now {
        tokio::time::sleep(Duration::from_nanos(at - now)).await;
    }
}

/// Seconds as nanoseconds.
pub fn secs_ns(secs: f64) -> u64 {
    (secs * 1e9) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_moves_forward() {
        let a = now_ns();
        std::thread::sleep(Duration::from_millis(2));
        assert!(now_ns() >= a + 2_000_000);
        assert_eq!(secs_ns(1.5), 1_500_000_000);
    }
}
