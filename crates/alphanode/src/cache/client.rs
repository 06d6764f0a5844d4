//! [`CacheClient`]: the process-wide half of the cache — the store, the L1, the invalidation
//! feed, the in-flight computations and the background tasks (stats flush, pruning) — and the
//! [`Cache`] handles it opens, one per namespace.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use anp_core::cache::{
    CacheStatsRecord, CacheStore, CacheWatch, Invalidation, Namespace, WatchEvent,
};
use anp_core::{Clock, Result, SystemClock};
use tokio::task::JoinHandle;

use super::flight::Flights;
use super::l1::L1;
use super::stats::{is_empty, Counters};
use super::Cache;
use crate::backend::Backend;

/// How a [`CacheClient`] behaves. `Default` suits a web process.
#[derive(Clone, Debug)]
pub struct CacheOptions {
    /// Byte bound of the in-process L1 (keys and stored values); 0 turns L1 off. Default 64 MiB.
    pub l1_max_bytes: u64,
    /// Longest an entry stays in L1 (it also leaves when its fresh window ends or a change
    /// arrives). Bounds staleness while the invalidation feed is down. Default 1 s.
    pub l1_ttl: Duration,
    /// Length of a compute lease; renewed every third of it while the computation runs.
    /// Default 10 s.
    pub lock_ttl: Duration,
    /// How long a caller without the lease and without a stale value waits for another
    /// process's computation before computing itself. Default 5 s.
    pub lock_wait: Duration,
    /// Largest value stored, serialized (bytes). `set` refuses a larger one;
    /// `get_or_compute` returns it without storing it and logs a warning. Default 1 MiB.
    pub max_value_bytes: usize,
    /// How often counts are written to the store. Default 10 s.
    pub stats_interval: Duration,
    /// Clock (tests inject a manual one).
    pub clock: Arc<dyn Clock>,
}

impl Default for CacheOptions {
    fn default() -> Self {
        CacheOptions {
            l1_max_bytes: 64 << 20,
            l1_ttl: Duration::from_secs(1),
            lock_ttl: Duration::from_secs(10),
            lock_wait: Duration::from_secs(5),
            max_value_bytes: 1 << 20,
            stats_interval: Duration::from_secs(10),
            clock: Arc::new(SystemClock),
        }
    }
}

/// How a namespace is opened ([`CacheClient::namespace`]).
#[derive(Clone, Debug)]
pub struct NamespaceOptions {
    /// `anp deploy mark` gives the namespace a new, empty generation and `anp deploy rollback`
    /// returns to the previous one (whose values are still stored). Default `false`: values
    /// survive deploys.
    pub deploy_sensitive: bool,
    /// Longest fresh + stale + stale-if-error window a policy may ask for; purged tag versions
    /// are kept this long (docs/cache.md, "Tags"). Default 1 day.
    pub max_lifetime: Duration,
}

impl Default for NamespaceOptions {
    fn default() -> Self {
        NamespaceOptions {
            deploy_sensitive: false,
            max_lifetime: Duration::from_secs(86_400),
        }
    }
}

/// One namespace's state in this process.
#[derive(Debug)]
pub(crate) struct NsState {
    pub(crate) ns: Namespace,
    pub(crate) deploy_sensitive: bool,
    pub(crate) max_lifetime: Duration,
    pub(crate) generation: AtomicU64,
    pub(crate) counts: Counters,
}

/// The process-wide part shared by every handle.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) store: Arc<dyn CacheStore>,
    pub(crate) options: CacheOptions,
    pub(crate) l1: L1,
    pub(crate) origin: String,
    pub(crate) flights: Flights,
    namespaces: Mutex<HashMap<Namespace, Arc<NsState>>>,
    last_warning_ms: AtomicI64,
}

/// Stops the background tasks when the last [`CacheClient`] clone is dropped.
#[derive(Debug)]
struct Tasks {
    handles: Vec<JoinHandle<()>>,
    _watch: Arc<Mutex<Option<CacheWatch>>>,
}

impl Drop for Tasks {
    fn drop(&mut self) {
        for h in &self.handles {
            h.abort();
        }
    }
}

/// The cache of one process on one store. Cheap to clone; open it once at start-up and keep
/// it (it holds the L1, a subscription to the store's invalidation feed and two background
/// tasks). Must be created inside a Tokio runtime.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use alphanode::cache::{CacheClient, NamespaceOptions, Policy};
///
/// let backend = alphanode::connect("sqlite://anp.db").await?;
/// let caches = CacheClient::new(backend, Default::default()).await?;
/// let pages = caches
///     .namespace("pages", NamespaceOptions { deploy_sensitive: true, ..Default::default() })
///     .await?;
/// let policy = Policy::fresh(Duration::from_secs(60)).tag("post:42");
/// let html: String = pages
///     .get_or_compute("post:42", &policy, || async { Ok::<_, std::io::Error>("<h1>…</h1>".to_string()) })
///     .await?;
/// pages.purge_tag("post:42").await?; // the post was edited
/// # let _ = html; Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct CacheClient {
    pub(crate) shared: Arc<Shared>,
    _tasks: Arc<Tasks>,
}

impl CacheClient {
    /// Opens the cache on `backend`: starts watching the store's invalidation feed (so this
    /// process's L1 hears of other processes' changes), the stats flush and, for stores whose
    /// entries do not expire by themselves (SQLite), a pruner every minute.
    ///
    /// A store that cannot be reached does not fail this: the cache then computes every value
    /// (warning once a minute) and keeps retrying the watch.
    pub async fn new(backend: impl Into<Backend>, options: CacheOptions) -> Result<CacheClient> {
        CacheClient::start(backend.into().store().cache(), options).await
    }

    /// [`CacheClient::new`] on the cache seam itself.
    pub(crate) async fn start(
        store: Arc<dyn CacheStore>,
        options: CacheOptions,
    ) -> Result<CacheClient> {
        let shared = Arc::new(Shared {
            store: store.clone(),
            l1: L1::new(options.l1_max_bytes, options.l1_ttl),
            origin: crate::process::process_id(),
            flights: Flights::default(),
            namespaces: Mutex::new(HashMap::new()),
            last_warning_ms: AtomicI64::new(i64::MIN),
            options,
        });
        let watch = Arc::new(Mutex::new(None));
        let handles = vec![
            tokio::spawn(watch_loop(Arc::downgrade(&shared), watch.clone())),
            tokio::spawn(flush_loop(Arc::downgrade(&shared))),
            tokio::spawn(prune_loop(Arc::downgrade(&shared))),
        ];
        // Wait briefly for the watch so that, normally, every change published after `new`
        // returns reaches this process's L1; a store that is down does not hold start-up
        // (the watch keeps being retried, and L1 entries live at most `l1_ttl` meanwhile).
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        while std::time::Instant::now() < deadline
            && watch.lock().map(|w| w.is_none()).unwrap_or(false)
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Ok(CacheClient {
            shared,
            _tasks: Arc::new(Tasks {
                handles,
                _watch: watch,
            }),
        })
    }

    /// Opens (and records in the store) a namespace. Names are 1–64 chars of `[a-z0-9_.-]`.
    /// Opening the same namespace again returns a handle on the same state.
    pub async fn namespace(&self, name: &str, options: NamespaceOptions) -> Result<Cache> {
        let ns = Namespace::parse(name)?;
        if let Some(state) = self.shared.namespace_state(&ns) {
            return Ok(Cache {
                client: self.clone(),
                ns: state,
            });
        }
        let generation = match self
            .shared
            .store
            .cache_namespace_register(ns.clone(), options.deploy_sensitive)
            .await
        {
            Ok(stored) => stored.generation,
            Err(err) if err.kind() == anp_core::ErrorKind::Unavailable => {
                // Recorded later: reads of a deploy-sensitive namespace carry the current
                // generation anyway, and correct it on the first one that reaches the store.
                self.shared
                    .warn_store("recording the cache namespace (retried)", &err);
                tokio::spawn(register_loop(
                    Arc::downgrade(&self.shared),
                    ns.clone(),
                    options.deploy_sensitive,
                ));
                0
            }
            Err(err) => return Err(err),
        };
        let state = Arc::new(NsState {
            ns: ns.clone(),
            deploy_sensitive: options.deploy_sensitive,
            max_lifetime: options.max_lifetime,
            generation: AtomicU64::new(if options.deploy_sensitive {
                generation
            } else {
                0
            }),
            counts: Counters::default(),
        });
        let state = {
            let mut map = self
                .shared
                .namespaces
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            map.entry(ns).or_insert(state).clone()
        };
        Ok(Cache {
            client: self.clone(),
            ns: state,
        })
    }

    /// The `default` namespace with default options.
    pub async fn default_namespace(&self) -> Result<Cache> {
        self.namespace(Namespace::DEFAULT, NamespaceOptions::default())
            .await
    }

    /// Writes the counts gathered so far to the store now (they are also written every
    /// `stats_interval`); call it before a short-lived process exits.
    pub async fn flush_stats(&self) -> Result<()> {
        self.shared.flush().await
    }
}

impl Shared {
    fn namespace_state(&self, ns: &Namespace) -> Option<Arc<NsState>> {
        self.namespaces
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(ns)
            .cloned()
    }

    /// Now, in Unix ms.
    pub(crate) fn now_ms(&self) -> i64 {
        self.options.clock.now().as_millisecond()
    }

    /// Logs a store failure at most once a minute (the cache keeps serving by computing).
    pub(crate) fn warn_store(&self, what: &str, err: &anp_core::Error) {
        let now = self.now_ms();
        let last = self.last_warning_ms.load(Ordering::Relaxed);
        if now.saturating_sub(last) >= 60_000
            && self
                .last_warning_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                error = %err,
                "cache: {what} failed; serving by computing (the cache is an optimisation, not an \
                 outage; this warning repeats at most once a minute)"
            );
        }
    }

    /// Tells other processes about a change (best effort: their L1 TTL bounds a lost one).
    pub(crate) async fn publish(&self, change: Invalidation) {
        if let Err(err) = self.store.cache_publish(self.origin.clone(), change).await {
            self.warn_store("publishing a change to other processes' L1", &err);
        }
    }

    /// Applies a change heard on the feed to this process's L1.
    pub(crate) fn apply(&self, event: WatchEvent) {
        match event {
            WatchEvent::Resync => {
                tracing::debug!("cache: invalidation feed resynced; L1 emptied");
                self.l1.clear();
            }
            WatchEvent::Change { origin, .. } if origin == self.origin => {}
            WatchEvent::Change { change, .. } => self.apply_change(&change),
        }
    }

    /// Applies a change (this process's own, or another's) to L1.
    pub(crate) fn apply_change(&self, change: &Invalidation) {
        match change {
            Invalidation::Keys { ns, keys } => {
                for k in keys {
                    self.l1.remove(ns, k);
                }
            }
            Invalidation::Tags { ns, versions } => {
                for (tag, version) in versions {
                    self.l1.remove_tag(ns, tag, *version);
                }
            }
            Invalidation::Prefix { ns, prefix } => self.l1.remove_prefix(ns, prefix),
            Invalidation::Generation { ns, generation } => {
                if let Some(state) = self.namespace_state(ns) {
                    if state.deploy_sensitive {
                        state.generation.store(*generation, Ordering::Relaxed);
                    }
                }
                self.l1.remove_namespace(ns);
            }
        }
    }

    async fn flush(&self) -> Result<()> {
        let states: Vec<Arc<NsState>> = self
            .namespaces
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        for state in states {
            let counts = state.counts.take();
            if is_empty(&counts) {
                continue;
            }
            let record = CacheStatsRecord {
                at: self.options.clock.now(),
                process: self.origin.clone(),
                ns: state.ns.clone(),
                counts,
            };
            if let Err(err) = self.store.cache_stats_record(record.clone()).await {
                state.counts.put_back(&record.counts);
                return Err(err);
            }
        }
        Ok(())
    }
}

/// Keeps the invalidation feed watched: retried every second until the store answers (the
/// backend itself reconnects a watch once it runs).
async fn watch_loop(shared: Weak<Shared>, slot: Arc<Mutex<Option<CacheWatch>>>) {
    loop {
        let Some(s) = shared.upgrade() else { return };
        let weak = shared.clone();
        let sink = Box::new(move |event| {
            if let Some(shared) = weak.upgrade() {
                shared.apply(event);
            }
        });
        match s.store.cache_watch(sink).await {
            Ok(w) => {
                if let Ok(mut slot) = slot.lock() {
                    *slot = Some(w);
                }
                // Changes before the watch started may be missing from L1.
                s.l1.clear();
                return;
            }
            Err(err) => s.warn_store("watching the cache's invalidation feed (retried)", &err),
        }
        drop(s);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Records a namespace the store could not be reached to record at open.
async fn register_loop(shared: Weak<Shared>, ns: Namespace, deploy_sensitive: bool) {
    loop {
        tokio::time::sleep(Duration::from_secs(5)).await;
        let Some(s) = shared.upgrade() else { return };
        if let Ok(stored) = s
            .store
            .cache_namespace_register(ns.clone(), deploy_sensitive)
            .await
        {
            if let Some(state) = s.namespace_state(&ns) {
                if state.deploy_sensitive {
                    state.generation.store(stored.generation, Ordering::Relaxed);
                }
            }
            return;
        }
    }
}

async fn flush_loop(shared: Weak<Shared>) {
    loop {
        let Some(interval) = shared.upgrade().map(|s| s.options.stats_interval) else {
            return;
        };
        tokio::time::sleep(interval).await;
        let Some(s) = shared.upgrade() else { return };
        if let Err(err) = s.flush().await {
            s.warn_store("writing cache stats", &err);
        }
    }
}

async fn prune_loop(shared: Weak<Shared>) {
    loop {
        tokio::time::sleep(Duration::from_secs(60)).await;
        let Some(s) = shared.upgrade() else { return };
        let now = s.options.clock.now();
        loop {
            match s.store.cache_prune(now, 10_000).await {
                Ok(n) if n >= 10_000 => continue,
                Ok(_) => break,
                Err(err) => {
                    s.warn_store("pruning expired cache entries", &err);
                    break;
                }
            }
        }
    }
}
