//! The envelope every cached value is stored in, and the one decision made from it.
//!
//! **Format 2** (written since this release; docs/cache.md, "Stored format"): a binary header
//! followed by the value's JSON text, so a read finds every field at a known offset and never
//! scans the value to find where it ends. Integers are little-endian:
//!
//! | bytes | field |
//! |---|---|
//! | 0–3 | magic `00 61 6E 70` (`\0anp`: no JSON text starts with a NUL byte) |
//! | 4 | format version, `2` |
//! | 5 | flags: bit 0 a cached "not found"; bit 1 the value is a JSON string stored as its UTF-8 text (unescaped, no quotes); other bits 0 (set by a newer release: not read) |
//! | 6–7 | number of tags (u16) |
//! | 8–15, 16–23, 24–31, 32–39 | stored at, fresh until, stale until, stale-if-error until (i64, Unix ms) |
//! | 40–47 | compute time (u64, µs) |
//! | then, per tag | the tag's version when the value was computed (u64), its length (u16), its UTF-8 bytes |
//! | the rest | the value: its JSON text, or (bit 1) the string's text |
//!
//! **Format 1**, written by earlier releases, is still read: JSON, `{"anp_cache":1,"at":…,
//! "fresh":…,"stale":…,"error":…,"compute_us":…,"tags":[["post:42",0]],"neg":false,
//! "value":…}`. The value stays JSON text in both, parsed only into the caller's type, so
//! `anp cache get` and other languages can still read it. Anything else — a format this build
//! does not know (a newer release's), bytes that are not an envelope — is never mis-read: it
//! decodes as an `Incompatible` error, which the cache counts and treats as a miss.

use std::borrow::Cow;
use std::ops::Range;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::Tag;
use crate::error::Error;

/// The envelope format this build writes (it also reads format 1).
pub const ENVELOPE_VERSION: u32 = 2;

/// The first bytes of a format-2 envelope.
const MAGIC: [u8; 4] = *b"\0anp";
/// Bytes before the tags in format 2.
const HEADER: usize = 48;
/// Flag bit: a cached "not found".
const FLAG_NEGATIVE: u8 = 1;
/// Flag bit: the value is a JSON string, stored as its UTF-8 text (unescaped, no quotes).
const FLAG_STRING: u8 = 2;

/// Everything about a stored value except the value itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvelopeMeta {
    /// Format version the envelope was read from ([`ENVELOPE_VERSION`] for one built here;
    /// [`Envelope::encode`] always writes [`ENVELOPE_VERSION`]).
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

/// An envelope read in place ([`Envelope::decode_parts`]): its metadata, and where the
/// value's JSON text lies in the stored bytes, so the value can be parsed straight from them,
/// once, without a copy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvelopeParts {
    /// Metadata.
    pub meta: EnvelopeMeta,
    /// Where the value is: `&bytes[value]`. Its JSON text, or with [`EnvelopeParts::string`]
    /// the text of a JSON string. Format 2 does not check it (parsing it into the caller's
    /// type does); format 1 does (its value had to be found by parsing).
    pub value: Range<usize>,
    /// The value is a JSON string stored as its UTF-8 text, unescaped and without quotes
    /// (format 2 stores every string value so: rendered HTML, the commonest cached value, is
    /// then read with a UTF-8 check instead of a JSON scan for escapes).
    pub string: bool,
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

    /// The stored bytes, in format [`ENVELOPE_VERSION`] (2), whatever `meta.anp_cache` says.
    /// A string value is stored as its text.
    pub fn encode(&self) -> Vec<u8> {
        let m = &self.meta;
        let text = self.value.get();
        let string = text
            .starts_with('"')
            .then(|| serde_json::from_str::<String>(text).ok())
            .flatten();
        let value = string.as_deref().unwrap_or(text).as_bytes();
        // A value carries a handful of tags; past 65,535 (the count's width) the rest are not
        // recorded. A `Tag` is at most 256 bytes, so each length fits its u16.
        let tags = &m.tags[..m.tags.len().min(usize::from(u16::MAX))];
        let tag_bytes: usize = tags.iter().map(|(t, _)| 10 + t.as_str().len()).sum();
        let mut out = Vec::with_capacity(HEADER + tag_bytes + value.len());
        out.extend_from_slice(&MAGIC);
        out.push(2);
        let mut flags = if m.neg { FLAG_NEGATIVE } else { 0 };
        if string.is_some() {
            flags |= FLAG_STRING;
        }
        out.push(flags);
        out.extend_from_slice(&(tags.len() as u16).to_le_bytes());
        for n in [m.at, m.fresh, m.stale, m.error] {
            out.extend_from_slice(&n.to_le_bytes());
        }
        out.extend_from_slice(&m.compute_us.to_le_bytes());
        for (tag, version) in tags {
            out.extend_from_slice(&version.to_le_bytes());
            out.extend_from_slice(&(tag.as_str().len() as u16).to_le_bytes());
            out.extend_from_slice(tag.as_str().as_bytes());
        }
        out.extend_from_slice(value);
        out
    }

    /// The stored bytes in format 1, as releases before format 2 wrote them (JSON). Nothing
    /// writes it any more; it exists so tests can store what an older release left behind.
    pub fn encode_v1(&self) -> Vec<u8> {
        let m = &self.meta;
        // Plain fields and already-valid JSON text: serialization cannot fail.
        serde_json::to_vec(&FormatV1 {
            anp_cache: 1,
            at: m.at,
            fresh: m.fresh,
            stale: m.stale,
            error: m.error,
            compute_us: m.compute_us,
            tags: Cow::Borrowed(&m.tags),
            neg: m.neg,
            value: &self.value,
        })
        .unwrap_or_default()
    }

    /// Reads stored bytes (format 2 or 1), copying the value out as JSON text. Anything else is an
    /// `Incompatible` error naming what was found (the cache turns it into a miss). For the
    /// read path, [`Envelope::decode_parts`] does the same without the copy.
    pub fn decode(bytes: &[u8]) -> Result<Envelope, Error> {
        let parts = Envelope::decode_parts(bytes)?;
        let value = std::str::from_utf8(&bytes[parts.value.clone()])
            .ok()
            .and_then(|t| match parts.string {
                // Escaped as serde_json escapes (the JSON a string was written as may have
                // used other, equivalent escapes).
                true => serde_json::to_string(t).ok(),
                false => Some(t.to_owned()),
            })
            .and_then(|t| RawValue::from_string(t).ok())
            .ok_or_else(|| {
                Error::incompatible(
                    "cache envelope",
                    format!(
                        "the value of a {}-byte stored envelope is not JSON (or UTF-8) text: \
                         expected the JSON the cache writes",
                        bytes.len()
                    ),
                )
            })?;
        Ok(Envelope {
            meta: parts.meta,
            value,
        })
    }

    /// Reads stored bytes (format 2 or 1) in place: the metadata, and where the value's JSON
    /// text is. Format 2 reads the header and tags and does not look at the value; format 1
    /// is parsed as JSON. Errors as [`Envelope::decode`].
    pub fn decode_parts(bytes: &[u8]) -> Result<EnvelopeParts, Error> {
        if bytes.starts_with(&MAGIC) {
            return decode_v2(bytes);
        }
        decode_v1(bytes)
    }

    /// Hit, stale or miss: [`EnvelopeMeta::freshness`].
    pub fn freshness(&self, now: i64, current: impl FnMut(&Tag) -> u64) -> Freshness {
        self.meta.freshness(now, current)
    }

    /// Hit, stale or miss: [`EnvelopeMeta::freshness_given`].
    pub fn freshness_given(&self, now: i64, current: &[(Tag, u64)]) -> Freshness {
        self.meta.freshness_given(now, current)
    }

    /// Probabilistic early refresh: [`EnvelopeMeta::refresh_early`].
    pub fn refresh_early(&self, now: i64, beta: f64, uniform: f64) -> bool {
        self.meta.refresh_early(now, beta, uniform)
    }

    /// The longest the store must keep it: [`EnvelopeMeta::store_ttl_ms`].
    pub fn store_ttl_ms(&self, now: i64) -> u64 {
        self.meta.store_ttl_ms(now)
    }
}

impl EnvelopeMeta {
    /// Hit, stale or miss at `now` (Unix ms), given each of [`EnvelopeMeta::tags`]' current
    /// version (`current(tag)`; a tag never purged is version 0).
    pub fn freshness(&self, now: i64, mut current: impl FnMut(&Tag) -> u64) -> Freshness {
        if self.tags.iter().any(|(tag, seen)| current(tag) != *seen) {
            return Freshness::Purged;
        }
        if now < self.fresh {
            Freshness::Fresh
        } else if now < self.stale {
            Freshness::Stale
        } else if now < self.error {
            Freshness::StaleIfError
        } else {
            Freshness::Expired
        }
    }

    /// [`EnvelopeMeta::freshness`] with the tags' current versions given as a list (a tag not
    /// in it is version 0): what every read has after its store round trip.
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
        let compute_ms = self.compute_us as f64 / 1000.0;
        let head_start = -compute_ms * beta * uniform.ln();
        now as f64 + head_start >= self.fresh as f64
    }

    /// The longest the store must keep it (ms from `now`): until `error`, at least 1 ms.
    pub fn store_ttl_ms(&self, now: i64) -> u64 {
        u64::try_from(self.error.saturating_sub(now))
            .unwrap_or(0)
            .max(1)
    }
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut n = [0; 8];
    n.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(n)
}

fn i64_at(b: &[u8], at: usize) -> i64 {
    i64::from_le_bytes(u64_at(b, at).to_le_bytes())
}

/// Format 2: the header, the tags, then the value to the end.
fn decode_v2(bytes: &[u8]) -> Result<EnvelopeParts, Error> {
    let damaged = |what: &str| {
        Error::incompatible(
            "cache envelope",
            format!(
                "{} stored bytes are a damaged format-2 envelope ({what}): expected the layout \
                 of docs/cache.md, \"Stored format\"",
                bytes.len()
            ),
        )
    };
    let version = bytes.get(4).copied().ok_or_else(|| damaged("no version"))?;
    if version != 2 {
        return Err(version_error(&version.to_string()));
    }
    let header = bytes
        .get(..HEADER)
        .ok_or_else(|| damaged("shorter than its header"))?;
    let flags = header[5];
    if flags & !(FLAG_NEGATIVE | FLAG_STRING) != 0 {
        return Err(Error::incompatible(
            "cache envelope",
            format!(
                "stored value has format-2 flags {flags:#04x}: expected only bits 0 and 1 \
                 (written by a newer alphanode release; read as a miss and overwritten)"
            ),
        ));
    }
    let count = usize::from(u16_at(header, 6));
    let mut tags = Vec::with_capacity(count);
    let mut at = HEADER;
    for _ in 0..count {
        let fixed = bytes
            .get(at..at + 10)
            .ok_or_else(|| damaged("cut short in its tags"))?;
        let version = u64_at(fixed, 0);
        let len = usize::from(u16_at(fixed, 8));
        let text = bytes
            .get(at + 10..at + 10 + len)
            .and_then(|b| std::str::from_utf8(b).ok())
            .ok_or_else(|| damaged("a tag cut short or not UTF-8"))?;
        let tag = Tag::parse(text).map_err(|_| damaged("a tag that is not a valid tag"))?;
        tags.push((tag, version));
        at += 10 + len;
    }
    Ok(EnvelopeParts {
        meta: EnvelopeMeta {
            anp_cache: 2,
            at: i64_at(header, 8),
            fresh: i64_at(header, 16),
            stale: i64_at(header, 24),
            error: i64_at(header, 32),
            compute_us: u64_at(header, 40),
            tags,
            neg: flags & FLAG_NEGATIVE != 0,
        },
        value: at..bytes.len(),
        string: flags & FLAG_STRING != 0,
    })
}

/// Format 1 as stored: one JSON object, its fields side by side (cheaper to read than a
/// derived `Deserialize` with `#[serde(flatten)]`, which first buffers every metadata field into
/// serde's generic content tree). Written only by [`Envelope::encode_v1`] (tags borrowed); read
/// by [`decode_v1`] (tags owned, the value borrowed). Unknown fields are ignored and a missing
/// `neg` is `false`, as format 1 was written.
#[derive(Serialize, Deserialize)]
struct FormatV1<'a> {
    anp_cache: u32,
    at: i64,
    fresh: i64,
    stale: i64,
    error: i64,
    compute_us: u64,
    tags: Cow<'a, [(Tag, u64)]>,
    #[serde(default)]
    neg: bool,
    #[serde(borrow)]
    value: &'a RawValue,
}

/// Format 1: JSON, decoded field by field, the value borrowed from `bytes`.
fn decode_v1(bytes: &[u8]) -> Result<EnvelopeParts, Error> {
    #[derive(Deserialize)]
    struct Version {
        anp_cache: Option<serde_json::Value>,
    }
    match serde_json::from_slice::<FormatV1<'_>>(bytes) {
        Ok(s) if s.anp_cache == 1 => {
            // The value's text is borrowed from `bytes`: its address gives its offset.
            let text = s.value.get().as_bytes();
            let start = (text.as_ptr() as usize).wrapping_sub(bytes.as_ptr() as usize);
            let value = start..start.saturating_add(text.len());
            if bytes.get(value.clone()) != Some(text) {
                return Err(Error::internal(
                    "cache envelope",
                    "a format-1 value was not borrowed from the stored bytes: expected \
                     serde_json to borrow raw values from its input",
                ));
            }
            Ok(EnvelopeParts {
                meta: EnvelopeMeta {
                    anp_cache: 1,
                    at: s.at,
                    fresh: s.fresh,
                    stale: s.stale,
                    error: s.error,
                    compute_us: s.compute_us,
                    tags: s.tags.into_owned(),
                    neg: s.neg,
                },
                value,
                string: false,
            })
        }
        Ok(s) => Err(version_error(&s.anp_cache.to_string())),
        Err(err) => match serde_json::from_slice::<Version>(bytes) {
            Ok(Version { anp_cache: Some(v) }) if v != 1 => Err(version_error(&v.to_string())),
            _ => Err(Error::incompatible(
                "cache envelope",
                format!(
                    "{} stored bytes are not a cache envelope ({err}): expected format 2 \
                     (starting \"\\0anp\") or format 1 (JSON with \"anp_cache\":1)",
                    bytes.len()
                ),
            )),
        },
    }
}

fn version_error(found: &str) -> Error {
    Error::incompatible(
        "cache envelope",
        format!(
            "stored value has envelope format {found}: expected 1 or {ENVELOPE_VERSION} (written \
             by another alphanode release; read as a miss and overwritten)"
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
    fn format_1_reads_what_the_derived_deserialize_reads() {
        let tag = Tag::parse("post:42").expect("tag");
        for e in [env(vec![]), env(vec![(tag.clone(), 7), (tag, u64::MAX)])] {
            let bytes = e.encode_v1();
            assert!(bytes.starts_with(br#"{"anp_cache":1,"#), "format 1 is JSON");
            let derived: Envelope = serde_json::from_slice(&bytes).expect("derived");
            let decoded = Envelope::decode(&bytes).expect("decodes");
            assert_eq!(decoded.meta, derived.meta);
            assert_eq!(decoded.meta.anp_cache, 1);
            assert_eq!(decoded.value.get(), derived.value.get());
            let parts = Envelope::decode_parts(&bytes).expect("in place");
            assert_eq!(&bytes[parts.value], b"{\"a\":[1,2]}");
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

    /// A value an older release wrote, byte for byte as it wrote it, reads as it was meant.
    #[test]
    fn a_hand_written_format_1_value_reads_correctly() {
        let stored = br#"{"anp_cache":1,"at":1000,"fresh":2000,"stale":3000,"error":4000,"compute_us":50000,"tags":[["post:42",7]],"neg":false,"value":{"title":"a \"quoted\" }","n":[1,2]}}"#;
        let parts = Envelope::decode_parts(stored).expect("format 1");
        assert_eq!(parts.meta.anp_cache, 1);
        assert_eq!((parts.meta.at, parts.meta.fresh), (1000, 2000));
        assert_eq!((parts.meta.stale, parts.meta.error), (3000, 4000));
        assert_eq!(parts.meta.compute_us, 50_000);
        assert_eq!(
            parts.meta.tags,
            vec![(Tag::parse("post:42").expect("tag"), 7)]
        );
        assert_eq!(
            &stored[parts.value],
            br#"{"title":"a \"quoted\" }","n":[1,2]}"#
        );
    }

    #[test]
    fn format_2_is_a_header_then_the_value() {
        let tag = Tag::parse("post:42").expect("tag");
        let mut e = env(vec![
            (tag.clone(), 7),
            (Tag::parse("é").expect("tag"), u64::MAX),
        ]);
        e.meta.neg = true;
        let bytes = e.encode();
        assert_eq!(&bytes[..5], b"\0anp\x02");
        assert_eq!(bytes[5], 1, "the negative flag");
        assert!(
            bytes.ends_with(b"{\"a\":[1,2]}"),
            "the value last, as it is"
        );
        assert_eq!(bytes.len(), 48 + (10 + 7) + (10 + 2) + 11);
        let parts = Envelope::decode_parts(&bytes).expect("decodes");
        assert_eq!(
            parts.meta,
            EnvelopeMeta {
                anp_cache: 2,
                ..e.meta.clone()
            }
        );
        assert_eq!(&bytes[parts.value], b"{\"a\":[1,2]}");
        let decoded = Envelope::decode(&bytes).expect("decodes");
        assert_eq!(decoded.value.get(), "{\"a\":[1,2]}");
        // The value is not looked at in place; copying it out checks it is JSON.
        let mut bad = bytes.clone();
        bad.truncate(bad.len() - 1);
        assert!(Envelope::decode_parts(&bad).is_ok());
        let err = Envelope::decode(&bad).expect_err("not JSON").to_string();
        assert!(err.contains("not JSON (or UTF-8) text"), "{err}");
    }

    #[test]
    fn format_2_stores_a_string_as_its_text() {
        let mut e = env(vec![]);
        e.value = RawValue::from_string(r#""<p class=\"a\">caf\u00e9</p>""#.into()).expect("json");
        let bytes = e.encode();
        assert_eq!(bytes[5], 2, "the string flag");
        assert!(bytes.ends_with("<p class=\"a\">café</p>".as_bytes()));
        let parts = Envelope::decode_parts(&bytes).expect("decodes");
        assert!(parts.string);
        assert_eq!(&bytes[parts.value], "<p class=\"a\">café</p>".as_bytes());
        // As JSON again: the same string, escaped as serde_json escapes.
        let decoded = Envelope::decode(&bytes).expect("decodes");
        assert_eq!(decoded.value.get(), r#""<p class=\"a\">café</p>""#);
        // Not UTF-8: refused when copied out.
        let mut bad = bytes.clone();
        let last = bad.len() - 1;
        bad[last] = 0xFF;
        assert!(Envelope::decode(&bad).is_err());
        // Other values stay JSON.
        let parts = Envelope::decode_parts(&env(vec![]).encode()).expect("decodes");
        assert!(!parts.string);
    }

    #[test]
    fn damaged_and_newer_format_2_bytes_are_errors() {
        let bytes = env(vec![(Tag::parse("post:42").expect("tag"), 7)]).encode();
        let err = |b: &[u8]| Envelope::decode_parts(b).expect_err("refused").to_string();
        let mut newer = bytes.clone();
        newer[4] = 3;
        assert!(
            err(&newer).contains("envelope format 3: expected 1 or 2"),
            "{}",
            err(&newer)
        );
        let mut flags = bytes.clone();
        flags[5] = 0b100;
        assert!(err(&flags).contains("flags 0x04"), "{}", err(&flags));
        assert!(err(&bytes[..30]).contains("shorter than its header"));
        assert!(err(&bytes[..48 + 12]).contains("cut short"));
        assert!(err(&bytes[..4]).contains("no version"));
        let mut control = bytes.clone();
        control[48 + 10] = b'\n';
        assert!(
            err(&control).contains("not a valid tag"),
            "{}",
            err(&control)
        );
    }

    #[test]
    fn other_versions_and_garbage_are_errors() {
        let newer = br#"{"anp_cache":3,"whatever":true}"#;
        let err = Envelope::decode(newer)
            .expect_err("another format version")
            .to_string();
        assert!(err.contains("envelope format 3: expected 1 or 2"), "{err}");
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
