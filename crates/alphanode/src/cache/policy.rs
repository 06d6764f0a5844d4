//! [`Policy`]: how long a value is fresh, how long it may be served stale, what it is tagged
//! with, and how "not found" is cached.

use std::time::Duration;

use anp_core::cache::Tag;
use anp_core::{Error, Result};

/// How one value is cached. Build it once (a `static` or a field) and pass it by reference.
///
/// ```
/// use std::time::Duration;
/// use alphanode::cache::Policy;
///
/// let page = Policy::fresh(Duration::from_secs(60))
///     .stale_while_revalidate(Duration::from_secs(300)) // serve stale, refresh once in the background
///     .stale_if_error(Duration::from_secs(3600))        // the source is down: keep serving
///     .tag("post:42")
///     .tag("user:7")
///     .jitter(0.1);                                     // spread expiries by up to 10 %
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    pub(crate) fresh: Duration,
    pub(crate) stale: Duration,
    pub(crate) stale_if_error: Duration,
    pub(crate) tags: Vec<String>,
    pub(crate) negative: Option<Duration>,
    pub(crate) jitter: f64,
    pub(crate) early_refresh: f64,
}

impl Policy {
    /// Fresh for `ttl` after it is computed: served without computing. No stale windows, no
    /// tags, no negative caching, no jitter, early refresh off.
    pub fn fresh(ttl: Duration) -> Policy {
        Policy {
            fresh: ttl,
            stale: Duration::ZERO,
            stale_if_error: Duration::ZERO,
            tags: Vec::new(),
            negative: None,
            jitter: 0.0,
            early_refresh: 0.0,
        }
    }

    /// After `fresh`, serve the old value for up to `window` while one refresh runs in the
    /// background (Rails' `race_condition_ttl`, Laravel's `flexible`, HTTP's
    /// `stale-while-revalidate`).
    pub fn stale_while_revalidate(mut self, window: Duration) -> Policy {
        self.stale = window;
        self
    }

    /// After the stale window, keep the old value for up to `window` more, served only when
    /// computing a new one fails (HTTP's `stale-if-error`); the failure is counted and logged
    /// with the key.
    pub fn stale_if_error(mut self, window: Duration) -> Policy {
        self.stale_if_error = window;
        self
    }

    /// Adds a tag: [`Cache::purge_tag`](crate::cache::Cache::purge_tag) invalidates every
    /// value written with it. Tags are checked when the policy is used (1–256 bytes, no
    /// control characters).
    pub fn tag(mut self, tag: impl Into<String>) -> Policy {
        self.tags.push(tag.into());
        self
    }

    /// Adds several tags.
    pub fn tags<I, S>(mut self, tags: I) -> Policy
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tags.extend(tags.into_iter().map(Into::into));
        self
    }

    /// Negative caching: a computed value that serializes to JSON `null` (e.g. `None` for
    /// "not found") is kept for `ttl` instead of the fresh window, without stale windows.
    /// Without this, `null` is cached like any value.
    pub fn negative(mut self, ttl: Duration) -> Policy {
        self.negative = Some(ttl);
        self
    }

    /// Shortens each fresh window by a random 0–`fraction` of it (clamped to 0–0.5), so values
    /// computed together do not all expire together.
    pub fn jitter(mut self, fraction: f64) -> Policy {
        self.jitter = if fraction.is_finite() {
            fraction.clamp(0.0, 0.5)
        } else {
            0.0
        };
        self
    }

    /// Probabilistic early refresh (XFetch) of hot keys: a fresh hit may start one background
    /// refresh shortly before the value expires — more likely the closer the expiry and the
    /// longer the value took to compute. `beta` 1.0 is the usual setting, 0 (default) turns it
    /// off.
    pub fn early_refresh(mut self, beta: f64) -> Policy {
        self.early_refresh = if beta.is_finite() { beta.max(0.0) } else { 0.0 };
        self
    }

    /// Fresh + stale + stale-if-error: how long the store keeps a value.
    pub fn lifetime(&self) -> Duration {
        self.fresh
            .saturating_add(self.stale)
            .saturating_add(self.stale_if_error)
    }

    /// Checks the policy against a namespace's maximum entry lifetime and parses its tags.
    pub(crate) fn check(&self, max_lifetime: Duration) -> Result<Vec<Tag>> {
        if self.fresh.is_zero() {
            return Err(Error::invalid(
                "cache policy",
                "the fresh window is 0: expected a fresh TTL of at least 1 ms",
            ));
        }
        if self.lifetime() > max_lifetime || self.negative.is_some_and(|n| n > max_lifetime) {
            return Err(Error::invalid(
                "cache policy",
                format!(
                    "fresh + stale + stale-if-error is {:?}: expected at most the namespace's \
                     max lifetime {:?} (tag versions are kept that long; raise it with \
                     NamespaceOptions::max_lifetime)",
                    self.lifetime(),
                    max_lifetime
                ),
            ));
        }
        let mut tags = Vec::with_capacity(self.tags.len());
        for t in &self.tags {
            let tag = Tag::parse(t)?;
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        Ok(tags)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_bounds_and_tags() {
        let day = Duration::from_secs(86_400);
        let p = Policy::fresh(Duration::from_secs(60))
            .stale_while_revalidate(Duration::from_secs(60))
            .tags(["a", "b", "a"]);
        assert_eq!(p.check(day).expect("valid").len(), 2);
        assert!(p.check(Duration::from_secs(100)).is_err());
        assert!(Policy::fresh(Duration::ZERO).check(day).is_err());
        let bad = Policy::fresh(Duration::from_secs(1)).tag("");
        assert!(bad.check(day).is_err());
        assert_eq!(
            Policy::fresh(Duration::from_secs(1)).jitter(9.0).jitter,
            0.5
        );
    }
}
