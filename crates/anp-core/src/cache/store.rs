//! The cache's storage seam, [`CacheStore`]: internal like [`Store`](crate::Store), same
//! conventions (noun-first names that are also file, span and metric names; one params value;
//! `now` as an input; each call atomic where it says so). Reached through
//! [`Store::cache`](crate::Store::cache). The library (`alphanode::cache`) builds every policy
//! — freshness, tags, stampede protection, L1 — on these primitives; a backend only stores.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{CacheKey, Namespace, Tag};
use crate::error::Result;
use crate::monitor::Histogram;

/// Parameters of [`CacheStore::cache_read`].
#[derive(Clone, Debug)]
pub struct CacheReadParams {
    /// Namespace.
    pub ns: Namespace,
    /// Generation the entry is read under (0 for namespaces that are not deploy-sensitive).
    pub generation: u64,
    /// Key.
    pub key: CacheKey,
    /// Tags whose current versions to read in the same round trip (the tags the caller
    /// expects the entry to carry); may be empty.
    pub tags: Vec<Tag>,
    /// Also read the namespace's current generation in the same round trip.
    pub with_generation: bool,
    /// Now (an embedded store ignores rows that expired before it).
    pub now: Timestamp,
}

/// What [`CacheStore::cache_read`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CacheRead {
    /// The stored envelope bytes; `None` when absent or expired.
    pub entry: Option<Vec<u8>>,
    /// Current version of each requested tag, in request order (0: never purged or expired).
    pub tag_versions: Vec<u64>,
    /// The namespace's current generation, when asked for.
    pub generation: Option<u64>,
}

/// Parameters of [`CacheStore::cache_write`].
#[derive(Clone, Debug)]
pub struct CacheWriteParams {
    /// Namespace.
    pub ns: Namespace,
    /// Generation written under.
    pub generation: u64,
    /// Key.
    pub key: CacheKey,
    /// Envelope bytes.
    pub bytes: Vec<u8>,
    /// How long the store keeps it (at least 1 ms).
    pub ttl: Duration,
    /// Fenced write: applies only while the key's compute lease holds this token, and releases
    /// the lease in the same atomic step. `None`: unconditional (a plain `set`).
    pub lease: Option<u64>,
    /// Now.
    pub now: Timestamp,
}

/// What happened to a [`CacheStore::cache_write`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheWrite {
    /// Stored.
    Applied,
    /// Not stored: the lease it was fenced by expired and another process holds the key's
    /// lease now (or none does).
    LeaseLost,
}

/// Parameters of [`CacheStore::cache_delete`].
#[derive(Clone, Debug)]
pub struct CacheDeleteParams {
    /// Namespace.
    pub ns: Namespace,
    /// Generation.
    pub generation: u64,
    /// Keys to delete.
    pub keys: Vec<CacheKey>,
    /// Now.
    pub now: Timestamp,
}

/// Parameters of [`CacheStore::cache_purge_tags`].
#[derive(Clone, Debug)]
pub struct TagPurgeParams {
    /// Namespace.
    pub ns: Namespace,
    /// Each tag with its new version (random, non-zero, chosen by the caller). Every entry
    /// that recorded another version of one of its tags is invalid from then on.
    pub versions: Vec<(Tag, u64)>,
    /// How long the new version must be kept: the namespace's longest entry lifetime. After
    /// that no entry that could carry an older version exists, and the version may expire
    /// (reading as 0) without resurrecting anything — so tag bookkeeping never grows unbounded.
    pub keep: Duration,
    /// Now.
    pub now: Timestamp,
}

/// Parameters of [`CacheStore::cache_purge_prefix`].
#[derive(Clone, Debug)]
pub struct CachePurgePrefixParams {
    /// Namespace.
    pub ns: Namespace,
    /// Generation.
    pub generation: u64,
    /// Keys starting with this (may be empty: every key of the generation).
    pub prefix: String,
    /// At most this many deletions per call; call until it returns 0. This scans keys (Redis
    /// `SCAN` on every node; SQLite a range of the primary key).
    pub limit: u32,
    /// Now.
    pub now: Timestamp,
}

/// Parameters of the compute-lease calls ([`CacheStore::cache_lease_acquire`] and friends).
#[derive(Clone, Debug)]
pub struct CacheLeaseParams {
    /// Namespace.
    pub ns: Namespace,
    /// Generation.
    pub generation: u64,
    /// Key being computed.
    pub key: CacheKey,
    /// The holder's token (random, non-zero): fences the write that ends the computation.
    pub token: u64,
    /// Lease length from now.
    pub ttl: Duration,
    /// Now.
    pub now: Timestamp,
}

/// A namespace as the store records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheNamespace {
    /// Its name.
    pub ns: Namespace,
    /// `anp deploy mark` moves it to a new generation (and `anp deploy rollback` back).
    pub deploy_sensitive: bool,
    /// The generation entries are read and written under now (0 until the first deploy).
    pub generation: u64,
    /// Earlier generations, oldest first, for rollback.
    pub history: Vec<u64>,
}

/// How [`CacheStore::cache_generation_move`] moves a namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GenerationMove {
    /// To a generation never used before (a deploy); the current one is pushed on the history.
    Next,
    /// Back to the newest generation in the history (a rollback); the current one is dropped.
    /// `Conflict` when the history is empty.
    Previous,
}

/// Entries and bytes of one namespace generation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheUsage {
    /// Live entries.
    pub entries: u64,
    /// Their stored size (keys and envelopes), bytes.
    pub bytes: u64,
    /// `false` when the backend stopped counting at its scan budget (the figures are lower
    /// bounds).
    pub exact: bool,
}

/// A change another process's in-process (L1) cache must hear about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "what", rename_all = "snake_case")]
pub enum Invalidation {
    /// Keys set or deleted.
    Keys {
        /// Namespace.
        ns: Namespace,
        /// The keys.
        keys: Vec<CacheKey>,
    },
    /// Tags purged.
    Tags {
        /// Namespace.
        ns: Namespace,
        /// The tags with their new versions.
        versions: Vec<(Tag, u64)>,
    },
    /// Keys with a prefix purged.
    Prefix {
        /// Namespace.
        ns: Namespace,
        /// The prefix.
        prefix: String,
    },
    /// The namespace moved to another generation (deploy or rollback).
    Generation {
        /// Namespace.
        ns: Namespace,
        /// The generation now current.
        generation: u64,
    },
}

/// What a [`CacheStore::cache_watch`] sink receives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WatchEvent {
    /// A change published by a process (`origin`: its process id).
    Change {
        /// Publishing process.
        origin: String,
        /// The change.
        change: Invalidation,
    },
    /// Changes may have been missed (the feed reconnected or fell behind): drop everything
    /// held in L1.
    Resync,
}

/// Where a watch delivers events. Called from the backend's task; must not block.
pub type WatchSink = Box<dyn Fn(WatchEvent) + Send + Sync>;

/// A running watch; dropping it stops the watch.
pub struct CacheWatch {
    guard: Box<dyn Send + Sync>,
}

impl CacheWatch {
    /// Wraps the backend's guard (whose `Drop` stops its task).
    pub fn new(guard: Box<dyn Send + Sync>) -> CacheWatch {
        CacheWatch { guard }
    }
}

impl Debug for CacheWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let _ = &self.guard;
        f.write_str("CacheWatch")
    }
}

/// Cache counters of one process and namespace over one flush interval.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheCounts {
    /// Served fresh from the store.
    pub hits: u64,
    /// Served fresh from the in-process L1.
    pub l1_hits: u64,
    /// Not found, expired or purged.
    pub misses: u64,
    /// Served stale while a refresh ran (stale-while-revalidate).
    pub stale: u64,
    /// Served stale because the computation failed (stale-if-error).
    pub stale_errors: u64,
    /// Computations run.
    pub computes: u64,
    /// Computations that failed.
    pub compute_errors: u64,
    /// Calls that waited for another caller's computation.
    pub lock_waits: u64,
    /// Keys deleted and tags / prefixes purged.
    pub purges: u64,
    /// Stored values that could not be read (another format, or not the caller's type).
    pub undecodable: u64,
    /// Store calls that failed (the cache served by computing).
    pub store_errors: u64,
    /// Computation time.
    pub compute: Histogram,
    /// Keys with the most misses, most first (at most 10).
    pub top_misses: Vec<(String, u64)>,
    /// Requests an HTTP cache layer (`anp proxy`, `anp_http::CacheLayer`) answered with this
    /// namespace, by the rule that decided (`none`: no rule matched). Empty for namespaces no
    /// HTTP layer uses; absent in records written before it existed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub requests: BTreeMap<String, RequestCounts>,
}

/// What an HTTP cache layer did with the requests of one rule over one interval.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestCounts {
    /// Served fresh from the cache.
    pub hits: u64,
    /// Fetched from the upstream and stored.
    pub misses: u64,
    /// Served stale (stale-while-revalidate, or stale-if-error when the upstream failed).
    pub stale: u64,
    /// Passed through: a bypass condition or rule, or no rule matched.
    pub bypasses: u64,
    /// The rule said cache but the response could not be stored (`Set-Cookie`, `private`,
    /// an unlisted status, too large): passed to its own client only.
    pub uncacheable: u64,
    /// Upstream 5xx answers and failed upstream calls.
    pub upstream_errors: u64,
    /// Time to the upstream's response head, for every upstream call.
    pub upstream: Histogram,
}

/// What an HTTP cache layer did with one request, for [`RequestCounts`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestOutcome {
    /// See [`RequestCounts::hits`].
    Hit,
    /// See [`RequestCounts::misses`].
    Miss,
    /// See [`RequestCounts::stale`].
    Stale,
    /// See [`RequestCounts::bypasses`].
    Bypass,
    /// See [`RequestCounts::uncacheable`].
    Uncacheable,
}

impl RequestCounts {
    /// Counts one request.
    pub fn count(&mut self, outcome: RequestOutcome) {
        let n = match outcome {
            RequestOutcome::Hit => &mut self.hits,
            RequestOutcome::Miss => &mut self.misses,
            RequestOutcome::Stale => &mut self.stale,
            RequestOutcome::Bypass => &mut self.bypasses,
            RequestOutcome::Uncacheable => &mut self.uncacheable,
        };
        *n += 1;
    }

    /// Adds another interval's counts.
    pub fn add(&mut self, o: &RequestCounts) {
        self.hits += o.hits;
        self.misses += o.misses;
        self.stale += o.stale;
        self.bypasses += o.bypasses;
        self.uncacheable += o.uncacheable;
        self.upstream_errors += o.upstream_errors;
        self.upstream.merge(&o.upstream);
    }

    /// Every request answered.
    pub fn requests(&self) -> u64 {
        self.hits + self.misses + self.stale + self.bypasses + self.uncacheable
    }

    /// Of the requests a rule said to cache, the share served from the cache (fresh or
    /// stale); `None` without such requests.
    pub fn hit_ratio(&self) -> Option<f64> {
        let served = self.hits + self.stale;
        let n = served + self.misses + self.uncacheable;
        (n > 0).then(|| served as f64 / n as f64)
    }

    /// Of all requests, the share passed through uncached; `None` without requests.
    pub fn bypass_rate(&self) -> Option<f64> {
        let n = self.requests();
        (n > 0).then(|| self.bypasses as f64 / n as f64)
    }
}

impl CacheCounts {
    /// Adds another interval's counts (top misses merged by key, kept to the 10 largest).
    pub fn add(&mut self, o: &CacheCounts) {
        self.hits += o.hits;
        self.l1_hits += o.l1_hits;
        self.misses += o.misses;
        self.stale += o.stale;
        self.stale_errors += o.stale_errors;
        self.computes += o.computes;
        self.compute_errors += o.compute_errors;
        self.lock_waits += o.lock_waits;
        self.purges += o.purges;
        self.undecodable += o.undecodable;
        self.store_errors += o.store_errors;
        self.compute.merge(&o.compute);
        for (key, n) in &o.top_misses {
            match self.top_misses.iter_mut().find(|(k, _)| k == key) {
                Some((_, m)) => *m += n,
                None => self.top_misses.push((key.clone(), *n)),
            }
        }
        self.top_misses
            .sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        self.top_misses.truncate(10);
        for (rule, c) in &o.requests {
            self.requests.entry(rule.clone()).or_default().add(c);
        }
    }

    /// The HTTP layer's requests summed over every rule.
    pub fn requests_total(&self) -> RequestCounts {
        let mut all = RequestCounts::default();
        for c in self.requests.values() {
            all.add(c);
        }
        all
    }

    /// Reads served (L1 and store hits, stale serves, misses).
    pub fn lookups(&self) -> u64 {
        self.hits + self.l1_hits + self.misses + self.stale + self.stale_errors
    }

    /// Share of reads served without computing (hits, L1 hits and stale serves); `None`
    /// without reads.
    pub fn hit_ratio(&self) -> Option<f64> {
        let n = self.lookups();
        (n > 0)
            .then(|| (self.hits + self.l1_hits + self.stale + self.stale_errors) as f64 / n as f64)
    }

    /// Share of reads that found nothing usable (misses); `None` without reads. With
    /// [`hit_ratio`](Self::hit_ratio) it sums to 1.
    pub fn miss_ratio(&self) -> Option<f64> {
        let n = self.lookups();
        (n > 0).then(|| self.misses as f64 / n as f64)
    }

    /// Share of reads served a stale value (within the stale-while-revalidate or
    /// stale-if-error window; part of the hit ratio); `None` without reads.
    pub fn stale_ratio(&self) -> Option<f64> {
        let n = self.lookups();
        (n > 0).then(|| (self.stale + self.stale_errors) as f64 / n as f64)
    }
}

/// One flush of [`CacheCounts`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheStatsRecord {
    /// End of the interval.
    pub at: Timestamp,
    /// The process that counted.
    pub process: String,
    /// Namespace.
    pub ns: Namespace,
    /// The counts.
    pub counts: CacheCounts,
}

/// Parameters of [`CacheStore::cache_stats_query`].
#[derive(Clone, Debug)]
pub struct CacheStatsQueryParams {
    /// Records with `since <= at < until`.
    pub since: Timestamp,
    /// See `since`.
    pub until: Timestamp,
    /// Only this namespace; `None`: all.
    pub ns: Option<Namespace>,
}

/// The cache's storage seam. See the module docs.
#[async_trait]
pub trait CacheStore: Send + Sync + Debug + 'static {
    /// Reads one entry and, in the same round trip, the current versions of `p.tags` and (when
    /// asked) the namespace's generation.
    async fn cache_read(&self, p: CacheReadParams) -> Result<CacheRead>;

    /// Current versions of tags (0 for a tag never purged, or whose version expired), in order.
    async fn cache_tag_versions(&self, ns: Namespace, tags: Vec<Tag>) -> Result<Vec<u64>>;

    /// Stores an entry for `ttl`, atomically; fenced by a compute lease when `p.lease` is set.
    async fn cache_write(&self, p: CacheWriteParams) -> Result<CacheWrite>;

    /// Deletes keys; returns how many existed (unexpired).
    async fn cache_delete(&self, p: CacheDeleteParams) -> Result<u64>;

    /// Sets tags' versions (one atomic step per namespace; all tag versions of a namespace
    /// live together, on Redis in one slot).
    async fn cache_purge_tags(&self, p: TagPurgeParams) -> Result<()>;

    /// Deletes up to `limit` keys of a generation starting with a prefix; returns how many.
    async fn cache_purge_prefix(&self, p: CachePurgePrefixParams) -> Result<u64>;

    /// Takes the key's compute lease if no live lease exists; `true` when taken.
    async fn cache_lease_acquire(&self, p: CacheLeaseParams) -> Result<bool>;

    /// Extends the lease if `p.token` still holds it; `false` when it does not.
    async fn cache_lease_renew(&self, p: CacheLeaseParams) -> Result<bool>;

    /// Gives the lease up if `p.token` holds it (a failed computation).
    async fn cache_lease_release(&self, p: CacheLeaseParams) -> Result<()>;

    /// Records a namespace (idempotent; `deploy_sensitive` is updated to the given value) and
    /// returns it as stored, with its current generation.
    async fn cache_namespace_register(
        &self,
        ns: Namespace,
        deploy_sensitive: bool,
    ) -> Result<CacheNamespace>;

    /// Every recorded namespace, by name. `NotFound`-free: an empty store lists none.
    async fn cache_namespace_list(&self) -> Result<Vec<CacheNamespace>>;

    /// Moves a namespace's generation (one atomic step); returns it as now stored. An unknown
    /// namespace is `NotFound`.
    async fn cache_generation_move(
        &self,
        ns: Namespace,
        to: GenerationMove,
    ) -> Result<CacheNamespace>;

    /// Entries and bytes stored in one namespace generation.
    async fn cache_usage(
        &self,
        ns: Namespace,
        generation: u64,
        now: Timestamp,
    ) -> Result<CacheUsage>;

    /// The entries of one namespace generation that a purge of `p.tag` would invalidate now
    /// (carrying the tag, and servable: [`super::TaggedCount`]), and their size. Walks the
    /// generation's entries (Redis `SCAN` on every primary, up to a budget; then `exact` is
    /// `false`): for operators, never on a request path.
    async fn cache_count_tagged(&self, p: super::CacheCountTaggedParams) -> Result<CacheUsage>;

    /// Deletes expired entries, leases and tag versions, up to `limit`; returns how many. A
    /// store whose entries expire by themselves (Redis) returns 0.
    async fn cache_prune(&self, now: Timestamp, limit: u32) -> Result<u64>;

    /// Tells every watching process about a change (`origin`: the publishing process id).
    async fn cache_publish(&self, origin: String, change: Invalidation) -> Result<()>;

    /// Starts delivering published changes to `sink` until the returned guard is dropped.
    /// Changes published after this returns are delivered, in order per publisher, unless the
    /// feed is interrupted — then [`WatchEvent::Resync`] is delivered once it is back, before
    /// any later change. Never gives up: the backend reconnects with backoff.
    async fn cache_watch(&self, sink: WatchSink) -> Result<CacheWatch>;

    /// The longest a published change can take to reach a watcher on this backend, when the
    /// feed is up (documented per backend; the L1 coherence bound).
    fn cache_watch_bound(&self) -> Duration;

    /// Adds one flush of counts.
    async fn cache_stats_record(&self, r: CacheStatsRecord) -> Result<()>;

    /// Flushes in a time range, oldest first.
    async fn cache_stats_query(&self, p: CacheStatsQueryParams) -> Result<Vec<CacheStatsRecord>>;
}

/// Every [`CacheStore`] method a backend writes as "run its op file", listed once for all
/// backends (like [`forward_store_ops!`](crate::forward_store_ops)):
/// `forward_cache_ops!(impl_cache_store! { …hand-written methods… })` calls the backend's own
/// `impl_cache_store!` with `as_written { … }` and `ops { method(arg: Type, …) -> Output; … }`.
/// A method added to the trait is added here, and every backend fails to compile until it has
/// the op.
#[macro_export]
macro_rules! forward_cache_ops {
    ($callback:ident ! { $($written:tt)* }) => {
        $callback! {
            as_written { $($written)* }
            ops {
                cache_read(p: $crate::cache::CacheReadParams) -> $crate::cache::CacheRead;
                cache_tag_versions(ns: $crate::cache::Namespace, tags: Vec<$crate::cache::Tag>) -> Vec<u64>;
                cache_write(p: $crate::cache::CacheWriteParams) -> $crate::cache::CacheWrite;
                cache_delete(p: $crate::cache::CacheDeleteParams) -> u64;
                cache_purge_tags(p: $crate::cache::TagPurgeParams) -> ();
                cache_purge_prefix(p: $crate::cache::CachePurgePrefixParams) -> u64;
                cache_lease_acquire(p: $crate::cache::CacheLeaseParams) -> bool;
                cache_lease_renew(p: $crate::cache::CacheLeaseParams) -> bool;
                cache_lease_release(p: $crate::cache::CacheLeaseParams) -> ();
                cache_namespace_register(ns: $crate::cache::Namespace, deploy_sensitive: bool) -> $crate::cache::CacheNamespace;
                cache_namespace_list() -> Vec<$crate::cache::CacheNamespace>;
                cache_generation_move(ns: $crate::cache::Namespace, to: $crate::cache::GenerationMove) -> $crate::cache::CacheNamespace;
                cache_usage(ns: $crate::cache::Namespace, generation: u64, now: ::jiff::Timestamp) -> $crate::cache::CacheUsage;
                cache_count_tagged(p: $crate::cache::CacheCountTaggedParams) -> $crate::cache::CacheUsage;
                cache_prune(now: ::jiff::Timestamp, limit: u32) -> u64;
                cache_publish(origin: String, change: $crate::cache::Invalidation) -> ();
                cache_watch(sink: $crate::cache::WatchSink) -> $crate::cache::CacheWatch;
                cache_stats_record(r: $crate::cache::CacheStatsRecord) -> ();
                cache_stats_query(p: $crate::cache::CacheStatsQueryParams) -> Vec<$crate::cache::CacheStatsRecord>;
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::CacheCounts;

    #[test]
    fn ratios_share_the_lookups() {
        assert_eq!(CacheCounts::default().hit_ratio(), None);
        assert_eq!(CacheCounts::default().miss_ratio(), None);
        assert_eq!(CacheCounts::default().stale_ratio(), None);
        let c = CacheCounts {
            hits: 5,
            l1_hits: 2,
            stale: 1,
            stale_errors: 1,
            misses: 1,
            ..Default::default()
        };
        assert_eq!(c.lookups(), 10);
        assert_eq!(c.hit_ratio(), Some(0.9));
        assert_eq!(c.miss_ratio(), Some(0.1));
        assert_eq!(c.stale_ratio(), Some(0.2));
    }
}
