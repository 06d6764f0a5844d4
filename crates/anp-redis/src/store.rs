//! [`RedisStore`]: the handle, and the [`Store`] implementation that hands each method to its
//! `ops/<method>.rs`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anp_core::cache::CacheStore;
use anp_core::store::{StoreCheck, StoreInfo};
use anp_core::{Result, Store};
use async_trait::async_trait;
use jiff::Timestamp;
use tracing::Instrument;

use crate::conn::Redis;
use crate::ops;
use crate::url::RedisUrl;

/// A Redis / Valkey store. Cheap to clone (an `Arc` inside); one shared multiplexed connection
/// (per node in Cluster) serves every call, plus dedicated connections for `job_wait`.
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

struct Inner {
    redis: Redis,
    server_version: String,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("url", &self.inner.redis.target())
            .field("server_version", &self.inner.server_version)
            .finish()
    }
}

impl RedisStore {
    /// Connects to the store at `url`:
    /// `redis://[user:pass@]host:port[/db]`, `rediss://…[?ca=/path/ca.pem]` (TLS),
    /// `redis+cluster://host:port,host:port` (Cluster) or `rediss+cluster://…`.
    ///
    /// Checks that the server is Redis 6.2+ (or Valkey) and that its `anp:*` keys use a layout
    /// this build understands, loads the scripts, and warns (tracing) when `maxmemory-policy`
    /// would evict jobs. A bad URL is `InvalidInput`; an unreachable server `Unavailable`.
    pub async fn open(url: &str) -> Result<RedisStore> {
        let url = RedisUrl::parse(url)?;
        let opened = crate::open::open(&url)
            .instrument(tracing::debug_span!("anp.store.open", store = %url.redacted()))
            .await?;
        Ok(RedisStore {
            inner: Arc::new(Inner {
                redis: opened.redis,
                server_version: opened.server_version,
            }),
        })
    }

    /// Server settings that can lose jobs (an evicting `maxmemory-policy`, persistence off),
    /// one sentence each; empty when all is well or the settings cannot be read.
    pub async fn server_warnings(&self) -> Vec<String> {
        crate::open::server_warnings(&self.inner.redis).await
    }

    /// The server's clock (Redis `TIME`), for measuring this host's clock skew against it.
    /// A Cluster answers from one of its nodes.
    pub async fn server_time(&self) -> Result<jiff::Timestamp> {
        crate::open::server_time(&self.inner.redis).await
    }

    fn r(&self) -> &Redis {
        &self.inner.redis
    }
}

/// Writes `impl Store for RedisStore`: the methods under `as_written` as they are, then one
/// method per entry under `ops` that runs `ops::<op>::run(&Redis, …)` in the span
/// `anp.store.<op>`.
macro_rules! impl_store {
    (
        as_written { $($written:tt)* }
        ops { $($op:ident($($arg:ident: $ty:ty),*) -> $out:ty;)* }
    ) => {
        #[async_trait]
        impl Store for RedisStore {
            $($written)*
            $(
                async fn $op(&self, $($arg: $ty),*) -> Result<$out> {
                    ops::$op::run(self.r(), $($arg),*)
                        .instrument(span!(stringify!($op)))
                        .await
                }
            )*
        }
    };
}

macro_rules! span {
    ($name:expr) => {
        tracing::debug_span!(concat!("anp.store.", $name))
    };
}

anp_core::forward_store_ops!(impl_store! {
        fn backend(&self) -> &'static str {
            "redis"
        }

        fn redacted_url(&self) -> String {
            self.r().target().to_owned()
        }

        fn cache(&self) -> Arc<dyn CacheStore> {
            Arc::new(self.clone())
        }

        /// The server runs the scripts on its own CPU: half the slots per fetch, so it serves
        /// one half's fetch while the worker runs the other half.
        fn fetch_split(&self) -> usize {
            2
        }

        /// Written out: `store_ping` also needs the server version, which the handle holds.
        async fn store_ping(&self) -> Result<StoreInfo> {
            ops::store_ping::run(self.r(), &self.inner.server_version)
                .instrument(span!("store_ping"))
                .await
        }

        fn store_schema_version(&self) -> u32 {
            crate::SCHEMA_VERSION
        }

        async fn store_checks(&self) -> Vec<StoreCheck> {
            let warnings = self
                .server_warnings()
                .instrument(span!("store_checks"))
                .await;
            if warnings.is_empty() {
                return vec![StoreCheck::pass(
                    "redis settings",
                    "maxmemory-policy noeviction and persistence on (or not readable with this ACL)",
                )];
            }
            warnings
                .into_iter()
                .map(|w| {
                    // Each setting has its own fix: say only the one that applies.
                    let fix = if w.contains("maxmemory-policy") {
                        "CONFIG SET maxmemory-policy noeviction (and in redis.conf) — see README \
                         \"Redis\""
                    } else {
                        "enable AOF: appendonly yes, appendfsync everysec (CONFIG SET and \
                         redis.conf) — see README \"Redis\""
                    };
                    StoreCheck::fail("redis settings", w, fix)
                })
                .collect()
        }

        async fn store_time(&self) -> Result<Option<Timestamp>> {
            self.server_time()
                .instrument(span!("store_time"))
                .await
                .map(Some)
        }

        async fn store_snapshot(&self, _dir: &Path) -> Result<Option<Arc<dyn Store>>> {
            // No copy of a Redis keyspace can be taken from a client without stopping writers;
            // job_export's per-queue copy-on-write is the consistency Redis offers.
            Ok(None)
        }
});

/// Writes `impl CacheStore for RedisStore` the way [`impl_store!`] writes `Store`: the methods
/// under `as_written` as they are, then one method per entry under `ops` that runs
/// `ops::<op>::run(&Redis, …)` in the span `anp.store.<op>`.
macro_rules! impl_cache_store {
    (
        as_written { $($written:tt)* }
        ops { $($op:ident($($arg:ident: $ty:ty),*) -> $out:ty;)* }
    ) => {
        #[async_trait]
        impl CacheStore for RedisStore {
            $($written)*
            $(
                async fn $op(&self, $($arg: $ty),*) -> Result<$out> {
                    ops::$op::run(self.r(), $($arg),*)
                        .instrument(span!(stringify!($op)))
                        .await
                }
            )*
        }
    };
}

anp_core::forward_cache_ops!(impl_cache_store! {
        /// Pub/sub delivers a published change within one network round trip while the feed
        /// is up; 100 ms is the documented bound (docs/cache.md).
        fn cache_watch_bound(&self) -> Duration {
            Duration::from_millis(100)
        }
});
