//! Retry timing: exponential backoff with jitter.

use std::time::Duration;

use rand::Rng;
use serde::{Deserialize, Serialize};

/// When to run a failed job again, and how many attempts it gets.
///
/// The delay before attempt `n + 1` after attempt `n` failed is
/// `min(max_delay, base + n^exponent seconds)`, then multiplied by a random factor in
/// `[1 - jitter, 1 + jitter]`. The default (`base` 15 s, exponent 4, jitter 0.1, 25 attempts)
/// spreads 25 attempts over roughly three weeks: 16 s, 31 s, 96 s, 4.5 min, … 4.5 days.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryPolicy {
    /// Attempts before the job goes dead.
    pub max_attempts: u32,
    /// Constant part of every delay, in seconds.
    pub base_secs: f64,
    /// Exponent applied to the attempt number.
    pub exponent: f64,
    /// Upper bound of a delay, in seconds.
    pub max_delay_secs: f64,
    /// Relative jitter in `[0, 1)`.
    pub jitter: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 25,
            base_secs: 15.0,
            exponent: 4.0,
            max_delay_secs: 30.0 * 24.0 * 3600.0,
            jitter: 0.1,
        }
    }
}

impl RetryPolicy {
    /// The delay before retrying after `attempt` (1-based) failed.
    pub fn delay(&self, attempt: u32) -> Duration {
        let raw = self.base_secs + f64::from(attempt).powf(self.exponent);
        let capped = raw.min(self.max_delay_secs).max(0.0);
        let j = self.jitter.clamp(0.0, 0.99);
        let factor = if j > 0.0 {
            rand::rng().random_range((1.0 - j)..=(1.0 + j))
        } else {
            1.0
        };
        Duration::try_from_secs_f64(capped * factor).unwrap_or(Duration::from_secs(1))
    }

    /// Whether `attempt` (1-based, the one that just failed) was the last allowed.
    pub fn exhausted(&self, attempt: u32) -> bool {
        attempt >= self.max_attempts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stay_within_jitter() {
        let p = RetryPolicy::default();
        for attempt in 1..=25 {
            let d = p.delay(attempt).as_secs_f64();
            let nominal = (15.0 + f64::from(attempt).powi(4)).min(p.max_delay_secs);
            assert!(
                d >= nominal * 0.9 - 1e-9 && d <= nominal * 1.1 + 1e-9,
                "{attempt}: {d}"
            );
        }
        let no_jitter = RetryPolicy {
            jitter: 0.0,
            ..RetryPolicy::default()
        };
        assert_eq!(no_jitter.delay(2), Duration::from_secs(31));
        assert!(no_jitter.exhausted(25));
        assert!(!no_jitter.exhausted(24));
    }
}
