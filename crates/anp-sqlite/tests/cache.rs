//! Cache storage details of the SQLite file that the conformance suite (which must also pass on
//! Redis, where expiry is real time) cannot see: `now` as the only clock for expiry, what
//! `cache_prune` deletes and counts, the stored forms, and a watch resyncing after falling
//! behind pruning.
#![allow(clippy::unwrap_used)]

mod fixture;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anp_core::cache::{
    CacheDeleteParams, CacheKey, CacheLeaseParams, CachePurgePrefixParams, CacheReadParams,
    CacheStatsRecord, CacheStore, CacheWrite, CacheWriteParams, Invalidation, Namespace, Tag,
    TagPurgeParams, WatchEvent,
};
use anp_core::Store;
use fixture::*;
use jiff::Timestamp;

fn ns(s: &str) -> Namespace {
    Namespace::parse(s).unwrap()
}

fn key(s: &str) -> CacheKey {
    CacheKey::parse(s).unwrap()
}

fn ms(n: i64) -> Timestamp {
    Timestamp::from_millisecond(t0().as_millisecond() + n).unwrap()
}

async fn write(c: &dyn CacheStore, k: &str, value: &[u8], ttl_ms: u64, now: Timestamp) {
    let w = c
        .cache_write(CacheWriteParams {
            ns: ns("n"),
            generation: 0,
            key: key(k),
            bytes: value.to_vec(),
            ttl: Duration::from_millis(ttl_ms),
            lease: None,
            now,
        })
        .await
        .unwrap();
    assert_eq!(w, CacheWrite::Applied);
}

async fn read(c: &dyn CacheStore, k: &str, now: Timestamp) -> Option<Vec<u8>> {
    c.cache_read(CacheReadParams {
        ns: ns("n"),
        generation: 0,
        key: key(k),
        tags: vec![],
        with_generation: false,
        now,
    })
    .await
    .unwrap()
    .entry
}

fn lease(k: &str, token: u64, ttl_ms: u64, now: Timestamp) -> CacheLeaseParams {
    CacheLeaseParams {
        ns: ns("n"),
        generation: 0,
        key: key(k),
        token,
        ttl: Duration::from_millis(ttl_ms),
        now,
    }
}

fn count(s: &anp_sqlite::SqliteStore, table: &str) -> i64 {
    let c = rusqlite::Connection::open(s.path()).unwrap();
    c.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

/// Expiry follows the caller's `now` to the millisecond, for entries, leases and tags.
#[tokio::test]
async fn expiry_is_decided_by_now_alone() {
    let (_d, s) = store().await;
    let c = s.cache();
    write(&*c, "k", b"v", 10_000, ms(0)).await;
    assert_eq!(read(&*c, "k", ms(9_999)).await.as_deref(), Some(&b"v"[..]));
    assert_eq!(
        read(&*c, "k", ms(10_000)).await,
        None,
        "expired at its expiry"
    );
    assert_eq!(read(&*c, "k", ms(-5_000)).await.as_deref(), Some(&b"v"[..]));

    assert!(c
        .cache_lease_acquire(lease("k", 1, 500, ms(0)))
        .await
        .unwrap());
    assert!(!c
        .cache_lease_acquire(lease("k", 2, 500, ms(499)))
        .await
        .unwrap());
    assert!(!c
        .cache_lease_renew(lease("k", 1, 500, ms(500)))
        .await
        .unwrap());
    assert!(c
        .cache_lease_acquire(lease("k", 2, 500, ms(500)))
        .await
        .unwrap());

    c.cache_purge_tags(TagPurgeParams {
        ns: ns("n"),
        versions: vec![(Tag::parse("t").unwrap(), 4)],
        keep: Duration::from_millis(1_000),
        now: ms(0),
    })
    .await
    .unwrap();
    let versions_at = |now| {
        let c = c.clone();
        async move {
            c.cache_read(CacheReadParams {
                ns: ns("n"),
                generation: 0,
                key: key("k"),
                tags: vec![Tag::parse("t").unwrap()],
                with_generation: false,
                now,
            })
            .await
            .unwrap()
            .tag_versions
        }
    };
    assert_eq!(versions_at(ms(999)).await, [4]);
    assert_eq!(versions_at(ms(1_000)).await, [0]);

    // A delete at a later `now` does not count the expired row, but removes it.
    let n = c
        .cache_delete(CacheDeleteParams {
            ns: ns("n"),
            generation: 0,
            keys: vec![key("k")],
            now: ms(20_000),
        })
        .await
        .unwrap();
    assert_eq!(n, 0);
    assert_eq!(count(&s, "cache_entries"), 0);
}

/// `cache_prune` deletes what expired at `now` (entries, leases, tags; up to `limit` in all,
/// which it returns), feed rows older than 60 s and stats older than 7 days, and nothing else.
#[tokio::test]
async fn prune_deletes_expired_rows_up_to_its_limit() {
    let (_d, s) = store().await;
    let c = s.cache();
    for i in 0..4 {
        write(&*c, &format!("old{i}"), b"v", 1_000, ms(0)).await;
    }
    write(&*c, "live", b"v", 100_000, ms(0)).await;
    assert!(c
        .cache_lease_acquire(lease("a", 1, 1_000, ms(0)))
        .await
        .unwrap());
    assert!(c
        .cache_lease_acquire(lease("b", 1, 100_000, ms(0)))
        .await
        .unwrap());
    c.cache_purge_tags(TagPurgeParams {
        ns: ns("n"),
        versions: vec![(Tag::parse("old").unwrap(), 1)],
        keep: Duration::from_millis(1_000),
        now: ms(0),
    })
    .await
    .unwrap();
    let mut record = CacheStatsRecord {
        at: ms(0),
        process: "p".into(),
        ns: ns("n"),
        counts: Default::default(),
    };
    c.cache_stats_record(record.clone()).await.unwrap();
    record.at = ms(3 * 24 * 3_600_000);
    c.cache_stats_record(record).await.unwrap();
    c.cache_publish(
        "p".into(),
        Invalidation::Keys {
            ns: ns("n"),
            keys: vec![key("x")],
        },
    )
    .await
    .unwrap();

    // Expired at 5 s: 4 entries, 1 lease, 1 tag. Limit 3, then the rest.
    let now = ms(5_000);
    assert_eq!(c.cache_prune(now, 3).await.unwrap(), 3);
    assert_eq!(count(&s, "cache_entries"), 2);
    assert_eq!(c.cache_prune(now, 100).await.unwrap(), 3);
    assert_eq!(c.cache_prune(now, 100).await.unwrap(), 0);
    assert_eq!(count(&s, "cache_entries"), 1);
    assert_eq!(count(&s, "cache_leases"), 1);
    assert_eq!(count(&s, "cache_tags"), 0);
    assert!(read(&*c, "live", now).await.is_some());
    // The stats flushes are not older than 7 days; the feed row was published by the real
    // clock, more than 60 s before t0 (2030).
    assert_eq!(count(&s, "cache_stats"), 2);
    assert_eq!(count(&s, "cache_changes"), 0);
    c.cache_prune(ms(8 * 24 * 3_600_000), 100).await.unwrap();
    assert_eq!(
        count(&s, "cache_stats"),
        1,
        "only the flush 8 days old goes"
    );
}

/// Stored forms: a token above `i64::MAX` round-trips through its signed column, the history is
/// a JSON array, and usage counts key bytes, not characters.
#[tokio::test]
async fn stored_forms() {
    use anp_core::cache::GenerationMove;
    let (_d, s) = store().await;
    let c = s.cache();
    assert!(c
        .cache_lease_acquire(lease("k", u64::MAX, 1_000, ms(0)))
        .await
        .unwrap());
    let w = c
        .cache_write(CacheWriteParams {
            ns: ns("n"),
            generation: 0,
            key: key("k"),
            bytes: b"v".to_vec(),
            ttl: Duration::from_secs(10),
            lease: Some(u64::MAX),
            now: ms(1),
        })
        .await
        .unwrap();
    assert_eq!(w, CacheWrite::Applied);

    c.cache_namespace_register(ns("n"), true).await.unwrap();
    c.cache_generation_move(ns("n"), GenerationMove::Next)
        .await
        .unwrap();
    c.cache_generation_move(ns("n"), GenerationMove::Next)
        .await
        .unwrap();
    let raw = rusqlite::Connection::open(s.path()).unwrap();
    let (history, max): (String, i64) = raw
        .query_row(
            "SELECT history, max_generation FROM cache_namespaces WHERE ns = 'n'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((history.as_str(), max), ("[0,1]", 2));

    write(&*c, "é€", b"12345", 10_000, ms(0)).await;
    let u = c.cache_usage(ns("n"), 0, ms(2)).await.unwrap();
    assert_eq!((u.entries, u.bytes, u.exact), (2, 1 + 1 + 5 + 5, true));
}

/// A prefix whose successor is not valid UTF-8 on its own (a last byte of 0xBF) still bounds
/// the range exactly.
#[tokio::test]
async fn prefix_purge_with_a_successor_that_is_not_utf8() {
    let (_d, s) = store().await;
    let c = s.cache();
    // "¿" is C2 BF: its successor C2 C0 is not UTF-8; "À" is C3 80, just above.
    for k in ["a¿", "a¿x", "aÀ", "a", "b"] {
        write(&*c, k, b"v", 10_000, ms(0)).await;
    }
    let n = c
        .cache_purge_prefix(CachePurgePrefixParams {
            ns: ns("n"),
            generation: 0,
            prefix: "a¿".into(),
            limit: 10,
            now: ms(1),
        })
        .await
        .unwrap();
    assert_eq!(n, 2);
    for (k, kept) in [
        ("a¿", false),
        ("a¿x", false),
        ("aÀ", true),
        ("a", true),
        ("b", true),
    ] {
        assert_eq!(read(&*c, k, ms(1)).await.is_some(), kept, "{k}");
    }
}

/// A watch that fell behind pruning delivers `Resync` before the changes after the gap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_behind_pruning_resyncs() {
    let (_d, s) = store().await;
    let c = s.cache();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = {
        let seen = Arc::clone(&seen);
        Box::new(move |e| seen.lock().unwrap().push(e))
    };
    let change = |p: &str| Invalidation::Prefix {
        ns: ns("n"),
        prefix: p.into(),
    };
    // The watch starts now; then, with the writer lock held by a raw connection, rows appear
    // and are deleted before the watch can read them (as pruning would after a stall).
    let w = c.cache_watch(sink).await.unwrap();
    {
        let mut raw = rusqlite::Connection::open(s.path()).unwrap();
        let tx = raw.transaction().unwrap();
        for p in ["lost1", "lost2"] {
            tx.execute(
                "INSERT INTO cache_changes (at, origin, change) VALUES (0, 'p', ?1)",
                [serde_json::to_string(&change(p)).unwrap()],
            )
            .unwrap();
        }
        tx.execute("DELETE FROM cache_changes", []).unwrap();
        tx.commit().unwrap();
    }
    c.cache_publish("p".into(), change("after")).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while seen.lock().unwrap().len() < 2 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        *seen.lock().unwrap(),
        [
            WatchEvent::Resync,
            WatchEvent::Change {
                origin: "p".into(),
                change: change("after")
            }
        ]
    );
    drop(w);
}

/// Migration 4 made every cache table (a new store is at the newest schema version).
#[tokio::test]
async fn migration_4_creates_the_cache_tables() {
    let (_d, s) = store().await;
    const { assert!(anp_sqlite::SCHEMA_VERSION >= 4) };
    assert_eq!(
        s.store_ping().await.unwrap().schema_version,
        anp_sqlite::SCHEMA_VERSION
    );
    for t in [
        "cache_entries",
        "cache_leases",
        "cache_tags",
        "cache_namespaces",
        "cache_changes",
        "cache_stats",
    ] {
        assert_eq!(count(&s, t), 0, "{t}");
    }
}
