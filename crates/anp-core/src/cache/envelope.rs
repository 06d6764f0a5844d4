//! The envelope every cached value is stored in, and the one decision made from it.
//!
//! Stored bytes are JSON: `{"anp_cache":1,"at":…,"fresh":…,"stale":…,"error":…,"compute_us":…,
//! "tags":[["post:42",0]],"neg":false,"value":…}` (times in Unix milliseconds). JSON keeps a
//! value readable by `anp cache get`, `redis-cli` and other languages; the value is kept as raw
//! JSON text and parsed only into the caller's type. A stored value whose `anp_cache` is not
//! [`ENVELOPE_VERSION`] — written by another release — is never mis-read: it decodes as an
//! error, which the cache counts and treats as a miss.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::Tag;
use crate::error::Error;

/// The envelope format this build reads and writes.
pub const ENVELOPE_VERSION: u32 = 1;

/// Everything about a stored value except the value itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvelopeMeta {
    /// Format version ([`ENVELOPE_VERSION`]).
    pub anp_cache: u32,
    /// When the value was stored (Unix ms).
    pub at: i64,
    /// Fresh until (Unix ms): served as a hit before this.
    pub fresh: i64,
    /// Stale until (Unix ms): from `fresh` to here it is served while one refresh runs.
    pub stale: i64,
    /// Stale-if-error until (Unix ms, `>= stale`): from `stale` to here it is served only when
    /// a refresh fails.
    pub error: i64,
    /// How long computing the value took (µs), for early refresh.
    pub compute_us: u64,
    /// The tags the value was written with and each tag's version read *before* the value
    /// was computed: a purge during the computation makes the value invalid at once.
    pub tags: Vec<(Tag, u64)>,
    /// A cached "not found" (negative caching); `value` is `null`.
    #[serde(default)]
    pub neg: bool,
}

/// A stored value with its metadata.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Envelope {
    /// Metadata.
    #[serde(flatten)]
    pub meta: EnvelopeMeta,
    /// The value, as JSON text.
    pub value: Box<RawValue>,
}

/// What a read decides from an envelope, the current time and the tags' current versions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freshness {
    /// Before `fresh`: serve it.
    Fresh,
    /// Between `fresh` and `stale`: serve it and refresh once in the background.
    Stale,
    /// Between `stale` and `error`: compute; serve it only if the computation fails.
    StaleIfError,
    /// Past every window: a miss.
    Expired,
    /// A tag was purged after the value was computed: a miss, never served.
    Purged,
}

impl Envelope {
    /// Wraps `value` (JSON text).
    pub fn new(meta: EnvelopeMeta, value: Box<RawValue>) -> Envelope {
        Envelope { meta, value }
    }

    /// The stored bytes.
    pub fn encode(&self) -> Vec<u8> {
        // A struct of plain fields and already-valid JSON text: serialization cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads stored bytes. Anything but a well-formed envelope of this format version is an
    /// `Incompatible` error naming what was found (the cache turns it into a miss).
    pub fn decode(bytes: &[u8]) -> Result<Envelope, Error> {
        #[derive(Deserialize)]
        struct Version {
            anp_cache: Option<serde_json::Value>,
        }
        // The same fields as `Envelope`, side by side: decoding them directly is cheaper than
        // the derived `Deserialize` of `Envelope`, whose `#[serde(flatten)]` first buffers
        // every metadata field (and the tags) into serde's generic content tree. Unknown
        // fields are ignored and a missing `neg` is `false`, as there.
        #[derive(Deserialize)]
        struct Stored {
            anp_cache: u32,
            at: i64,
            fresh: i64,
            stale: i64,
            error: i64,
            compute_us: u64,
            tags: Vec<(Tag, u64)>,
            #[serde(default)]
            neg: bool,
            value: Box<RawValue>,
        }
        match serde_json::from_slice::<Stored>(bytes) {
            Ok(s) if s.anp_cache == ENVELOPE_VERSION => Ok(Envelope {
                meta: EnvelopeMeta {
                    anp_cache: s.anp_cache,
                    at: s.at,
                    fresh: s.fresh,
                    stale: s.stale,
                    error: s.error,
                    compute_us: s.compute_us,
                    tags: s.tags,
                    neg: s.neg,
                },
                value: s.value,
            }),
            Ok(s) => Err(version_error(&serde_json::json!(s.anp_cache))),
            Err(err) => match serde_json::from_slice::<Version>(bytes) {
                Ok(Version { anp_cache: Some(v) }) if v != ENVELOPE_VERSION => {
                    Err(version_error(&v))
                }
                _ => Err(Error::incompatible(
                    "cache envelope",
                    format!(
                        "{} stored bytes are not a cache envelope ({err}): expected JSON with \
                         \"anp_cache\":{ENVELOPE_VERSION}",
                        bytes.len()
                    ),
                )),
            },
        }
    }

    /// Hit, stale or miss at `now` (Unix ms), given each of [`EnvelopeMeta::tags`]' current
    /// version (`current(tag)`; a tag never purged is version 0).
    pub fn freshness(&self, now: i64, mut current: impl FnMut(&Tag) -> u64) -> Freshness {
        let m = &self.meta;
        if m.tags.iter().any(|(tag, seen)| current(tag) != *seen) {
            return Freshness::Purged;
        }
        if now < m.fresh {
            Freshness::Fresh
        } else if now < m.stale {
            Freshness::Stale
        } else if now < m.error {
            Freshness::StaleIfError
        } else {
            Freshness::Expired
        }
    }

    /// [`Envelope::freshness`] with the tags' current versions given as a list (a tag not in
    /// it is version 0): what every read has after its store round trip.
    pub fn freshness_given(&self, now: i64, current: &[(Tag, u64)]) -> Freshness {
        self.freshness(now, |tag| {
            current
                .iter()
                .find(|(t, _)| t == tag)
                .map_or(0, |(_, v)| *v)
        })
    }

    /// Probabilistic early refresh (XFetch, Vattani et al. 2015): `true` when a fresh value
    /// should be recomputed now, more likely the closer it is to `fresh` and the longer it took
    /// to compute. `beta` 1.0 is the paper's default, 0 turns it off; `uniform` is a random
    /// number in (0, 1].
    pub fn refresh_early(&self, now: i64, beta: f64, uniform: f64) -> bool {
        if beta <= 0.0 || !(uniform > 0.0 && uniform <= 1.0) {
            return false;
        }
        let compute_ms = self.meta.compute_us as f64 / 1000.0;
        let head_start = -compute_ms * beta * uniform.ln();
        now as f64 + head_start >= self.meta.fresh as f64
    }

    /// The longest the store must keep it (ms from `now`): until `error`, at least 1 ms.
    pub fn store_ttl_ms(&self, now: i64) -> u64 {
        u64::try_from(self.meta.error.saturating_sub(now))
            .unwrap_or(0)
            .max(1)
    }
}

fn version_error(found: &serde_json::Value) -> Error {
    Error::incompatible(
        "cache envelope",
        format!(
            "stored value has envelope format {found}: expected {ENVELOPE_VERSION} (written by \
             another alphanode release; read as a miss and overwritten)"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(tags: Vec<(Tag, u64)>) -> Envelope {
        let meta = EnvelopeMeta {
            anp_cache: ENVELOPE_VERSION,
            at: 1000,
            fresh: 2000,
            stale: 3000,
            error: 4000,
            compute_us: 50_000,
            tags,
            neg: false,
        };
        let value = RawValue::from_string("{\"a\":[1,2]}".into()).expect("valid json");
        Envelope::new(meta, value)
    }

    #[test]
    fn round_trip_and_windows() {
        let tag = Tag::parse("post:42").expect("tag");
        let e = Envelope::decode(&env(vec![(tag.clone(), 7)]).encode()).expect("decodes");
        assert_eq!(e.value.get(), "{\"a\":[1,2]}");
        let v7 = |_: &Tag| 7;
        assert_eq!(e.freshness(1999, v7), Freshness::Fresh);
        assert_eq!(e.freshness(2000, v7), Freshness::Stale);
        assert_eq!(e.freshness(3500, v7), Freshness::StaleIfError);
        assert_eq!(e.freshness(4000, v7), Freshness::Expired);
        assert_eq!(e.freshness(1500, |_| 8), Freshness::Purged);
        assert_eq!(e.store_ttl_ms(1000), 3000);
        assert_eq!(e.store_ttl_ms(9000), 1);
    }

    #[test]
    fn decode_reads_what_the_derived_deserialize_reads() {
        let tag = Tag::parse("post:42").expect("tag");
        for e in [env(vec![]), env(vec![(tag.clone(), 7), (tag, u64::MAX)])] {
            let bytes = e.encode();
            let derived: Envelope = serde_json::from_slice(&bytes).expect("derived");
            let decoded = Envelope::decode(&bytes).expect("decodes");
            assert_eq!(decoded.meta, derived.meta);
            assert_eq!(decoded.value.get(), derived.value.get());
        }
        // `neg` may be missing; unknown fields are ignored; `value` is required.
        let old = br#"{"anp_cache":1,"at":1,"fresh":2,"stale":3,"error":4,"compute_us":0,"tags":[],"later":{"x":1},"value":"v"}"#;
        let e = Envelope::decode(old).expect("decodes");
        assert!(!e.meta.neg);
        assert_eq!(e.value.get(), "\"v\"");
        let no_value =
            br#"{"anp_cache":1,"at":1,"fresh":2,"stale":3,"error":4,"compute_us":0,"tags":[]}"#;
        assert!(Envelope::decode(no_value).is_err());
    }

    #[test]
    fn other_versions_and_garbage_are_errors() {
        let newer = br#"{"anp_cache":2,"whatever":true}"#;
        let err = Envelope::decode(newer)
            .expect_err("another format version")
            .to_string();
        assert!(err.contains("envelope format 2: expected 1"), "{err}");
        let err = Envelope::decode(b"plain text")
            .expect_err("not an envelope")
            .to_string();
        assert!(err.contains("not a cache envelope"), "{err}");
    }

    #[test]
    fn early_refresh_grows_near_expiry() {
        let e = env(vec![]);
        assert!(!e.refresh_early(1000, 1.0, 0.999));
        assert!(e.refresh_early(1999, 1.0, 0.5));
        assert!(!e.refresh_early(1999, 0.0, 0.5));
    }
}
