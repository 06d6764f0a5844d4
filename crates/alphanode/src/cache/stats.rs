//! Per-namespace counters of one process, taken and written to the store every
//! `CacheOptions::stats_interval` (`anp cache stats`, `anp status`, `/metrics` read them back,
//! summed over every process).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use anp_core::cache::{CacheCounts, RequestCounts, RequestOutcome};
use anp_core::monitor::Histogram;

/// Most distinct keys whose misses are counted per interval (the top 10 are kept).
const MISS_KEYS: usize = 1000;

/// One counter per [`CacheCounts`] field.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) hits: AtomicU64,
    pub(crate) l1_hits: AtomicU64,
    pub(crate) misses: AtomicU64,
    pub(crate) stale: AtomicU64,
    pub(crate) stale_errors: AtomicU64,
    pub(crate) computes: AtomicU64,
    pub(crate) compute_errors: AtomicU64,
    pub(crate) lock_waits: AtomicU64,
    pub(crate) purges: AtomicU64,
    pub(crate) undecodable: AtomicU64,
    pub(crate) store_errors: AtomicU64,
    slow: Mutex<Slow>,
}

#[derive(Debug, Default)]
struct Slow {
    compute: Histogram,
    misses: HashMap<String, u64>,
    requests: BTreeMap<String, RequestCounts>,
}

/// Most distinct rule names whose HTTP requests are counted per interval (a rules file has a
/// handful; the bound only guards against a caller passing request data as the rule).
const REQUEST_RULES: usize = 256;

pub(crate) fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    pub(crate) fn miss(&self, key: &str) {
        bump(&self.misses);
        let mut slow = self.slow.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = slow.misses.get_mut(key) {
            *n += 1;
        } else if slow.misses.len() < MISS_KEYS {
            slow.misses.insert(key.to_owned(), 1);
        }
    }

    pub(crate) fn computed(&self, took: Duration) {
        bump(&self.computes);
        let mut slow = self.slow.lock().unwrap_or_else(|p| p.into_inner());
        slow.compute.record(took);
    }

    /// Counts one HTTP request answered under `rule`; `upstream`: the upstream call it made,
    /// how long it took and whether it failed.
    pub(crate) fn request(
        &self,
        rule: &str,
        outcome: Option<RequestOutcome>,
        upstream: Option<(Duration, bool)>,
    ) {
        let mut slow = self.slow.lock().unwrap_or_else(|p| p.into_inner());
        if !slow.requests.contains_key(rule) {
            if slow.requests.len() >= REQUEST_RULES {
                return;
            }
            slow.requests
                .insert(rule.to_owned(), RequestCounts::default());
        }
        let Some(c) = slow.requests.get_mut(rule) else {
            return;
        };
        if let Some(o) = outcome {
            c.count(o);
        }
        if let Some((took, failed)) = upstream {
            c.upstream.record(took);
            if failed {
                c.upstream_errors += 1;
            }
        }
    }

    /// The counts since the last take (or since start), resetting them.
    pub(crate) fn take(&self) -> CacheCounts {
        let t = |c: &AtomicU64| c.swap(0, Ordering::Relaxed);
        let (compute, misses, requests) = {
            let mut slow = self.slow.lock().unwrap_or_else(|p| p.into_inner());
            (
                std::mem::take(&mut slow.compute),
                std::mem::take(&mut slow.misses),
                std::mem::take(&mut slow.requests),
            )
        };
        let mut top: Vec<(String, u64)> = misses.into_iter().collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        top.truncate(10);
        CacheCounts {
            hits: t(&self.hits),
            l1_hits: t(&self.l1_hits),
            misses: t(&self.misses),
            stale: t(&self.stale),
            stale_errors: t(&self.stale_errors),
            computes: t(&self.computes),
            compute_errors: t(&self.compute_errors),
            lock_waits: t(&self.lock_waits),
            purges: t(&self.purges),
            undecodable: t(&self.undecodable),
            store_errors: t(&self.store_errors),
            compute,
            top_misses: top,
            requests,
        }
    }

    /// Puts counts back (a flush that failed), so nothing counted is lost.
    pub(crate) fn put_back(&self, c: &CacheCounts) {
        let a = |x: &AtomicU64, n: u64| x.fetch_add(n, Ordering::Relaxed);
        a(&self.hits, c.hits);
        a(&self.l1_hits, c.l1_hits);
        a(&self.misses, c.misses);
        a(&self.stale, c.stale);
        a(&self.stale_errors, c.stale_errors);
        a(&self.computes, c.computes);
        a(&self.compute_errors, c.compute_errors);
        a(&self.lock_waits, c.lock_waits);
        a(&self.purges, c.purges);
        a(&self.undecodable, c.undecodable);
        a(&self.store_errors, c.store_errors);
        let mut slow = self.slow.lock().unwrap_or_else(|p| p.into_inner());
        slow.compute.merge(&c.compute);
        for (k, n) in &c.top_misses {
            *slow.misses.entry(k.clone()).or_default() += n;
        }
        for (rule, r) in &c.requests {
            slow.requests.entry(rule.clone()).or_default().add(r);
        }
    }
}

/// Whether counts hold anything worth a store write.
pub(crate) fn is_empty(c: &CacheCounts) -> bool {
    c.lookups() == 0
        && c.computes == 0
        && c.compute_errors == 0
        && c.lock_waits == 0
        && c.purges == 0
        && c.undecodable == 0
        && c.store_errors == 0
        && c.requests.is_empty()
}
