//! Counting what a tag purge invalidates ([`CacheStore::cache_count_tagged`]): the rule every
//! backend applies to the entries it walks, so they all count alike.
//!
//! A tag purge is O(1) (it moves the tag's version; docs/cache.md, "Tags") and so cannot say
//! how many entries it reached. Counting them means walking the namespace generation's entries
//! and reading each one's tags: O(entries), which `anp cache purge --tag T --count` does before
//! the purge, and says so.
//!
//! [`CacheStore::cache_count_tagged`]: super::CacheStore::cache_count_tagged

use std::collections::HashMap;
use std::future::Future;

use jiff::Timestamp;

use super::{CacheUsage, Envelope, EnvelopeMeta, Freshness, Namespace, Tag};

/// Parameters of [`CacheStore::cache_count_tagged`](super::CacheStore::cache_count_tagged).
#[derive(Clone, Debug)]
pub struct CacheCountTaggedParams {
    /// Namespace.
    pub ns: Namespace,
    /// Generation walked (a purge reaches every generation; other generations' entries are
    /// served only after a rollback).
    pub generation: u64,
    /// The tag.
    pub tag: Tag,
    /// Now.
    pub now: Timestamp,
}

/// The count of one walk: feed it each page of stored envelopes (read with
/// [`TaggedCount::decode`]) with [`TaggedCount::add_page`], which asks the store for the
/// versions of the tags it has not seen yet and counts every entry that carries the tag and
/// that a read would serve now (fresh, or within its stale or stale-if-error window,
/// with none of its tags purged since it was computed): exactly the entries a purge of the tag
/// makes misses.
#[derive(Debug)]
pub struct TaggedCount {
    tag: Tag,
    now_ms: i64,
    versions: HashMap<Tag, u64>,
    usage: CacheUsage,
}

impl TaggedCount {
    /// A count of `tag`'s live entries at `now`.
    pub fn new(tag: Tag, now: Timestamp) -> TaggedCount {
        TaggedCount {
            tag,
            now_ms: now.as_millisecond(),
            versions: HashMap::new(),
            usage: CacheUsage {
                exact: true,
                ..CacheUsage::default()
            },
        }
    }

    /// Reads one stored value's metadata ([`Envelope::decode_parts`]: not the value) when it
    /// carries `tag`; `None` when it does not, or is not an envelope this release reads (a
    /// read would find it a miss too, so a purge changes nothing for it).
    pub fn decode(tag: &Tag, bytes: &[u8]) -> Option<EnvelopeMeta> {
        Envelope::decode_parts(bytes)
            .ok()
            .filter(|e| e.meta.tags.iter().any(|(t, _)| t == tag))
            .map(|e| e.meta)
    }

    /// Counts one page of the walk: the entries carrying the tag, each with its stored bytes
    /// (key and value), as [`TaggedCount::decode`] read them. The versions of the tags not seen
    /// on earlier pages come first from `versions` (called at most once, with those tags; it
    /// answers in order, as the store's `cache_tag_versions` does).
    pub async fn add_page<E, F, Fut>(
        &mut self,
        page: &[(EnvelopeMeta, u64)],
        versions: F,
    ) -> Result<(), E>
    where
        F: FnOnce(Vec<Tag>) -> Fut,
        Fut: Future<Output = Result<Vec<u64>, E>>,
    {
        let unknown = self.unknown_tags(page.iter().map(|(m, _)| m));
        if !unknown.is_empty() {
            let v = versions(unknown.clone()).await?;
            self.learn(unknown, v);
        }
        for (m, bytes) in page {
            self.add(m, *bytes);
        }
        Ok(())
    }

    /// The tags of `entries` whose current version this count does not know yet (each once).
    fn unknown_tags<'a>(&self, entries: impl IntoIterator<Item = &'a EnvelopeMeta>) -> Vec<Tag> {
        let mut out: Vec<Tag> = Vec::new();
        for e in entries {
            for (t, _) in &e.tags {
                if !self.versions.contains_key(t) && !out.contains(t) {
                    out.push(t.clone());
                }
            }
        }
        out
    }

    /// The current versions of `tags` (as the store's `cache_tag_versions` answers, in order).
    fn learn(&mut self, tags: Vec<Tag>, versions: Vec<u64>) {
        self.versions.extend(tags.into_iter().zip(versions));
    }

    /// Counts `entry` (stored under `stored_bytes` bytes of key and value) if a purge of the
    /// tag invalidates it now. Tags whose version was not learned read as never purged.
    fn add(&mut self, entry: &EnvelopeMeta, stored_bytes: u64) {
        if !entry.tags.iter().any(|(t, _)| *t == self.tag) {
            return;
        }
        let versions = &self.versions;
        let f = entry.freshness(self.now_ms, |t| versions.get(t).copied().unwrap_or(0));
        if matches!(
            f,
            Freshness::Fresh | Freshness::Stale | Freshness::StaleIfError
        ) {
            self.usage.entries += 1;
            self.usage.bytes += stored_bytes;
        }
    }

    /// The walk stopped at the backend's budget: the figures are lower bounds.
    pub fn truncated(&mut self) {
        self.usage.exact = false;
    }

    /// The count.
    pub fn finish(self) -> CacheUsage {
        self.usage
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn env(tags: &[(&str, u64)], fresh: i64, stale: i64) -> Vec<u8> {
        let meta = EnvelopeMeta {
            anp_cache: crate::cache::ENVELOPE_VERSION,
            at: 0,
            fresh,
            stale,
            error: stale,
            compute_us: 0,
            tags: tags
                .iter()
                .map(|(t, v)| (Tag::parse(t).unwrap(), *v))
                .collect(),
            neg: false,
        };
        let value = serde_json::value::RawValue::from_string("1".into()).unwrap();
        Envelope::new(meta, value).encode()
    }

    /// Runs a future that never waits (the versions below are answered at once).
    fn ready<T>(f: impl Future<Output = T>) -> T {
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match std::pin::pin!(f).poll(&mut cx) {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => panic!("the future waited"),
        }
    }

    #[test]
    fn counts_the_live_entries_carrying_the_tag_at_its_current_version() {
        let now = Timestamp::from_millisecond(1_000).unwrap();
        let post = Tag::parse("post:1").unwrap();
        let mut c = TaggedCount::new(post.clone(), now);
        let stored = [
            env(&[("post:1", 0)], 2_000, 3_000), // fresh: counted
            env(&[("post:1", 0), ("user:9", 0)], 500, 3_000), // stale: counted
            env(&[("post:1", 0), ("user:9", 7)], 2_000, 3_000), // user:9 purged since
            env(&[("post:1", 5)], 2_000, 3_000), // post:1 purged since
            env(&[("post:1", 0)], 500, 900),     // expired
            env(&[("post:2", 0)], 2_000, 3_000), // another tag
            b"not an envelope".to_vec(),
        ];
        let entries: Vec<EnvelopeMeta> = stored
            .iter()
            .filter_map(|b| TaggedCount::decode(&post, b))
            .collect();
        assert_eq!(entries.len(), 5);
        let page: Vec<(EnvelopeMeta, u64)> = entries.into_iter().map(|m| (m, 10)).collect();
        let (first, rest) = page.split_at(2);
        let asked = post.clone();
        ready(c.add_page(first, |tags| async move {
            assert_eq!(tags, [asked, Tag::parse("user:9").unwrap()]);
            Ok::<_, ()>(vec![0, 0])
        }))
        .unwrap();
        // The tags seen on the first page are not asked for again.
        ready(c.add_page(rest, |tags| async move {
            Err(format!("asked again for {tags:?}"))
        }))
        .unwrap();
        let u = c.finish();
        assert_eq!((u.entries, u.bytes, u.exact), (2, 20, true));
    }
}
