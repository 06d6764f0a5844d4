//! Migration 0006 (args and error history off the hot `jobs` row): a schema-5 file, built at test
//! time by applying migrations 0001–0005 exactly as `migrate.rs` does, with jobs in every state,
//! unique keys, a schedule and a paused queue, opened by the current code (which migrates it to
//! 6) and checked field by field.
#![allow(clippy::unwrap_used)]

mod fixture;

use anp_core::job::ts_micros;
use anp_core::store::{AckOutcome, AckResult, JobEnqueueManyParams, JobHeartbeatManyParams};
use anp_core::{Args, AttemptError, Job, JobId, JobState, NewJob, Store, Unique};
use anp_sqlite::{SqliteOptions, SqliteStore, SCHEMA_VERSION};
use fixture::*;
use rusqlite::{params, Connection};

/// Migrations 0001–0005 as released (the files are never edited once released).
const V5: [(u32, &str, &str); 5] = [
    (
        1,
        "0001_jobs_and_queues",
        include_str!("../migrations/0001_jobs_and_queues.sql"),
    ),
    (
        2,
        "0002_schedules",
        include_str!("../migrations/0002_schedules.sql"),
    ),
    (
        3,
        "0003_operations",
        include_str!("../migrations/0003_operations.sql"),
    ),
    (
        4,
        "0004_cache",
        include_str!("../migrations/0004_cache.sql"),
    ),
    (
        5,
        "0005_process_kinds",
        include_str!("../migrations/0005_process_kinds.sql"),
    ),
];

fn err(attempt: u32, secs: u64, message: &str, retry_safe: bool) -> AttemptError {
    AttemptError {
        attempt,
        at: at(secs),
        message: message.to_owned(),
        retry_safe,
    }
}

/// A job as a schema-5 row would hold it.
#[allow(clippy::too_many_arguments)]
fn job(
    n: u8,
    state: JobState,
    args: &str,
    attempt: u32,
    unique_key: Option<&str>,
    errors: Vec<AttemptError>,
) -> Job {
    let finalized = matches!(
        state,
        JobState::Completed | JobState::Dead | JobState::Cancelled
    );
    let running = state == JobState::Running;
    Job {
        id: JobId::parse(&format!("0193a000-0000-7000-8000-0000000000{n:02}")).unwrap(),
        kind: kind("mail"),
        queue: q("default"),
        args: Args::from_json(args).unwrap(),
        state,
        priority: n % 10,
        attempt,
        max_attempts: 3,
        run_at: at(100 + u64::from(n)),
        created_at: at(u64::from(n)),
        attempted_at: (attempt > 0).then(|| at(50 + u64::from(n))),
        finalized_at: finalized.then(|| at(200 + u64::from(n))),
        unique_key: unique_key.map(str::to_owned),
        lease_owner: running.then(|| "worker-1".to_owned()),
        lease_expires_at: running.then(|| at(10_000)),
        lease_token: running.then_some(-4_242_424_242),
        errors,
    }
}

fn jobs() -> Vec<Job> {
    let big = format!(r#"{{"pad": "{}"}}"#, "x".repeat(10_240));
    vec![
        job(
            1,
            JobState::Available,
            r#"{"i": 1}"#,
            0,
            Some("k-avail"),
            vec![],
        ),
        job(
            2,
            JobState::Scheduled,
            r#"{"i": 2, "s": "é"}"#,
            0,
            None,
            vec![],
        ),
        job(3, JobState::Running, &big, 1, Some("k-running"), vec![]),
        job(
            4,
            JobState::Retryable,
            r#"[1, 2, 3]"#,
            2,
            None,
            vec![
                err(1, 60, "boom", true),
                err(2, 61, "boom again \"quoted\"", true),
            ],
        ),
        job(
            5,
            JobState::Completed,
            r#"{"i": 5}"#,
            1,
            Some("k-done"),
            vec![],
        ),
        job(
            6,
            JobState::Dead,
            r#"{"i": 6}"#,
            3,
            None,
            vec![
                err(1, 70, "a", true),
                err(2, 71, "b", true),
                err(3, 72, "c", false),
            ],
        ),
        job(
            7,
            JobState::Cancelled,
            "null",
            1,
            Some("k-cancelled"),
            vec![err(1, 80, "cancelled by operator", false)],
        ),
    ]
}

/// Writes a schema-5 file at `path` holding `jobs`, a schedule and a paused queue; returns each
/// job's rowid.
fn write_v5(path: &std::path::Path, jobs: &[Job]) -> Vec<i64> {
    let mut c = Connection::open(path).unwrap();
    let tx = c.transaction().unwrap();
    for (version, name, sql) in V5 {
        tx.execute_batch(sql).unwrap();
        tx.execute(
            "INSERT INTO anp_schema (version, name, applied_at) VALUES (?1, ?2, 0)",
            params![version, name],
        )
        .unwrap();
    }
    let mut rowids = Vec::new();
    for j in jobs {
        tx.execute(
            "INSERT INTO jobs (id, kind, queue, args, state, priority, attempt, max_attempts, \
             run_at, created_at, attempted_at, finalized_at, unique_key, lease_owner, \
             lease_expires_at, lease_token, errors) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
            params![
                j.id.to_string(),
                j.kind.as_str(),
                j.queue.as_str(),
                j.args.as_json(),
                j.state.as_str(),
                j.priority,
                j.attempt,
                j.max_attempts,
                ts_micros(j.run_at),
                ts_micros(j.created_at),
                j.attempted_at.map(ts_micros),
                j.finalized_at.map(ts_micros),
                j.unique_key,
                j.lease_owner,
                j.lease_expires_at.map(ts_micros),
                j.lease_token,
                serde_json::to_string(&j.errors).unwrap(),
            ],
        )
        .unwrap();
        rowids.push(tx.last_insert_rowid());
    }
    tx.execute(
        "INSERT INTO queues (name, paused, updated_at) VALUES ('paused-q', 1, 0)",
        [],
    )
    .unwrap();
    tx.execute(
        "INSERT INTO schedules (name, def, paused, last_tick, created_at, updated_at) \
         VALUES ('nightly', '{\"x\": 1}', 0, 5, 1, 2)",
        [],
    )
    .unwrap();
    tx.commit().unwrap();
    rowids
}

/// `got` equals `want`, field by field.
fn assert_same(got: &Job, want: &Job) {
    let id = want.id;
    assert_eq!(got.id, want.id);
    assert_eq!(got.kind, want.kind, "{id} kind");
    assert_eq!(got.queue, want.queue, "{id} queue");
    assert_eq!(got.args.as_json(), want.args.as_json(), "{id} args");
    assert_eq!(got.state, want.state, "{id} state");
    assert_eq!(got.priority, want.priority, "{id} priority");
    assert_eq!(got.attempt, want.attempt, "{id} attempt");
    assert_eq!(got.max_attempts, want.max_attempts, "{id} max_attempts");
    assert_eq!(got.run_at, want.run_at, "{id} run_at");
    assert_eq!(got.created_at, want.created_at, "{id} created_at");
    assert_eq!(got.attempted_at, want.attempted_at, "{id} attempted_at");
    assert_eq!(got.finalized_at, want.finalized_at, "{id} finalized_at");
    assert_eq!(got.unique_key, want.unique_key, "{id} unique_key");
    assert_eq!(got.lease_owner, want.lease_owner, "{id} lease_owner");
    assert_eq!(
        got.lease_expires_at, want.lease_expires_at,
        "{id} lease_expires_at"
    );
    assert_eq!(got.lease_token, want.lease_token, "{id} lease_token");
    assert_eq!(got.errors, want.errors, "{id} errors");
}

fn count(c: &Connection, sql: &str) -> i64 {
    c.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[tokio::test]
async fn a_schema_5_file_is_migrated_to_6_without_losing_a_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v5.db");
    let want = jobs();
    let rowids = write_v5(&path, &want);

    let s = SqliteStore::open(SqliteOptions::new(&path)).await.unwrap();
    // Opening migrates to the newest schema (6, then 7's audit table and 8's queue slots, which
    // add a table each).
    assert_eq!(SCHEMA_VERSION, 8);
    assert_eq!(s.store_ping().await.unwrap().schema_version, 8);

    // Every job, field by field.
    for w in &want {
        assert_same(&s.job_get(w.id).await.unwrap(), w);
    }

    // The layout: no args or errors on the jobs row, each job's rowid kept as seq, one args row
    // per job, one history row per job with a history.
    {
        let c = Connection::open(&path).unwrap();
        let cols: Vec<String> = c
            .prepare("SELECT name FROM pragma_table_info('jobs')")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert!(
            !cols.iter().any(|c| c == "args" || c == "errors"),
            "{cols:?}"
        );
        for (w, rowid) in want.iter().zip(&rowids) {
            let seq: i64 = c
                .query_row(
                    "SELECT seq FROM jobs WHERE id = ?1",
                    [w.id.to_string()],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(seq, *rowid, "{}", w.id);
        }
        assert_eq!(count(&c, "SELECT count(*) FROM job_args"), 7);
        assert_eq!(count(&c, "SELECT count(*) FROM job_errors"), 3);
        let versions: Vec<(i64, String)> = c
            .prepare("SELECT version, name FROM anp_schema ORDER BY version")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(versions.len(), 8);
        assert_eq!(versions[5], (6, "0006_args_off_the_hot_row".to_owned()));
        assert_eq!(versions[6], (7, "0007_audit".to_owned()));
        assert_eq!(versions[7], (8, "0008_job_extents".to_owned()));
        // Every index of schema 5 is still there, under its name.
        for index in [
            "jobs_fetch",
            "jobs_due",
            "jobs_lease",
            "jobs_queue_state",
            "jobs_state_id",
            "jobs_finished",
            "jobs_dead",
            "jobs_unique_live",
            "jobs_unique_recent",
        ] {
            assert_eq!(
                count(
                    &c,
                    &format!(
                        "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = '{index}'"
                    )
                ),
                1,
                "{index}"
            );
        }
    }

    // Queues and schedules came through (the schedule's row as written: migration 0006 does not
    // touch it).
    let queues = s.queue_list().await.unwrap();
    let paused = queues.iter().find(|q| q.queue.as_str() == "paused-q");
    assert!(paused.is_some_and(|q| q.paused), "{queues:?}");
    let schedule: (String, String, i64) = Connection::open(&path)
        .unwrap()
        .query_row("SELECT name, def, last_tick FROM schedules", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    assert_eq!(schedule, ("nightly".into(), "{\"x\": 1}".into(), 5));

    // Unique keys: the live holders still hold theirs, finished jobs' keys are free.
    let enqueue = |key: &str| {
        let mut j = NewJob::new(kind("mail"), Args::from_json("{}").unwrap());
        j.queue = q("default");
        j.unique = Some(Unique::key(key).unwrap());
        JobEnqueueManyParams {
            jobs: vec![j],
            now: at(300),
        }
    };
    let r = s.job_enqueue_many(enqueue("k-avail")).await.unwrap();
    assert!(r[0].duplicate && r[0].id == want[0].id, "{r:?}");
    let r = s.job_enqueue_many(enqueue("k-running")).await.unwrap();
    assert!(r[0].duplicate && r[0].id == want[2].id, "{r:?}");
    let r = s.job_enqueue_many(enqueue("k-done")).await.unwrap();
    assert!(!r[0].duplicate, "{r:?}");
    // A job enqueued after migration 0008 is numbered in its queue's extent, above every
    // migrated job's number (src/seq.rs); the migrated jobs kept theirs (above).
    let seq: i64 = Connection::open(&path)
        .unwrap()
        .query_row(
            "SELECT seq FROM jobs WHERE id = ?1",
            [r[0].id.to_string()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        seq,
        rowids.iter().max().unwrap() + 1,
        "the first number of the first extent"
    );

    // The running job's lease (fencing token) survived: heartbeat and ack apply, and the args and
    // history are untouched by them.
    let running = &want[2];
    let lease = running.lease().unwrap();
    let hb = s
        .job_heartbeat_many(JobHeartbeatManyParams {
            leases: vec![lease.clone()],
            lease_until: at(20_000),
        })
        .await
        .unwrap();
    assert_eq!(hb, vec![true]);
    let r = ack(
        &s,
        lease,
        AckOutcome::Retry {
            at: at(500),
            error: err(1, 400, "after migration", true),
        },
        at(400),
    )
    .await;
    assert_eq!(r, AckResult::Applied);
    let after = s.job_get(running.id).await.unwrap();
    assert_eq!(after.state, JobState::Retryable);
    assert_eq!(after.args.as_json(), running.args.as_json());
    assert_eq!(after.errors, vec![err(1, 400, "after migration", true)]);

    // Deleting a job deletes its side rows.
    s.job_delete(want[5].id).await.unwrap();
    let c = Connection::open(&path).unwrap();
    assert_eq!(
        count(
            &c,
            "SELECT count(*) FROM job_args WHERE job NOT IN (SELECT seq FROM jobs)"
        ),
        0
    );
    assert_eq!(
        count(
            &c,
            "SELECT count(*) FROM job_errors WHERE job NOT IN (SELECT seq FROM jobs)"
        ),
        0
    );
    assert_eq!(count(&c, "SELECT count(*) FROM job_errors"), 3); // 4, 7 and the retried 3
}
