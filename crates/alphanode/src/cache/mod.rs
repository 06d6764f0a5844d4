//! The application cache: cache-aside with precise tag purges, stampede protection,
//! stale-while-revalidate and stale-if-error, deploy generations and a coherent in-process L1,
//! on SQLite, Redis and Redis Cluster. Design and costs: docs/cache.md.
//!
//! Open one [`CacheClient`] per process, then a [`Cache`] per namespace:
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use alphanode::cache::{CacheClient, NamespaceOptions, Policy};
//!
//! let caches = CacheClient::new(alphanode::connect("redis://127.0.0.1:6379").await?, Default::default()).await?;
//! let pages = caches.namespace("pages", NamespaceOptions { deploy_sensitive: true, ..Default::default() }).await?;
//!
//! let policy = Policy::fresh(Duration::from_secs(60))
//!     .stale_while_revalidate(Duration::from_secs(600))
//!     .stale_if_error(Duration::from_secs(3600))
//!     .tag("post:42");
//! // Computed once however many requests ask at once, in this process and across processes.
//! let html: String = pages
//!     .get_or_compute("post:42:html", &policy, || async { render(42).await })
//!     .await?;
//!
//! pages.purge_tag("post:42").await?; // after the post is edited: every entry tagged post:42
//! # let _ = html; Ok(()) }
//! # async fn render(_: u64) -> Result<String, std::io::Error> { Ok(String::new()) }
//! ```
//!
//! # Layout
//! - `policy.rs`: [`Policy`], the windows, tags, negative caching, jitter and early refresh
//!   of one value.
//! - `client.rs`: [`CacheClient`], [`CacheOptions`], [`NamespaceOptions`]: the store, L1, the
//!   invalidation feed and the background tasks (stats flush, pruning).
//! - `flight.rs`: single-flight in a process and the fenced compute lease across processes.
//! - `l1.rs`: the byte-bounded in-process cache.
//! - `stats.rs`: per-namespace counters, flushed to the store.

mod client;
mod flight;
mod l1;
mod policy;
mod stats;
#[cfg(test)]
mod tests;

use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anp_core::cache::{
    CacheCountTaggedParams, CacheDeleteParams, CachePurgePrefixParams, CacheReadParams,
    CacheWriteParams, Envelope, Freshness, Invalidation, TagPurgeParams,
};
pub use anp_core::cache::{
    CacheCounts, CacheKey, CacheNamespace, CacheStatsRecord, CacheUsage, GenerationMove, Namespace,
    RequestCounts, RequestOutcome, Tag,
};
use anp_core::{Error, ErrorKind, Result};
use futures_util::future::FutureExt;
use rand::Rng;
use serde::de::DeserializeOwned;
use serde::Serialize;

pub use client::{CacheClient, CacheOptions, NamespaceOptions};
pub use policy::Policy;

use client::NsState;
use flight::{FlightError, Lead};
use l1::Entry;
use stats::bump;

/// Why [`Cache::get_or_compute`] returned no value.
#[derive(Debug)]
pub enum ComputeError<E> {
    /// The computation failed (and no stale-if-error value was there to serve). Shared: every
    /// caller that waited for the same computation gets the same error.
    Compute(Arc<E>),
    /// The cache refused the call: a bad key or tag, a policy longer than the namespace's max
    /// lifetime, a value that does not serialize. Not retried by the cache.
    Cache(Error),
}

impl<E: std::fmt::Display> std::fmt::Display for ComputeError<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ComputeError::Compute(e) => write!(f, "cache compute failed: {e}"),
            ComputeError::Cache(e) => e.fmt(f),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for ComputeError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ComputeError::Compute(e) => Some(e.as_ref()),
            ComputeError::Cache(e) => Some(e),
        }
    }
}

impl<E> From<Error> for ComputeError<E> {
    fn from(e: Error) -> Self {
        ComputeError::Cache(e)
    }
}

/// The error of a flight, owned (a flight's error is shared by every caller that waited).
fn unshare(e: Arc<Error>) -> Error {
    Arc::try_unwrap(e).unwrap_or_else(|e| Error::new(e.op(), e.kind(), e.message(), e.retry_safe()))
}

/// A stored value as [`Cache::inspect`] sees it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Inspected {
    /// Namespace.
    pub namespace: Namespace,
    /// Key.
    pub key: CacheKey,
    /// Generation read.
    pub generation: u64,
    /// What a read would decide now: `fresh`, `stale`, `stale_if_error`, `expired` or
    /// `purged` (a tag was purged after it was computed).
    pub state: &'static str,
    /// A cached "not found".
    pub negative: bool,
    /// When it was stored.
    pub stored_at: jiff::Timestamp,
    /// Served as fresh until.
    pub fresh_until: jiff::Timestamp,
    /// Served stale (while one refresh runs) until.
    pub stale_until: jiff::Timestamp,
    /// Served if computing fails until; the store drops it then.
    pub stale_if_error_until: jiff::Timestamp,
    /// How long computing it took (ms).
    pub compute_ms: f64,
    /// Its tags.
    pub tags: Vec<Tag>,
    /// Stored size (envelope), bytes.
    pub stored_bytes: usize,
    /// The value.
    pub value: serde_json::Value,
}

/// One namespace of the cache. Cheap to clone. Get it from [`CacheClient::namespace`].
#[derive(Clone, Debug)]
pub struct Cache {
    client: CacheClient,
    ns: Arc<NsState>,
}

/// What a store read found.
enum Found {
    Fresh(Arc<Entry>),
    Stale(Arc<Entry>),
    StaleIfError(Arc<Entry>),
    Miss,
}

struct Looked {
    found: Found,
    generation: u64,
    /// The requested tags with their current versions.
    tags: Vec<(Tag, u64)>,
}

impl Cache {
    /// Counts one HTTP request an HTTP cache layer answered with this namespace under `rule`
    /// (`none` when no rule matched): its outcome, and the upstream call it made (how long
    /// to the response head, whether it failed), when it made one. Flushed to the store with
    /// the namespace's other counts, so `anp status` and `anp cache stats` show hit ratio and
    /// bypass rate per rule summed over every process ([`CacheCounts::requests`]).
    pub fn record_request(
        &self,
        rule: &str,
        outcome: Option<RequestOutcome>,
        upstream: Option<(Duration, bool)>,
    ) {
        self.ns.counts.request(rule, outcome, upstream);
    }

    /// The namespace's name.
    pub fn namespace(&self) -> &Namespace {
        &self.ns.ns
    }

    /// The generation this process reads and writes (0 unless deploy-sensitive).
    pub fn generation(&self) -> u64 {
        self.ns.generation.load(Ordering::Relaxed)
    }

    fn shared(&self) -> &Arc<client::Shared> {
        &self.client.shared
    }

    /// The value under `key` when this process's L1 holds it fresh: no store call, no
    /// waiting, counted as an L1 hit. `None` otherwise (not in L1, expired there, not a `T`, a
    /// bad key): ask [`Cache::get`] or [`Cache::get_or_compute`] then. For hot paths that
    /// serve most reads from memory (the HTTP cache layer).
    pub fn get_local<T>(&self, key: &str) -> Option<T>
    where
        T: DeserializeOwned + Clone + Send + Sync + 'static,
    {
        let key = CacheKey::parse(key).ok()?;
        let s = self.shared();
        let v =
            s.l1.get(&self.ns.ns, &key, self.generation(), s.now_ms())?
                .decode::<T>()?;
        bump(&self.ns.counts.l1_hits);
        Some(v)
    }

    /// The value under `key` when it is fresh or within its stale window (stale values are
    /// returned too: `get` never computes). `None` when absent, expired, purged, or stored in
    /// a form that is not a `T` (counted as `undecodable`).
    pub async fn get<T>(&self, key: &str) -> Result<Option<T>>
    where
        T: DeserializeOwned + Clone + Send + Sync + 'static,
    {
        let key = CacheKey::parse(key)?;
        let s = self.shared();
        // Only with L1 on: reading the clock is a measurable part of a store read.
        let in_l1 =
            s.l1.enabled()
                .then(|| s.l1.get(&self.ns.ns, &key, self.generation(), s.now_ms()))
                .flatten();
        if let Some(e) = in_l1 {
            if let Some(v) = e.decode::<T>() {
                bump(&self.ns.counts.l1_hits);
                return Ok(Some(v));
            }
        }
        let looked = self.lookup(&key, &[]).await?;
        let (entry, stale) = match looked.found {
            Found::Fresh(e) => (e, false),
            Found::Stale(e) => (e, true),
            Found::StaleIfError(_) | Found::Miss => {
                self.ns.counts.miss(key.as_str());
                return Ok(None);
            }
        };
        // With L1 on, a fresh entry is in L1 now: remember its typed value for the L1 hits
        // to come. With L1 off nobody else sees it, so parse without keeping a copy.
        let value = if s.l1.enabled() {
            entry.decode::<T>()
        } else {
            entry.parse::<T>()
        };
        match value {
            Some(v) => {
                bump(if stale {
                    &self.ns.counts.stale
                } else {
                    &self.ns.counts.hits
                });
                Ok(Some(v))
            }
            None => {
                bump(&self.ns.counts.undecodable);
                self.ns.counts.miss(key.as_str());
                Ok(None)
            }
        }
    }

    /// Stores `value` under `key` with `policy`'s windows and tags. Errors: a bad key or tag,
    /// a policy longer than the namespace's max lifetime, or a value over
    /// [`CacheOptions::max_value_bytes`] (`InvalidInput`, nothing stored); the store's own.
    pub async fn set<T>(&self, key: &str, value: &T, policy: &Policy) -> Result<()>
    where
        T: Serialize + ?Sized,
    {
        let key = CacheKey::parse(key)?;
        let tags = policy.check(self.ns.max_lifetime)?;
        let s = self.shared();
        let versions = self.tag_versions(&tags).await?;
        let raw = serde_json::value::to_raw_value(value).map_err(|e| {
            Error::invalid(
                "cache set",
                format!("the value does not serialize to JSON ({e}): expected a value serde_json can write"),
            )
        })?;
        let now = s.options.clock.now();
        let tagged: Vec<(Tag, u64)> = tags.into_iter().zip(versions).collect();
        let envelope = flight::envelope(policy, &tagged, now, Duration::ZERO, raw);
        let bytes = envelope.encode();
        if bytes.len() > s.options.max_value_bytes {
            return Err(Error::invalid(
                "cache set",
                format!(
                    "the value of {key:?} is {} bytes stored: expected at most {} \
                     (CacheOptions::max_value_bytes); nothing was stored",
                    bytes.len(),
                    s.options.max_value_bytes
                ),
            ));
        }
        let ttl = Duration::from_millis(envelope.store_ttl_ms(now.as_millisecond()));
        let generation = self.generation();
        let entry = Arc::new(Entry::new(generation, envelope, bytes.len()));
        s.store
            .cache_write(CacheWriteParams {
                ns: self.ns.ns.clone(),
                generation,
                key: key.clone(),
                bytes,
                ttl,
                lease: None,
                now,
            })
            .await?;
        s.l1.insert(&self.ns.ns, &key, entry);
        s.publish(Invalidation::Keys {
            ns: self.ns.ns.clone(),
            keys: vec![key],
        })
        .await;
        Ok(())
    }

    /// Deletes `key` (in the current generation) here and in every process's L1; `true` when
    /// it was stored.
    pub async fn delete(&self, key: &str) -> Result<bool> {
        let key = CacheKey::parse(key)?;
        let s = self.shared();
        let n = s
            .store
            .cache_delete(CacheDeleteParams {
                ns: self.ns.ns.clone(),
                generation: self.generation(),
                keys: vec![key.clone()],
                now: s.options.clock.now(),
            })
            .await?;
        self.changed(Invalidation::Keys {
            ns: self.ns.ns.clone(),
            keys: vec![key],
        })
        .await;
        Ok(n > 0)
    }

    /// Invalidates every entry written with `tag`, in every generation, at once: O(1), no
    /// scan (docs/cache.md, "Tags").
    pub async fn purge_tag(&self, tag: &str) -> Result<()> {
        self.purge_tags([tag]).await
    }

    /// [`Cache::purge_tag`] for several tags in one atomic step.
    pub async fn purge_tags<I, S>(&self, tags: I) -> Result<()>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut versions = Vec::new();
        for t in tags {
            let tag = Tag::parse(t.as_ref())?;
            versions.push((tag, rand::rng().random_range(1..=u64::MAX)));
        }
        if versions.is_empty() {
            return Ok(());
        }
        let s = self.shared();
        s.store
            .cache_purge_tags(TagPurgeParams {
                ns: self.ns.ns.clone(),
                versions: versions.clone(),
                keep: self.ns.max_lifetime,
                now: s.options.clock.now(),
            })
            .await?;
        self.changed(Invalidation::Tags {
            ns: self.ns.ns.clone(),
            versions,
        })
        .await;
        Ok(())
    }

    /// Deletes every key of the current generation starting with `prefix` and returns how
    /// many. This **scans** (Redis `SCAN` on every node; SQLite a key range): prefer tags.
    pub async fn purge_prefix(&self, prefix: &str) -> Result<u64> {
        if prefix.len() > CacheKey::MAX_LEN || prefix.chars().any(char::is_control) {
            return Err(Error::invalid(
                "cache purge prefix",
                format!(
                    "{prefix:?} is not a key prefix: expected at most {} bytes without control characters",
                    CacheKey::MAX_LEN
                ),
            ));
        }
        let s = self.shared();
        let mut total = 0;
        loop {
            let n = s
                .store
                .cache_purge_prefix(CachePurgePrefixParams {
                    ns: self.ns.ns.clone(),
                    generation: self.generation(),
                    prefix: prefix.to_owned(),
                    limit: 1000,
                    now: s.options.clock.now(),
                })
                .await?;
            total += n;
            if n == 0 {
                break;
            }
        }
        self.changed(Invalidation::Prefix {
            ns: self.ns.ns.clone(),
            prefix: prefix.to_owned(),
        })
        .await;
        Ok(total)
    }

    /// What is stored under `key`, with its metadata and what a read would decide now —
    /// for operators (`anp cache get`): reads the store (not L1) and counts nothing. `None`
    /// when nothing (unexpired) is stored; a stored value of another format is
    /// `Incompatible`.
    pub async fn inspect(&self, key: &str) -> Result<Option<Inspected>> {
        let key = CacheKey::parse(key)?;
        let s = self.shared();
        let now = s.options.clock.now();
        let generation = self.generation();
        let read = s
            .store
            .cache_read(CacheReadParams {
                ns: self.ns.ns.clone(),
                generation,
                key: key.clone(),
                tags: Vec::new(),
                with_generation: false,
                now,
            })
            .await?;
        let Some(bytes) = read.entry else {
            return Ok(None);
        };
        let envelope = Envelope::decode(&bytes)?;
        let tags: Vec<Tag> = envelope.meta.tags.iter().map(|(t, _)| t.clone()).collect();
        let versions = self.tag_versions(&tags).await?;
        let current: Vec<(Tag, u64)> = tags.into_iter().zip(versions).collect();
        let state = match envelope.freshness_given(now.as_millisecond(), &current) {
            Freshness::Fresh => "fresh",
            Freshness::Stale => "stale",
            Freshness::StaleIfError => "stale_if_error",
            Freshness::Expired => "expired",
            Freshness::Purged => "purged",
        };
        let ts =
            |ms: i64| jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        let value: serde_json::Value = serde_json::from_str(envelope.value.get()).map_err(|e| {
            Error::incompatible(
                "cache get",
                format!("stored value is not JSON ({e}): expected the JSON the cache writes"),
            )
        })?;
        Ok(Some(Inspected {
            namespace: self.ns.ns.clone(),
            key,
            generation,
            state,
            negative: envelope.meta.neg,
            stored_at: ts(envelope.meta.at),
            fresh_until: ts(envelope.meta.fresh),
            stale_until: ts(envelope.meta.stale),
            stale_if_error_until: ts(envelope.meta.error),
            compute_ms: envelope.meta.compute_us as f64 / 1000.0,
            tags: envelope.meta.tags.iter().map(|(t, _)| t.clone()).collect(),
            stored_bytes: bytes.len(),
            value,
        }))
    }

    /// How many entries of the current generation a purge of `tag` would invalidate now (they
    /// carry it, and a read would serve them), and their stored bytes. This **walks** the
    /// generation's entries (Redis: `SCAN` on every primary, up to 100,000 keys, then `exact`
    /// is `false`), unlike the purge itself (O(1)): for operators (`anp cache purge --tag T
    /// --count`), never on a request path. Entries written between the count and a purge are
    /// purged too but not counted.
    pub async fn count_tagged(&self, tag: &str) -> Result<CacheUsage> {
        let tag = Tag::parse(tag)?;
        let s = self.shared();
        s.store
            .cache_count_tagged(CacheCountTaggedParams {
                ns: self.ns.ns.clone(),
                generation: self.generation(),
                tag,
                now: s.options.clock.now(),
            })
            .await
    }

    /// Entries and bytes stored in the current generation.
    pub async fn usage(&self) -> Result<CacheUsage> {
        let s = self.shared();
        s.store
            .cache_usage(self.ns.ns.clone(), self.generation(), s.options.clock.now())
            .await
    }

    /// Applies a change to this process's L1, counts it, and publishes it.
    async fn changed(&self, change: Invalidation) {
        bump(&self.ns.counts.purges);
        let s = self.shared();
        s.apply_change(&change);
        s.publish(change).await;
    }

    /// The value under `key`; when there is none (or it expired, or a tag of it was purged),
    /// `compute` runs — once per key at a time in this process, and once across processes
    /// while its compute lease holds — and its value is stored with `policy` and returned.
    ///
    /// - Fresh: returned (from L1 when this process holds it).
    /// - Stale (within the stale-while-revalidate window): returned at once; one refresh runs
    ///   in the background.
    /// - Within the stale-if-error window: computed; if computing fails the old value is
    ///   returned (counted, and logged with the key).
    /// - The store is down: computed and returned, not stored (a warning once a minute).
    ///
    /// `compute` runs as its own task, so it completes and fills the cache even if this call
    /// is cancelled.
    pub async fn get_or_compute<T, E, F, Fut>(
        &self,
        key: &str,
        policy: &Policy,
        compute: F,
    ) -> std::result::Result<T, ComputeError<E>>
    where
        T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
        E: std::fmt::Display + Send + Sync + 'static,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = std::result::Result<T, E>> + Send + 'static,
    {
        let key = CacheKey::parse(key)?;
        let tags = policy.check(self.ns.max_lifetime)?;
        let s = self.shared();
        let now = s.now_ms();
        if let Some(e) = s.l1.get(&self.ns.ns, &key, self.generation(), now) {
            if let Some(v) = e.decode::<T>() {
                bump(&self.ns.counts.l1_hits);
                self.refresh_early(&e, &key, policy, &tags, compute, now);
                return Ok(v);
            }
        }
        let looked = match self.lookup(&key, &tags).await {
            Ok(l) => l,
            Err(err) => {
                bump(&self.ns.counts.store_errors);
                s.warn_store("reading the cache", &err);
                return compute()
                    .await
                    .map_err(|e| ComputeError::Compute(Arc::new(e)));
            }
        };
        let generation = looked.generation;
        let found_nothing = matches!(looked.found, Found::Miss);
        match looked.found {
            Found::Fresh(e) => {
                if let Some(v) = e.decode::<T>() {
                    bump(&self.ns.counts.hits);
                    self.refresh_early(&e, &key, policy, &tags, compute, now);
                    return Ok(v);
                }
                bump(&self.ns.counts.undecodable);
            }
            Found::Stale(e) => {
                if let Some(v) = e.decode::<T>() {
                    bump(&self.ns.counts.stale);
                    let mut lead = self.lead(&key, generation, policy, looked.tags, true);
                    lead.background = true;
                    drop(self.fly(lead, compute).0);
                    return Ok(v);
                }
                bump(&self.ns.counts.undecodable);
            }
            Found::StaleIfError(e) => {
                let lead = self.lead(&key, generation, policy, looked.tags, true);
                let out = self.fly(lead, compute).0.await;
                return match out {
                    Ok(entry) => self.typed(&entry),
                    Err(err) => match (e.decode::<T>(), err) {
                        (Some(v), FlightError::Cache(c)) if c.kind() == ErrorKind::Conflict => {
                            bump(&self.ns.counts.stale);
                            Ok(v)
                        }
                        (Some(v), FlightError::Compute { message, .. }) => {
                            bump(&self.ns.counts.stale_errors);
                            tracing::warn!(
                                namespace = %self.ns.ns,
                                key = %key,
                                error = %message,
                                "cache: computing failed; serving the stale-if-error value"
                            );
                            Ok(v)
                        }
                        (_, err) => Err(self.flight_error(err)),
                    },
                };
            }
            Found::Miss => {}
        }
        self.ns.counts.miss(key.as_str());
        let mut lead = self.lead(&key, generation, policy, looked.tags, false);
        lead.recheck = found_nothing;
        let (flight, joined) = self.fly(lead, compute);
        if joined {
            bump(&self.ns.counts.lock_waits);
        }
        match flight.await {
            Ok(entry) => self.typed(&entry),
            Err(err) => Err(self.flight_error(err)),
        }
    }

    fn lead(
        &self,
        key: &CacheKey,
        generation: u64,
        policy: &Policy,
        tags: Vec<(Tag, u64)>,
        has_stale: bool,
    ) -> Lead {
        Lead {
            shared: self.shared().clone(),
            ns: self.ns.clone(),
            key: key.clone(),
            generation,
            policy: policy.clone(),
            tags,
            has_stale,
            background: false,
            recheck: false,
        }
    }

    /// Joins the key's flight or starts one.
    fn fly<T, E, F, Fut>(
        &self,
        lead: Lead,
        compute: F,
    ) -> (
        futures_util::future::Shared<
            futures_util::future::BoxFuture<'static, flight::FlightOutcome>,
        >,
        bool,
    )
    where
        T: Serialize + Send + Sync + 'static,
        E: std::fmt::Display + Send + Sync + 'static,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = std::result::Result<T, E>> + Send + 'static,
    {
        let key = (lead.ns.ns.clone(), lead.generation, lead.key.clone());
        self.shared()
            .flights
            .join_or_start(key, move || lead.run(compute).boxed())
    }

    /// Starts one background refresh of a fresh value when early refresh says so.
    fn refresh_early<T, E, F, Fut>(
        &self,
        e: &Entry,
        key: &CacheKey,
        policy: &Policy,
        tags: &[Tag],
        compute: F,
        now: i64,
    ) where
        T: Serialize + Send + Sync + 'static,
        E: std::fmt::Display + Send + Sync + 'static,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = std::result::Result<T, E>> + Send + 'static,
    {
        if policy.early_refresh <= 0.0 {
            return;
        }
        let uniform = 1.0 - rand::rng().random::<f64>();
        if !e.meta.refresh_early(now, policy.early_refresh, uniform) {
            return;
        }
        let versions = tags
            .iter()
            .map(|t| {
                let v = e
                    .meta
                    .tags
                    .iter()
                    .find(|(x, _)| x == t)
                    .map_or(0, |(_, v)| *v);
                (t.clone(), v)
            })
            .collect();
        let mut lead = self.lead(key, e.generation, policy, versions, true);
        lead.background = true;
        drop(self.fly(lead, compute).0);
    }

    fn typed<T, E>(&self, entry: &Entry) -> std::result::Result<T, ComputeError<E>>
    where
        T: DeserializeOwned + Clone + Send + Sync + 'static,
    {
        entry.decode::<T>().ok_or_else(|| {
            ComputeError::Cache(Error::invalid(
                "cache get_or_compute",
                format!(
                    "the computed value of this key does not read back as {}: expected every \
                     caller of one key to use the same type",
                    std::any::type_name::<T>()
                ),
            ))
        })
    }

    fn flight_error<E: Send + Sync + 'static>(&self, err: FlightError) -> ComputeError<E> {
        match err {
            FlightError::Compute { error, message } => match error.downcast::<E>() {
                Ok(e) => ComputeError::Compute(e),
                Err(_) => ComputeError::Cache(Error::internal(
                    "cache get_or_compute",
                    format!(
                        "another caller's computation of this key failed: {message} (its error \
                         type differs from this caller's, so the error is passed as text)"
                    ),
                )),
            },
            FlightError::Cache(e) => ComputeError::Cache(unshare(e)),
        }
    }

    /// Current versions of `tags` (no store call for none).
    async fn tag_versions(&self, tags: &[Tag]) -> Result<Vec<u64>> {
        if tags.is_empty() {
            return Ok(Vec::new());
        }
        self.shared()
            .store
            .cache_tag_versions(self.ns.ns.clone(), tags.to_vec())
            .await
    }

    /// One store read: the entry, the requested tags' versions and (deploy-sensitive) the
    /// generation, repeated once when the generation moved. Fresh entries go into L1.
    async fn lookup(&self, key: &CacheKey, tags: &[Tag]) -> Result<Looked> {
        let s = self.shared();
        let mut generation = self.generation();
        for attempt in 0..2 {
            let now = s.options.clock.now();
            let read = s
                .store
                .cache_read(CacheReadParams {
                    ns: self.ns.ns.clone(),
                    generation,
                    key: key.clone(),
                    tags: tags.to_vec(),
                    with_generation: self.ns.deploy_sensitive,
                    now,
                })
                .await?;
            if let Some(current) = read.generation.filter(|_| self.ns.deploy_sensitive) {
                if current != generation && attempt == 0 {
                    self.ns.generation.store(current, Ordering::Relaxed);
                    s.l1.remove_namespace(&self.ns.ns);
                    generation = current;
                    continue;
                }
            }
            let requested: Vec<(Tag, u64)> = tags
                .iter()
                .cloned()
                .zip(
                    read.tag_versions
                        .iter()
                        .copied()
                        .chain(std::iter::repeat(0)),
                )
                .collect();
            let found = match read.entry {
                None => Found::Miss,
                Some(bytes) => self.judge(key, generation, bytes, &requested, now).await?,
            };
            return Ok(Looked {
                found,
                generation,
                tags: requested,
            });
        }
        Err(Error::internal(
            "cache read",
            "unreachable: the loop returns",
        ))
    }

    /// Decides hit / stale / miss for stored bytes (kept as they are in the entry: its value
    /// is parsed from them later, once).
    async fn judge(
        &self,
        key: &CacheKey,
        generation: u64,
        bytes: Vec<u8>,
        requested: &[(Tag, u64)],
        now: jiff::Timestamp,
    ) -> Result<Found> {
        let s = self.shared();
        let envelope = match Envelope::decode_parts(&bytes) {
            Ok(e) => e,
            Err(err) => {
                bump(&self.ns.counts.undecodable);
                tracing::debug!(namespace = %self.ns.ns, key = %key, error = %err, "cache: unreadable value; a miss");
                return Ok(Found::Miss);
            }
        };
        let missing: Vec<Tag> = envelope
            .meta
            .tags
            .iter()
            .filter(|(t, _)| !requested.iter().any(|(r, _)| r == t))
            .map(|(t, _)| t.clone())
            .collect();
        let freshness = if missing.is_empty() {
            envelope
                .meta
                .freshness_given(now.as_millisecond(), requested)
        } else {
            let mut versions = requested.to_vec();
            let v = self.tag_versions(&missing).await?;
            versions.extend(missing.into_iter().zip(v));
            envelope
                .meta
                .freshness_given(now.as_millisecond(), &versions)
        };
        let entry = move || Arc::new(Entry::stored(generation, envelope, bytes));
        Ok(match freshness {
            Freshness::Fresh => {
                let e = entry();
                s.l1.insert(&self.ns.ns, key, e.clone());
                Found::Fresh(e)
            }
            Freshness::Stale => Found::Stale(entry()),
            Freshness::StaleIfError => Found::StaleIfError(entry()),
            Freshness::Expired | Freshness::Purged => Found::Miss,
        })
    }
}
