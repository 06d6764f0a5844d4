//! The application cache's model, with no I/O: checked names ([`Namespace`], [`CacheKey`],
//! [`Tag`]), the versioned [`Envelope`] every stored value travels in, the one function that
//! decides hit / stale / miss ([`Envelope::freshness`]), and the [`CacheStore`] seam a backend
//! implements. The design and its costs: docs/cache.md.

mod count;
mod envelope;
mod store;

use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::error::Error;
use crate::names::name_impls;

pub use count::{CacheCountTaggedParams, TaggedCount};
pub use envelope::{Envelope, EnvelopeMeta, EnvelopeParts, Freshness, ENVELOPE_VERSION};
pub use store::{
    CacheCounts, CacheDeleteParams, CacheLeaseParams, CacheNamespace, CachePurgePrefixParams,
    CacheRead, CacheReadParams, CacheStatsQueryParams, CacheStatsRecord, CacheStore, CacheUsage,
    CacheWatch, CacheWrite, CacheWriteParams, GenerationMove, Invalidation, RequestCounts,
    RequestOutcome, TagPurgeParams, WatchEvent, WatchSink,
};

/// A cache namespace: 1–64 characters of `[a-z0-9_.-]`, starting with a letter or digit. Every
/// entry lives in one; stats, deploy generations and purges are per namespace.
///
/// ```
/// use anp_core::cache::Namespace;
/// assert!(Namespace::parse("pages").is_ok());
/// assert_eq!(
///     Namespace::parse("Pages!").unwrap_err().to_string(),
///     "cache namespace: \"Pages!\" is invalid: expected 1-64 chars of [a-z0-9_.-] starting with a letter or digit; not retried"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Namespace(String);

impl Namespace {
    /// The namespace used when none is named.
    pub const DEFAULT: &'static str = "default";

    /// Checks and wraps a namespace.
    pub fn parse(s: &str) -> Result<Namespace, Error> {
        let ok = (1..=64).contains(&s.len())
            && s.as_bytes()[0].is_ascii_alphanumeric()
            && s.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-')
            });
        if ok {
            Ok(Namespace(s.to_owned()))
        } else {
            Err(Error::invalid(
                "cache namespace",
                format!(
                    "{s:?} is invalid: expected 1-64 chars of [a-z0-9_.-] starting with a letter or digit"
                ),
            ))
        }
    }

    /// The `default` namespace.
    pub fn default_namespace() -> Namespace {
        Namespace(Self::DEFAULT.to_owned())
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Checks free text used as a key or tag: 1–`max` bytes of UTF-8 without control characters.
fn check_text(what: &'static str, s: &str, max: usize) -> Result<(), Error> {
    if s.is_empty() || s.len() > max {
        return Err(Error::invalid(
            what,
            format!(
                "{:?} is {} bytes: expected 1-{max} bytes",
                truncate(s, 80),
                s.len()
            ),
        ));
    }
    if let Some(c) = s.chars().find(|c| c.is_control()) {
        return Err(Error::invalid(
            what,
            format!(
                "{:?} contains the control character {c:?}: expected printable text",
                truncate(s, 80)
            ),
        ));
    }
    Ok(())
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// A cache key: 1–1024 bytes of UTF-8 without control characters (`post:42:html`,
/// `GET https://example.com/a?b=1`). Keys are exact: no normalisation.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct CacheKey(String);

impl CacheKey {
    /// Longest key, in bytes.
    pub const MAX_LEN: usize = 1024;

    /// Checks and wraps a key.
    pub fn parse(s: &str) -> Result<CacheKey, Error> {
        check_text("cache key", s, Self::MAX_LEN)?;
        Ok(CacheKey(s.to_owned()))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A tag: 1–256 bytes of UTF-8 without control characters (`post:42`, `user:7`). Purging a
/// tag invalidates every entry written with it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Tag(String);

impl Tag {
    /// Longest tag, in bytes.
    pub const MAX_LEN: usize = 256;

    /// Checks and wraps a tag.
    pub fn parse(s: &str) -> Result<Tag, Error> {
        check_text("cache tag", s, Self::MAX_LEN)?;
        Ok(Tag(s.to_owned()))
    }

    /// The tag as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

name_impls!(Namespace);
name_impls!(CacheKey);
name_impls!(Tag);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(Namespace::parse("a.b-c_1").is_ok());
        assert!(Namespace::parse("-a").is_err());
        assert!(Namespace::parse("").is_err());
        assert!(CacheKey::parse("GET https://example.com/a?b=1").is_ok());
        assert!(CacheKey::parse("a\nb").is_err());
        assert!(CacheKey::parse(&"k".repeat(1025)).is_err());
        assert!(Tag::parse("post:42").is_ok());
        assert!(Tag::parse("").is_err());
        let err = Tag::parse(&"é".repeat(200))
            .expect_err("400 bytes")
            .to_string();
        assert!(err.contains("400 bytes: expected 1-256 bytes"), "{err}");
    }
}
