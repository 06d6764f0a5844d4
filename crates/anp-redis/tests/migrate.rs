//! The online migration of a key-layout-1 store to layout 2 (docs/redis-keys.md, "Migration
//! 1 → 2"): a layout-1 store is built with raw commands, exactly as release 1 writes it, and
//! opened by this build while a release-1 worker (release 1's `job_fetch.lua`, frozen in
//! `tests/fixtures/layout1_job_fetch.lua`) keeps fetching from it. Standalone and Cluster.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anp_conformance::util::{ack, now, plus, q};
use anp_core::store::{AckOutcome, AckResult, JobRescueParams};
use anp_core::{Args, AttemptError, Job, JobId, JobState, Kind, Store};
use common::{RedisCluster, RedisServer};
use jiff::Timestamp;
use redis::aio::ConnectionLike;
use redis::Value;

/// Release 1's job_fetch as it sent it (lib.lua prelude + lua/job_fetch.lua of layout 1).
const FETCH_L1: &str = include_str!("fixtures/layout1_job_fetch.lua");

/// The schedule the layout-1 store holds (in queue `mail`, its last job the running one).
const SCHEDULE: &str = "nightly.report";

/// The release-1 worker's owner text (with a space, as owners may hold).
const R1_WORKER: &str = "r1 worker:7";

/// `anp:{<queue>}:<what>`.
fn key(queue: &str, what: &str) -> String {
    format!("anp:{{{queue}}}:{what}")
}

/// One raw command; panics on an error reply.
async fn raw<C: ConnectionLike + Send>(c: &mut C, args: &[&str]) -> Value {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query_async::<Value>(c)
        .await
        .unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

/// A string reply as text (`None` for nil).
async fn get<C: ConnectionLike + Send>(c: &mut C, k: &str) -> Option<String> {
    match raw(c, &["GET", k]).await {
        Value::Nil => None,
        v => Some(text(&v)),
    }
}

/// A string or integer reply as text; panics on anything else.
fn text(v: &Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8(b.clone()).unwrap(),
        Value::SimpleString(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        other => panic!("expected text, got {other:?}"),
    }
}

/// An array, set or map reply as a flat list of texts (nil: empty).
fn flat(v: Value) -> Vec<String> {
    match v {
        Value::Array(a) | Value::Set(a) => a.iter().map(text).collect(),
        Value::Map(m) => m.iter().flat_map(|(k, v)| [text(k), text(v)]).collect(),
        Value::Nil => Vec::new(),
        other => panic!("expected an array, got {other:?}"),
    }
}

/// `HGETALL` as a sorted map.
async fn hgetall<C: ConnectionLike + Send>(c: &mut C, k: &str) -> BTreeMap<String, String> {
    let f = flat(raw(c, &["HGETALL", k]).await);
    f.chunks(2).map(|p| (p[0].clone(), p[1].clone())).collect()
}

/// Whether `k` exists.
async fn exists<C: ConnectionLike + Send>(c: &mut C, k: &str) -> bool {
    raw(c, &["EXISTS", k]).await == Value::Int(1)
}

/// One job as layout 1 stores it.
#[derive(Clone, Debug)]
struct L1Job {
    queue: &'static str,
    id: String,
    rec: String,
    args: String,
    errors: Option<String>,
    unique: Option<String>,
}

impl L1Job {
    fn new(queue: &'static str, rec: String, n: u64) -> L1Job {
        L1Job {
            queue,
            id: JobId::new().to_string(),
            rec,
            args: format!("{{\"n\":{n}}}"),
            errors: None,
            unique: None,
        }
    }

    /// The state zset and score layout 1 keeps the job under (docs/redis-keys.md, layout 1).
    fn zset(&self) -> (String, String) {
        let f: Vec<&str> = self.rec.split(' ').collect();
        let score = match f[0] {
            "scheduled" | "retryable" => f[4].to_owned(),
            "available" => avail_score(f[1], f[4]),
            "running" => f[9].to_owned(),
            _ => f[7].to_owned(),
        };
        (key(self.queue, f[0]), score)
    }

    /// What `job_get` must answer for it: the fields the layout-1 record says.
    fn expected(&self) -> serde_json::Value {
        expected_job(
            self.queue,
            &self.id,
            &self.rec,
            &self.args,
            self.errors.as_deref(),
            self.unique.as_deref(),
        )
    }
}

/// Layout 1's available score: priority × 10^14 + run_at in ms.
fn avail_score(priority: &str, run_at_us: &str) -> String {
    let p: u64 = priority.parse().unwrap();
    let ms: u64 = run_at_us.parse::<u64>().unwrap() / 1000;
    (p * 100_000_000_000_000 + ms).to_string()
}

/// A record's µs field as a timestamp (`-`: none).
fn ts(field: &str) -> Option<Timestamp> {
    (field != "-").then(|| anp_core::job::ts_from_micros(field.parse().unwrap()))
}

/// The job a layout-1 record describes (decoded by hand, field by field).
fn expected_job(
    queue: &str,
    id: &str,
    rec: &str,
    args: &str,
    errors: Option<&str>,
    unique: Option<&str>,
) -> serde_json::Value {
    let f: Vec<&str> = rec.splitn(12, ' ').collect();
    let state = JobState::parse(f[0]).unwrap();
    let running = state == JobState::Running;
    let job = Job {
        id: JobId::parse(id).unwrap(),
        kind: Kind::parse(f[10]).unwrap(),
        queue: q(queue),
        args: Args::from_json(args).unwrap(),
        state,
        priority: f[1].parse().unwrap(),
        attempt: f[2].parse().unwrap(),
        max_attempts: f[3].parse().unwrap(),
        run_at: ts(f[4]).unwrap(),
        created_at: ts(f[5]).unwrap(),
        attempted_at: ts(f[6]),
        finalized_at: ts(f[7]),
        unique_key: unique.map(str::to_owned),
        lease_owner: running.then(|| f.get(11).copied().unwrap_or("").to_owned()),
        lease_expires_at: ts(f[9]),
        lease_token: (f[8] != "-").then(|| f[8].parse().unwrap()),
        errors: errors
            .map(|e| serde_json::from_str::<Vec<AttemptError>>(e).unwrap())
            .unwrap_or_default(),
    };
    serde_json::to_value(job).unwrap()
}

/// Writes jobs as layout 1 does: the hash fields, `ids` (score 0), the state zset. Variadic
/// commands per queue and zset (one slot each, so Cluster takes them too).
async fn put_jobs<C: ConnectionLike + Send>(c: &mut C, jobs: &[L1Job]) {
    for chunk in jobs.chunks(500) {
        for queue in ["mail", "held", "other", "bulk"] {
            let mine: Vec<&L1Job> = chunk.iter().filter(|j| j.queue == queue).collect();
            if mine.is_empty() {
                continue;
            }
            let jobs_key = key(queue, "jobs");
            let ids_key = key(queue, "ids");
            let mut hset: Vec<String> = vec!["HSET".into(), jobs_key];
            let mut ids: Vec<String> = vec!["ZADD".into(), ids_key];
            let mut zsets: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for j in &mine {
                hset.extend([
                    j.id.clone(),
                    j.rec.clone(),
                    format!("{}:args", j.id),
                    j.args.clone(),
                ]);
                if let Some(e) = &j.errors {
                    hset.extend([format!("{}:errors", j.id), e.clone()]);
                }
                if let Some(u) = &j.unique {
                    hset.extend([format!("{}:unique", j.id), u.clone()]);
                }
                ids.extend(["0".into(), j.id.clone()]);
                let (z, score) = j.zset();
                zsets.entry(z).or_default().extend([score, j.id.clone()]);
            }
            for cmd in [hset, ids] {
                let a: Vec<&str> = cmd.iter().map(String::as_str).collect();
                raw(c, &a).await;
            }
            for (z, members) in zsets {
                let mut a = vec!["ZADD", z.as_str()];
                a.extend(members.iter().map(String::as_str));
                raw(c, &a).await;
            }
        }
    }
}

/// The layout-1 store every test starts from, and what it holds.
struct L1Store {
    now: Timestamp,
    /// Queue `mail`: one job in each state.
    scheduled: L1Job,
    available: L1Job,
    running: L1Job,
    expired: L1Job,
    completed: L1Job,
    retryable: L1Job,
    dead: L1Job,
    cancelled: L1Job,
    /// Queue `held` (paused) and `other` (paused, then resumed): one available job each.
    held: L1Job,
    other: L1Job,
    /// Queue `bulk`: available jobs for the release-1 worker.
    bulk: Vec<L1Job>,
}

impl L1Store {
    fn all(&self) -> Vec<&L1Job> {
        let mut v = vec![
            &self.scheduled,
            &self.available,
            &self.running,
            &self.expired,
            &self.completed,
            &self.retryable,
            &self.dead,
            &self.cancelled,
            &self.held,
            &self.other,
        ];
        v.extend(self.bulk.iter());
        v
    }
}

/// µs since the epoch, as text (how records and scores hold time).
fn us(t: Timestamp) -> String {
    t.as_microsecond().to_string()
}

/// One entry of a job's error history, as layout 1 stores it.
fn error_json(attempt: u32, at: Timestamp, message: &str, retry_safe: bool) -> String {
    serde_json::json!({
        "attempt": attempt,
        "at": at.to_string(),
        "message": message,
        "retry_safe": retry_safe,
    })
    .to_string()
}

/// Builds the layout-1 store with `bulk` jobs in queue `bulk`, following docs/redis-keys.md
/// (layout 1) exactly: records, zsets with their scores, `anp:queues`, pause flags, the lease
/// counter, a unique key, stats counters, `anp:schema` = 1.
async fn build_layout1<C: ConnectionLike + Send>(c: &mut C, bulk: u64) -> L1Store {
    let now = now();
    let created = now
        .checked_sub(jiff::SignedDuration::from_secs(3600))
        .unwrap();
    let ago = |s: i64| us(now.checked_sub(jiff::SignedDuration::from_secs(s)).unwrap());
    let ahead = |s: u64| us(plus(now, s));
    let cr = us(created);
    let kind = "email.send";
    let mut available = L1Job::new(
        "mail",
        format!("available 1 0 25 {cr} {cr} - - - - {kind}"),
        2,
    );
    available.unique = Some("u:1".into());
    let running = L1Job::new(
        "mail",
        format!(
            "running 2 1 25 {cr} {cr} {} - 17 {} {kind} host 1:4242",
            ago(5),
            ahead(600)
        ),
        3,
    );
    let mut expired = L1Job::new(
        "mail",
        format!(
            "running 0 2 25 {cr} {cr} {} - 18 {} {kind} w-2",
            ago(120),
            ago(60)
        ),
        4,
    );
    expired.errors = Some(format!(
        "[{}]",
        error_json(1, created, "smtp: 421 try again", true)
    ));
    let mut retryable = L1Job::new(
        "mail",
        format!(
            "retryable 0 1 25 {} {cr} {} - - - {kind}",
            ahead(300),
            ago(30)
        ),
        6,
    );
    retryable.errors = Some(format!("[{}]", error_json(1, created, "timeout", true)));
    let mut dead = L1Job::new(
        "mail",
        format!("dead 0 3 3 {cr} {cr} {} {} - - {kind}", ago(50), ago(49)),
        7,
    );
    dead.errors = Some(format!(
        "[{},{},{}]",
        error_json(1, created, "boom 1", true),
        error_json(2, created, "boom \"2\"", true),
        error_json(3, created, "boom 3", false)
    ));
    let mut cancelled = L1Job::new(
        "mail",
        format!(
            "cancelled 0 1 25 {cr} {cr} {} {} - - {kind}",
            ago(40),
            ago(39)
        ),
        8,
    );
    cancelled.errors = Some(format!(
        "[{}]",
        error_json(1, created, "no longer wanted", false)
    ));
    let s = L1Store {
        now,
        scheduled: L1Job::new(
            "mail",
            format!("scheduled 0 0 25 {} {cr} - - - - {kind}", ahead(3600)),
            1,
        ),
        available,
        running,
        expired,
        completed: L1Job::new(
            "mail",
            format!(
                "completed 0 1 25 {cr} {cr} {} {} - - {kind}",
                ago(20),
                ago(19)
            ),
            5,
        ),
        retryable,
        dead,
        cancelled,
        held: L1Job::new(
            "held",
            format!("available 0 0 25 {cr} {cr} - - - - {kind}"),
            9,
        ),
        other: L1Job::new(
            "other",
            format!("available 0 0 25 {cr} {cr} - - - - {kind}"),
            10,
        ),
        bulk: (0..bulk)
            .map(|i| {
                let run_at = us(created).parse::<u64>().unwrap() + i * 1000;
                L1Job::new(
                    "bulk",
                    format!("available 0 0 25 {run_at} {cr} - - - - bulk.item"),
                    100 + i,
                )
            })
            .collect(),
    };
    let jobs: Vec<L1Job> = s.all().into_iter().cloned().collect();
    put_jobs(c, &jobs).await;
    raw(c, &["HSET", &key("mail", "unique"), "u:1", &s.available.id]).await;
    raw(c, &["SET", &key("mail", "lease_seq"), "18"]).await;
    raw(c, &["SET", &key("held", "paused"), "1"]).await;
    raw(c, &["SET", &key("other", "paused"), "0"]).await;
    let minute = us(anp_core::monitor::minute_of(now));
    raw(
        c,
        &[
            "HSET",
            &key("mail", "stats"),
            &format!("{minute}:{kind}:enqueued"),
            "8",
        ],
    )
    .await;
    raw(
        c,
        &[
            "ZADD",
            &key("mail", "stat_minutes"),
            &minute,
            &format!("{minute}:{kind}"),
        ],
    )
    .await;
    // A schedule of queue `mail` whose last job is the running one.
    let mut def = anp_conformance::schedule::def(SCHEDULE, "* * * * *");
    def.queue = q("mail");
    let sk = format!("anp:{{mail}}:schedule:{SCHEDULE}");
    let def_json = serde_json::to_string(&def).unwrap();
    let last_tick = ago(60);
    raw(
        c,
        &[
            "HSET",
            &sk,
            "def",
            &def_json,
            "queue",
            "mail",
            "paused",
            "0",
            "last_tick",
            &last_tick,
            "last_job",
            &s.running.id,
            "created_at",
            &cr,
            "updated_at",
            &cr,
            "skip_if_running",
            "0",
            "catch_up",
            "latest",
        ],
    )
    .await;
    raw(c, &["HSET", "anp:schedules", SCHEDULE, "mail"]).await;
    raw(c, &["SADD", "anp:queues", "mail", "held", "other", "bulk"]).await;
    raw(c, &["SET", "anp:schema", "1"]).await;
    s
}

/// One release-1 `job_fetch` of up to `limit` jobs from `queue` (layout-1 keys), as
/// `R1_WORKER` with a 10-minute lease from `now`: (id, record) per job.
async fn fetch_l1<C: ConnectionLike + Send>(
    c: &mut C,
    queue: &str,
    limit: u32,
    now: Timestamp,
) -> Vec<(String, String)> {
    let v = redis::cmd("EVAL")
        .arg(FETCH_L1)
        .arg(6)
        .arg(key(queue, "jobs"))
        .arg(key(queue, "available"))
        .arg(key(queue, "running"))
        .arg(key(queue, "paused"))
        .arg(key(queue, "lease_seq"))
        .arg(key(queue, "export"))
        .arg(us(now))
        .arg(us(plus(now, 600)))
        .arg(limit)
        .arg(R1_WORKER)
        .query_async::<Value>(c)
        .await
        .unwrap_or_else(|e| panic!("layout-1 fetch: {e}"));
    let f: Vec<Value> = match v {
        Value::Array(a) => a,
        Value::Nil => Vec::new(),
        other => panic!("layout-1 fetch answered {other:?}"),
    };
    f.chunks(5).map(|j| (text(&j[0]), text(&j[1]))).collect()
}

/// Every key of the server with its `DUMP` (what a no-op must leave as it was).
async fn snapshot<C: ConnectionLike + Send>(c: &mut C) -> BTreeMap<String, Vec<u8>> {
    let keys = flat(raw(c, &["KEYS", "*"]).await);
    let mut out = BTreeMap::new();
    for k in keys {
        if let Value::BulkString(b) = raw(c, &["DUMP", &k]).await {
            out.insert(k, b);
        }
    }
    out
}

/// The lease text layout 2 keeps for a running layout-1 record.
fn lease_of(rec: &str) -> String {
    let f: Vec<&str> = rec.splitn(12, ' ').collect();
    format!(
        "{} {} {} {}",
        f[8],
        f[9],
        f[6],
        f.get(11).copied().unwrap_or("")
    )
}

/// The record layout 2 keeps for a job a layout-1 record says is running: `available`, the
/// attempt before this one, no lease fields, no owner, the rest as it was.
fn record_of_running(rec: &str) -> String {
    let f: Vec<&str> = rec.splitn(12, ' ').collect();
    let attempt: u32 = f[2].parse().unwrap();
    format!(
        "available {} {} {} {} {} {} {} - - {}",
        f[1],
        attempt - 1,
        f[3],
        f[4],
        f[5],
        f[6],
        f[7],
        f[10]
    )
}

/// Opens a store with this build (migrating it when it is at layout 1).
async fn open(url: &str) -> Arc<dyn Store> {
    common::open(url).await
}

/// What the release-1 worker fetched: per call, whether it was sent after the opens returned,
/// and the (id, record) of each job it got.
type FetchLog = Vec<(bool, Vec<(String, String)>)>;

/// The release-1 worker: fetches one `bulk` job at a time until `stop`, noting for each
/// fetch whether it was sent after `opened` was set.
fn spawn_release1_worker<C>(
    mut c: C,
    now: Timestamp,
    opened: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    fetched: Arc<Mutex<FetchLog>>,
) -> tokio::task::JoinHandle<()>
where
    C: ConnectionLike + Send + 'static,
{
    tokio::spawn(async move {
        while !stop.load(Ordering::SeqCst) {
            let after = opened.load(Ordering::SeqCst);
            let got = fetch_l1(&mut c, "bulk", 1, now).await;
            fetched.lock().unwrap().push((after, got));
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
}

/// The checks on the raw keys once the store is migrated: schema 2, marker and lock gone, no
/// `running` zset, the running jobs in `leases` with their token, expiry, attempted_at and
/// owner, their records as layout 2 keeps them, the other records untouched, the pause flags,
/// the per-queue markers, and release 1's fetch finding nothing.
async fn check_migrated_keys<C: ConnectionLike + Send>(
    c: &mut C,
    s: &L1Store,
    fetched: &[(String, String)],
) {
    assert_eq!(get(c, "anp:schema").await.as_deref(), Some("2"));
    assert!(!exists(c, "anp:migration").await, "the marker is left");
    assert!(!exists(c, "anp:migrate_lock").await, "the lock is left");
    for queue in ["mail", "held", "other", "bulk"] {
        assert!(
            !exists(c, &key(queue, "running")).await,
            "{queue}: running is left"
        );
        assert_eq!(
            get(c, &key(queue, "layout")).await.as_deref(),
            Some("2"),
            "{queue}"
        );
        assert_eq!(
            get(c, &key(queue, "paused")).await.as_deref(),
            Some("1"),
            "{queue}"
        );
    }
    assert_eq!(get(c, &key("mail", "pause")).await, None);
    assert_eq!(get(c, &key("bulk", "pause")).await, None);
    assert_eq!(get(c, &key("held", "pause")).await.as_deref(), Some("1"));
    assert_eq!(get(c, &key("other", "pause")).await.as_deref(), Some("0"));

    let mail_leases = hgetall(c, &key("mail", "leases")).await;
    let want: BTreeMap<String, String> = [&s.running, &s.expired]
        .into_iter()
        .map(|j| (j.id.clone(), lease_of(&j.rec)))
        .collect();
    assert_eq!(mail_leases, want);
    assert_eq!(
        mail_leases[&s.running.id],
        format!(
            "17 {} {} host 1:4242",
            s.running.rec.split(' ').nth(9).unwrap(),
            s.running.rec.split(' ').nth(6).unwrap()
        )
    );
    let bulk_leases = hgetall(c, &key("bulk", "leases")).await;
    let want: BTreeMap<String, String> = fetched
        .iter()
        .map(|(id, rec)| (id.clone(), lease_of(rec)))
        .collect();
    assert_eq!(bulk_leases, want);
    assert!(!exists(c, &key("held", "leases")).await);

    // Records: running ones rewritten, every other one as it was.
    let fetched_ids: BTreeMap<&str, &str> = fetched
        .iter()
        .map(|(i, r)| (i.as_str(), r.as_str()))
        .collect();
    let mut hashes = BTreeMap::new();
    for queue in ["mail", "held", "other", "bulk"] {
        hashes.insert(queue, hgetall(c, &key(queue, "jobs")).await);
    }
    for j in s.all() {
        let stored = &hashes[j.queue];
        let rec = &stored[&j.id];
        let want = if let Some(r1) = fetched_ids.get(j.id.as_str()) {
            record_of_running(r1)
        } else if j.rec.starts_with("running ") {
            record_of_running(&j.rec)
        } else {
            j.rec.clone()
        };
        assert_eq!(rec, &want, "record of {}", j.id);
        assert_eq!(stored[&format!("{}:args", j.id)], j.args);
        assert_eq!(stored.get(&format!("{}:errors", j.id)), j.errors.as_ref());
        assert_eq!(stored.get(&format!("{}:unique", j.id)), j.unique.as_ref());
    }
    // The state zsets are untouched: the fetched ones left `available` (release 1's fetch took
    // them out), the rest are where layout 1 put them.
    let avail = flat(raw(c, &["ZRANGE", &key("bulk", "available"), "0", "-1"]).await);
    assert_eq!(avail.len() + fetched.len(), s.bulk.len());
    assert!(avail
        .iter()
        .all(|id| !fetched_ids.contains_key(id.as_str())));
    assert_eq!(
        flat(raw(c, &["ZRANGE", &key("mail", "dead"), "0", "-1"]).await),
        vec![s.dead.id.clone()]
    );
    assert_eq!(
        flat(raw(c, &["HGETALL", &key("mail", "unique")]).await),
        vec!["u:1".to_owned(), s.available.id.clone()]
    );
    assert_eq!(
        get(c, &key("mail", "lease_seq")).await.as_deref(),
        Some("18")
    );

    // Release 1's fetch finds nothing on any queue now.
    for queue in ["mail", "held", "other", "bulk"] {
        assert!(fetch_l1(c, queue, 10, s.now).await.is_empty(), "{queue}");
    }
}

/// A layout-1 store opened by two processes at once while a release-1 worker keeps fetching:
/// it is migrated (once), the worker's fetches stop at the migration, the jobs it holds are
/// leases, a third open changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_migrates_a_layout1_store_while_a_release1_worker_fetches() {
    let server = RedisServer::start();
    let client = redis::Client::open(server.url()).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let s = build_layout1(&mut c, 3000).await;

    let opened = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let log = Arc::new(Mutex::new(Vec::new()));
    let worker = spawn_release1_worker(
        client.get_multiplexed_async_connection().await.unwrap(),
        s.now,
        opened.clone(),
        stop.clone(),
        log.clone(),
    );
    // Let it lease a few jobs under layout 1 first.
    for _ in 0..500 {
        if log
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, f)| !f.is_empty())
            .count()
            >= 5
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let url = server.url();
    let (a, b) = (url.clone(), url.clone());
    let (sa, sb) = tokio::join!(
        tokio::spawn(async move { anp_redis::RedisStore::open(&a).await }),
        tokio::spawn(async move { anp_redis::RedisStore::open(&b).await })
    );
    let (sa, sb) = (sa.unwrap().unwrap(), sb.unwrap().unwrap());
    opened.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::SeqCst);
    worker.await.unwrap();

    let log = log.lock().unwrap().clone();
    let fetched: Vec<(String, String)> = log.iter().flat_map(|(_, f)| f.clone()).collect();
    assert!(
        fetched.len() >= 5,
        "the release-1 worker fetched {}",
        fetched.len()
    );
    assert!(
        fetched.len() < s.bulk.len(),
        "the release-1 worker ran dry before the migration: the test proves nothing"
    );
    let after: Vec<_> = log.iter().filter(|(a, _)| *a).collect();
    assert!(
        !after.is_empty(),
        "no release-1 fetch was sent after the opens"
    );
    assert!(
        after.iter().all(|(_, f)| f.is_empty()),
        "release 1 fetched after the migration: {after:?}"
    );
    for (_, rec) in &fetched {
        assert!(
            rec.starts_with("running 0 1 25 ") && rec.ends_with(R1_WORKER),
            "{rec}"
        );
    }

    check_migrated_keys(&mut c, &s, &fetched).await;
    let info = Store::store_ping(&sa).await.unwrap();
    assert_eq!(info.schema_version, 2);
    assert_eq!(Store::store_ping(&sb).await.unwrap().schema_version, 2);

    // A third open is a no-op.
    let before = snapshot(&mut c).await;
    let _third = open(&url).await;
    assert_eq!(
        snapshot(&mut c).await,
        before,
        "a second migration changed keys"
    );
}

/// The migrated jobs through the Store API (layout 2): every field as the layout-1 record said
/// (running ones: state running, same attempt, token, expiry, attempted_at, owner); the paused
/// queue still paused, the resumed one not; acking a migrated running job with its token
/// completes it; rescue takes back the one whose lease had expired.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrated_jobs_read_and_act_through_the_store() {
    let server = RedisServer::start();
    let client = redis::Client::open(server.url()).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let s = build_layout1(&mut c, 3).await;
    // A release-1 worker holds one bulk job when the migration comes.
    let held = fetch_l1(&mut c, "bulk", 1, s.now).await;
    assert_eq!(held.len(), 1);
    let st = open(&server.url()).await;
    check_migrated_keys(&mut c, &s, &held).await;

    for j in s.all() {
        let got = st.job_get(JobId::parse(&j.id).unwrap()).await.unwrap();
        let want = match held.iter().find(|(id, _)| *id == j.id) {
            Some((_, rec)) => expected_job(
                j.queue,
                &j.id,
                rec,
                &j.args,
                j.errors.as_deref(),
                j.unique.as_deref(),
            ),
            None => j.expected(),
        };
        assert_eq!(
            serde_json::to_value(&got).unwrap(),
            want,
            "job {} ({})",
            j.id,
            j.rec
        );
    }
    let running = st
        .job_get(JobId::parse(&s.running.id).unwrap())
        .await
        .unwrap();
    assert_eq!(running.state, JobState::Running);
    assert_eq!((running.attempt, running.lease_token), (1, Some(17)));
    assert_eq!(running.lease_owner.as_deref(), Some("host 1:4242"));

    // The schedule reads its last job (the running one) merged too.
    let name = anp_core::schedule::ScheduleName::parse(SCHEDULE).unwrap();
    let (sched, _) = st.schedule_get(name.clone(), 10).await.unwrap();
    assert_eq!(sched.last_job, Some(running.id));
    assert_eq!(sched.last_job_state, Some(JobState::Running));
    assert!(!sched.paused);

    // Pause flags, as layout 2 reads them.
    let queues = st.queue_list().await.unwrap();
    let paused = |name: &str| {
        queues
            .iter()
            .find(|i| i.queue.as_str() == name)
            .map(|i| i.paused)
    };
    assert_eq!(paused("held"), Some(true));
    assert_eq!(paused("other"), Some(false));
    assert_eq!(paused("mail"), Some(false));
    let now = s.now;
    let fetch = |queue: &'static str| {
        let st = st.clone();
        async move { anp_conformance::util::fetch(&*st, queue, 10, now).await }
    };
    assert!(
        fetch("held").await.is_empty(),
        "a paused queue handed out a job"
    );
    let other = fetch("other").await;
    assert_eq!(other.len(), 1);
    assert_eq!(other[0].id.to_string(), s.other.id);

    // Ack the migrated running job with its layout-1 token.
    assert_eq!(
        ack(&*st, &running, AckOutcome::Complete, s.now).await,
        AckResult::Applied
    );
    let done = st.job_get(running.id).await.unwrap();
    assert_eq!(done.state, JobState::Completed);
    assert!(done.lease_token.is_none());
    let (sched, _) = st.schedule_get(name, 10).await.unwrap();
    assert_eq!(sched.last_job_state, Some(JobState::Completed));

    // Rescue takes back the job whose lease had already expired, and only it.
    let rescued = st
        .job_rescue_expired(JobRescueParams {
            now: s.now,
            limit: 100,
        })
        .await
        .unwrap();
    assert_eq!(rescued.len(), 1, "{rescued:?}");
    assert_eq!(rescued[0].id.to_string(), s.expired.id);
    assert_eq!(
        (rescued[0].attempt, rescued[0].state),
        (2, JobState::Available)
    );
    let back = st.job_get(rescued[0].id).await.unwrap();
    assert_eq!((back.state, back.attempt), (JobState::Available, 2));
    assert!(back.lease_token.is_none() && back.lease_owner.is_none());
    assert_eq!(back.errors.len(), 2);
    assert!(hgetall(&mut c, &key("mail", "leases")).await.is_empty());
}

/// A migration interrupted half way (marker set, schema 2, one queue done, the lock held by a
/// process that died) is resumed by the next open once the dead holder's lock expires.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_migration_is_resumed() {
    let server = RedisServer::start();
    let client = redis::Client::open(server.url()).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let s = build_layout1(&mut c, 2).await;
    let held = fetch_l1(&mut c, "bulk", 1, s.now).await;
    // The dead process got as far as queue `held`.
    raw(&mut c, &["SET", "anp:migration", "1->2"]).await;
    raw(&mut c, &["SET", "anp:schema", "2"]).await;
    raw(&mut c, &["SET", &key("held", "pause"), "1"]).await;
    raw(&mut c, &["SET", &key("held", "layout"), "2"]).await;
    raw(
        &mut c,
        &["SET", "anp:migrate_lock", "dead-process", "PX", "1500"],
    )
    .await;
    let started = std::time::Instant::now();
    let _st = open(&server.url()).await;
    assert!(
        started.elapsed() >= Duration::from_millis(1000),
        "open did not wait for the lock: {:?}",
        started.elapsed()
    );
    check_migrated_keys(&mut c, &s, &held).await;
}

/// A store at a newer layout than 2 is still refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_layout_is_refused() {
    let server = RedisServer::start();
    server.cli(&[], &["SET", "anp:schema", "3"]);
    let e = anp_redis::RedisStore::open(&server.url())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), anp_core::ErrorKind::Incompatible, "{e}");
    assert!(e.to_string().contains("version 3"), "{e}");
}

/// The same migration on a 3-primary Cluster: the global keys and the queues sit in other
/// slots.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_migrates_a_layout1_store_on_a_cluster() {
    let cluster = tokio::task::spawn_blocking(RedisCluster::take)
        .await
        .unwrap();
    let nodes: Vec<String> = cluster
        .nodes
        .iter()
        .map(|n| format!("redis://127.0.0.1:{}", n.port))
        .collect();
    let client = redis::cluster::ClusterClient::new(nodes).unwrap();
    let mut c = client.get_async_connection().await.unwrap();
    let s = build_layout1(&mut c, 50).await;
    let held = fetch_l1(&mut c, "bulk", 2, s.now).await;
    assert_eq!(held.len(), 2);
    let url = cluster.url();
    let (a, b) = (url.clone(), url.clone());
    let (sa, sb) = tokio::join!(
        tokio::spawn(async move { anp_redis::RedisStore::open(&a).await }),
        tokio::spawn(async move { anp_redis::RedisStore::open(&b).await })
    );
    let st = sa.unwrap().unwrap();
    sb.unwrap().unwrap();
    check_migrated_keys(&mut c, &s, &held).await;
    let running = Store::job_get(&st, JobId::parse(&s.running.id).unwrap())
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_value(&running).unwrap(),
        s.running.expected()
    );
}

/// The rollback documented in docs/redis-keys.md ("Migration 1 → 2", before any release-2
/// write) gives release 1 back a working store: the jobs that were running are fetched again,
/// the pause flags are as they were, and a later migration works again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_rollback_restores_a_layout1_store() {
    let server = RedisServer::start();
    let client = redis::Client::open(server.url()).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let s = build_layout1(&mut c, 2).await;
    let held = fetch_l1(&mut c, "bulk", 1, s.now).await;
    drop(open(&server.url()).await);

    // The rollback, step by step as documented.
    raw(&mut c, &["SET", "anp:schema", "1"]).await;
    for queue in ["mail", "held", "other", "bulk"] {
        match get(&mut c, &key(queue, "pause")).await {
            Some(v) => raw(&mut c, &["SET", &key(queue, "paused"), &v]).await,
            None => raw(&mut c, &["DEL", &key(queue, "paused")]).await,
        };
        let jobs = hgetall(&mut c, &key(queue, "jobs")).await;
        for id in hgetall(&mut c, &key(queue, "leases")).await.keys() {
            let f: Vec<&str> = jobs[id].split(' ').collect();
            let score = avail_score(f[1], f[4]);
            raw(&mut c, &["ZADD", &key(queue, "available"), &score, id]).await;
        }
        for what in ["leases", "pause", "layout"] {
            raw(&mut c, &["DEL", &key(queue, what)]).await;
        }
    }
    raw(&mut c, &["DEL", "anp:migration"]).await;

    // Release 1 runs the jobs that were running again, with the attempt they had.
    let got: BTreeMap<String, String> = fetch_l1(&mut c, "mail", 10, s.now)
        .await
        .into_iter()
        .collect();
    let ids: Vec<&String> = got.keys().collect();
    let mut want = vec![&s.available.id, &s.running.id, &s.expired.id];
    want.sort();
    assert_eq!(ids, want);
    for j in [&s.running, &s.expired] {
        let attempt = j.rec.split(' ').nth(2).unwrap();
        assert_eq!(
            got[&j.id].split(' ').nth(2),
            Some(attempt),
            "{}",
            got[&j.id]
        );
    }
    let bulk: Vec<String> = fetch_l1(&mut c, "bulk", 10, s.now)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(bulk.len(), 2);
    assert!(bulk.contains(&held[0].0));
    assert!(fetch_l1(&mut c, "held", 10, s.now).await.is_empty());
    assert_eq!(fetch_l1(&mut c, "other", 10, s.now).await.len(), 1);
    assert_eq!(get(&mut c, &key("mail", "paused")).await, None);

    // Migrating again works: the queues are not marked done any more.
    raw(&mut c, &["SET", &key("other", "paused"), "0"]).await;
    drop(open(&server.url()).await);
    assert_eq!(get(&mut c, "anp:schema").await.as_deref(), Some("2"));
    assert_eq!(
        get(&mut c, &key("held", "pause")).await.as_deref(),
        Some("1")
    );
    assert_eq!(
        get(&mut c, &key("other", "pause")).await.as_deref(),
        Some("0")
    );
    assert_eq!(hgetall(&mut c, &key("mail", "leases")).await.len(), 3);
}

/// A migration while `anp backup` exports a queue keeps, for the export, each moved job's
/// layout-1 record as it was (copy-on-write before the lease is written), and nothing for the
/// jobs it did not change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_export_keeps_the_layout1_pre_images() {
    let server = RedisServer::start();
    let client = redis::Client::open(server.url()).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let s = build_layout1(&mut c, 0).await;
    let export = key("mail", "export");
    raw(&mut c, &["HSET", &export, "~token", "t-1"]).await;
    drop(open(&server.url()).await);
    let kept = hgetall(&mut c, &export).await;
    let want: BTreeMap<String, String> = [
        ("~token".to_owned(), "t-1".to_owned()),
        (s.running.id.clone(), s.running.rec.clone()),
        (s.expired.id.clone(), s.expired.rec.clone()),
        (format!("{}:args", s.running.id), s.running.args.clone()),
        (format!("{}:args", s.expired.id), s.expired.args.clone()),
        (
            format!("{}:errors", s.expired.id),
            s.expired.errors.clone().unwrap(),
        ),
    ]
    .into_iter()
    .collect();
    assert_eq!(kept, want);
    check_migrated_keys(&mut c, &s, &[]).await;
}

/// A running job whose layout-1 record gives no readable lease (here: no attempted_at) stops
/// the migration of its queue before anything is written there; open fails `Incompatible`
/// naming the job, and the marker stays, so a later open resumes once the job is repaired.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_running_job_stops_the_migration_and_changes_nothing() {
    let server = RedisServer::start();
    let client = redis::Client::open(server.url()).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let s = build_layout1(&mut c, 0).await;
    let f: Vec<&str> = s.running.rec.splitn(12, ' ').collect();
    let broken = format!(
        "{} {} {} {} {} {} - {} {} {} {} {}",
        f[0], f[1], f[2], f[3], f[4], f[5], f[7], f[8], f[9], f[10], f[11]
    );
    raw(
        &mut c,
        &["HSET", &key("mail", "jobs"), &s.running.id, &broken],
    )
    .await;
    let e = anp_redis::RedisStore::open(&server.url())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), anp_core::ErrorKind::Incompatible, "{e}");
    assert!(
        e.to_string().contains(&s.running.id)
            && e.to_string().contains("anp:migration")
            && !e.to_string().contains("@user_script"),
        "{e}"
    );
    assert_eq!(get(&mut c, "anp:migration").await.as_deref(), Some("1->2"));
    assert!(
        !exists(&mut c, "anp:migrate_lock").await,
        "the lock is left"
    );
    assert!(exists(&mut c, &key("mail", "running")).await);
    assert!(!exists(&mut c, &key("mail", "leases")).await);
    assert!(!exists(&mut c, &key("mail", "paused")).await);
    assert!(!exists(&mut c, &key("mail", "layout")).await);

    // Repaired, the next open resumes and finishes.
    raw(
        &mut c,
        &["HSET", &key("mail", "jobs"), &s.running.id, &s.running.rec],
    )
    .await;
    drop(open(&server.url()).await);
    check_migrated_keys(&mut c, &s, &[]).await;
}
