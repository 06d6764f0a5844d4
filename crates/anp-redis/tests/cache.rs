//! The Redis side of the cache seam, on private servers (standalone and a 3-primary Cluster):
//! what the backend-neutral conformance cases cannot see. A tagged read takes one round trip
//! (measured through a proxy that delays every reply), also in Cluster where its two commands
//! go to two nodes; concurrent reads coalesced into a few `MGET`s, each caller getting its own
//! answer, and a batch whose connection is cut failing every caller; the fenced write; a prefix
//! purge whose prefix holds glob characters, over keys spread across every primary; the
//! invalidation feed, across stores and through a killed subscriber connection.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anp_conformance::util::wait_for;
use anp_core::cache::{
    CacheKey, CacheLeaseParams, CachePurgePrefixParams, CacheRead, CacheReadParams, CacheStore,
    CacheWrite, CacheWriteParams, GenerationMove, Invalidation, Namespace, Tag, TagPurgeParams,
    WatchEvent,
};
use common::{RedisCluster, RedisServer};
use jiff::Timestamp;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn ns(s: &str) -> Namespace {
    Namespace::parse(s).unwrap()
}

fn key(s: &str) -> CacheKey {
    CacheKey::parse(s).unwrap()
}

fn tag(s: &str) -> Tag {
    Tag::parse(s).unwrap()
}

/// Sets `t`'s version in `ns` to `version` (a tag purge), kept a minute.
async fn purge_tag(c: &dyn CacheStore, ns: &Namespace, t: &str, version: u64) {
    c.cache_purge_tags(TagPurgeParams {
        ns: ns.clone(),
        versions: vec![(tag(t), version)],
        keep: Duration::from_secs(60),
        now: Timestamp::now(),
    })
    .await
    .unwrap();
}

async fn cache(url: &str) -> Arc<dyn CacheStore> {
    common::open(url).await.cache()
}

async fn cluster() -> RedisCluster {
    tokio::task::spawn_blocking(RedisCluster::start)
        .await
        .unwrap()
}

async fn write(
    c: &dyn CacheStore,
    n: &Namespace,
    k: &str,
    bytes: &[u8],
    lease: Option<u64>,
) -> CacheWrite {
    c.cache_write(CacheWriteParams {
        ns: n.clone(),
        generation: 0,
        key: key(k),
        bytes: bytes.to_vec(),
        ttl: Duration::from_secs(60),
        lease,
        now: Timestamp::now(),
    })
    .await
    .unwrap()
}

async fn read(
    c: &dyn CacheStore,
    n: &Namespace,
    generation: u64,
    k: &str,
    tags: &[&str],
) -> CacheRead {
    c.cache_read(CacheReadParams {
        ns: n.clone(),
        generation,
        key: key(k),
        tags: tags.iter().map(|t| tag(t)).collect(),
        with_generation: true,
        now: Timestamp::now(),
    })
    .await
    .unwrap()
}

fn lease(n: &Namespace, k: &str, token: u64, ttl: Duration) -> CacheLeaseParams {
    CacheLeaseParams {
        ns: n.clone(),
        generation: 0,
        key: key(k),
        token,
        ttl,
        now: Timestamp::now(),
    }
}

/// The slot of `k` as the server computes it.
fn keyslot(node: &RedisServer, k: &str) -> u16 {
    node.cli(&[], &["CLUSTER", "KEYSLOT", k])
        .trim()
        .parse()
        .unwrap()
}

/// The primary (index into the cluster helper's nodes) serving `slot`: each took a third.
fn owner(slot: u16) -> usize {
    match slot {
        0..=5460 => 0,
        5461..=10922 => 1,
        _ => 2,
    }
}

/// A TCP proxy to `127.0.0.1:upstream` that holds every chunk of the server's replies for
/// `delay` before passing it on (requests go through at once), so one round trip through it
/// takes at least `delay`: elapsed time counts round trips.
async fn delay_proxy(upstream: u16, delay: Duration) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
                    return;
                };
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut cr, &mut sw).await;
                });
                let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    while let Ok(n) = sr.read(&mut buf).await {
                        if n == 0
                            || tx
                                .send((Instant::now() + delay, buf[..n].to_vec()))
                                .is_err()
                        {
                            break;
                        }
                    }
                });
                while let Some((at, chunk)) = rx.recv().await {
                    tokio::time::sleep_until(at.into()).await;
                    if cw.write_all(&chunk).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    port
}

/// The shortest of three timed calls of `f`.
async fn fastest<F, Fut, T>(mut f: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let mut best = Duration::MAX;
    for _ in 0..3 {
        let start = Instant::now();
        f().await;
        best = best.min(start.elapsed());
    }
    best
}

/// Writes an entry, purges one of its tags and moves the generation, then checks one read
/// sees all three, in one round trip of `delay` (two would take twice as long).
async fn tagged_read_is_one_round_trip(
    c: &dyn CacheStore,
    n: &Namespace,
    k: &str,
    delay: Duration,
) {
    c.cache_namespace_register(n.clone(), true).await.unwrap();
    let moved = c
        .cache_generation_move(n.clone(), GenerationMove::Next)
        .await
        .unwrap();
    assert_eq!(moved.generation, 1);
    c.cache_write(CacheWriteParams {
        ns: n.clone(),
        generation: 1,
        key: key(k),
        bytes: b"{\"v\":1}".to_vec(),
        ttl: Duration::from_secs(60),
        lease: None,
        now: Timestamp::now(),
    })
    .await
    .unwrap();
    purge_tag(c, n, "post:42", 77).await;
    let got = read(c, n, 1, k, &["user:7", "post:42"]).await;
    assert_eq!(got.entry.as_deref(), Some(&b"{\"v\":1}"[..]));
    assert_eq!(got.tag_versions, vec![0, 77]);
    assert_eq!(got.generation, Some(1));

    let took = fastest(|| read(c, n, 1, k, &["user:7", "post:42"])).await;
    eprintln!("a tagged read took {took:?}; each reply is held {delay:?}");
    assert!(
        took >= delay && took < delay * 3 / 2,
        "a tagged read took {took:?} through a proxy adding {delay:?} per reply: expected one round trip"
    );
}

/// Calls of each command the server saw, run or refused (`INFO commandstats`:
/// `cmdstat_mget:calls=…,usec=…,rejected_calls=…`).
fn calls(server: &RedisServer, command: &str) -> u64 {
    let stats = server.cli(&[], &["INFO", "commandstats"]);
    let prefix = format!("cmdstat_{command}:");
    let line = stats.lines().find_map(|l| l.strip_prefix(prefix.as_str()));
    line.map(|l| {
        l.trim()
            .split(',')
            .filter_map(|kv| kv.split_once('='))
            .filter(|(k, _)| k.ends_with("calls"))
            .map(|(_, v)| v.parse::<u64>().unwrap())
            .sum::<u64>()
    })
    .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tagged_read_is_one_round_trip_and_an_untagged_one_reads_only_its_entry() {
    let server = RedisServer::start();
    let delay = Duration::from_millis(200);
    let port = delay_proxy(server.port, delay).await;
    let c = cache(&format!("redis://127.0.0.1:{port}")).await;
    let n = ns("pages");
    tagged_read_is_one_round_trip(&*c, &n, "post:42:html", delay).await;

    let (mgets, gets) = (calls(&server, "mget"), calls(&server, "get"));
    let keys_read = || {
        let stats = server.cli(&[], &["INFO", "stats"]);
        let n = |field: &str| -> u64 {
            stats
                .lines()
                .find_map(|l| l.strip_prefix(field))
                .map_or(0, |v| v.trim().parse().unwrap())
        };
        n("keyspace_hits:") + n("keyspace_misses:")
    };
    let looked_up = keys_read();
    let got = c
        .cache_read(CacheReadParams {
            ns: n.clone(),
            generation: 1,
            key: key("post:42:html"),
            tags: Vec::new(),
            with_generation: false,
            now: Timestamp::now(),
        })
        .await
        .unwrap();
    assert!(got.entry.is_some());
    assert_eq!((got.tag_versions.len(), got.generation), (0, None));
    assert_eq!(
        (calls(&server, "mget") - mgets, calls(&server, "get") - gets),
        (1, 0),
        "a read alone is one MGET"
    );
    assert_eq!(
        keys_read() - looked_up,
        1,
        "a read without tags or generation looked up more than its entry"
    );
}

/// Concurrent reads are coalesced: 200 reads in flight at once reach the server as a handful
/// of `MGET`s (the first alone, at once; the rest queued behind it), and each caller gets its
/// own key's bytes, tag versions and generation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_reads_share_a_few_mgets_and_each_gets_its_own_answer() {
    let server = RedisServer::start();
    let port = delay_proxy(server.port, Duration::from_millis(50)).await;
    let c = cache(&format!("redis://127.0.0.1:{port}")).await;
    let (a, b) = (ns("a"), ns("b"));
    for i in 0..100 {
        for n in [&a, &b] {
            let body = format!("{n}:{i}");
            assert_eq!(
                write(&*c, n, &format!("k{i}"), body.as_bytes(), None).await,
                CacheWrite::Applied
            );
        }
    }
    purge_tag(&*c, &b, "post:1", 9).await;
    let mgets = calls(&server, "mget");
    let mut reads = Vec::new();
    for i in 0..200 {
        let c = c.clone();
        let n = if i % 2 == 0 { a.clone() } else { b.clone() };
        reads.push(tokio::spawn(async move {
            // Every third read is of a key nobody wrote.
            let k = if i % 3 == 0 {
                format!("none{i}")
            } else {
                format!("k{}", i / 2)
            };
            let got = c
                .cache_read(CacheReadParams {
                    ns: n.clone(),
                    generation: 0,
                    key: key(&k),
                    tags: vec![tag("post:1"), tag("user:2")],
                    with_generation: i % 4 == 0,
                    now: Timestamp::now(),
                })
                .await
                .unwrap();
            (i, n, k, got)
        }));
    }
    for r in reads {
        let (i, n, k, got) = r.await.unwrap();
        let want = (!k.starts_with("none")).then(|| format!("{n}:{}", &k[1..]).into_bytes());
        assert_eq!(got.entry, want, "read {i} of {n}/{k}");
        let post = if n == b { 9 } else { 0 };
        assert_eq!(got.tag_versions, vec![post, 0], "read {i}");
        assert_eq!(got.generation, (i % 4 == 0).then_some(0), "read {i}");
    }
    let sent = calls(&server, "mget") - mgets;
    eprintln!("200 concurrent reads were {sent} MGETs");
    assert!(
        (1..=20).contains(&sent),
        "200 concurrent reads were {sent} MGETs: expected them coalesced into a few"
    );
}

/// A TCP proxy to `upstream` that stops accepting and drops every connection it carries when
/// the returned sender is told `true`; replies are held `delay` on the way back.
async fn cuttable_proxy(upstream: u16, delay: Duration) -> (u16, tokio::sync::watch::Sender<bool>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (cut, cut_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let mut stop = cut_rx.clone();
        loop {
            let client = tokio::select! {
                _ = async { stop.wait_for(|c| *c).await.map(|_| ()) } => return,
                accepted = listener.accept() => match accepted {
                    Ok((client, _)) => client,
                    Err(_) => return,
                },
            };
            let mut stop = cut_rx.clone();
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
                    return;
                };
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                let up = tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut cr, &mut sw).await;
                });
                let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
                let down = tokio::spawn(async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    while let Ok(n) = sr.read(&mut buf).await {
                        if n == 0
                            || tx
                                .send((Instant::now() + delay, buf[..n].to_vec()))
                                .is_err()
                        {
                            break;
                        }
                    }
                });
                loop {
                    let chunk = tokio::select! {
                        _ = async { stop.wait_for(|c| *c).await.map(|_| ()) } => break,
                        chunk = rx.recv() => chunk,
                    };
                    let Some((at, chunk)) = chunk else { break };
                    tokio::select! {
                        _ = async { stop.wait_for(|c| *c).await.map(|_| ()) } => break,
                        _ = tokio::time::sleep_until(at.into()) => {}
                    }
                    if cw.write_all(&chunk).await.is_err() {
                        break;
                    }
                }
                up.abort();
                down.abort();
            });
        }
    });
    (port, cut)
}

/// A batch whose connection drops while it is on the wire is every one of its callers' error,
/// and so are the batches queued behind it while the store stays unreachable: none waits
/// forever, none gets another's answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_batch_is_every_callers_error() {
    let server = RedisServer::start();
    let (port, cut) = cuttable_proxy(server.port, Duration::from_millis(300)).await;
    let c = cache(&format!("redis://127.0.0.1:{port}")).await;
    let n = ns("pages");
    assert_eq!(write(&*c, &n, "k", b"v", None).await, CacheWrite::Applied);
    let mut reads = Vec::new();
    for _ in 0..50 {
        let (c, n) = (c.clone(), n.clone());
        reads.push(tokio::spawn(async move {
            c.cache_read(CacheReadParams {
                ns: n,
                generation: 0,
                key: key("k"),
                tags: Vec::new(),
                with_generation: false,
                now: Timestamp::now(),
            })
            .await
        }));
    }
    // The reads are sent (their replies held by the proxy) or queued when the link goes.
    tokio::time::sleep(Duration::from_millis(100)).await;
    cut.send(true).unwrap();
    for r in reads {
        let out = tokio::time::timeout(Duration::from_secs(30), r)
            .await
            .expect("a caller of a failed batch was never answered")
            .unwrap();
        let err = out.expect_err("the connection was cut before any reply");
        assert_eq!(err.kind(), anp_core::ErrorKind::Unavailable, "{err}");
    }
}

/// In Cluster the entry and the namespace's keys live on two different primaries: the read
/// works (no cross-slot pipeline) and still takes one round trip (both sent at once). The
/// nodes announce proxy ports, so the cluster client talks to every node through a proxy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tagged_read_in_cluster_spans_two_nodes_in_one_round_trip() {
    let cluster = cluster().await;
    let delay = Duration::from_millis(200);
    let mut proxies = Vec::new();
    for node in &cluster.nodes {
        let port = delay_proxy(node.port, delay).await;
        let out = node.cli(
            &[],
            &["CONFIG", "SET", "cluster-announce-port", &port.to_string()],
        );
        assert_eq!(out.trim(), "OK", "{out}");
        proxies.push(port);
    }
    // Every node must advertise every proxy before a client reads the topology.
    wait_for(
        "the nodes to announce the proxy ports",
        Duration::from_secs(30),
        || async {
            cluster
                .nodes
                .iter()
                .all(|n| {
                    let slots = n.cli(&[], &["CLUSTER", "SLOTS"]);
                    proxies
                        .iter()
                        .all(|p| slots.lines().any(|l| l.trim() == p.to_string()))
                })
                .then_some(())
        },
    )
    .await;

    let n = ns("pages");
    // An entry key whose slot is on another primary than the namespace's.
    let ns_node = owner(keyslot(&cluster.nodes[0], "anp:c:{pages}:gen"));
    let k = (0..)
        .map(|i| format!("post:{i}"))
        .find(|k| {
            let entry = format!("anp:c:pages:1:e:{{{k}}}");
            owner(keyslot(&cluster.nodes[0], &entry)) != ns_node
        })
        .unwrap();
    let hosts: Vec<String> = proxies.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let c = cache(&format!("redis+cluster://{}", hosts.join(","))).await;
    tagged_read_is_one_round_trip(&*c, &n, &k, delay).await;
}

/// A fenced write applies only while its token holds the lease, and releases it; a stalled
/// computation whose lease was taken over cannot overwrite the newer value. On Cluster, with
/// keys whose hash tag is unusual (a key starting with `}`), entry and lease stay in one slot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fenced_write_applies_only_under_its_lease() {
    let cluster = cluster().await;
    let c = cache(&cluster.url()).await;
    let n = ns("pages");
    for k in ["post:1", "}post:1", "a}b{c", "%_*?["] {
        // No lease: a fenced write is refused.
        assert_eq!(
            write(&*c, &n, k, b"orphan", Some(5)).await,
            CacheWrite::LeaseLost
        );
        assert_eq!(read(&*c, &n, 0, k, &[]).await.entry, None);

        // Token 1 takes the lease, stalls past it; token 2 takes over.
        assert!(c
            .cache_lease_acquire(lease(&n, k, 1, Duration::from_millis(50)))
            .await
            .unwrap());
        assert!(!c
            .cache_lease_acquire(lease(&n, k, 9, Duration::from_secs(5)))
            .await
            .unwrap());
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert!(!c
            .cache_lease_renew(lease(&n, k, 1, Duration::from_secs(5)))
            .await
            .unwrap());
        assert!(c
            .cache_lease_acquire(lease(&n, k, 2, Duration::from_secs(5)))
            .await
            .unwrap());
        assert!(c
            .cache_lease_renew(lease(&n, k, 2, Duration::from_secs(5)))
            .await
            .unwrap());
        // The stalled one neither writes nor releases the new holder's lease.
        assert_eq!(
            write(&*c, &n, k, b"old", Some(1)).await,
            CacheWrite::LeaseLost
        );
        c.cache_lease_release(lease(&n, k, 1, Duration::from_secs(5)))
            .await
            .unwrap();
        assert!(!c
            .cache_lease_acquire(lease(&n, k, 3, Duration::from_secs(5)))
            .await
            .unwrap());
        assert_eq!(read(&*c, &n, 0, k, &[]).await.entry, None);
        // The holder writes, which releases the lease in the same step.
        assert_eq!(
            write(&*c, &n, k, b"new", Some(2)).await,
            CacheWrite::Applied
        );
        assert_eq!(
            read(&*c, &n, 0, k, &[]).await.entry.as_deref(),
            Some(&b"new"[..])
        );
        assert_eq!(
            write(&*c, &n, k, b"again", Some(2)).await,
            CacheWrite::LeaseLost
        );
        assert!(c
            .cache_lease_acquire(lease(&n, k, 4, Duration::from_secs(5)))
            .await
            .unwrap());
        c.cache_lease_release(lease(&n, k, 4, Duration::from_secs(5)))
            .await
            .unwrap();
        assert!(c
            .cache_lease_acquire(lease(&n, k, 5, Duration::from_secs(5)))
            .await
            .unwrap());
        assert_eq!(
            read(&*c, &n, 0, k, &[]).await.entry.as_deref(),
            Some(&b"new"[..])
        );
    }
}

/// Every key of a node, by `--scan`.
fn node_keys(node: &RedisServer) -> Vec<String> {
    node.cli(&[], &["--scan", "--pattern", "anp:c:*"])
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A prefix holding every glob character deletes exactly the keys that start with it, on
/// every primary, `limit` at a time; keys the unescaped pattern would also match stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefix_purge_escapes_glob_characters_across_every_primary() {
    let cluster = cluster().await;
    let c = cache(&cluster.url()).await;
    let n = ns("pages");
    let other = ns("pages2");
    let prefix = "x*[ab]?\\%_{";
    let mut purged = Vec::new();
    for i in 0..60 {
        let k = format!("{prefix}{i}");
        assert_eq!(write(&*c, &n, &k, b"v", None).await, CacheWrite::Applied);
        purged.push(k);
    }
    // What `x*[ab]?\%_{*` unescaped (or a prefix taken as a glob) would also match.
    let kept = [
        "xZZb!%_{1",
        "x*[ab]",
        "x*a?\\%_{2",
        "x*[ab]?%_{3",
        "x*[ab]?\\\\%_{4",
        "y",
        "}x*[ab]?\\%_{5",
    ];
    for k in kept {
        assert_eq!(write(&*c, &n, k, b"v", None).await, CacheWrite::Applied);
    }
    // The same prefix in another namespace stays too.
    assert_eq!(
        write(&*c, &other, &purged[0], b"v", None).await,
        CacheWrite::Applied
    );
    for (i, node) in cluster.nodes.iter().enumerate() {
        let on_node = node_keys(node)
            .iter()
            .filter(|k| k.starts_with(&format!("anp:c:pages:0:e:{{{prefix}")))
            .count();
        assert!(on_node > 0, "primary {i} holds none of the keys to purge");
    }

    let purge = |prefix: &str, limit: u32| {
        let c = c.clone();
        let p = CachePurgePrefixParams {
            ns: n.clone(),
            generation: 0,
            prefix: prefix.to_owned(),
            limit,
            now: Timestamp::now(),
        };
        async move { c.cache_purge_prefix(p).await.unwrap() }
    };
    assert_eq!(purge(prefix, 25).await, 25);
    let mut total = 25;
    loop {
        let n = purge(prefix, 25).await;
        assert!(n <= 25, "{n}");
        if n == 0 {
            break;
        }
        total += n;
    }
    assert_eq!(total, 60);
    for k in &purged {
        assert_eq!(read(&*c, &n, 0, k, &[]).await.entry, None, "{k} survived");
    }
    for k in kept {
        assert!(
            read(&*c, &n, 0, k, &[]).await.entry.is_some(),
            "{k} was purged"
        );
    }
    assert!(read(&*c, &other, 0, &purged[0], &[]).await.entry.is_some());

    // A prefix starting with `}` (stored with its marker) and the empty prefix.
    assert_eq!(purge("}", 100).await, 1);
    assert!(read(&*c, &n, 0, "}x*[ab]?\\%_{5", &[])
        .await
        .entry
        .is_none());
    assert_eq!(purge("", 100).await, kept.len() as u64 - 1);
    assert!(read(&*c, &other, 0, &purged[0], &[]).await.entry.is_some());
}

type Events = Arc<Mutex<Vec<WatchEvent>>>;

fn recorder() -> (Events, anp_core::cache::WatchSink) {
    let events: Events = Arc::default();
    let e = events.clone();
    (events, Box::new(move |ev| e.lock().unwrap().push(ev)))
}

fn keys_change(k: &str) -> Invalidation {
    Invalidation::Keys {
        ns: ns("pages"),
        keys: vec![key(k)],
    }
}

async fn wait_events(events: &Events, n: usize) -> Vec<WatchEvent> {
    wait_for(
        &format!("{n} watch events"),
        Duration::from_secs(15),
        || async {
            let got = events.lock().unwrap().clone();
            (got.len() >= n).then_some(got)
        },
    )
    .await
}

/// A change published by another store arrives; an undecodable message is skipped; after
/// the server kills the subscriber, `Resync` comes first, then later changes; dropping the
/// watch closes its connection.
async fn watch_survives_a_killed_subscriber(url: &str, nodes: &[&RedisServer]) {
    let watcher = cache(url).await;
    let publisher = cache(url).await;
    let (events, sink) = recorder();
    let watch = watcher.cache_watch(sink).await.unwrap();
    assert_eq!(watcher.cache_watch_bound(), Duration::from_millis(100));

    publisher
        .cache_publish("p-1".into(), keys_change("a"))
        .await
        .unwrap();
    for node in nodes {
        node.cli(&[], &["PUBLISH", "anp:c:changes", "not json"]);
    }
    publisher
        .cache_publish(
            "p-1".into(),
            Invalidation::Generation {
                ns: ns("pages"),
                generation: 4,
            },
        )
        .await
        .unwrap();
    let got = wait_events(&events, 2).await;
    assert_eq!(
        got,
        vec![
            WatchEvent::Change {
                origin: "p-1".into(),
                change: keys_change("a"),
            },
            WatchEvent::Change {
                origin: "p-1".into(),
                change: Invalidation::Generation {
                    ns: ns("pages"),
                    generation: 4,
                },
            },
        ]
    );

    let killed: u32 = nodes
        .iter()
        .map(|n| {
            n.cli(&[], &["CLIENT", "KILL", "TYPE", "pubsub"])
                .trim()
                .parse::<u32>()
                .unwrap_or(0)
        })
        .sum();
    assert_eq!(killed, 1, "expected one subscriber connection");
    let got = wait_events(&events, 3).await;
    assert_eq!(got[2], WatchEvent::Resync);
    publisher
        .cache_publish("p-2".into(), keys_change("b"))
        .await
        .unwrap();
    let got = wait_events(&events, 4).await;
    assert_eq!(
        got[3..],
        [WatchEvent::Change {
            origin: "p-2".into(),
            change: keys_change("b"),
        }]
    );

    drop(watch);
    let subscribers = || {
        nodes
            .iter()
            .map(|n| {
                let out = n.cli(&[], &["PUBSUB", "NUMSUB", "anp:c:changes"]);
                out.lines()
                    .nth(1)
                    .and_then(|l| l.trim().parse::<u32>().ok())
                    .unwrap_or(0)
            })
            .sum::<u32>()
    };
    wait_for(
        "the dropped watch to unsubscribe",
        Duration::from_secs(5),
        || async { (subscribers() == 0).then_some(()) },
    )
    .await;
    publisher
        .cache_publish("p-3".into(), keys_change("c"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(events.lock().unwrap().len(), 4, "a dropped watch delivered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watch_resyncs_after_the_server_kills_it_standalone() {
    let server = RedisServer::start();
    watch_survives_a_killed_subscriber(&server.url(), &[&server]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watch_resyncs_after_the_server_kills_it_cluster() {
    let cluster = cluster().await;
    let nodes: Vec<&RedisServer> = cluster.nodes.iter().collect();
    watch_survives_a_killed_subscriber(&cluster.url(), &nodes).await;
}

/// The feed reconnects when the server itself goes away and comes back (same port), with
/// `Resync` first; changes published before the outage were delivered once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watch_resyncs_after_a_server_restart() {
    let mut server = RedisServer::start();
    let c = cache(&server.url()).await;
    let (events, sink) = recorder();
    let _watch = c.cache_watch(sink).await.unwrap();
    c.cache_publish("p".into(), keys_change("a")).await.unwrap();
    wait_events(&events, 1).await;
    server.restart();
    let got = wait_events(&events, 2).await;
    assert_eq!(got[1], WatchEvent::Resync);
    wait_for(
        "a change after the restart",
        Duration::from_secs(10),
        || async {
            // The publisher's own connection reconnects on its first use after the restart.
            let _ = c.cache_publish("p".into(), keys_change("b")).await;
            let got = events.lock().unwrap().clone();
            got.iter()
            .skip(2)
            .any(|e| matches!(e, WatchEvent::Change { change, .. } if *change == keys_change("b")))
            .then_some(())
        },
    )
    .await;
    let got = events.lock().unwrap().clone();
    assert_eq!(
        got.iter().filter(|e| **e == WatchEvent::Resync).count(),
        1,
        "{got:?}"
    );
}

/// `INFO memory` `used_memory` and `DBSIZE` of a private server.
fn memory_and_keys(s: &RedisServer) -> (u64, u64) {
    let info = s.cli(&[], &["INFO", "memory"]);
    let used = info
        .lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap();
    let keys = s.cli(&[], &["DBSIZE"]).trim().parse().unwrap();
    (used, keys)
}

/// 100,000 entries carrying one tag are written through the library and the tag purged: the
/// purge is one key and one round trip, every entry reads as a miss at once, and once the
/// entries' TTL has passed (and the purged tag version's `keep`, the namespace's longest
/// lifetime), the server holds what it held before — no per-tag member lists, nothing
/// unbounded left behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filled_and_purged_tag_leaves_nothing_behind() {
    use alphanode::cache::{CacheClient, CacheOptions, NamespaceOptions, Policy};
    // Long enough for 100,000 writes through the library on a loaded 2-core CI machine.
    const TTL: Duration = Duration::from_secs(20);
    let s = RedisServer::start();
    let client = CacheClient::new(
        alphanode::Backend::from_store(common::open(&s.url()).await),
        CacheOptions {
            // No stats flush during the test: it adds a key (`anp:c:stats`, kept 7 days).
            stats_interval: Duration::from_secs(3600),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let c = client
        .namespace(
            "mem",
            NamespaceOptions {
                max_lifetime: TTL,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let (mem_before, keys_before) = memory_and_keys(&s);
    let policy = Policy::fresh(TTL).tag("post:1");
    let value = "x".repeat(100);
    let mut writes = Vec::new();
    for chunk in 0..100 {
        let (c, policy, value) = (c.clone(), policy.clone(), value.clone());
        writes.push(tokio::spawn(async move {
            for i in 0..1000 {
                c.set(&format!("k{chunk}:{i}"), &value, &policy)
                    .await
                    .unwrap();
            }
        }));
    }
    for w in writes {
        w.await.unwrap();
    }
    let (mem_full, keys_full) = memory_and_keys(&s);
    assert_eq!(keys_full, keys_before + 100_000);
    assert!(
        mem_full > mem_before + 10_000_000,
        "{mem_before} → {mem_full}"
    );
    assert_eq!(
        c.get::<String>("k7:7").await.unwrap().as_deref(),
        Some(&*value)
    );
    let started = Instant::now();
    c.purge_tag("post:1").await.unwrap();
    let purge = started.elapsed();
    assert!(purge < Duration::from_secs(1), "a tag purge took {purge:?}");
    let filled = Instant::now();
    assert_eq!(
        memory_and_keys(&s).1,
        keys_full + 1,
        "the purge adds one key (the tag's version)"
    );
    for k in ["k0:0", "k7:7", "k99:999"] {
        assert_eq!(
            c.get::<String>(k).await.unwrap(),
            None,
            "{k} after the purge"
        );
    }
    // Redis expires keys lazily and in an active cycle: the TTL, then a few seconds for it.
    let deadline = Instant::now() + TTL + Duration::from_secs(15);
    loop {
        let (mem, keys) = memory_and_keys(&s);
        if keys == keys_before && mem < mem_before + 1_000_000 {
            eprintln!(
                "memory back to {mem} bytes ({mem_before} before, {mem_full} full) {:?} after the purge (TTL {TTL:?})",
                filled.elapsed()
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "after the TTL: {keys} keys (started with {keys_before}), {mem} bytes (started with {mem_before})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
