//! A backup taken from SQLite while a real `anp work` runs restores into Redis exactly as it
//! was (every field, the error history, per-queue/state counts, lease tokens kept unique), and
//! a backup of that Redis store restores into SQLite exactly as well; the same backup restores
//! into PostgreSQL exactly, and a backup of that PostgreSQL store into SQLite. Redis is a
//! private `redis-server` on a free port (never 127.0.0.1:6379); PostgreSQL a database of this
//! test's own (anp-postgres/tests/common), dropped at the end.

#[path = "../../anp-redis/tests/common/mod.rs"]
mod common;

#[path = "../../anp-postgres/tests/common/mod.rs"]
mod pg;

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anp_core::job::ts_add;
use anp_core::store::JobEnqueueManyParams;
use anp_core::{Args, JobId, JobState, Kind, NewJob, QueueName, Store, Unique};
use anp_redis::RedisStore;
use anp_sqlite::SqliteStore;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use serde_json::Value;

use common::RedisServer;

const ANP: &str = env!("CARGO_BIN_EXE_anp");

/// `anp work`, its whole process group killed on drop.
struct Worker(Child);

impl Drop for Worker {
    fn drop(&mut self) {
        let pid = Pid::from_raw(i32::try_from(self.0.id()).unwrap_or(i32::MAX));
        let _ = killpg(pid, Signal::SIGKILL);
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn anp(url: &str, args: &[&str], file: &Path) {
    let out = Command::new(ANP)
        .args(["--store", url])
        .args(args)
        .arg(file)
        .env_remove("ANP_STORE")
        .env_remove("ANP_CONFIG")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run anp: {e}"));
    assert!(
        out.status.success(),
        "anp {args:?} {} failed: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn q(s: &str) -> QueueName {
    QueueName::parse(s).unwrap_or_else(|e| panic!("{e}"))
}

fn new_job(kind: &str, queue: &str, i: usize) -> NewJob {
    let mut j = NewJob::new(
        Kind::parse(kind).unwrap_or_else(|e| panic!("{e}")),
        Args::from_json(&format!("{{\"i\":{i},\"s\":\"x y\"}}")).unwrap_or_else(|e| panic!("{e}")),
    );
    j.queue = q(queue);
    j
}

async fn open_sqlite(path: &Path) -> SqliteStore {
    let opts = SqliteStore::parse_url(&format!("sqlite://{}", path.display()))
        .unwrap_or_else(|e| panic!("{e}"));
    SqliteStore::open(opts)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The jobs (`{"job": …}` lines) and the per-queue/state counts of the trailer of a backup.
fn read_backup(path: &Path) -> (Vec<Value>, Value) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{e}"));
    let mut jobs = Vec::new();
    let mut counts = Value::Null;
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        if let Some(j) = v.get("job") {
            jobs.push(j.clone());
        } else if let Some(e) = v.get("end") {
            counts = e.get("by_queue").cloned().unwrap_or(Value::Null);
        }
    }
    (jobs, counts)
}

/// Per-queue/state counts of a store, shaped as a backup's trailer (zeros left out).
async fn counts(store: &dyn Store) -> Value {
    let mut out: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for qi in store.queue_list().await.unwrap_or_else(|e| panic!("{e}")) {
        for (state, n) in qi.counts {
            if n > 0 {
                out.entry(qi.queue.to_string())
                    .or_default()
                    .insert(state.to_string(), n);
            }
        }
    }
    serde_json::to_value(out).unwrap_or_else(|e| panic!("{e}"))
}

/// Every job of the backup reads back from `store` equal, field by field.
async fn assert_same_jobs(store: &dyn Store, jobs: &[Value], what: &str) {
    for want in jobs {
        let id = want
            .get("id")
            .and_then(Value::as_str)
            .and_then(|s| JobId::parse(s).ok())
            .unwrap_or_else(|| panic!("a job without an id: {want}"));
        let got = store
            .job_get(id)
            .await
            .unwrap_or_else(|e| panic!("{what}: job {id}: {e}"));
        let got = serde_json::to_value(got).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(&got, want, "{what}: job {id} differs");
    }
}

fn wait_until(what: &str, deadline: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_backup_restores_into_redis_and_back() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let db: PathBuf = dir.path().join("a.db");
    let sqlite_url = format!("sqlite://{}", db.display());
    let store = open_sqlite(&db).await;
    let now = jiff::Timestamp::now();

    let mut jobs = Vec::new();
    for i in 0..300 {
        let mut j = new_job("noop", "default", i);
        j.priority = u8::try_from(i % 10).unwrap_or(5);
        if i % 7 == 0 {
            j.unique = Some(Unique {
                key: format!("u-{i}"),
                period: None,
            });
        }
        if i % 11 == 0 {
            j.run_at = Some(ts_add(now, Duration::from_secs(3600)));
        }
        jobs.push(j);
    }
    for i in 0..40 {
        let mut j = new_job("fail", "mail", i);
        j.max_attempts = 2;
        jobs.push(j);
    }
    for i in 0..3 {
        jobs.push(new_job("slow", "slow", i));
    }
    // No handler for this kind: it stays available.
    for i in 0..5 {
        jobs.push(new_job("orphan", "default", i));
    }
    store
        .job_enqueue_many(JobEnqueueManyParams { jobs, now })
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let config = dir.path().join("anp.toml");
    std::fs::write(
        &config,
        r#"[[queue]]
name = "default"
concurrency = 4

[[queue]]
name = "mail"
concurrency = 4

[[queue]]
name = "slow"
concurrency = 2

[[job]]
kind = "noop"
builtin = "noop"

[[job]]
kind = "fail"
command = ["sh", "-c", "exit 1"]
max_attempts = 2
backoff_base = "1s"

[[job]]
kind = "slow"
command = ["sleep", "60"]
"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let log = std::fs::File::create(dir.path().join("work.log")).unwrap_or_else(|e| panic!("{e}"));
    let worker = Worker(
        Command::new(ANP)
            .args(["--store", &sqlite_url, "work", "--config"])
            .arg(&config)
            .env_remove("ANP_STORE")
            .env_remove("ANP_CONFIG")
            .env("ANP_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start anp work: {e}")),
    );

    // Let the worker make progress: some dead jobs (with two errors), slow ones running.
    let rt = tokio::runtime::Handle::current();
    let state_count = |queue: &str, state: JobState| {
        let store = store.clone();
        let queue = q(queue);
        tokio::task::block_in_place(|| {
            rt.block_on(async move {
                store
                    .queue_list()
                    .await
                    .unwrap_or_default()
                    .into_iter()
                    .find(|i| i.queue == queue)
                    .and_then(|i| i.counts.get(&state).copied())
                    .unwrap_or(0)
            })
        })
    };
    wait_until("dead and running jobs", Duration::from_secs(60), || {
        state_count("mail", JobState::Dead) >= 5
            && state_count("slow", JobState::Running) >= 2
            && state_count("default", JobState::Completed) >= 50
    });

    // Back up while the worker runs.
    let file = dir.path().join("backup.jsonl");
    anp(&sqlite_url, &["backup", "--to"], &file);
    drop(worker);

    let (jobs, by_queue) = read_backup(&file);
    assert_eq!(jobs.len(), 348);
    let has = |state: &str| {
        jobs.iter()
            .any(|j| j.get("state") == Some(&Value::from(state)))
    };
    for state in ["completed", "dead", "running", "scheduled", "available"] {
        assert!(has(state), "the backup holds no {state} job");
    }
    assert!(
        jobs.iter().any(|j| j
            .get("errors")
            .and_then(Value::as_array)
            .is_some_and(|e| e.len() == 2)),
        "the backup holds a job with its error history"
    );

    // Into a fresh private Redis.
    let server = RedisServer::start();
    let redis_url = server.url();
    anp(&redis_url, &["restore", "--from"], &file);
    let redis = RedisStore::open(&redis_url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_same_jobs(&redis, &jobs, "redis").await;
    assert_eq!(
        counts(&redis).await,
        by_queue,
        "redis counts per queue/state"
    );
    // Lease tokens stay unique: the sequence is at least every restored running job's token.
    let max_token = jobs
        .iter()
        .filter(|j| j.get("queue") == Some(&Value::from("slow")))
        .filter_map(|j| j.get("lease_token").and_then(Value::as_i64))
        .max()
        .unwrap_or_else(|| panic!("no running slow job with a lease token"));
    let seq: i64 = server
        .cli(&[], &["GET", "anp:{slow}:lease_seq"])
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("lease_seq: {e}"));
    assert!(
        seq >= max_token,
        "lease_seq {seq} < restored token {max_token}"
    );
    // Importing again adds nothing.
    let again: Vec<anp_core::Job> = jobs
        .iter()
        .map(|j| serde_json::from_value(j.clone()).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    assert_eq!(redis.job_import_many(again).await.ok(), Some(0));

    // And back into a fresh SQLite file.
    let file2 = dir.path().join("backup2.jsonl");
    anp(&redis_url, &["backup", "--to"], &file2);
    let (jobs2, by_queue2) = read_backup(&file2);
    assert_eq!(jobs2.len(), jobs.len());
    assert_eq!(by_queue2, by_queue);
    let db2 = dir.path().join("b.db");
    let sqlite2_url = format!("sqlite://{}", db2.display());
    anp(&sqlite2_url, &["restore", "--from"], &file2);
    let back = open_sqlite(&db2).await;
    assert_same_jobs(&back, &jobs, "sqlite after redis").await;
    assert_eq!(
        counts(&back).await,
        by_queue,
        "sqlite counts per queue/state"
    );

    // The first backup into a fresh PostgreSQL database…
    let pg_db = tokio::task::spawn_blocking(pg::TestDb::new)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    anp(&pg_db.url, &["restore", "--from"], &file);
    let postgres = anp_postgres::PostgresStore::open(&pg_db.url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_same_jobs(&postgres, &jobs, "postgres").await;
    assert_eq!(
        counts(&postgres).await,
        by_queue,
        "postgres counts per queue/state"
    );
    // Fresh leases never reuse a restored token: the sequence is past every one of them.
    let all_max_token = jobs
        .iter()
        .filter_map(|j| j.get("lease_token").and_then(Value::as_i64))
        .max()
        .unwrap_or(0);
    let (host, port, name) = (
        pg::server().host.clone(),
        pg::server().port,
        pg_db.name.clone(),
    );
    let last = tokio::task::spawn_blocking(move || {
        let url = format!("host={host} port={port} user=postgres dbname={name}");
        pg::block_on(async move {
            let (c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            tokio::spawn(conn);
            c.query_one("SELECT last_value FROM anp_lease_tokens", &[])
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .get::<_, i64>(0)
        })
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        last >= all_max_token,
        "anp_lease_tokens {last} < restored token {all_max_token}"
    );
    let again: Vec<anp_core::Job> = jobs
        .iter()
        .map(|j| serde_json::from_value(j.clone()).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    assert_eq!(postgres.job_import_many(again).await.ok(), Some(0));
    // …and a backup of it into a fresh SQLite file.
    let file3 = dir.path().join("backup3.jsonl");
    anp(&pg_db.url, &["backup", "--to"], &file3);
    let (jobs3, by_queue3) = read_backup(&file3);
    assert_eq!(jobs3.len(), jobs.len());
    assert_eq!(by_queue3, by_queue);
    let db3 = dir.path().join("c.db");
    let sqlite3_url = format!("sqlite://{}", db3.display());
    anp(&sqlite3_url, &["restore", "--from"], &file3);
    let back3 = open_sqlite(&db3).await;
    assert_same_jobs(&back3, &jobs, "sqlite after postgres").await;
    assert_eq!(
        counts(&back3).await,
        by_queue,
        "sqlite counts after postgres"
    );
    drop(postgres);
}
