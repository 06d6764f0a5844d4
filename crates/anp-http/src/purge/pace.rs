//! Pacing purges to a CDN's documented rate limits before the CDN has to answer `429`.
//!
//! Cloudflare limits purges per account with token buckets
//! (<https://developers.cloudflare.com/cache/how-to/purge-cache/>, "purge limits"): a bucket of
//! requests per plan, and for purges by URL a rate of URLs per second (a moving average). A
//! process that knows its plan keeps its own buckets and waits before a request would overdraw
//! them, so a large purge is spread out instead of being refused and retried. The account's
//! limit is shared with everything else using it (other processes, the dashboard), which this
//! process cannot see: a `429` still happens then, empties the bucket here (so the purges
//! running beside it in this process slow down too), and is retried as before.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The Cloudflare plan of the account a zone belongs to: it sets the purge rate limits
/// ([`PlanLimits`]). `anp.toml`'s `plan` key of a `[[cdn]]` of kind `cloudflare`; the default,
/// [`CloudflarePlan::Free`], is the slowest, so an unset plan never overdraws a bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CloudflarePlan {
    /// 5 requests a minute, bucket 25.
    #[default]
    Free,
    /// 5 requests a second, bucket 25.
    Pro,
    /// 10 requests a second, bucket 50.
    Business,
    /// 50 requests a second, bucket 500; 500 URLs per request.
    Enterprise,
}

/// One plan's purge limits, as Cloudflare documents them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlanLimits {
    /// Requests the bucket gains per second.
    pub requests_per_second: f64,
    /// The bucket's size: requests that may be sent at once after a quiet spell.
    pub burst: f64,
    /// URLs purged per second (by URL only; a moving average, paced here as a bucket holding
    /// one second's worth).
    pub urls_per_second: f64,
    /// URLs per single-file purge request (tags, prefixes and hosts: 100 on every plan).
    pub files_per_request: usize,
}

impl CloudflarePlan {
    /// Every plan, in price order.
    pub const ALL: [CloudflarePlan; 4] = [
        CloudflarePlan::Free,
        CloudflarePlan::Pro,
        CloudflarePlan::Business,
        CloudflarePlan::Enterprise,
    ];

    /// `free`, `pro`, `business` or `enterprise`.
    pub fn as_str(self) -> &'static str {
        match self {
            CloudflarePlan::Free => "free",
            CloudflarePlan::Pro => "pro",
            CloudflarePlan::Business => "business",
            CloudflarePlan::Enterprise => "enterprise",
        }
    }

    /// The plan named `s` (lowercase, as [`CloudflarePlan::as_str`] writes it).
    pub fn parse(s: &str) -> Option<CloudflarePlan> {
        CloudflarePlan::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// Its purge limits.
    pub fn limits(self) -> PlanLimits {
        let (requests_per_second, burst, urls_per_second, files_per_request) = match self {
            CloudflarePlan::Free => (5.0 / 60.0, 25.0, 800.0, 100),
            CloudflarePlan::Pro => (5.0, 25.0, 1500.0, 100),
            CloudflarePlan::Business => (10.0, 50.0, 1500.0, 100),
            CloudflarePlan::Enterprise => (50.0, 500.0, 3000.0, 500),
        };
        PlanLimits {
            requests_per_second,
            burst,
            urls_per_second,
            files_per_request,
        }
    }
}

/// A token bucket that lends: a caller takes its tokens now and waits for the debt to be
/// repaid, so callers arriving together are served in order, each after the one before.
#[derive(Debug, Clone)]
struct Bucket {
    rate: f64,
    size: f64,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn full(rate: f64, size: f64, now: Instant) -> Bucket {
        Bucket {
            rate,
            size,
            tokens: size,
            at: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + dt * self.rate).min(self.size);
        self.at = now;
    }

    /// How long after `now` taking `n` tokens is covered (zero when the bucket holds them).
    fn wait_for(&self, n: f64) -> Duration {
        let short = n - self.tokens;
        if short <= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(short / self.rate)
        }
    }
}

/// The buckets of one account.
#[derive(Debug, Clone)]
struct Account {
    plan: CloudflarePlan,
    requests: Bucket,
    urls: Bucket,
}

/// Requests of the plan's bucket kept in reserve. A request is paced when it is taken, and it
/// reaches the API a little later, by a delay that varies (a new connection for the first one,
/// scheduling on a loaded host): paced to the last token, a request that arrives sooner after
/// the one before than it was sent finds the API's bucket empty and gets a `429`. One request
/// held back covers an arrival up to one refill interval early (200 ms on Pro), and leaves a
/// request of room for whatever else uses the account.
const RESERVE: f64 = 1.0;

impl Account {
    fn new(plan: CloudflarePlan, now: Instant) -> Account {
        let l = plan.limits();
        Account {
            plan,
            requests: Bucket::full(l.requests_per_second, l.burst - RESERVE, now),
            urls: Bucket::full(l.urls_per_second, l.urls_per_second, now),
        }
    }
}

/// The purge buckets of every account this process purges, shared by the clones of one
/// [`super::PurgeClient`]. Keyed by the API base and the token's environment variable: one
/// token belongs to one account.
#[derive(Debug, Clone, Default)]
pub(super) struct Pacer {
    accounts: Arc<Mutex<HashMap<String, Account>>>,
}

impl Pacer {
    fn with<T>(
        &self,
        account: &str,
        plan: CloudflarePlan,
        now: Instant,
        f: impl FnOnce(&mut Account) -> T,
    ) -> T {
        let mut accounts = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
        let a = accounts
            .entry(account.to_owned())
            .or_insert_with(|| Account::new(plan, now));
        if a.plan != plan {
            // The config changed the plan: start over with the new limits.
            *a = Account::new(plan, now);
        }
        a.requests.refill(now);
        a.urls.refill(now);
        f(a)
    }

    /// Takes one request (and `urls` URLs, for a purge by URL) from `account`'s buckets at
    /// `now`, and answers how long to wait before sending it. When that wait would exceed
    /// `max_wait`, nothing is taken and `Err(wait)` says how long the bucket needs.
    pub(super) fn reserve(
        &self,
        account: &str,
        plan: CloudflarePlan,
        urls: usize,
        now: Instant,
        max_wait: Duration,
    ) -> Result<Duration, Duration> {
        self.with(account, plan, now, |a| {
            let urls = urls as f64;
            let wait = a.requests.wait_for(1.0).max(a.urls.wait_for(urls));
            if wait > max_wait {
                return Err(wait);
            }
            a.requests.tokens -= 1.0;
            a.urls.tokens -= urls;
            Ok(wait)
        })
    }

    /// The API answered `429`: someone else is using the account's budget too. The bucket is
    /// emptied (what was lent stays lent), so what this process sends next waits a refill.
    pub(super) fn refused(&self, account: &str, plan: CloudflarePlan, now: Instant) {
        self.with(account, plan, now, |a| {
            a.requests.tokens = a.requests.tokens.min(0.0);
        });
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const LONG: Duration = Duration::from_secs(3600);

    fn secs(d: Duration) -> f64 {
        (d.as_secs_f64() * 1000.0).round() / 1000.0
    }

    #[test]
    fn plans_parse_and_carry_the_documented_limits() {
        for p in CloudflarePlan::ALL {
            assert_eq!(CloudflarePlan::parse(p.as_str()), Some(p));
        }
        assert_eq!(CloudflarePlan::parse("Pro"), None);
        assert_eq!(CloudflarePlan::default(), CloudflarePlan::Free);
        let free = CloudflarePlan::Free.limits();
        assert_eq!((free.requests_per_second * 60.0, free.burst), (5.0, 25.0));
        let ent = CloudflarePlan::Enterprise.limits();
        assert_eq!((ent.requests_per_second, ent.burst), (50.0, 500.0));
        assert_eq!(ent.files_per_request, 500);
    }

    #[test]
    fn a_burst_goes_at_once_then_requests_are_spaced_by_the_rate() {
        let p = Pacer::default();
        let t0 = Instant::now();
        // Pro: 24 at once (one of the bucket's 25 kept in reserve), then one every 200 ms,
        // each caller after the one before.
        for _ in 0..24 {
            assert_eq!(
                p.reserve("a", CloudflarePlan::Pro, 0, t0, LONG),
                Ok(Duration::ZERO)
            );
        }
        let waits: Vec<f64> = (0..3)
            .map(|_| secs(p.reserve("a", CloudflarePlan::Pro, 0, t0, LONG).unwrap()))
            .collect();
        assert_eq!(waits, [0.2, 0.4, 0.6]);
        // A second later, five more requests' worth came back, of which three are owed.
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(
            secs(p.reserve("a", CloudflarePlan::Pro, 0, t1, LONG).unwrap()),
            0.0
        );
        // Another account has its own bucket.
        assert_eq!(
            p.reserve("b", CloudflarePlan::Pro, 0, t0, LONG),
            Ok(Duration::ZERO)
        );
    }

    #[test]
    fn a_wait_longer_than_allowed_takes_nothing() {
        let p = Pacer::default();
        let t0 = Instant::now();
        for _ in 0..24 {
            p.reserve("a", CloudflarePlan::Free, 0, t0, LONG).unwrap();
        }
        // Free: the 25th (one kept in reserve) waits 12 s.
        let max = Duration::from_secs(5);
        assert_eq!(
            secs(
                p.reserve("a", CloudflarePlan::Free, 0, t0, max)
                    .unwrap_err()
            ),
            12.0
        );
        // Refused, so nothing was taken: still 12 s, not 24.
        assert_eq!(
            secs(p.reserve("a", CloudflarePlan::Free, 0, t0, LONG).unwrap()),
            12.0
        );
    }

    #[test]
    fn urls_are_paced_by_their_own_rate() {
        let p = Pacer::default();
        let t0 = Instant::now();
        // Enterprise: 3,000 URLs a second; six requests of 500 URLs go at once, the seventh
        // waits for 500 URLs' worth (1/6 s).
        for _ in 0..6 {
            assert_eq!(
                p.reserve("a", CloudflarePlan::Enterprise, 500, t0, LONG),
                Ok(Duration::ZERO)
            );
        }
        assert_eq!(
            secs(
                p.reserve("a", CloudflarePlan::Enterprise, 500, t0, LONG)
                    .unwrap()
            ),
            0.167
        );
    }

    #[test]
    fn a_429_empties_the_bucket() {
        let p = Pacer::default();
        let t0 = Instant::now();
        p.reserve("a", CloudflarePlan::Business, 0, t0, LONG)
            .unwrap();
        p.refused("a", CloudflarePlan::Business, t0);
        // Business: 10 a second, so the next request waits 100 ms.
        assert_eq!(
            secs(
                p.reserve("a", CloudflarePlan::Business, 0, t0, LONG)
                    .unwrap()
            ),
            0.1
        );
    }
}
