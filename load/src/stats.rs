//! Latency histograms (HdrHistogram, microseconds) that travel between the tool's
//! processes as `(value, count)` pairs, and their summary in milliseconds.

use hdrhistogram::Histogram;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Latencies from 1 µs to 100 s at three significant digits.
#[derive(Debug, Clone)]
pub struct Latency(Histogram<u64>);

/// Percentiles of a [`Latency`], in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    pub count: u64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

impl Default for Latency {
    fn default() -> Self {
        Latency(Histogram::new_with_bounds(1, 100_000_000, 3).expect("valid histogram bounds"))
    }
}

impl Latency {
    /// Records a duration given in nanoseconds (rounded up to the microsecond).
    pub fn record_ns(&mut self, ns: u64) {
        self.0.saturating_record(ns.div_ceil(1_000).max(1));
    }

    pub fn merge(&mut self, other: &Latency) {
        // Both have the same bounds, so adding cannot fail.
        let _ = self.0.add(&other.0);
    }

    pub fn count(&self) -> u64 {
        self.0.len()
    }

    pub fn summary(&self) -> Summary {
        let h = &self.0;
        if h.is_empty() {
            return Summary::default();
        }
        let ms = |us: u64| us as f64 / 1_000.0;
        let round = |x: f64| (x * 1_000.0).round() / 1_000.0;
        Summary {
            count: h.len(),
            mean_ms: round(h.mean() / 1_000.0),
            p50_ms: ms(h.value_at_quantile(0.50)),
            p90_ms: ms(h.value_at_quantile(0.90)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            p999_ms: ms(h.value_at_quantile(0.999)),
            max_ms: ms(h.max()),
        }
    }
}

impl Serialize for Latency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let pairs: Vec<(u64, u64)> =
            self.0.iter_recorded().map(|v| (v.value_iterated_to(), v.count_at_value())).collect();
        pairs.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Latency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let pairs = Vec::<(u64, u64)>::deserialize(d)?;
        let mut latency = Latency::default();
        for (value, count) in pairs {
            latency.0.saturating_record_n(value, count);
        }
        Ok(latency)
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms ({} samples)",
            self.p50_ms, self.p99_ms, self.p999_ms, self.max_ms, self.count
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_survive_the_trip_between_processes() {
        let mut a = Latency::default();
        for ms in 1..=100 {
            a.record_ns(ms * 1_000_000);
        }
        let json = serde_json::to_string(&a).unwrap();
        let mut b: Latency = serde_json::from_str(&json).unwrap();
        assert_eq!(b.summary(), a.summary());
        b.merge(&a);
        let s = b.summary();
        assert_eq!(s.count, 200);
        assert!((s.p50_ms - 50.0).abs() < 0.1, "{s:?}");
        assert!((s.p99_ms - 99.0).abs() < 0.1, "{s:?}");
        assert_eq!(Latency::default().summary(), Summary::default());
    }
}
