//! After a run that exercises every operation (the cache's too), `--scan` on the private server
//! lists only keys this crate documents (docs/redis-keys.md), and every documented key pattern is
//! in that table; fencing tokens come from the queue's `lease_seq`.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use anp_conformance::util::{ack, enqueue, fetch, new_job, plus, q};
use anp_core::cache::{
    CacheCounts, CacheDeleteParams, CacheKey, CacheLeaseParams, CachePurgePrefixParams,
    CacheReadParams, CacheStatsQueryParams, CacheStatsRecord, CacheStore, CacheWrite,
    CacheWriteParams, GenerationMove, Invalidation, Namespace, Tag, TagPurgeParams,
};
use anp_core::store::{
    AckOutcome, JobListParams, JobPromoteParams, JobPruneParams, JobRescueParams,
    JobRetryDeadParams, JobWaitParams, QueuePurgeParams,
};
use anp_core::{AttemptError, Unique};
use common::RedisServer;
use jiff::Timestamp;

fn err(msg: &str) -> AttemptError {
    AttemptError {
        attempt: 1,
        at: Timestamp::now(),
        message: msg.into(),
        retry_safe: true,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_documented_keys_exist_after_a_full_run() {
    let server = RedisServer::start();
    let s = common::open(&server.url()).await;
    let now = Timestamp::now();
    let mut jobs: Vec<_> = (0..8).map(|n| new_job("a", "mail", n)).collect();
    let mut later = new_job("a", "mail", 99);
    later.run_at = Some(plus(now, 5));
    jobs.push(later);
    let mut uniq = new_job("b", "reports", 1);
    uniq.unique = Some(Unique::key("r:1").unwrap());
    jobs.push(uniq);
    let ids = enqueue(&*s, jobs, now).await;
    let f = fetch(&*s, "mail", 6, now).await;
    ack(&*s, &f[0], AckOutcome::Complete, now).await;
    ack(
        &*s,
        &f[1],
        AckOutcome::Retry {
            at: plus(now, 1),
            error: err("x"),
        },
        now,
    )
    .await;
    ack(&*s, &f[2], AckOutcome::Dead { error: err("y") }, now).await;
    ack(&*s, &f[3], AckOutcome::Snooze { at: plus(now, 2) }, now).await;
    ack(&*s, &f[4], AckOutcome::Cancel { error: err("z") }, now).await;
    ack(&*s, &f[5], AckOutcome::HandBack, now).await;
    fetch(&*s, "reports", 1, now).await;
    s.job_rescue_expired(JobRescueParams {
        now: plus(now, 60),
        limit: 100,
    })
    .await
    .unwrap();
    s.job_promote_due(JobPromoteParams {
        now: plus(now, 10),
        limit: 100,
    })
    .await
    .unwrap();
    s.job_retry(ids[2], now).await.unwrap();
    s.job_retry_dead(JobRetryDeadParams {
        queue: None,
        kind: None,
        now,
        limit: 10,
    })
    .await
    .unwrap();
    s.job_cancel(ids[7], now).await.unwrap();
    s.job_delete(ids[6]).await.unwrap();
    s.queue_set_paused(q("idle"), true, now).await.unwrap();
    s.queue_set_paused(q("idle"), false, now).await.unwrap();
    s.job_wait(JobWaitParams {
        queues: vec![q("mail"), q("idle")],
        timeout: Duration::from_millis(50),
    })
    .await
    .unwrap();
    s.job_list(JobListParams {
        limit: 100,
        ..Default::default()
    })
    .await
    .unwrap();
    s.queue_list().await.unwrap();
    s.job_prune(JobPruneParams {
        now: plus(now, 100),
        finished_max_age: Duration::from_secs(1),
        finished_max_count: 0,
        dead_max_age: Duration::from_secs(1),
        dead_max_count: 0,
        limit: 100,
    })
    .await
    .unwrap();
    enqueue(&*s, vec![new_job("a", "mail", 400)], now).await;
    let purged = s
        .queue_purge(QueuePurgeParams {
            queue: q("mail"),
            states: Vec::new(),
            limit: 100,
        })
        .await
        .unwrap();
    assert!(purged >= 1, "{purged}");
    s.store_ping().await.unwrap();
    s.process_heartbeat(anp_core::monitor::ProcessInfo {
        id: "w-1".into(),
        role: "worker".into(),
        host: "h".into(),
        pid: 1,
        version: "0".into(),
        queues: vec![q("mail")],
        kinds: vec![anp_core::Kind::parse("email.send").unwrap()],
        started_at: now,
        last_seen: now,
    })
    .await
    .unwrap();
    s.deploy_mark(anp_core::monitor::DeployMarker {
        at: now,
        version: "v1".into(),
        owner: None,
        rollback: None,
        note: None,
    })
    .await
    .unwrap();

    // Schedules and stats.
    let def = anp_conformance::schedule::def("nightly.report", "* * * * *");
    s.schedule_sync(anp_core::schedule::ScheduleSyncParams {
        defs: vec![def.clone()],
        now,
    })
    .await
    .unwrap();
    s.schedule_claim_tick(anp_core::schedule::TickClaimParams {
        name: def.name.clone(),
        tick: plus(now, 60),
        job: Some(def.new_job()),
        skip_reason: None,
        passed_over: 1,
        scheduler: "s-1".into(),
        now: plus(now, 60),
        log_max: 10,
    })
    .await
    .unwrap();
    s.stats_record(anp_core::monitor::StatsRecordParams {
        deltas: [(
            anp_core::monitor::StatKey {
                minute: anp_core::monitor::minute_of(now),
                queue: q("mail"),
                kind: anp_core::Kind::parse("a").unwrap(),
            },
            anp_core::monitor::StatCounts {
                completed: 1,
                ..Default::default()
            },
        )]
        .into_iter()
        .collect(),
        prune_before: None,
    })
    .await
    .unwrap();
    let stats = s
        .stats_query(anp_core::monitor::StatsQueryParams {
            from: anp_core::monitor::minute_of(now),
            until: plus(now, 120),
        })
        .await
        .unwrap();
    assert!(!stats.is_empty());
    // Retention deletes whole buckets (every counter field and the zset member).
    s.stats_record(anp_core::monitor::StatsRecordParams {
        deltas: Default::default(),
        prune_before: Some(plus(now, 120)),
    })
    .await
    .unwrap();
    let stats = s
        .stats_query(anp_core::monitor::StatsQueryParams {
            from: anp_core::monitor::minute_of(now),
            until: plus(now, 120),
        })
        .await
        .unwrap();
    assert!(stats.is_empty(), "{stats:?}");
    assert_eq!(server.cli(&[], &["HLEN", "anp:{mail}:stats"]).trim(), "0");
    // Leave stats behind for the scan below.
    enqueue(&*s, vec![new_job("a", "mail", 500)], now).await;

    run_every_cache_operation(&*s.cache()).await;

    let keys = server.cli(&[], &["--scan", "--pattern", "*"]);
    let keys: Vec<&str> = keys.lines().filter(|k| !k.is_empty()).collect();
    assert!(keys.len() >= 10, "expected the run to leave keys: {keys:?}");
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/redis-keys.md"),
    )
    .unwrap_or_else(|e| panic!("docs/redis-keys.md: {e}"));
    for key in keys {
        assert!(key.starts_with("anp:"), "{key} is outside anp:*");
        assert!(
            anp_redis::is_documented_key(key),
            "{key} is not a documented key"
        );
        // anp:{mail}:jobs → `anp:{<queue>}:jobs` must be in the table (and
        // anp:{default}:schedule:nightly.report → `anp:{<queue>}:schedule:<name>`; the cache's
        // anp:c:pages:1:e:{post:1} → `anp:c:<ns>:<gen>:e:{<key>}`).
        let pattern = match key.split_once('}') {
            _ if key.starts_with("anp:c:") => cache_pattern(key),
            Some((_, rest)) => {
                let rest = match rest.strip_prefix(':').and_then(|r| r.split_once(':')) {
                    Some((what, _name)) => format!(":{what}:<name>"),
                    None => rest.to_owned(),
                };
                format!("anp:{{<queue>}}{rest}")
            }
            None => key.to_owned(),
        };
        assert!(
            doc.contains(&format!("`{pattern}`")),
            "{pattern} is missing from docs/redis-keys.md"
        );
    }
}

/// The documented pattern of a cache key: `anp:c:{<ns>}:t:<tag>`, `anp:c:<ns>:<gen>:e:{<key>}`…
fn cache_pattern(key: &str) -> String {
    if let Some(rest) = key.strip_prefix("anp:c:{") {
        let what = rest.split_once("}:").map(|(_, w)| w).unwrap_or(rest);
        let what = if what.starts_with("t:") {
            "t:<tag>"
        } else {
            what
        };
        return format!("anp:c:{{<ns>}}:{what}");
    }
    let parts: Vec<&str> = key.splitn(6, ':').collect();
    match parts.as_slice() {
        ["anp", "c", _ns, _gen, what, _key] => format!("anp:c:<ns>:<gen>:{what}:{{<key>}}"),
        _ => key.to_owned(),
    }
}

/// Every cache operation, leaving keys of every kind behind (an entry, a lease, a tag
/// version, a namespace's generation and metadata, the namespace set, the stats zset).
async fn run_every_cache_operation(c: &dyn CacheStore) {
    let now = Timestamp::now();
    let n = Namespace::parse("pages").unwrap();
    let key = |k: &str| CacheKey::parse(k).unwrap();
    let tag = Tag::parse("post:1").unwrap();
    let reg = c.cache_namespace_register(n.clone(), true).await.unwrap();
    assert_eq!((reg.generation, reg.history.len()), (0, 0));
    let moved = c
        .cache_generation_move(n.clone(), GenerationMove::Next)
        .await
        .unwrap();
    assert_eq!((moved.generation, moved.history.clone()), (1, vec![0]));
    let write = |k: &str, lease: Option<u64>| CacheWriteParams {
        ns: n.clone(),
        generation: 1,
        key: key(k),
        bytes: b"{}".to_vec(),
        ttl: Duration::from_secs(600),
        lease,
        now,
    };
    let lease = |k: &str, token: u64| CacheLeaseParams {
        ns: n.clone(),
        generation: 1,
        key: key(k),
        token,
        ttl: Duration::from_secs(600),
        now,
    };
    assert_eq!(
        c.cache_write(write("post:1", None)).await.unwrap(),
        CacheWrite::Applied
    );
    assert!(c.cache_lease_acquire(lease("post:2", 7)).await.unwrap());
    assert!(c.cache_lease_renew(lease("post:2", 7)).await.unwrap());
    assert!(c.cache_lease_acquire(lease("post:3", 8)).await.unwrap());
    assert_eq!(
        c.cache_write(write("post:3", Some(8))).await.unwrap(),
        CacheWrite::Applied
    );
    assert!(c.cache_lease_acquire(lease("post:4", 9)).await.unwrap());
    c.cache_lease_release(lease("post:4", 9)).await.unwrap();
    c.cache_purge_tags(TagPurgeParams {
        ns: n.clone(),
        versions: vec![(tag.clone(), 5)],
        keep: Duration::from_secs(600),
        now,
    })
    .await
    .unwrap();
    let read = c
        .cache_read(CacheReadParams {
            ns: n.clone(),
            generation: 1,
            key: key("post:1"),
            tags: vec![tag.clone()],
            with_generation: true,
            now,
        })
        .await
        .unwrap();
    assert_eq!(
        (read.entry.is_some(), read.tag_versions, read.generation),
        (true, vec![5], Some(1))
    );
    assert_eq!(
        c.cache_tag_versions(n.clone(), vec![tag]).await.unwrap(),
        vec![5]
    );
    let deleted = c
        .cache_delete(CacheDeleteParams {
            ns: n.clone(),
            generation: 1,
            keys: vec![key("post:3"), key("post:9")],
            now,
        })
        .await
        .unwrap();
    assert_eq!(deleted, 1);
    let purged = c
        .cache_purge_prefix(CachePurgePrefixParams {
            ns: n.clone(),
            generation: 1,
            prefix: "post:9".into(),
            limit: 10,
            now,
        })
        .await
        .unwrap();
    assert_eq!(purged, 0);
    let usage = c.cache_usage(n.clone(), 1, now).await.unwrap();
    assert_eq!(usage.entries, 1);
    assert!(usage.exact);
    assert_eq!(c.cache_prune(now, 100).await.unwrap(), 0);
    let watch = c.cache_watch(Box::new(|_| {})).await.unwrap();
    c.cache_publish(
        "me".into(),
        Invalidation::Prefix {
            ns: n.clone(),
            prefix: "post:".into(),
        },
    )
    .await
    .unwrap();
    drop(watch);
    let record = CacheStatsRecord {
        at: now,
        process: "me".into(),
        ns: n.clone(),
        counts: CacheCounts {
            hits: 1,
            ..Default::default()
        },
    };
    c.cache_stats_record(record.clone()).await.unwrap();
    let stats = c
        .cache_stats_query(CacheStatsQueryParams {
            since: now,
            until: plus(now, 1),
            ns: Some(n.clone()),
        })
        .await
        .unwrap();
    assert_eq!(stats, vec![record]);
    let listed = c.cache_namespace_list().await.unwrap();
    assert_eq!(listed, vec![moved]);
}

/// Fencing tokens come from the queue's `lease_seq` counter, so a job fetched again after a
/// rescue carries a larger token than the lost attempt's (the suite checks only that it
/// differs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lease_tokens_grow_from_the_queue_lease_seq() {
    let server = RedisServer::start();
    let s = common::open(&server.url()).await;
    let now = Timestamp::now();
    enqueue(&*s, vec![new_job("a", "default", 1)], now).await;
    let old = fetch(&*s, "default", 1, now).await.remove(0);
    s.job_rescue_expired(JobRescueParams {
        now: plus(now, 31),
        limit: 10,
    })
    .await
    .unwrap();
    let new = fetch(&*s, "default", 1, plus(now, 32)).await.remove(0);
    assert!(new.lease_token > old.lease_token, "tokens only grow");
    assert_eq!(
        server.cli(&[], &["GET", "anp:{default}:lease_seq"]).trim(),
        new.lease_token.unwrap().to_string()
    );
}

/// The record flags (`+eu`, lua/lib.lua) tell fetch whose error history and unique key to
/// read; a record without flags (written by layout 1) may have either, so both are read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_reads_history_and_unique_key_by_the_record_flags() {
    let server = RedisServer::start();
    let s = common::open(&server.url()).await;
    let now = Timestamp::now();
    let plain = new_job("a", "default", 1);
    let mut unique = new_job("a", "default", 2);
    unique.unique = Some(Unique {
        key: "u:1".into(),
        period: None,
    });
    enqueue(&*s, vec![plain.clone(), unique.clone()], now).await;
    let rec =
        |id: &anp_core::JobId| server.cli(&[], &["HGET", "anp:{default}:jobs", &id.to_string()]);
    assert!(
        rec(&plain.id).trim_end().ends_with(" +--"),
        "{}",
        rec(&plain.id)
    );
    assert!(
        rec(&unique.id).trim_end().ends_with(" +-u"),
        "{}",
        rec(&unique.id)
    );
    // A layout-1 record (no flags) with an error history and a unique key of its own.
    let legacy = anp_core::JobId::new();
    let at = now.as_microsecond() - 1_000_000;
    server.cli(
        &[],
        &[
            "HSET",
            "anp:{default}:jobs",
            &legacy.to_string(),
            &format!("available 0 1 25 {at} {at} {at} - - - legacy.kind"),
            &format!("{legacy}:args"),
            "{}",
            &format!("{legacy}:errors"),
            r#"[{"attempt":1,"at":"2026-01-01T00:00:00Z","message":"x","retry_safe":true}]"#,
            &format!("{legacy}:unique"),
            "u:legacy",
        ],
    );
    server.cli(
        &[],
        &["ZADD", "anp:{default}:ids", "0", &legacy.to_string()],
    );
    server.cli(
        &[],
        &["ZADD", "anp:{default}:available", "0", &legacy.to_string()],
    );
    let got = fetch(&*s, "default", 10, now).await;
    let by = |id| got.iter().find(|j| j.id == id).unwrap();
    assert_eq!(by(legacy).errors.len(), 1);
    assert_eq!(by(legacy).unique_key.as_deref(), Some("u:legacy"));
    assert_eq!(by(unique.id).unique_key.as_deref(), Some("u:1"));
    assert!(by(plain.id).errors.is_empty() && by(plain.id).unique_key.is_none());
    // A retry sets `e`; the history then travels with the next fetch.
    let j = by(plain.id).clone();
    ack(
        &*s,
        &j,
        AckOutcome::Retry {
            at: now,
            error: err("boom"),
        },
        now,
    )
    .await;
    assert!(
        rec(&plain.id).trim_end().ends_with(" +e-"),
        "{}",
        rec(&plain.id)
    );
    s.job_promote_due(JobPromoteParams { now, limit: 10 })
        .await
        .unwrap();
    let again = fetch(&*s, "default", 10, plus(now, 1)).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].errors.len(), 1);
    // Completing keeps the flags.
    ack(&*s, &again[0], AckOutcome::Complete, plus(now, 2)).await;
    assert!(
        rec(&plain.id).starts_with("completed ") && rec(&plain.id).trim_end().ends_with(" +e-"),
        "{}",
        rec(&plain.id)
    );
}

/// Enqueues `jobs` and returns the store's replies, panicking on error.
async fn enqueue_replies(
    s: &dyn anp_core::Store,
    jobs: Vec<anp_core::NewJob>,
    now: Timestamp,
) -> Vec<anp_core::job::Enqueued> {
    s.job_enqueue_many(anp_core::store::JobEnqueueManyParams { jobs, now })
        .await
        .unwrap()
}

/// Jobs due now go through `job_enqueue_plain.lua`, whose records, scores and unique-key fields
/// the client builds: they are what the general script writes for the same jobs, and a
/// repeated id or a held unique key still comes back as a duplicate (the general path decides
/// it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_one_job_path_writes_what_the_general_script_writes() {
    let server = RedisServer::start();
    let s = common::open(&server.url()).await;
    let now = Timestamp::now();
    let shaped = |n| {
        let mut j = new_job("mail.send", "default", n);
        j.priority = 5;
        j.max_attempts = 7;
        j.run_at = Some(now.checked_sub(jiff::SignedDuration::from_secs(3)).unwrap());
        j
    };
    let alone = shaped(1);
    let (paired, other) = (shaped(2), shaped(3));
    let calls = |server: &RedisServer| {
        let stats = server.cli(&[], &["INFO", "commandstats"]);
        stats
            .lines()
            .find(|l| l.starts_with("cmdstat_evalsha:"))
            .and_then(|l| l.split("calls=").nth(1))
            .and_then(|l| l.split(',').next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let before = calls(&server);
    let one = enqueue_replies(&*s, vec![alone.clone()], now).await;
    assert_eq!(one[0].id, alone.id);
    assert!(!one[0].duplicate);
    assert_eq!(one[0].state, anp_core::JobState::Available);
    assert_eq!(
        calls(&server) - before,
        1,
        "one script call for a plain job"
    );
    enqueue(&*s, vec![paired.clone(), other], now).await;
    let get = |args: &[&str]| server.cli(&[], args).trim().to_string();
    let (a, b) = (alone.id.to_string(), paired.id.to_string());
    assert_eq!(
        get(&["HGET", "anp:{default}:jobs", &a]),
        get(&["HGET", "anp:{default}:jobs", &b])
    );
    assert_eq!(
        get(&["HGET", "anp:{default}:jobs", &format!("{a}:args")]),
        r#"{"n":1}"#
    );
    assert_eq!(
        get(&["ZSCORE", "anp:{default}:available", &a]),
        get(&["ZSCORE", "anp:{default}:available", &b])
    );
    assert_eq!(get(&["ZSCORE", "anp:{default}:ids", &a]), "0");
    let minute = anp_core::job::ts_micros(anp_core::monitor::minute_of(now));
    let enqueued = || {
        get(&[
            "HGET",
            "anp:{default}:stats",
            &format!("{minute}:mail.send:enqueued"),
        ])
    };
    assert_eq!(enqueued(), "3");
    assert_eq!(
        get(&[
            "ZSCORE",
            "anp:{default}:stat_minutes",
            &format!("{minute}:mail.send")
        ]),
        minute.to_string()
    );
    assert!(get(&["LLEN", "anp:{default}:wake"]).parse::<u64>().unwrap() > 0);
    // The same id again: the plain script writes nothing, the general one names it.
    let again = enqueue_replies(&*s, vec![alone.clone()], plus(now, 1)).await;
    assert_eq!(again[0].id, alone.id);
    assert!(again[0].duplicate);
    assert_eq!(again[0].state, anp_core::JobState::Available);
    assert_eq!(enqueued(), "3");
    // A plain chunk holding an existing id is written by neither script's first call alone:
    // the plain one writes nothing, the general one adds the new jobs and names the old one.
    let (new1, new2) = (shaped(4), shaped(5));
    let before = calls(&server);
    let mixed = enqueue_replies(&*s, vec![new1.clone(), alone.clone(), new2.clone()], now).await;
    assert_eq!(
        calls(&server) - before,
        2,
        "the plain call, then the general one"
    );
    assert_eq!(
        mixed
            .iter()
            .map(|e| (e.id, e.duplicate))
            .collect::<Vec<_>>(),
        vec![(new1.id, false), (alone.id, true), (new2.id, false)]
    );
    assert_eq!(enqueued(), "5");
    assert_eq!(get(&["ZCARD", "anp:{default}:available"]), "5");
    // Unique keys nobody holds take the plain path too, and are written as the general script
    // writes them (a chunk with a job due later goes through the general one).
    let with_key = |n, key: &str| {
        let mut j = shaped(n);
        j.unique = Some(Unique::key(key).unwrap());
        j
    };
    let (u1, u2) = (with_key(6, "k:1"), with_key(7, "k:2"));
    let before = calls(&server);
    let plain = enqueue_replies(&*s, vec![u1.clone(), u2.clone()], now).await;
    assert_eq!(calls(&server) - before, 1, "one plain call");
    assert!(plain.iter().all(|e| !e.duplicate));
    let general = with_key(8, "k:3");
    let mut later = shaped(9);
    later.run_at = Some(plus(now, 60));
    let before = calls(&server);
    enqueue_replies(&*s, vec![general.clone(), later], now).await;
    assert_eq!(calls(&server) - before, 1, "one general call");
    let (p1, g) = (u1.id.to_string(), general.id.to_string());
    assert_eq!(
        get(&["HGET", "anp:{default}:jobs", &p1]),
        get(&["HGET", "anp:{default}:jobs", &g])
    );
    assert!(get(&["HGET", "anp:{default}:jobs", &p1]).ends_with(" +-u"));
    assert_eq!(
        get(&["HGET", "anp:{default}:jobs", &format!("{p1}:unique")]),
        "k:1"
    );
    assert_eq!(
        get(&["HGET", "anp:{default}:jobs", &format!("{g}:unique")]),
        "k:3"
    );
    assert_eq!(get(&["HGET", "anp:{default}:unique", "k:1"]), p1);
    assert_eq!(get(&["HGET", "anp:{default}:unique", "k:3"]), g);
    // A held key: the plain call writes nothing, the general one names the holder.
    let again = with_key(10, "k:2");
    let before = calls(&server);
    let held = enqueue_replies(&*s, vec![again.clone()], now).await;
    assert_eq!(
        calls(&server) - before,
        2,
        "the plain call, then the general one"
    );
    assert_eq!((held[0].id, held[0].duplicate), (u2.id, true));
    assert_eq!(
        get(&["HEXISTS", "anp:{default}:jobs", &again.id.to_string()]),
        "0"
    );
}
