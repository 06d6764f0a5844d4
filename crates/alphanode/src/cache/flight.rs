//! Single-flight inside a process, and the compute lease across processes.
//!
//! A computation of a key runs as its own Tokio task (a flight), so it finishes — and fills
//! the cache — even when the caller that started it is cancelled (an HTTP client hung up).
//! Every caller of the same key meanwhile awaits that flight instead of computing again.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anp_core::cache::{
    CacheKey, CacheLeaseParams, CacheReadParams, CacheWrite, CacheWriteParams, Envelope,
    EnvelopeMeta, Freshness, Invalidation, Namespace, Tag, ENVELOPE_VERSION,
};
use anp_core::Error;
use futures_util::future::{BoxFuture, FutureExt, Shared as SharedFuture};
use jiff::Timestamp;
use rand::Rng;
use serde::Serialize;
use serde_json::value::RawValue;

use super::client::{NsState, Shared};
use super::l1::Entry;
use super::stats::bump;
use super::Policy;

/// A flight's key: one computation per (namespace, generation, key) at a time.
pub(crate) type FlightKey = (Namespace, u64, CacheKey);

/// Why a flight produced no value.
#[derive(Clone)]
pub(crate) enum FlightError {
    /// The computation failed: its error (an `Arc<E>`), and its text for callers whose error
    /// type differs.
    Compute {
        error: Arc<dyn Any + Send + Sync>,
        message: String,
    },
    /// The value could not be cached or the computation did not finish (it panicked).
    Cache(Arc<Error>),
}

pub(crate) type FlightOutcome = Result<Arc<Entry>, FlightError>;
type Flight = SharedFuture<BoxFuture<'static, FlightOutcome>>;

/// The flights in progress in this process.
#[derive(Default)]
pub(crate) struct Flights {
    map: Mutex<HashMap<FlightKey, Flight>>,
}

impl std::fmt::Debug for Flights {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.map.lock().map(|m| m.len()).unwrap_or(0);
        f.debug_struct("Flights").field("in_progress", &n).finish()
    }
}

impl Flights {
    /// The key's flight in progress (`true`: joined), or `start` spawned as a new one.
    pub(crate) fn join_or_start<F>(&self, key: FlightKey, start: F) -> (Flight, bool)
    where
        F: FnOnce() -> BoxFuture<'static, FlightOutcome>,
    {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(f) = map.get(&key) {
            return (f.clone(), true);
        }
        let task = tokio::spawn(start());
        let flight = async move {
            task.await.unwrap_or_else(|e| {
                Err(FlightError::Cache(Arc::new(Error::internal(
                    "cache compute",
                    format!("the computation did not finish ({e}): expected it to return"),
                ))))
            })
        }
        .boxed()
        .shared();
        map.insert(key, flight.clone());
        (flight, false)
    }

    pub(crate) fn finish(&self, key: &FlightKey) {
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

/// What a leader needs besides the computation.
pub(crate) struct Lead {
    pub(crate) shared: Arc<Shared>,
    pub(crate) ns: Arc<NsState>,
    pub(crate) key: CacheKey,
    pub(crate) generation: u64,
    pub(crate) policy: Policy,
    /// The policy's tags with the versions read before computing.
    pub(crate) tags: Vec<(Tag, u64)>,
    /// A stale value exists: a caller without the lease serves it instead of waiting.
    pub(crate) has_stale: bool,
    /// Nobody awaits the outcome (a stale-while-revalidate or early refresh): a failure is
    /// logged here, with the key, since no caller will see it.
    pub(crate) background: bool,
    /// The caller found no entry at all. Another process may store the value and free its
    /// lease between that read and this flight's lease, so once the lease is taken the store
    /// is read again before computing (one more round trip on a miss, none on a hit).
    pub(crate) recheck: bool,
}

impl Lead {
    /// Runs the flight: takes the lease (or waits for the holder), computes, stores fenced,
    /// tells L1 and other processes. Runs in its own task.
    pub(crate) async fn run<T, E, F, Fut>(self, compute: F) -> FlightOutcome
    where
        T: Serialize + Send + Sync + 'static,
        E: std::fmt::Display + Send + Sync + 'static,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
    {
        let fkey = (self.ns.ns.clone(), self.generation, self.key.clone());
        let out = self.run_inner(compute).await;
        self.shared.flights.finish(&fkey);
        out
    }

    fn lease(&self, token: u64) -> CacheLeaseParams {
        CacheLeaseParams {
            ns: self.ns.ns.clone(),
            generation: self.generation,
            key: self.key.clone(),
            token,
            ttl: self.shared.options.lock_ttl,
            now: self.shared.options.clock.now(),
        }
    }

    async fn run_inner<T, E, F, Fut>(&self, compute: F) -> FlightOutcome
    where
        T: Serialize + Send + Sync + 'static,
        E: std::fmt::Display + Send + Sync + 'static,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
    {
        let store = &self.shared.store;
        let token = rand::rng().random_range(1..=u64::MAX);
        let (mut lease, held_elsewhere) = match store.cache_lease_acquire(self.lease(token)).await {
            Ok(true) => {
                if self.recheck {
                    if let Some(entry) = self.stored_since_lease(token).await {
                        return Ok(entry);
                    }
                }
                (Some(token), false)
            }
            Ok(false) => (None, true),
            Err(err) => {
                // The store is down: compute without a lease (no cross-process protection).
                self.shared.warn_store("taking a compute lease", &err);
                bump(&self.ns.counts.store_errors);
                (None, false)
            }
        };
        if held_elsewhere {
            // Another process computes this key.
            bump(&self.ns.counts.lock_waits);
            if self.has_stale {
                return Err(FlightError::Cache(Arc::new(Error::conflict(
                    "cache compute",
                    "another process holds the compute lease: expected the stale value to be served",
                ))));
            }
            match self.wait_for_holder(token).await {
                Waited::Value(entry) => return Ok(entry),
                Waited::Lease => lease = Some(token),
                Waited::GaveUp => {}
            }
        }
        let renew = lease.map(|token| {
            let store = store.clone();
            let params = self.lease(token);
            let every = self.shared.options.lock_ttl / 3;
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    match store.cache_lease_renew(params.clone()).await {
                        Ok(true) => {}
                        Ok(false) | Err(_) => return,
                    }
                }
            })
        });
        let started = Instant::now();
        let result = compute().await;
        let took = started.elapsed();
        if let Some(r) = renew {
            r.abort();
        }
        self.ns.counts.computed(took);
        let value = match result {
            Ok(v) => v,
            Err(e) => {
                bump(&self.ns.counts.compute_errors);
                if let Some(token) = lease {
                    let _ = store.cache_lease_release(self.lease(token)).await;
                }
                let message = e.to_string();
                if self.background {
                    tracing::warn!(
                        namespace = %self.ns.ns,
                        key = %self.key,
                        error = %message,
                        "cache: refreshing in the background failed; the stale value is served until its stale window ends"
                    );
                }
                return Err(FlightError::Compute {
                    error: Arc::new(e),
                    message,
                });
            }
        };
        let raw = match serde_json::value::to_raw_value(&value) {
            Ok(raw) => raw,
            Err(e) => {
                if let Some(token) = lease {
                    let _ = store.cache_lease_release(self.lease(token)).await;
                }
                return Err(FlightError::Cache(Arc::new(Error::invalid(
                    "cache compute",
                    format!("the computed value does not serialize to JSON ({e}): expected a value serde_json can write"),
                ))));
            }
        };
        let now = self.shared.options.clock.now();
        let envelope = envelope(&self.policy, &self.tags, now, took, raw);
        let bytes = envelope.encode();
        let ttl = Duration::from_millis(envelope.store_ttl_ms(now.as_millisecond()));
        let entry = Arc::new(Entry::new(self.generation, envelope, bytes.len()).with_typed(value));
        if bytes.len() > self.shared.options.max_value_bytes {
            tracing::warn!(
                namespace = %self.ns.ns,
                key = %self.key,
                bytes = bytes.len(),
                max = self.shared.options.max_value_bytes,
                "cache: computed value is larger than max_value_bytes; returned but not stored"
            );
            if let Some(token) = lease {
                let _ = store.cache_lease_release(self.lease(token)).await;
            }
            return Ok(entry);
        }
        let write = store
            .cache_write(CacheWriteParams {
                ns: self.ns.ns.clone(),
                generation: self.generation,
                key: self.key.clone(),
                bytes,
                ttl,
                lease,
                now,
            })
            .await;
        match write {
            Ok(CacheWrite::Applied) => {
                self.shared.l1.insert(&self.ns.ns, &self.key, entry.clone());
                self.shared
                    .publish(Invalidation::Keys {
                        ns: self.ns.ns.clone(),
                        keys: vec![self.key.clone()],
                    })
                    .await;
            }
            Ok(CacheWrite::LeaseLost) => tracing::debug!(
                namespace = %self.ns.ns,
                key = %self.key,
                "cache: computation outlived its lease; its value was returned but not stored"
            ),
            Err(err) => {
                bump(&self.ns.counts.store_errors);
                self.shared.warn_store("storing a computed value", &err);
            }
        }
        Ok(entry)
    }

    /// Polls the store until the lease holder's value appears, the lease is free (then takes
    /// it), or `lock_wait` passes.
    async fn wait_for_holder(&self, token: u64) -> Waited {
        let deadline = Instant::now() + self.shared.options.lock_wait;
        while Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(25)).await;
            match self.read_usable(true).await {
                Err(()) => return Waited::GaveUp,
                Ok(Some(entry)) => return Waited::Value(entry),
                Ok(None) => {}
            }
            match self
                .shared
                .store
                .cache_lease_acquire(self.lease(token))
                .await
            {
                Ok(true) => {
                    // The holder may have stored its value and freed the lease since the read
                    // above: its write and release are one atomic step, so a second read sees it.
                    return match self.stored_since_lease(token).await {
                        Some(entry) => Waited::Value(entry),
                        None => Waited::Lease,
                    };
                }
                Ok(false) => {}
                Err(_) => return Waited::GaveUp,
            }
        }
        Waited::GaveUp
    }

    /// Called with the lease just taken: a fresh value another process stored before freeing
    /// its lease (the lease is then released again), or `None` to go on and compute.
    async fn stored_since_lease(&self, token: u64) -> Option<Arc<Entry>> {
        let entry = self.read_usable(false).await.ok().flatten()?;
        let _ = self
            .shared
            .store
            .cache_lease_release(self.lease(token))
            .await;
        Some(entry)
    }

    /// The entry stored under the key now if it is fresh (or, with `accept_stale`, stale) and
    /// none of its tags was purged; `Err` when the store cannot be read.
    async fn read_usable(&self, accept_stale: bool) -> Result<Option<Arc<Entry>>, ()> {
        let now = self.shared.options.clock.now();
        let read = self
            .shared
            .store
            .cache_read(CacheReadParams {
                ns: self.ns.ns.clone(),
                generation: self.generation,
                key: self.key.clone(),
                tags: self.tags.iter().map(|(t, _)| t.clone()).collect(),
                with_generation: false,
                now,
            })
            .await
            .map_err(|_| ())?;
        let Some(bytes) = read.entry else {
            return Ok(None);
        };
        let Ok(env) = Envelope::decode_parts(&bytes) else {
            return Ok(None);
        };
        let current: Vec<(Tag, u64)> = self
            .tags
            .iter()
            .map(|(t, _)| t.clone())
            .zip(read.tag_versions.iter().copied())
            .collect();
        let usable = match env.meta.freshness_given(now.as_millisecond(), &current) {
            Freshness::Fresh => true,
            Freshness::Stale => accept_stale,
            _ => false,
        };
        let tagged_alike = env
            .meta
            .tags
            .iter()
            .all(|(t, _)| current.iter().any(|(c, _)| c == t));
        Ok((usable && tagged_alike).then(|| Arc::new(Entry::stored(self.generation, env, bytes))))
    }
}

enum Waited {
    Value(Arc<Entry>),
    Lease,
    GaveUp,
}

/// Builds the envelope of a value computed at `now` in `took`.
pub(crate) fn envelope(
    policy: &Policy,
    tags: &[(Tag, u64)],
    now: Timestamp,
    took: Duration,
    value: Box<RawValue>,
) -> Envelope {
    let at = now.as_millisecond();
    let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    let negative = policy.negative.filter(|_| value.get() == "null");
    let (fresh, stale, error) = match negative {
        Some(ttl) => {
            let f = at.saturating_add(ms(ttl));
            (f, f, f)
        }
        None => {
            let mut fresh_ms = ms(policy.fresh);
            if policy.jitter > 0.0 {
                let cut = fresh_ms as f64 * policy.jitter * rand::rng().random::<f64>();
                fresh_ms -= cut as i64;
            }
            let f = at.saturating_add(fresh_ms.max(1));
            let s = f.saturating_add(ms(policy.stale));
            (f, s, s.saturating_add(ms(policy.stale_if_error)))
        }
    };
    Envelope::new(
        EnvelopeMeta {
            anp_cache: ENVELOPE_VERSION,
            at,
            fresh,
            stale,
            error,
            compute_us: u64::try_from(took.as_micros()).unwrap_or(u64::MAX),
            tags: tags.to_vec(),
            neg: negative.is_some(),
        },
        value,
    )
}
