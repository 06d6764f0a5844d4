//! Tag versions: 0 until purged, set by a purge, expiring after `keep`; and the read that
//! returns an entry, its tags' versions and the generation in one call.

use std::time::{Duration, Instant};

use anp_core::cache::{
    CacheCountTaggedParams, CacheReadParams, CacheStore, CacheUsage, Envelope, Freshness,
    GenerationMove, TagPurgeParams,
};

use super::{cache_of, elapsed_until, envelope, key, now, ns, tag, write_with, LONG};
use crate::Harness;

async fn versions(c: &dyn CacheStore, n: &str, tags: &[&str]) -> Vec<u64> {
    c.cache_tag_versions(ns(n), tags.iter().map(|t| tag(t)).collect())
        .await
        .unwrap_or_else(|e| panic!("cache_tag_versions {tags:?}: {e}"))
}

async fn purge(c: &dyn CacheStore, n: &str, versions: &[(&str, u64)], keep: Duration) {
    c.cache_purge_tags(TagPurgeParams {
        ns: ns(n),
        versions: versions.iter().map(|(t, v)| (tag(t), *v)).collect(),
        keep,
        now: now(),
    })
    .await
    .unwrap_or_else(|e| panic!("cache_purge_tags {versions:?}: {e}"))
}

async fn count_tagged(c: &dyn CacheStore, n: &str, generation: u64, t: &str) -> CacheUsage {
    c.cache_count_tagged(CacheCountTaggedParams {
        ns: ns(n),
        generation,
        tag: tag(t),
        now: now(),
    })
    .await
    .unwrap_or_else(|e| panic!("cache_count_tagged {t:?}: {e}"))
}

/// `cache_count_tagged` counts exactly the entries a purge of the tag invalidates: live ones
/// carrying it at its current version with none of their other tags purged since — not
/// entries of other tags, generations or namespaces, not ones already purged (by this tag or
/// another), not expired ones, not values that are no envelope; over more than one page of the
/// walk. After the purge it counts none.
pub async fn cache_count_tagged_counts_what_a_purge_invalidates<H: Harness>(h: &H) {
    let c = cache_of(h).await;
    assert_eq!(
        count_tagged(&*c, "pages", 0, "post:1").await,
        CacheUsage {
            entries: 0,
            bytes: 0,
            exact: true
        }
    );
    purge(&*c, "pages", &[("post:1", 3), ("user:9", 4)], LONG).await;
    let mut stored = 0u64;
    // 1,200 live entries carrying post:1 at its current version (more than a page of 1,000).
    for i in 0..1200 {
        let k = format!("p:{i:04}");
        let t = if i % 2 == 0 {
            vec![(tag("post:1"), 3)]
        } else {
            vec![(tag("post:1"), 3), (tag("user:9"), 4)]
        };
        let bytes = envelope("1", now(), t);
        stored += (k.len() + bytes.len()) as u64;
        write_with(&*c, "pages", 0, &k, bytes, LONG, None).await;
    }
    // Not counted: purged through post:1 before, through user:9, another tag, another
    // generation, another namespace, no envelope, expired.
    let skip = [
        ("old", vec![(tag("post:1"), 0)], 0),
        ("by-user", vec![(tag("post:1"), 3), (tag("user:9"), 0)], 0),
        ("other-tag", vec![(tag("post:2"), 0)], 0),
        ("gen-1", vec![(tag("post:1"), 3)], 1),
    ];
    for (k, t, generation) in skip {
        write_with(
            &*c,
            "pages",
            generation,
            k,
            envelope("1", now(), t),
            LONG,
            None,
        )
        .await;
    }
    write_with(
        &*c,
        "other",
        0,
        "p:0000",
        envelope("1", now(), vec![(tag("post:1"), 0)]),
        LONG,
        None,
    )
    .await;
    write_with(
        &*c,
        "pages",
        0,
        "junk",
        b"not an envelope".to_vec(),
        LONG,
        None,
    )
    .await;
    let start = Instant::now();
    write_with(
        &*c,
        "pages",
        0,
        "expiring",
        envelope("1", now(), vec![(tag("post:1"), 3)]),
        Duration::from_millis(200),
        None,
    )
    .await;
    elapsed_until("the 200 ms entry to expire", start, || {
        let c = c.clone();
        async move { count_tagged(&*c, "pages", 0, "post:1").await.entries == 1200 }
    })
    .await;
    let u = count_tagged(&*c, "pages", 0, "post:1").await;
    assert_eq!((u.entries, u.exact), (1200, true), "{u:?}");
    assert!(
        u.bytes >= stored && u.bytes <= stored + 1200 * 512,
        "{} bytes for keys and envelopes of {stored} bytes",
        u.bytes
    );
    assert_eq!(count_tagged(&*c, "pages", 0, "user:9").await.entries, 600);
    assert_eq!(count_tagged(&*c, "pages", 1, "post:1").await.entries, 1);
    assert_eq!(count_tagged(&*c, "pages", 0, "post:3").await.entries, 0);

    purge(&*c, "pages", &[("user:9", 5)], LONG).await;
    assert_eq!(count_tagged(&*c, "pages", 0, "post:1").await.entries, 600);
    purge(&*c, "pages", &[("post:1", 6)], LONG).await;
    assert_eq!(count_tagged(&*c, "pages", 0, "post:1").await.entries, 0);
}

/// A tag never purged is version 0; a purge sets each tag's version (the full u64 range), a
/// later purge replaces it; versions come back in request order, and each namespace has its
/// own.
pub async fn cache_tag_versions_default_to_zero_and_purges_set_them<H: Harness>(h: &H) {
    let c = cache_of(h).await;
    assert_eq!(versions(&*c, "pages", &["post:1", "post:2"]).await, [0, 0]);
    assert_eq!(versions(&*c, "pages", &[]).await, Vec::<u64>::new());
    purge(&*c, "pages", &[("post:1", 7), ("post:2", u64::MAX)], LONG).await;
    assert_eq!(
        versions(&*c, "pages", &["post:2", "post:3", "post:1"]).await,
        [u64::MAX, 0, 7]
    );
    purge(&*c, "pages", &[("post:1", 1 << 63)], LONG).await;
    assert_eq!(
        versions(&*c, "pages", &["post:1", "post:2"]).await,
        [1 << 63, u64::MAX]
    );
    assert_eq!(
        versions(&*c, "other", &["post:1"]).await,
        [0],
        "per namespace"
    );
}

/// A tag's version is kept for `keep`, then reads as 0 again (not before); a version kept
/// longer stays.
pub async fn cache_tag_version_expires_after_keep<H: Harness>(h: &H) {
    let c = cache_of(h).await;
    purge(&*c, "pages", &[("long", 5)], LONG).await;
    let start = Instant::now();
    purge(&*c, "pages", &[("short", 6)], Duration::from_millis(300)).await;
    let gone = elapsed_until("the tag version kept 300 ms to expire", start, || {
        let c = c.clone();
        async move { versions(&*c, "pages", &["short"]).await == [0] }
    })
    .await;
    assert!(
        gone >= Duration::from_millis(290),
        "the version expired after {gone:?}, before its 300 ms keep"
    );
    assert_eq!(versions(&*c, "pages", &["long", "short"]).await, [5, 0]);
}

/// `cache_read` returns the entry, the current versions of the tags asked for (in order, 0 for
/// unpurged ones) and, when asked, the namespace's generation: an entry written before a purge
/// of one of its tags then reads as purged. An unregistered namespace is generation 0.
pub async fn cache_read_returns_tag_versions_and_generation<H: Harness>(h: &H) {
    let c = cache_of(h).await;
    c.cache_namespace_register(ns("pages"), true)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    c.cache_generation_move(ns("pages"), GenerationMove::Next)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    purge(&*c, "pages", &[("post:1", 11)], LONG).await;
    let t0 = now();
    let bytes = envelope("\"v\"", t0, vec![(tag("post:1"), 11), (tag("user:2"), 0)]);
    write_with(&*c, "pages", 1, "k", bytes.clone(), LONG, None).await;

    let read = |k: &'static str, n: &'static str, generation: u64, with_generation: bool| {
        let c = c.clone();
        async move {
            c.cache_read(CacheReadParams {
                ns: ns(n),
                generation,
                key: key(k),
                tags: vec![tag("post:1"), tag("user:2")],
                with_generation,
                now: now(),
            })
            .await
            .unwrap_or_else(|e| panic!("cache_read: {e}"))
        }
    };
    let r = read("k", "pages", 1, true).await;
    assert_eq!(r.entry.as_deref(), Some(&bytes[..]));
    assert_eq!(r.tag_versions, [11, 0]);
    assert_eq!(r.generation, Some(1));
    let e = Envelope::decode(&bytes).unwrap_or_else(|e| panic!("{e}"));
    let current = |versions: Vec<u64>| {
        move |t: &anp_core::cache::Tag| match t.as_str() {
            "post:1" => versions[0],
            _ => versions[1],
        }
    };
    assert_eq!(
        e.freshness(now().as_millisecond(), current(r.tag_versions)),
        Freshness::Fresh
    );

    let r = read("k", "pages", 1, false).await;
    assert_eq!(
        (r.entry.is_some(), r.generation),
        (true, None),
        "generation not asked for"
    );
    let r = read("absent", "pages", 1, true).await;
    assert_eq!(
        (r.entry, r.tag_versions, r.generation),
        (None, vec![11, 0], Some(1)),
        "versions and generation come without an entry too"
    );
    let r = read("k", "fresh-ns", 0, true).await;
    assert_eq!(
        (r.entry, r.generation),
        (None, Some(0)),
        "unregistered: generation 0"
    );

    purge(&*c, "pages", &[("user:2", 12)], LONG).await;
    let r = read("k", "pages", 1, true).await;
    assert_eq!(r.tag_versions, [11, 12]);
    assert_eq!(
        e.freshness(now().as_millisecond(), current(r.tag_versions)),
        Freshness::Purged
    );

    c.cache_generation_move(ns("pages"), GenerationMove::Next)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let r = read("k", "pages", 1, true).await;
    assert_eq!(
        (r.entry.is_some(), r.generation),
        (true, Some(2)),
        "the entry of generation 1 is still stored; the current generation is 2"
    );
}
