//! Entries: write and read, absent keys, TTL expiry, delete, prefix purge, usage and prune.

use std::time::{Duration, Instant};

use anp_core::cache::{CacheDeleteParams, CachePurgePrefixParams, CacheStore, CacheWrite};

use super::{
    cache_of, elapsed_until, envelope, key, now, ns, read, read_value, write, write_with, LONG,
};
use crate::Harness;

/// `cache_delete` of `keys` in (`n`, `generation`), panicking on error.
async fn delete(c: &dyn CacheStore, n: &str, generation: u64, keys: &[&str]) -> u64 {
    c.cache_delete(CacheDeleteParams {
        ns: ns(n),
        generation,
        keys: keys.iter().map(|k| key(k)).collect(),
        now: now(),
    })
    .await
    .unwrap_or_else(|e| panic!("cache_delete {keys:?}: {e}"))
}

/// `cache_purge_prefix`, panicking on error.
async fn purge_prefix(
    c: &dyn CacheStore,
    n: &str,
    generation: u64,
    prefix: &str,
    limit: u32,
) -> u64 {
    c.cache_purge_prefix(CachePurgePrefixParams {
        ns: ns(n),
        generation,
        prefix: prefix.to_owned(),
        limit,
        now: now(),
    })
    .await
    .unwrap_or_else(|e| panic!("cache_purge_prefix {prefix:?} limit {limit}: {e}"))
}

/// What is written is read back byte for byte (a large value included); a second write
/// replaces the first; reads of one key do not see another's.
pub async fn cache_write_then_read_round_trips<H: Harness>(h: &H) {
    let c = cache_of(h).await;
    let bytes = envelope("{\"html\":\"<p>hi</p>\",\"n\":[1,2,3]}", now(), vec![]);
    let w = write_with(&*c, "pages", 0, "post:42", bytes.clone(), LONG, None).await;
    assert_eq!(w, CacheWrite::Applied);
    assert_eq!(read(&*c, "pages", 0, "post:42").await, Some(bytes));
    assert_eq!(
        read_value(&*c, "pages", 0, "post:42").await.as_deref(),
        Some("{\"html\":\"<p>hi</p>\",\"n\":[1,2,3]}")
    );

    write(&*c, "pages", 0, "post:42", "\"second\"").await;
    assert_eq!(
        read_value(&*c, "pages", 0, "post:42").await.as_deref(),
        Some("\"second\"")
    );

    let big = format!("\"{}\"", "x".repeat(200_000));
    write(&*c, "pages", 0, "GET https://example.com/a?b=1", &big).await;
    assert_eq!(
        read_value(&*c, "pages", 0, "GET https://example.com/a?b=1").await,
        Some(big)
    );
    assert_eq!(
        read_value(&*c, "pages", 0, "post:42").await.as_deref(),
        Some("\"second\""),
        "one key's write leaves another's alone"
    );
    // Another handle (another process) reads the same.
    let other = cache_of(h).await;
    assert_eq!(
        read_value(&*other, "pages", 0, "post:42").await.as_deref(),
        Some("\"second\"")
    );
}

/// A key never written reads as absent, in any namespace and generation, while others exist.
pub async fn cache_absent_key_reads_none<H: Harness>(h: &H) {
    let c = cache_of(h).await;
    assert_eq!(read(&*c, "pages", 0, "nothing").await, None);
    write(&*c, "pages", 0, "something", "1").await;
    assert_eq!(read(&*c, "pages", 0, "nothing").await, None);
    assert_eq!(
        read(&*c, "pages", 0, "somethin").await,
        None,
        "no prefix match"
    );
    assert_eq!(
        read(&*c, "pages", 1, "something").await,
        None,
        "other generation"
    );
    assert_eq!(
        read(&*c, "other", 0, "something").await,
        None,
        "other namespace"
    );
    assert!(read(&*c, "pages", 0, "something").await.is_some());
}

/// An entry is gone once its TTL has passed (real time: Redis expires by itself), not before;
/// an entry with a longer TTL stays.
pub async fn cache_entry_expires_after_its_ttl<H: Harness>(h: &H) {
    let c = cache_of(h).await;
    write(&*c, "pages", 0, "long", "\"l\"").await;
    let start = Instant::now();
    let bytes = envelope("\"s\"", now(), vec![]);
    let w = write_with(
        &*c,
        "pages",
        0,
        "short",
        bytes,
        Duration::from_millis(300),
        None,
    )
    .await;
    assert_eq!(w, CacheWrite::Applied);
    let gone = elapsed_until("the 300 ms entry to expire", start, || {
        let c = c.clone();
        async move { read(&*c, "pages", 0, "short").await.is_none() }
    })
    .await;
    assert!(
        gone >= Duration::from_millis(290),
        "the entry vanished after {gone:?}, before its 300 ms TTL"
    );
    assert!(read(&*c, "pages", 0, "long").await.is_some());
}

/// `cache_delete` deletes the keys and counts those that existed: not absent ones, not expired
/// ones; deleting again counts 0.
pub async fn cache_delete_counts_only_existing_keys<H: Harness>(h: &H) {
    let c = cache_of(h).await;
    write(&*c, "pages", 0, "a", "1").await;
    write(&*c, "pages", 0, "b", "2").await;
    write(&*c, "pages", 0, "keep", "3").await;
    write(&*c, "pages", 1, "a", "4").await;
    let start = Instant::now();
    let bytes = envelope("5", now(), vec![]);
    write_with(
        &*c,
        "pages",
        0,
        "expired",
        bytes,
        Duration::from_millis(200),
        None,
    )
    .await;
    elapsed_until("the 200 ms entry to expire", start, || {
        let c = c.clone();
        async move { read(&*c, "pages", 0, "expired").await.is_none() }
    })
    .await;

    let n = delete(&*c, "pages", 0, &["a", "b", "absent", "expired"]).await;
    assert_eq!(n, 2, "a and b existed; absent never did, expired is gone");
    assert_eq!(read(&*c, "pages", 0, "a").await, None);
    assert_eq!(read(&*c, "pages", 0, "b").await, None);
    assert!(read(&*c, "pages", 0, "keep").await.is_some());
    assert!(
        read(&*c, "pages", 1, "a").await.is_some(),
        "other generation"
    );
    assert_eq!(delete(&*c, "pages", 0, &["a", "b"]).await, 0);
    assert_eq!(delete(&*c, "pages", 0, &[]).await, 0);
}

/// A prefix purge deletes exactly the keys starting with the prefix, taken literally: keys
/// holding `%`, `_`, `*`, `?`, `[`, `]`, `{` or `}` that a LIKE or glob pattern would match are
/// kept, as are other generations and namespaces. An empty prefix empties the generation.
pub async fn cache_purge_prefix_deletes_exactly_the_prefixed_keys<H: Harness>(h: &H) {
    let c = cache_of(h).await;
    let like_in = ["a%b_", "a%b_1", "a%b_%", "a%b_é"];
    let like_out = ["a%b", "axb_1", "a%bx1", "a%c_", "A%b_1", "a%a_z"];
    let glob_in = ["g*[?]{x}", "g*[?]{x}*", "g*[?]{x}}{"];
    let glob_out = [
        "gz[?]{x}1",
        "g*[a]{x}",
        "g*?{x}",
        "g*[?]{y}",
        "g*[?]{x",
        "g*[?]x}",
    ];
    let utf8_in = ["é", "éa"];
    let utf8_out = ["ê", "e", "f"];
    for k in like_in
        .iter()
        .chain(&like_out)
        .chain(&glob_in)
        .chain(&glob_out)
        .chain(&utf8_in)
        .chain(&utf8_out)
    {
        write(&*c, "pages", 0, k, "1").await;
    }
    write(&*c, "pages", 1, "a%b_1", "1").await;
    write(&*c, "other", 0, "a%b_1", "1").await;

    let present = |keys: &'static [&'static str]| {
        let c = c.clone();
        async move {
            let mut out = Vec::new();
            for k in keys {
                if read(&*c, "pages", 0, k).await.is_some() {
                    out.push(*k);
                }
            }
            out
        }
    };

    assert_eq!(purge_prefix(&*c, "pages", 0, "a%b_", 100).await, 4);
    assert_eq!(
        present(&["a%b_", "a%b_1", "a%b_%", "a%b_é"]).await,
        Vec::<&str>::new()
    );
    assert_eq!(
        present(&["a%b", "axb_1", "a%bx1", "a%c_", "A%b_1", "a%a_z"]).await,
        like_out
    );

    assert_eq!(purge_prefix(&*c, "pages", 0, "g*[?]{x}", 100).await, 3);
    assert_eq!(
        present(&["g*[?]{x}", "g*[?]{x}*", "g*[?]{x}}{"]).await,
        Vec::<&str>::new()
    );
    assert_eq!(
        present(&[
            "gz[?]{x}1",
            "g*[a]{x}",
            "g*?{x}",
            "g*[?]{y}",
            "g*[?]{x",
            "g*[?]x}"
        ])
        .await,
        glob_out
    );

    assert_eq!(purge_prefix(&*c, "pages", 0, "é", 100).await, 2);
    assert_eq!(present(&["é", "éa"]).await, Vec::<&str>::new());
    assert_eq!(present(&["ê", "e", "f"]).await, utf8_out);

    assert_eq!(purge_prefix(&*c, "pages", 0, "nomatch", 100).await, 0);
    assert!(
        read(&*c, "pages", 1, "a%b_1").await.is_some(),
        "other generation"
    );
    assert!(
        read(&*c, "other", 0, "a%b_1").await.is_some(),
        "other namespace"
    );

    let left = (like_out.len() + glob_out.len() + utf8_out.len()) as u64;
    assert_eq!(purge_prefix(&*c, "pages", 0, "", 100).await, left);
    assert_eq!(purge_prefix(&*c, "pages", 0, "", 100).await, 0);
    assert!(
        read(&*c, "pages", 1, "a%b_1").await.is_some(),
        "other generation"
    );
    assert!(
        read(&*c, "other", 0, "a%b_1").await.is_some(),
        "other namespace"
    );
}

/// A prefix purge deletes at most `limit` keys per call; calling until it returns 0 deletes
/// every prefixed key and nothing else.
pub async fn cache_purge_prefix_pages_by_limit<H: Harness>(h: &H) {
    let c = cache_of(h).await;
    for i in 1..=5 {
        write(&*c, "pages", 0, &format!("p:{i}"), "1").await;
    }
    write(&*c, "pages", 0, "q:1", "1").await;
    write(&*c, "pages", 0, "p", "1").await;
    let mut counts = Vec::new();
    loop {
        let n = purge_prefix(&*c, "pages", 0, "p:", 2).await;
        assert!(n <= 2, "deleted {n} with limit 2");
        if n == 0 {
            break;
        }
        counts.push(n);
        assert!(counts.len() <= 10, "still deleting after {counts:?}");
    }
    assert_eq!(counts.iter().sum::<u64>(), 5, "{counts:?}");
    for i in 1..=5 {
        assert_eq!(read(&*c, "pages", 0, &format!("p:{i}")).await, None);
    }
    assert!(read(&*c, "pages", 0, "q:1").await.is_some());
    assert!(
        read(&*c, "pages", 0, "p").await.is_some(),
        "shorter than the prefix"
    );
    assert_eq!(purge_prefix(&*c, "pages", 0, "q", 0).await, 0, "limit 0");
    assert!(
        read(&*c, "pages", 0, "q:1").await.is_some(),
        "limit 0 deletes nothing"
    );
}

/// Usage counts a generation's live entries and their bytes (at least keys and envelopes, and
/// only theirs): not expired entries, not other generations or namespaces.
pub async fn cache_usage_counts_live_entries<H: Harness>(h: &H) {
    let c = cache_of(h).await;
    let usage = |n: &'static str, generation: u64| {
        let c = c.clone();
        async move {
            c.cache_usage(ns(n), generation, now())
                .await
                .unwrap_or_else(|e| panic!("cache_usage: {e}"))
        }
    };
    let empty = usage("pages", 0).await;
    assert_eq!((empty.entries, empty.bytes, empty.exact), (0, 0, true));

    let start = Instant::now();
    let bytes = envelope("1", now(), vec![]);
    write_with(
        &*c,
        "pages",
        0,
        "expiring",
        bytes,
        Duration::from_millis(200),
        None,
    )
    .await;
    let mut stored = 0u64;
    for (k, v) in [
        ("a", "\"aaaa\""),
        ("bb", "[1,2,3]"),
        ("ccc", "{\"c\":true}"),
    ] {
        let bytes = envelope(v, now(), vec![]);
        stored += (k.len() + bytes.len()) as u64;
        write_with(&*c, "pages", 0, k, bytes, super::LONG, None).await;
    }
    write(&*c, "pages", 1, "a", "1").await;
    write(&*c, "other", 0, "a", "1").await;
    elapsed_until("the 200 ms entry to expire", start, || {
        let c = c.clone();
        async move { read(&*c, "pages", 0, "expiring").await.is_none() }
    })
    .await;

    let u = usage("pages", 0).await;
    assert_eq!((u.entries, u.exact), (3, true), "{u:?}");
    assert!(
        u.bytes >= stored && u.bytes <= stored + 3 * 512,
        "{} bytes for keys and envelopes of {stored} bytes",
        u.bytes
    );
    assert_eq!(usage("pages", 1).await.entries, 1);
    assert_eq!(usage("other", 0).await.entries, 1);
    assert_eq!(usage("other", 1).await.entries, 0);

    assert_eq!(delete(&*c, "pages", 0, &["ccc"]).await, 1);
    let after = usage("pages", 0).await;
    assert_eq!(after.entries, 2);
    assert!(after.bytes < u.bytes, "{after:?} after deleting from {u:?}");
}

/// `cache_prune` never removes what is live: entries, leases and tag versions all survive it,
/// and it deletes at most `limit` rows.
pub async fn cache_prune_keeps_live_data<H: Harness>(h: &H) {
    use anp_core::cache::TagPurgeParams;
    let c = cache_of(h).await;
    for i in 0..5 {
        write(&*c, "pages", 0, &format!("k{i}"), "1").await;
    }
    let held = super::lease("pages", "k0", 7, Duration::from_secs(30));
    assert!(c
        .cache_lease_acquire(held)
        .await
        .unwrap_or_else(|e| panic!("{e}")));
    c.cache_purge_tags(TagPurgeParams {
        ns: ns("pages"),
        versions: vec![(super::tag("t"), 3)],
        keep: LONG,
        now: now(),
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));

    let n = c
        .cache_prune(now(), 2)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(n <= 2, "pruned {n} with limit 2");
    let n = c
        .cache_prune(now(), 1000)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(n <= 1000);

    for i in 0..5 {
        assert!(
            read(&*c, "pages", 0, &format!("k{i}")).await.is_some(),
            "k{i}"
        );
    }
    let other = super::lease("pages", "k0", 8, Duration::from_secs(30));
    assert!(
        !c.cache_lease_acquire(other)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        "the live lease survived"
    );
    let v = c
        .cache_tag_versions(ns("pages"), vec![super::tag("t")])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v, vec![3]);
}
