//! The in-process L1: decoded envelopes in a byte-bounded moka cache, keyed by (namespace,
//! key). It serves only fresh values of the namespace's current generation; every change this
//! process makes is applied to it at once, changes of other processes arrive through the
//! store's invalidation feed ([`super::feed`]).

use std::any::Any;
use std::ops::Range;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anp_core::cache::{CacheKey, Envelope, EnvelopeMeta, EnvelopeParts, Namespace, Tag};
use serde::de::value::StrDeserializer;
use serde::de::{DeserializeOwned, IntoDeserializer};
use serde_json::value::RawValue;

/// An entry's value as JSON text: built here, or where it lies in the bytes read from the
/// store (kept as read: the value is parsed from them without a copy).
enum Json {
    Built(Box<RawValue>),
    /// `bytes[value]`: JSON text, or with `string` a JSON string's own text.
    Stored {
        bytes: Vec<u8>,
        value: Range<usize>,
        string: bool,
    },
}

/// One decoded entry, shared by L1, flights and callers.
pub(crate) struct Entry {
    /// Generation it was read or written under.
    pub(crate) generation: u64,
    /// Its metadata.
    pub(crate) meta: EnvelopeMeta,
    /// Its value.
    json: Json,
    /// Stored size (for the L1 byte bound).
    pub(crate) bytes: usize,
    /// The value parsed into the first caller's type, so L1 hits do not parse again.
    typed: OnceLock<Arc<dyn Any + Send + Sync>>,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("generation", &self.generation)
            .field("meta", &self.meta)
            .field("bytes", &self.bytes)
            .finish()
    }
}

impl Entry {
    /// An entry built here (a `set`, a computation), `bytes` long when stored.
    pub(crate) fn new(generation: u64, envelope: Envelope, bytes: usize) -> Entry {
        Entry {
            generation,
            meta: envelope.meta,
            json: Json::Built(envelope.value),
            bytes,
            typed: OnceLock::new(),
        }
    }

    /// An entry read from the store: `stored` as read, `parts` decoded from it in place.
    pub(crate) fn stored(generation: u64, parts: EnvelopeParts, stored: Vec<u8>) -> Entry {
        Entry {
            generation,
            meta: parts.meta,
            bytes: stored.len(),
            json: Json::Stored {
                bytes: stored,
                value: parts.value,
                string: parts.string,
            },
            typed: OnceLock::new(),
        }
    }

    /// The value parsed as `T`, in one pass over the bytes it was read in; `None` when it is
    /// not a `T`.
    fn read<T: DeserializeOwned>(&self) -> Option<T> {
        match &self.json {
            Json::Built(raw) => serde_json::from_str(raw.get()).ok(),
            Json::Stored {
                bytes,
                value,
                string: false,
            } => serde_json::from_slice(bytes.get(value.clone())?).ok(),
            Json::Stored {
                bytes,
                value,
                string: true,
            } => {
                // A string stored as its text: handed to `T` as a string (a `String` is then a
                // UTF-8 check and a copy). A type that wants more than a plain string from it
                // (an `Option`, a raw JSON value) gets it as the JSON string it was.
                let text = std::str::from_utf8(bytes.get(value.clone())?).ok()?;
                let plain: StrDeserializer<'_, serde::de::value::Error> = text.into_deserializer();
                T::deserialize(plain)
                    .ok()
                    .or_else(|| serde_json::from_str(&serde_json::to_string(text).ok()?).ok())
            }
        }
    }

    /// Remembers the value in its typed form (the computing caller has it already).
    pub(crate) fn with_typed<T: Send + Sync + 'static>(self, value: T) -> Entry {
        let _ = self.typed.set(Arc::new(value));
        self
    }

    /// The value as `T`: the remembered typed value when it is a `T`, else parsed from JSON
    /// (and remembered). `None` when the JSON is not a `T`.
    pub(crate) fn decode<T>(&self) -> Option<T>
    where
        T: DeserializeOwned + Clone + Send + Sync + 'static,
    {
        if let Some(v) = self.typed.get().and_then(|a| a.downcast_ref::<T>()) {
            return Some(v.clone());
        }
        let v: T = self.read()?;
        let _ = self.typed.set(Arc::new(v.clone()));
        Some(v)
    }

    /// The value as `T`, parsed from JSON without remembering it: for an entry read once and
    /// dropped (a store read with L1 off), where [`Entry::decode`]'s copy would be waste. The
    /// one pass over the value, straight from the bytes the store returned.
    pub(crate) fn parse<T: DeserializeOwned>(&self) -> Option<T> {
        self.read()
    }

    pub(crate) fn has_tag(&self, tag: &Tag, version: u64) -> bool {
        self.meta
            .tags
            .iter()
            .any(|(t, v)| t == tag && *v != version)
    }
}

type Key = (Namespace, CacheKey);

/// A [`Key`] as borrowed parts, for lookups that clone nothing. Hashes exactly as the owned
/// tuple does (each part as its `str`), as moka's [`Equivalent`](moka::Equivalent) requires.
#[derive(Hash)]
struct KeyRef<'a>(&'a str, &'a str);

impl moka::Equivalent<Key> for KeyRef<'_> {
    fn equivalent(&self, key: &Key) -> bool {
        self.0 == key.0.as_str() && self.1 == key.1.as_str()
    }
}

impl<'a> KeyRef<'a> {
    fn of(ns: &'a Namespace, key: &'a CacheKey) -> KeyRef<'a> {
        KeyRef(ns.as_str(), key.as_str())
    }
}

/// The L1 cache. Disabled (every call a no-op) when its byte bound is 0.
#[derive(Clone)]
pub(crate) struct L1 {
    cache: Option<moka::sync::Cache<Key, Arc<Entry>>>,
}

impl std::fmt::Debug for L1 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("L1")
            .field("entries", &self.cache.as_ref().map(|c| c.entry_count()))
            .finish()
    }
}

impl L1 {
    /// At most `max_bytes` of entries (keys and stored values), each kept at most `ttl`.
    pub(crate) fn new(max_bytes: u64, ttl: Duration) -> L1 {
        let cache = (max_bytes > 0).then(|| {
            moka::sync::Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|k: &Key, e: &Arc<Entry>| {
                    u32::try_from(k.1.as_str().len() + e.bytes).unwrap_or(u32::MAX)
                })
                .time_to_live(ttl)
                .support_invalidation_closures()
                .build()
        });
        L1 { cache }
    }

    /// Whether L1 holds anything at all (its byte bound is not 0).
    pub(crate) fn enabled(&self) -> bool {
        self.cache.is_some()
    }

    /// The entry when it is fresh at `now` (ms) under `generation`.
    pub(crate) fn get(
        &self,
        ns: &Namespace,
        key: &CacheKey,
        generation: u64,
        now: i64,
    ) -> Option<Arc<Entry>> {
        let cache = self.cache.as_ref()?;
        let e = cache.get(&KeyRef::of(ns, key))?;
        (e.generation == generation && now < e.meta.fresh).then_some(e)
    }

    pub(crate) fn insert(&self, ns: &Namespace, key: &CacheKey, entry: Arc<Entry>) {
        if let Some(c) = &self.cache {
            c.insert((ns.clone(), key.clone()), entry);
        }
    }

    pub(crate) fn remove(&self, ns: &Namespace, key: &CacheKey) {
        if let Some(c) = &self.cache {
            c.invalidate(&KeyRef::of(ns, key));
        }
    }

    /// Drops the namespace's entries carrying `tag` at another version than `version`.
    pub(crate) fn remove_tag(&self, ns: &Namespace, tag: &Tag, version: u64) {
        if let Some(c) = &self.cache {
            let (ns, tag) = (ns.clone(), tag.clone());
            // Fails only when closures are not enabled, which `new` does.
            let _ = c.invalidate_entries_if(move |k, e| k.0 == ns && e.has_tag(&tag, version));
        }
    }

    /// Drops the namespace's entries whose key starts with `prefix`.
    pub(crate) fn remove_prefix(&self, ns: &Namespace, prefix: &str) {
        if let Some(c) = &self.cache {
            let (ns, prefix) = (ns.clone(), prefix.to_owned());
            let _ = c.invalidate_entries_if(move |k, _| {
                k.0 == ns && k.1.as_str().starts_with(prefix.as_str())
            });
        }
    }

    /// Drops the namespace's entries (a generation move).
    pub(crate) fn remove_namespace(&self, ns: &Namespace) {
        if let Some(c) = &self.cache {
            let ns = ns.clone();
            let _ = c.invalidate_entries_if(move |k, _| k.0 == ns);
        }
    }

    /// Drops everything (the feed may have missed changes).
    pub(crate) fn clear(&self) {
        if let Some(c) = &self.cache {
            c.invalidate_all();
        }
    }
}
