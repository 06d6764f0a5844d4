//! The cache seam ([`CacheStore`], reached through `Store::cache`), one file per area:
//! - [`entries`]: write / read, absent keys, TTL expiry, delete, prefix purge, usage, prune;
//! - [`leases`]: compute leases (exclusive, renew, release, expiry) and fenced writes;
//! - [`tags`]: tag versions, purges, their expiry, and the one-call read of entry, tag versions
//!   and generation;
//! - [`generations`]: namespaces, deploy generations forward and back, their independence;
//! - [`feed`]: the invalidation feed (publish / watch) across handles;
//! - [`stats`]: cache stats flushes by time range and namespace;
//! - [`client`]: the cache through the library (`alphanode::cache`): what users see.
//!
//! Every case must pass on every backend. Redis expires keys by real time (`PX`) and ignores
//! `now`, so expiry cases use short real TTLs (200–400 ms) and poll with a deadline, passing the
//! current time as `now`; other cases pass `now` as the current time too, with TTLs long enough
//! (60 s) never to expire during the test. No bare sleep is longer than 100 ms.

pub mod client;
pub mod entries;
pub mod feed;
pub mod generations;
pub mod leases;
pub mod stats;
pub mod tags;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anp_core::cache::{
    CacheKey, CacheLeaseParams, CacheReadParams, CacheStore, CacheWrite, CacheWriteParams,
    Envelope, EnvelopeMeta, Namespace, Tag, ENVELOPE_VERSION,
};
use jiff::Timestamp;
use serde_json::value::RawValue;

use crate::Harness;

/// A TTL no case outlives.
pub const LONG: Duration = Duration::from_secs(60);

/// The cache half of a fresh handle on the harness's store.
pub async fn cache_of<H: Harness>(h: &H) -> Arc<dyn CacheStore> {
    h.store().await.cache()
}

/// A namespace that is known to be valid.
pub fn ns(name: &str) -> Namespace {
    Namespace::parse(name).unwrap_or_else(|e| panic!("{e}"))
}

/// A key that is known to be valid.
pub fn key(k: &str) -> CacheKey {
    CacheKey::parse(k).unwrap_or_else(|e| panic!("{e}"))
}

/// A tag that is known to be valid.
pub fn tag(t: &str) -> Tag {
    Tag::parse(t).unwrap_or_else(|e| panic!("{e}"))
}

/// The current instant (the cache stores milliseconds).
pub fn now() -> Timestamp {
    Timestamp::now()
}

/// Envelope bytes holding `value` (JSON text) written at `now`, fresh for 30 s and kept 60 s,
/// recording `tags`.
pub fn envelope(value: &str, now: Timestamp, tags: Vec<(Tag, u64)>) -> Vec<u8> {
    let at = now.as_millisecond();
    let meta = EnvelopeMeta {
        anp_cache: ENVELOPE_VERSION,
        at,
        fresh: at + 30_000,
        stale: at + 45_000,
        error: at + 60_000,
        compute_us: 1_500,
        tags,
        neg: false,
    };
    let value = RawValue::from_string(value.to_owned()).unwrap_or_else(|e| panic!("{e}"));
    Envelope::new(meta, value).encode()
}

/// `cache_write` of `bytes` under (`n`, `generation`, `k`) for `ttl`, fenced by `lease`.
pub async fn write_with(
    c: &dyn CacheStore,
    n: &str,
    generation: u64,
    k: &str,
    bytes: Vec<u8>,
    ttl: Duration,
    lease: Option<u64>,
) -> CacheWrite {
    c.cache_write(CacheWriteParams {
        ns: ns(n),
        generation,
        key: key(k),
        bytes,
        ttl,
        lease,
        now: now(),
    })
    .await
    .unwrap_or_else(|e| panic!("cache_write {n}/{generation}/{k:?}: {e}"))
}

/// An unfenced write of an envelope holding `value` for [`LONG`].
pub async fn write(c: &dyn CacheStore, n: &str, generation: u64, k: &str, value: &str) {
    let bytes = envelope(value, now(), vec![]);
    let w = write_with(c, n, generation, k, bytes, LONG, None).await;
    assert_eq!(w, CacheWrite::Applied, "an unfenced write applies");
}

/// The stored bytes of (`n`, `generation`, `k`) now, if any.
pub async fn read(c: &dyn CacheStore, n: &str, generation: u64, k: &str) -> Option<Vec<u8>> {
    c.cache_read(CacheReadParams {
        ns: ns(n),
        generation,
        key: key(k),
        tags: vec![],
        with_generation: false,
        now: now(),
    })
    .await
    .unwrap_or_else(|e| panic!("cache_read {n}/{generation}/{k:?}: {e}"))
    .entry
}

/// The JSON value of the envelope stored under (`n`, `generation`, `k`), if any.
pub async fn read_value(c: &dyn CacheStore, n: &str, generation: u64, k: &str) -> Option<String> {
    let bytes = read(c, n, generation, k).await?;
    let e = Envelope::decode(&bytes).unwrap_or_else(|e| panic!("{n}/{k:?}: {e}"));
    Some(e.value.get().to_owned())
}

/// Lease parameters for `k` in generation 0 of `n`, held by `token` for `ttl` from now.
pub fn lease(n: &str, k: &str, token: u64, ttl: Duration) -> CacheLeaseParams {
    CacheLeaseParams {
        ns: ns(n),
        generation: 0,
        key: key(k),
        token,
        ttl,
        now: now(),
    }
}

/// Sleeps in steps of at most 100 ms until `d` has passed since `start`.
pub async fn until_elapsed(start: Instant, d: Duration) {
    while start.elapsed() < d {
        let left = d.saturating_sub(start.elapsed());
        tokio::time::sleep(left.min(Duration::from_millis(100))).await;
    }
}

/// Polls every 20 ms until `check` is true, panicking with `what` after 5 s; returns how long
/// after `start` it became true.
pub async fn elapsed_until<F, Fut>(what: &str, start: Instant, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    crate::util::wait_for(what, Duration::from_secs(5), || {
        let fut = check();
        async move { fut.await.then(|| start.elapsed()) }
    })
    .await
}
