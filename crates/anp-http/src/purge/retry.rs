//! How long to wait before sending a purge again.

use std::time::Duration;

use rand::Rng;

/// Retries of one purge request inside one process (the job machinery retries further).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurgeRetry {
    /// Attempts per request, the first included (default 5).
    pub attempts: u32,
    /// The first backoff delay; each further one doubles, up to `max_delay` (default 500 ms).
    pub base: Duration,
    /// The longest backoff delay (default 30 s).
    pub max_delay: Duration,
    /// The longest `Retry-After` this process waits for; a longer one ends the purge with a
    /// retry-safe error carrying the delay, for the job machinery to honour (default 60 s).
    pub max_retry_after: Duration,
    /// Timeout of one HTTP request (default 30 s).
    pub timeout: Duration,
}

impl Default for PurgeRetry {
    fn default() -> Self {
        PurgeRetry {
            attempts: 5,
            base: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(60),
            timeout: Duration::from_secs(30),
        }
    }
}

impl PurgeRetry {
    /// The wait after failed attempt `attempt` (1-based): the target's `Retry-After` plus up to
    /// 10 % jitter when it sent one, else `base · 2^(attempt-1)` capped at `max_delay`, with
    /// "equal jitter" (a uniform draw from its upper half) so retries spread out without ever
    /// coming back at once.
    pub(super) fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let mut rng = rand::rng();
        match retry_after {
            Some(after) => after + after.mul_f64(rng.random_range(0.0..0.1)),
            None => {
                let exp = self
                    .base
                    .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
                    .min(self.max_delay);
                exp.mul_f64(rng.random_range(0.5..=1.0))
            }
        }
    }
}

/// What one attempt's answer means.
#[derive(Debug)]
pub(super) enum Verdict {
    /// Done; what the target answered, for the report.
    Done(String),
    /// A transient failure: try again (after the target's `Retry-After`, if any).
    Retry {
        after: Option<Duration>,
        why: String,
    },
    /// Failed for good (bad token, unknown zone, refused): not retried.
    Fail(String),
}

/// `Retry-After`: delay-seconds or an HTTP date (RFC 9110 §10.2.3); `None` when it is neither
/// or the date has passed. Also what `anp work`'s HTTP jobs honour.
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = jiff::fmt::rfc2822::parse(v).ok()?.timestamp();
    Duration::try_from(when.duration_since(jiff::Timestamp::now())).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_a_cap() {
        let r = PurgeRetry::default();
        for attempt in 1..=12 {
            let cap = Duration::from_millis(500)
                .saturating_mul(1 << (attempt - 1))
                .min(Duration::from_secs(30));
            let d = r.delay(attempt, None);
            assert!(
                d >= cap / 2 && d <= cap,
                "attempt {attempt}: {d:?} vs {cap:?}"
            );
        }
        let d = r.delay(1, Some(Duration::from_secs(10)));
        assert!(
            d >= Duration::from_secs(10) && d <= Duration::from_secs(11),
            "{d:?}"
        );
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("later"), None);
    }
}
