//! The cache over a store that is down: it computes and returns, never fails a read, and the
//! errors are counted. (Behaviour on real stores: the conformance suite, `cache_client.rs`.)

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anp_core::cache::{
    CacheDeleteParams, CacheLeaseParams, CacheNamespace, CachePurgePrefixParams, CacheRead,
    CacheReadParams, CacheStatsQueryParams, CacheStatsRecord, CacheStore, CacheUsage, CacheWatch,
    CacheWrite, CacheWriteParams, GenerationMove, Invalidation, Namespace, Tag, TagPurgeParams,
    WatchEvent, WatchSink,
};
use anp_core::{Error, ErrorKind, Result};
use async_trait::async_trait;

use super::{CacheClient, CacheOptions, NamespaceOptions, Policy};

/// A store that cannot be reached: every call is `Unavailable`.
#[derive(Debug, Default)]
struct Down {
    calls: AtomicU64,
}

impl Down {
    fn fail<T>(&self) -> Result<T> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Err(Error::unavailable("test store", "connection refused"))
    }
}

#[async_trait]
impl CacheStore for Down {
    async fn cache_read(&self, _: CacheReadParams) -> Result<CacheRead> {
        self.fail()
    }
    async fn cache_tag_versions(&self, _: Namespace, _: Vec<Tag>) -> Result<Vec<u64>> {
        self.fail()
    }
    async fn cache_write(&self, _: CacheWriteParams) -> Result<CacheWrite> {
        self.fail()
    }
    async fn cache_delete(&self, _: CacheDeleteParams) -> Result<u64> {
        self.fail()
    }
    async fn cache_purge_tags(&self, _: TagPurgeParams) -> Result<()> {
        self.fail()
    }
    async fn cache_purge_prefix(&self, _: CachePurgePrefixParams) -> Result<u64> {
        self.fail()
    }
    async fn cache_lease_acquire(&self, _: CacheLeaseParams) -> Result<bool> {
        self.fail()
    }
    async fn cache_lease_renew(&self, _: CacheLeaseParams) -> Result<bool> {
        self.fail()
    }
    async fn cache_lease_release(&self, _: CacheLeaseParams) -> Result<()> {
        self.fail()
    }
    async fn cache_namespace_register(&self, _: Namespace, _: bool) -> Result<CacheNamespace> {
        self.fail()
    }
    async fn cache_namespace_list(&self) -> Result<Vec<CacheNamespace>> {
        self.fail()
    }
    async fn cache_generation_move(
        &self,
        _: Namespace,
        _: GenerationMove,
    ) -> Result<CacheNamespace> {
        self.fail()
    }
    async fn cache_usage(&self, _: Namespace, _: u64, _: jiff::Timestamp) -> Result<CacheUsage> {
        self.fail()
    }
    async fn cache_prune(&self, _: jiff::Timestamp, _: u32) -> Result<u64> {
        self.fail()
    }
    async fn cache_publish(&self, _: String, _: Invalidation) -> Result<()> {
        self.fail()
    }
    async fn cache_watch(&self, _: WatchSink) -> Result<CacheWatch> {
        self.fail()
    }
    fn cache_watch_bound(&self) -> Duration {
        Duration::from_millis(100)
    }
    async fn cache_stats_record(&self, _: CacheStatsRecord) -> Result<()> {
        self.fail()
    }
    async fn cache_stats_query(&self, _: CacheStatsQueryParams) -> Result<Vec<CacheStatsRecord>> {
        self.fail()
    }
}

#[tokio::test]
async fn a_dead_store_computes_and_returns() {
    let down = Arc::new(Down::default());
    let client = CacheClient::start(down.clone(), CacheOptions::default())
        .await
        .unwrap_or_else(|e| panic!("start must not fail on a dead store: {e}"));
    let cache = client
        .namespace("pages", NamespaceOptions::default())
        .await
        .unwrap_or_else(|e| panic!("open must not fail on a dead store: {e}"));
    let policy = Policy::fresh(Duration::from_secs(60)).tag("post:1");
    for i in 0..3 {
        let v = cache
            .get_or_compute("k", &policy, move || async move {
                Ok::<_, std::io::Error>(format!("computed {i}"))
            })
            .await
            .unwrap_or_else(|e| panic!("get_or_compute on a dead store: {e}"));
        // Nothing is cached: each call computes.
        assert_eq!(v, format!("computed {i}"));
    }
    assert!(down.calls.load(Ordering::SeqCst) >= 3);
    let counts = cache.ns.counts.take();
    assert_eq!(counts.store_errors, 3, "{counts:?}");
    // Explicit operations report the store's error.
    let err = cache
        .set("k", "v", &policy)
        .await
        .expect_err("set on a dead store");
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(cache.get::<String>("k").await.is_err());
}

#[tokio::test]
async fn resync_empties_l1() {
    let down = Arc::new(Down::default());
    let client = CacheClient::start(down, CacheOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let shared = &client.shared;
    let ns = Namespace::parse("n").unwrap_or_else(|e| panic!("{e}"));
    let key = anp_core::cache::CacheKey::parse("k").unwrap_or_else(|e| panic!("{e}"));
    let now = jiff::Timestamp::now();
    let env = super::flight::envelope(
        &Policy::fresh(Duration::from_secs(60)),
        &[],
        now,
        Duration::ZERO,
        serde_json::value::to_raw_value("v").unwrap_or_else(|e| panic!("{e}")),
    );
    shared
        .l1
        .insert(&ns, &key, Arc::new(super::l1::Entry::new(0, env, 10)));
    assert!(shared.l1.get(&ns, &key, 0, now.as_millisecond()).is_some());
    // Another process's change for another key leaves it; a resync drops it.
    shared.apply(WatchEvent::Change {
        origin: "other".into(),
        change: Invalidation::Keys {
            ns: ns.clone(),
            keys: vec![anp_core::cache::CacheKey::parse("x").unwrap_or_else(|e| panic!("{e}"))],
        },
    });
    assert!(shared.l1.get(&ns, &key, 0, now.as_millisecond()).is_some());
    shared.apply(WatchEvent::Resync);
    assert!(shared.l1.get(&ns, &key, 0, now.as_millisecond()).is_none());
}
