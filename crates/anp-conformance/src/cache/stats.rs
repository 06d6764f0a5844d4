//! Cache stats: flushes recorded by processes, queried by time range and namespace.

use std::time::Duration;

use anp_core::cache::{CacheCounts, CacheStatsQueryParams, CacheStatsRecord, RequestOutcome};
use jiff::Timestamp;

use super::{cache_of, ns};
use crate::Harness;

fn record(at: Timestamp, process: &str, n: &str, hits: u64) -> CacheStatsRecord {
    let mut counts = CacheCounts {
        hits,
        l1_hits: hits * 2,
        misses: 3,
        stale: 1,
        computes: 3,
        purges: 1,
        top_misses: vec![("post:1".into(), 2), ("post:2".into(), 1)],
        ..CacheCounts::default()
    };
    counts.compute.record(Duration::from_millis(12));
    // What an HTTP cache layer counts per rule comes back whole too.
    let rule = counts.requests.entry("assets".to_owned()).or_default();
    rule.count(RequestOutcome::Hit);
    rule.count(RequestOutcome::Bypass);
    rule.upstream_errors = hits;
    rule.upstream.record(Duration::from_millis(3));
    CacheStatsRecord {
        at,
        process: process.to_owned(),
        ns: ns(n),
        counts,
    }
}

/// Flushes come back whole, oldest first, within `[since, until)`, of all namespaces or of the
/// one asked for.
pub async fn cache_stats_query_by_range_and_namespace<H: Harness>(h: &H) {
    let c = cache_of(h).await;
    // Whole milliseconds (the unit stores keep), an hour ago (well within retention).
    let t0 = Timestamp::from_millisecond(Timestamp::now().as_millisecond() - 3_600_000)
        .unwrap_or_else(|e| panic!("{e}"));
    let at = |secs: i64| t0 + jiff::SignedDuration::from_secs(secs);
    let r1 = record(at(2), "p1", "pages", 1);
    let r2 = record(at(0), "p2", "api", 2);
    let r3 = record(at(1), "p1", "pages", 3);
    let r4 = record(at(3), "p2", "pages", 4);
    // Recorded out of time order: the query sorts.
    for r in [&r1, &r2, &r4, &r3] {
        c.cache_stats_record(r.clone())
            .await
            .unwrap_or_else(|e| panic!("cache_stats_record: {e}"));
    }
    let query = |since: i64, until: i64, n: Option<&str>| {
        let c = c.clone();
        let p = CacheStatsQueryParams {
            since: at(since),
            until: at(until),
            ns: n.map(ns),
        };
        async move {
            c.cache_stats_query(p)
                .await
                .unwrap_or_else(|e| panic!("cache_stats_query: {e}"))
        }
    };
    assert_eq!(
        query(0, 3, None).await,
        [r2.clone(), r3.clone(), r1.clone()]
    );
    assert_eq!(
        query(1, 4, Some("pages")).await,
        [r3.clone(), r1.clone(), r4.clone()]
    );
    assert_eq!(
        query(0, 1, None).await,
        std::slice::from_ref(&r2),
        "until is exclusive"
    );
    assert_eq!(query(0, 4, Some("api")).await, [r2]);
    assert_eq!(query(3, 4, None).await, [r4], "since is inclusive");
    assert_eq!(query(-10, 0, None).await, []);
    assert_eq!(query(0, 4, Some("nothing")).await, []);
}
