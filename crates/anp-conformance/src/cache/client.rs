//! The application cache's behaviour on a backend, through the library (`alphanode::cache`):
//! tag purges exact, one computation under a stampede, stale-while-revalidate refreshing once,
//! stale-if-error, L1 coherent across clients (each client stands for a process: its own L1,
//! its own flights, its own connections), deploy generations and rollback, bad stored values;
//! and faults the harness makes: a dead store, and an invalidation feed cut while another
//! client writes (cases that need a fault the harness cannot make say so and end).
//! Windows are real time (Redis expires keys by its own clock), short, and waited for with
//! deadlines.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use alphanode::admin::{DeployMark, DeployRollback};
use alphanode::cache::{Cache, CacheClient, CacheOptions, ComputeError, NamespaceOptions, Policy};
use alphanode::{Admin, Backend};
use anp_core::cache::{CacheKey, CacheWriteParams, Namespace};

use crate::util::wait_for;
use crate::Harness;

/// A client standing for one process: its own connection, L1 and flights.
async fn client<H: Harness>(h: &H, l1_ttl: Duration) -> CacheClient {
    let backend = Backend::from_store(h.store().await);
    CacheClient::new(
        backend,
        CacheOptions {
            l1_ttl,
            lock_wait: Duration::from_secs(10),
            ..Default::default()
        },
    )
    .await
    .unwrap_or_else(|e| panic!("cache client: {e}"))
}

async fn ns(c: &CacheClient, name: &str, deploy_sensitive: bool) -> Cache {
    c.namespace(
        name,
        NamespaceOptions {
            deploy_sensitive,
            ..Default::default()
        },
    )
    .await
    .unwrap_or_else(|e| panic!("namespace {name}: {e}"))
}

fn minute() -> Policy {
    Policy::fresh(Duration::from_secs(60))
}

async fn get(c: &Cache, key: &str) -> Option<String> {
    c.get::<String>(key)
        .await
        .unwrap_or_else(|e| panic!("get {key}: {e}"))
}

async fn set(c: &Cache, key: &str, value: &str, policy: &Policy) {
    c.set(key, value, policy)
        .await
        .unwrap_or_else(|e| panic!("set {key}: {e}"));
}

/// A computation that counts its runs, takes `took`, and returns `value`.
fn counted(
    runs: &Arc<AtomicU64>,
    took: Duration,
    value: &str,
) -> impl FnOnce() -> Compute + Send + 'static {
    let runs = runs.clone();
    let value = value.to_owned();
    move || {
        Box::pin(async move {
            runs.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(took).await;
            Ok(value)
        })
    }
}

/// The boxed future of a test computation.
type Compute =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<String, std::io::Error>> + Send>>;

/// Purging a tag invalidates exactly the entries carrying it — in this client and in another
/// one's L1 — and nothing else.
pub async fn cache_tag_purge_is_exact<H: Harness>(h: &H) {
    let a = ns(&client(h, Duration::from_secs(60)).await, "pages", false).await;
    let b = ns(&client(h, Duration::from_secs(60)).await, "pages", false).await;
    for i in 0..30 {
        let tags: Vec<String> = match i % 3 {
            0 => vec!["post:1".into()],
            1 => vec!["post:2".into()],
            _ => vec!["post:1".into(), "post:2".into()],
        };
        set(&a, &format!("k{i}"), &format!("v{i}"), &minute().tags(tags)).await;
    }
    set(&a, "untagged", "u", &minute()).await;
    for i in 0..30 {
        // B's L1 now holds every entry: only the feed can take them out.
        assert_eq!(get(&b, &format!("k{i}")).await, Some(format!("v{i}")));
    }
    a.purge_tag("post:1")
        .await
        .unwrap_or_else(|e| panic!("purge: {e}"));
    for i in 0..30 {
        let want = (i % 3 == 1).then(|| format!("v{i}"));
        assert_eq!(get(&a, &format!("k{i}")).await, want, "client A, k{i}");
        let key = format!("k{i}");
        let b2 = b.clone();
        let want2 = want.clone();
        wait_for(
            &format!("client B sees the purge of k{i}"),
            Duration::from_secs(5),
            move || {
                let (b, key, want) = (b2.clone(), key.clone(), want2.clone());
                async move { (get(&b, &key).await == want).then_some(()) }
            },
        )
        .await;
    }
    assert_eq!(get(&b, "untagged").await.as_deref(), Some("u"));
    // A value written after the purge carries the new version and is served.
    set(&a, "k0", "again", &minute().tag("post:1")).await;
    assert_eq!(get(&a, "k0").await.as_deref(), Some("again"));
}

/// 200 callers over 4 clients on one cold key: the computation runs once and everyone gets
/// its value.
pub async fn cache_stampede_computes_once<H: Harness>(h: &H) {
    let mut caches = Vec::new();
    for _ in 0..4 {
        caches.push(ns(&client(h, Duration::from_secs(1)).await, "hot", false).await);
    }
    let runs = Arc::new(AtomicU64::new(0));
    let mut calls = Vec::new();
    for i in 0..200 {
        let c = caches[i % 4].clone();
        let compute = counted(&runs, Duration::from_millis(300), "computed");
        calls.push(tokio::spawn(async move {
            c.get_or_compute("cold", &minute(), compute).await
        }));
    }
    for call in calls {
        let v = call
            .await
            .unwrap_or_else(|e| panic!("task: {e}"))
            .unwrap_or_else(|e| panic!("get_or_compute: {e}"));
        assert_eq!(v, "computed");
    }
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1,
        "the computation ran more than once"
    );
}

/// In the stale window the old value is served at once, and one refresh (not one per
/// caller) replaces it.
pub async fn cache_stale_while_revalidate_refreshes_once<H: Harness>(h: &H) {
    let c = ns(&client(h, Duration::from_secs(1)).await, "swr", false).await;
    let policy =
        Policy::fresh(Duration::from_millis(300)).stale_while_revalidate(Duration::from_secs(30));
    let runs = Arc::new(AtomicU64::new(0));
    let first = c
        .get_or_compute("k", &policy, counted(&runs, Duration::ZERO, "old"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first, "old");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let mut calls = Vec::new();
    for _ in 0..20 {
        let (c, policy) = (c.clone(), policy.clone());
        let compute = counted(&runs, Duration::from_millis(300), "new");
        calls.push(tokio::spawn(async move {
            let started = std::time::Instant::now();
            let v = c.get_or_compute("k", &policy, compute).await;
            (v, started.elapsed())
        }));
    }
    for call in calls {
        let (v, took) = call.await.unwrap_or_else(|e| panic!("task: {e}"));
        assert_eq!(v.unwrap_or_else(|e| panic!("{e}")), "old");
        assert!(
            took < Duration::from_millis(250),
            "a stale value waited {took:?} for the refresh"
        );
    }
    let c2 = c.clone();
    wait_for("the refreshed value", Duration::from_secs(5), move || {
        let c = c2.clone();
        async move { (get(&c, "k").await.as_deref() == Some("new")).then_some(()) }
    })
    .await;
    assert_eq!(
        runs.load(Ordering::SeqCst),
        2,
        "one first computation, one refresh"
    );
}

/// Past the stale window but within stale-if-error, a failing computation serves the old
/// value; with no old value the error reaches the caller.
pub async fn cache_stale_if_error_serves_old_value_on_failure<H: Harness>(h: &H) {
    let c = ns(&client(h, Duration::from_secs(1)).await, "sie", false).await;
    let policy = Policy::fresh(Duration::from_millis(200)).stale_if_error(Duration::from_secs(30));
    set(&c, "k", "old", &policy).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let failing = || async { Err::<String, _>(std::io::Error::other("source down")) };
    let v = c
        .get_or_compute("k", &policy, failing)
        .await
        .unwrap_or_else(|e| panic!("expected the stale value, got {e}"));
    assert_eq!(v, "old");
    match c.get_or_compute("absent", &policy, failing).await {
        Err(ComputeError::Compute(e)) => assert_eq!(e.to_string(), "source down"),
        other => panic!("expected the computation's error, got {other:?}"),
    }
    // A working computation replaces the stale value.
    let v = c
        .get_or_compute("k", &policy, || async {
            Ok::<_, std::io::Error>("new".to_string())
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v, "new");
}

/// A set or delete in one client reaches another client's L1 (whose own TTL is a minute, so
/// only the invalidation feed can do it).
pub async fn cache_l1_is_coherent_across_clients<H: Harness>(h: &H) {
    let a = ns(&client(h, Duration::from_secs(60)).await, "l1", false).await;
    let b = ns(&client(h, Duration::from_secs(60)).await, "l1", false).await;
    set(&a, "k", "v1", &minute()).await;
    assert_eq!(get(&b, "k").await.as_deref(), Some("v1"));
    set(&a, "k", "v2", &minute()).await;
    let b2 = b.clone();
    wait_for("B sees v2", Duration::from_secs(5), move || {
        let b = b2.clone();
        async move { (get(&b, "k").await.as_deref() == Some("v2")).then_some(()) }
    })
    .await;
    assert!(a.delete("k").await.unwrap_or_else(|e| panic!("{e}")));
    let b2 = b.clone();
    wait_for("B sees the delete", Duration::from_secs(5), move || {
        let b = b2.clone();
        async move { get(&b, "k").await.is_none().then_some(()) }
    })
    .await;
    assert!(!a.delete("k").await.unwrap_or_else(|e| panic!("{e}")));
}

/// A deploy gives a deploy-sensitive namespace a new, empty generation (other namespaces
/// keep their values); a rollback returns to the previous one, whose values are still there.
pub async fn cache_deploy_generation_and_rollback<H: Harness>(h: &H) {
    let c = client(h, Duration::from_secs(60)).await;
    let pages = ns(&c, "pages", true).await;
    let plain = ns(&c, "plain", false).await;
    let other = ns(&client(h, Duration::from_secs(60)).await, "pages", true).await;
    set(&pages, "home", "v1 html", &minute()).await;
    set(&plain, "k", "kept", &minute()).await;
    assert_eq!(get(&other, "home").await.as_deref(), Some("v1 html"));
    let admin = Admin::new(Backend::from_store(h.store().await));
    let marked = admin
        .deploy_mark(DeployMark {
            version: "v2".into(),
            ..Default::default()
        })
        .await
        .unwrap_or_else(|e| panic!("deploy mark: {e}"));
    assert_eq!(marked.cache.len(), 1, "{:?}", marked.cache);
    assert_eq!(marked.cache[0].namespace.as_str(), "pages");
    assert_ne!(marked.cache[0].from, marked.cache[0].to);
    // Every process (this one included: the move was made by the operator API, as
    // `anp deploy mark` in another process would) hears of it within the feed's bound.
    let p2 = pages.clone();
    wait_for(
        "the new generation starts empty",
        Duration::from_secs(5),
        move || {
            let p = p2.clone();
            async move { get(&p, "home").await.is_none().then_some(()) }
        },
    )
    .await;
    let o2 = other.clone();
    wait_for(
        "the other client leaves the old generation",
        Duration::from_secs(5),
        move || {
            let o = o2.clone();
            async move { get(&o, "home").await.is_none().then_some(()) }
        },
    )
    .await;
    assert_eq!(get(&plain, "k").await.as_deref(), Some("kept"));
    set(&pages, "home", "v2 html", &minute()).await;
    let back = admin
        .deploy_rollback(DeployRollback {
            owner: Some("ops".into()),
            note: Some("v2 broke checkout".into()),
        })
        .await
        .unwrap_or_else(|e| panic!("rollback: {e}"));
    assert_eq!(back.undone.version, "v2");
    assert_eq!(back.cache[0].to, marked.cache[0].from);
    let p2 = pages.clone();
    wait_for(
        "the rolled-back generation, still warm",
        Duration::from_secs(5),
        move || {
            let p = p2.clone();
            async move { (get(&p, "home").await.as_deref() == Some("v1 html")).then_some(()) }
        },
    )
    .await;
    assert_eq!(get(&other, "home").await.as_deref(), Some("v1 html"));
}

/// Bytes that are not an envelope of this format, or a value of another type, are misses
/// (counted), never panics; the next computation overwrites them.
pub async fn cache_bad_stored_values_are_misses<H: Harness>(h: &H) {
    let c = ns(&client(h, Duration::from_secs(1)).await, "bad", false).await;
    let store = h.store().await.cache();
    for (key, bytes) in [
        ("garbage", b"not json at all".to_vec()),
        ("newer", br#"{"anp_cache":99,"value":1}"#.to_vec()),
    ] {
        store
            .cache_write(CacheWriteParams {
                ns: Namespace::parse("bad").unwrap_or_else(|e| panic!("{e}")),
                generation: 0,
                key: CacheKey::parse(key).unwrap_or_else(|e| panic!("{e}")),
                bytes,
                ttl: Duration::from_secs(60),
                lease: None,
                now: crate::util::now(),
            })
            .await
            .unwrap_or_else(|e| panic!("raw write: {e}"));
        assert_eq!(get(&c, key).await, None, "{key}");
        let v = c
            .get_or_compute(key, &minute(), || async {
                Ok::<_, std::io::Error>("fixed".to_string())
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v, "fixed");
        assert_eq!(get(&c, key).await.as_deref(), Some("fixed"));
    }
    set(&c, "number", "not a number", &minute()).await;
    assert_eq!(
        c.get::<u64>("number")
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        None
    );
}

/// "Not found" cached with its own short TTL: the computation is not repeated within it,
/// and is after it.
pub async fn cache_negative_results_are_cached_briefly<H: Harness>(h: &H) {
    let c = ns(&client(h, Duration::from_secs(1)).await, "neg", false).await;
    let policy = Policy::fresh(Duration::from_secs(60)).negative(Duration::from_millis(300));
    let runs = Arc::new(AtomicU64::new(0));
    for _ in 0..3 {
        let r = runs.clone();
        let v: Option<String> = c
            .get_or_compute("missing-user", &policy, move || async move {
                r.fetch_add(1, Ordering::SeqCst);
                Ok::<_, std::io::Error>(None)
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v, None);
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let r = runs.clone();
    let _: Option<String> = c
        .get_or_compute("missing-user", &policy, move || async move {
            r.fetch_add(1, Ordering::SeqCst);
            Ok::<_, std::io::Error>(None)
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(runs.load(Ordering::SeqCst), 2);
}

/// Stats flushed by two clients are summed per namespace by the operator API.
pub async fn cache_stats_sum_over_clients<H: Harness>(h: &H) {
    let (ca, cb) = (
        client(h, Duration::from_secs(1)).await,
        client(h, Duration::from_secs(1)).await,
    );
    let (a, b) = (ns(&ca, "st", false).await, ns(&cb, "st", false).await);
    set(&a, "k", "v", &minute()).await;
    assert_eq!(get(&a, "nope").await, None);
    assert_eq!(get(&b, "k").await.as_deref(), Some("v"));
    assert_eq!(get(&b, "nope").await, None);
    ca.flush_stats().await.unwrap_or_else(|e| panic!("{e}"));
    cb.flush_stats().await.unwrap_or_else(|e| panic!("{e}"));
    let admin = Admin::new(Backend::from_store(h.store().await));
    let stats = admin
        .cache_stats(Duration::from_secs(3600), None, true)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let st = stats
        .iter()
        .find(|s| s.namespace.as_str() == "st")
        .unwrap_or_else(|| panic!("namespace st missing: {stats:?}"));
    assert_eq!(st.counts.misses, 2, "{st:?}");
    assert_eq!(st.counts.hits + st.counts.l1_hits, 1, "{st:?}");
    assert_eq!(st.counts.top_misses, vec![("nope".to_string(), 2)]);
    assert_eq!(st.usage.map(|u| u.entries), Some(1));
}

/// The longest one cache call may take while the store is dead: the Redis client's connect
/// timeout (2 s, `CONNECT_TIMEOUT` in crates/anp-redis/src/conn.rs; its response timeout is
/// 5 s and PostgreSQL's default `connect_timeout` 10 s, but neither can apply to a connection
/// that is refused). The harnesses' dead stores refuse connections (a killed server, a
/// database refusing connections), so a call is a failed connection attempt or two and the
/// computation — about 150 ms measured on standalone Redis — never a wait for the store.
const DEAD_STORE_BOUND: Duration = Duration::from_secs(2);

/// `call` within [`DEAD_STORE_BOUND`], or the test fails saying what hung.
async fn bounded<T>(what: &str, call: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(DEAD_STORE_BOUND, call)
        .await
        .unwrap_or_else(|_| panic!("{what} did not return within {DEAD_STORE_BOUND:?}"))
}

/// With the store dead, the cache is an optimisation, not an outage (docs/cache.md,
/// "Faults"): `get_or_compute` runs the computation and returns its value — every time, since
/// nothing can be stored — within [`DEAD_STORE_BOUND`]; `get` and `set` return the store's
/// error, never panic or hang; a value read before the outage is served from L1 for at most
/// `l1_ttl`, then computed. When the store is back the cache stores and serves values again.
pub async fn cache_dead_store_computes_and_returns<H: Harness>(h: &H) {
    let l1_ttl = Duration::from_secs(1);
    let c = ns(&client(h, l1_ttl).await, "dead", false).await;
    // "k" enters L1 during this `set`: its age is at most `before_set.elapsed()`.
    let before_set = std::time::Instant::now();
    set(&c, "k", "before", &minute()).await;
    assert_eq!(get(&c, "k").await.as_deref(), Some("before"));
    if !h.stop_store().await {
        eprintln!(
            "cache_dead_store_computes_and_returns: not run — this harness cannot make its store \
             unreachable (SQLite is embedded: there is no server to lose)"
        );
        return;
    }
    let recompute = || async { Ok::<_, std::io::Error>("recomputed".to_string()) };
    // A value this process holds fresh in L1 is served without the store...
    let v = bounded(
        "get_or_compute of a key in L1 on a dead store",
        c.get_or_compute("k", &minute(), recompute),
    )
    .await
    .unwrap_or_else(|e| panic!("get_or_compute on a dead store: {e}"));
    let age = before_set.elapsed();
    if age < l1_ttl {
        assert_eq!(
            v, "before",
            "L1 dropped an entry {age:?} old, before its l1_ttl"
        );
    }
    let runs = Arc::new(AtomicU64::new(0));
    for i in 1..=2 {
        let v = bounded(
            "get_or_compute on a dead store",
            c.get_or_compute(
                "other",
                &minute(),
                counted(&runs, Duration::ZERO, "computed"),
            ),
        )
        .await
        .unwrap_or_else(|e| panic!("get_or_compute on a dead store: expected the value, got {e}"));
        assert_eq!(v, "computed");
        // Nothing could be stored: computed each time.
        assert_eq!(runs.load(Ordering::SeqCst), i);
    }
    // `get` and `set` return the store's error (documented: they are not where the cache
    // computes): `Unavailable`, retry-safe, on every backend (a killed Redis; a PostgreSQL
    // database refusing connections, SQLSTATE 55000).
    match bounded("get on a dead store", c.get::<String>("other")).await {
        Ok(v) => panic!("get on a dead store: expected the store's error, got Ok({v:?})"),
        Err(e) => assert!(
            e.kind() == anp_core::ErrorKind::Unavailable && e.retry_safe(),
            "get on a dead store: expected Unavailable (retry-safe), got {:?}: {e}",
            e.kind()
        ),
    }
    match bounded("set on a dead store", c.set("other", "x", &minute())).await {
        Ok(()) => panic!("set on a dead store: expected the store's error, got Ok"),
        Err(e) => assert!(
            e.kind() == anp_core::ErrorKind::Unavailable && e.retry_safe(),
            "set on a dead store: expected Unavailable (retry-safe), got {:?}: {e}",
            e.kind()
        ),
    }
    // ...until its l1_ttl ends (no invalidation can arrive while the store is dead), then it
    // is computed like any other key.
    let c2 = c.clone();
    wait_for(
        "\"k\" computed once its L1 entry is older than l1_ttl",
        l1_ttl + DEAD_STORE_BOUND,
        move || {
            let c = c2.clone();
            async move {
                let v = bounded(
                    "get_or_compute of a key in L1 on a dead store",
                    c.get_or_compute("k", &minute(), recompute),
                )
                .await
                .unwrap_or_else(|e| panic!("get_or_compute on a dead store: {e}"));
                match v.as_str() {
                    "recomputed" => Some(()),
                    "before" => None,
                    other => panic!("unexpected value {other:?}"),
                }
            }
        },
    )
    .await;
    let age = before_set.elapsed();
    assert!(
        age >= l1_ttl,
        "L1 dropped \"k\" at most {age:?} after it entered, before its l1_ttl"
    );
    assert!(
        h.start_store().await,
        "the harness stopped the store but cannot start it"
    );
    // The connections come back on their own (Redis: the client reconnects; PostgreSQL: the
    // pool opens new ones): the first calls may still fail.
    let c2 = c.clone();
    wait_for("set works again", Duration::from_secs(15), move || {
        let c = c2.clone();
        async move { c.set("k", "after", &minute()).await.ok() }
    })
    .await;
    assert_eq!(get(&c, "k").await.as_deref(), Some("after"));
    let runs = Arc::new(AtomicU64::new(0));
    for _ in 0..2 {
        let v = c
            .get_or_compute("back", &minute(), counted(&runs, Duration::ZERO, "stored"))
            .await
            .unwrap_or_else(|e| panic!("get_or_compute after the store came back: {e}"));
        assert_eq!(v, "stored");
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1, "computed again: not stored");
    // Stored, not only in this client's L1: another client reads it from the store.
    let other = ns(&client(h, Duration::from_secs(1)).await, "dead", false).await;
    assert_eq!(get(&other, "back").await.as_deref(), Some("stored"));
}

/// Longest wait between two attempts of a cache watcher to read its feed again (Redis: 1 s,
/// `MAX_BACKOFF` in anp-redis's `ops/cache_watch.rs`; PostgreSQL and SQLite: 2 s,
/// `BACKOFF_MAX` and docs/sqlite-schema.md). Once the feed can be read again, L1 is emptied
/// (`Resync`) within this plus the backend's `cache_watch_bound`.
const FEED_RECONNECT_MAX: Duration = Duration::from_secs(2);

/// Client A holds K in its L1 (whose TTL is a minute: only the feed can take it out); A's
/// invalidation feed is cut, and client B writes a new value for K meanwhile — the change may
/// never reach A. Once the feed can be read again A must read B's value within the reconnect
/// backoff plus the feed's bound: the reconnect empties L1 (`Resync`, docs/cache.md "L1 and
/// coherence"), so a lost invalidation leaves A stale no longer than the outage.
pub async fn cache_l1_recovers_from_a_dropped_feed<H: Harness>(h: &H) {
    let a = ns(&client(h, Duration::from_secs(60)).await, "feed", false).await;
    let b = ns(&client(h, Duration::from_secs(60)).await, "feed", false).await;
    // A writes the old value itself and reads it into its L1: its feed skips its own
    // changes, so no invalidation of K is in flight to A when the feed is cut (had B written
    // it, B's change could reach A after A's read and empty A's L1 — a race CI hit).
    set(&a, "k", "old", &minute()).await;
    assert_eq!(get(&a, "k").await.as_deref(), Some("old"));
    let bound = FEED_RECONNECT_MAX + h.store().await.cache().cache_watch_bound();
    let cut = h.drop_cache_feed().await;
    if cut == crate::FeedCut::Unsupported {
        eprintln!(
            "cache_l1_recovers_from_a_dropped_feed: not run — this harness has no invalidation \
             subscription to cut (SQLite: each watcher polls the change table in its own \
             process)"
        );
        return;
    }
    // B's write. After an `Ended` cut B's own pooled connections were ended too, so a call
    // may fail once per ended connection (`Unavailable`, nothing written): retried, here and
    // in the reads below.
    let b2 = b.clone();
    wait_for(
        "B writes the new value",
        Duration::from_secs(10),
        move || {
            let b = b2.clone();
            async move { b.set("k", "new", &minute()).await.ok() }
        },
    )
    .await;
    let b2 = b.clone();
    wait_for("B reads its value", Duration::from_secs(10), move || {
        let b = b2.clone();
        async move { (b.get::<String>("k").await.ok()?.as_deref() == Some("new")).then_some(()) }
    })
    .await;
    if cut == crate::FeedCut::Held {
        // The change reached no subscriber: A's L1 still serves the old value. (This is what
        // makes the recovery below the reconnect's doing, not the change's delivery.)
        assert_eq!(
            get(&a, "k").await.as_deref(),
            Some("old"),
            "the cut feed still delivered B's change"
        );
    }
    h.restore_cache_feed().await;
    let restored = std::time::Instant::now();
    let a2 = a.clone();
    wait_for(
        "A reads B's value after the feed is back",
        bound,
        move || {
            let a = a2.clone();
            async move {
                match a.get::<String>("k").await {
                    Ok(v) if v.as_deref() == Some("new") => Some(()),
                    Ok(v) => {
                        assert_eq!(v.as_deref(), Some("old"), "A read neither value");
                        None
                    }
                    Err(_) => None,
                }
            }
        },
    )
    .await;
    eprintln!(
        "A read B's value {:?} after the feed was restored",
        restored.elapsed()
    );
}
