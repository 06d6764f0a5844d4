//! The `anp` binary as a user runs it: bad input gets a clear error and its exit code and
//! changes nothing; `anp status` reads a deploy that made things worse.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anp_core::job::{ts_add, ts_sub};
use anp_core::monitor::{minute_of, DeployMarker, StatCounts, StatKey, StatsRecordParams};
use anp_core::{Kind, QueueName, Store};
use anp_sqlite::SqliteStore;
use assert_cmd::Command;

mod support;
use support::{attempt_error, fetch_and_ack, open_sqlite};

fn anp(db: &Path) -> Command {
    let mut c = Command::cargo_bin("anp").unwrap_or_else(|e| panic!("{e}"));
    c.env("ANP_STORE", format!("sqlite://{}", db.display()))
        .env_remove("ANP_CONFIG");
    c
}

/// `anp --json queues` on `db`, parsed.
fn queues_json(db: &Path) -> serde_json::Value {
    let out = anp(db)
        .args(["--json", "queues"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"))
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn bad_input_gets_its_exit_code_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let db = dir.path().join("anp.db");
    let ok = anp(&db)
        .args(["enqueue", "greet", r#"{"a":1}"#])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(ok.status.success(), "{}", stderr_of(&ok));
    let before = std::fs::read(&db).unwrap_or_else(|e| panic!("{e}"));
    let cases: &[(&[&str], i32, &str)] = &[
        (&["enqueue", "greet", "{bad"], 2, "job args: invalid JSON"),
        (
            &["enqueue", "bad kind"],
            2,
            "job kind: \"bad kind\" is invalid",
        ),
        (
            &["enqueue", "greet", "--queue", "Bad!"],
            2,
            "expected 1-64 chars of [a-z0-9_-]; not retried",
        ),
        (
            &["enqueue", "greet", "--in", "soon"],
            2,
            "--in: \"soon\" is not a duration",
        ),
        (
            &["enqueue", "greet", "--at", "tomorrow"],
            2,
            "--at: \"tomorrow\" is not a timestamp",
        ),
        (
            &["enqueue", "greet", "--priority", "12"],
            2,
            "priority: 12 is out of range",
        ),
        (&["jobs", "show", "nope"], 2, "\"nope\" is not a job id"),
        (
            &["jobs", "show", "01a213da-1ef9-7031-845b-0ca929d22533"],
            4,
            "not found",
        ),
        (
            &["jobs", "cancel", "01a213da-1ef9-7031-845b-0ca929d22533"],
            4,
            "not found",
        ),
        (
            &["cron", "next", "61 * * * *"],
            2,
            "minute field: value 61 out of range: expected 0-59",
        ),
        (
            &["cron", "next", "@daily", "--tz", "Mars/Base"],
            2,
            "unknown IANA time zone",
        ),
        (
            &["schedules", "pause", "nope"],
            4,
            "schedule nope not found",
        ),
        (&["--store", "foo://x", "queues"], 2, "is not a store URL"),
        (
            &["work", "--threads", "0"],
            2,
            "invalid value '0' for '--threads <N>': 0 is not in 1..=256",
        ),
    ];
    for (args, code, needle) in cases {
        let out = anp(&db)
            .args(*args)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(*code), "anp {args:?}: {err}");
        assert!(err.contains(needle), "anp {args:?}: {err}");
        assert!(out.stdout.is_empty(), "anp {args:?} printed on stdout");
    }
    // --json errors: one JSON value on stdout.
    let out = anp(&db)
        .args(["--json", "jobs", "show", "nope"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v["error"]["kind"], "invalid_input");
    assert_eq!(v["error"]["retry_safe"], false);
    assert_eq!(
        std::fs::read(&db).unwrap_or_else(|e| panic!("{e}")),
        before,
        "no bad input changed the database"
    );
}

/// `anp work` on its default single-thread runtime and on several threads (`--threads`,
/// `ANP_WORK_THREADS`) runs every job and exits when drained.
#[test]
fn work_runs_every_job_on_one_thread_or_several() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let config = dir.path().join("anp.toml");
    std::fs::write(&config, "[[job]]\nkind = \"noop\"\nbuiltin = \"noop\"\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let lines: String = (0..200)
        .map(|i| format!("{{\"kind\":\"noop\",\"args\":{{\"i\":{i}}}}}\n"))
        .collect();
    // (run, a --threads flag, ANP_WORK_THREADS)
    for (n, flag, env) in [
        (1, None, None),
        (2, Some("--threads=3"), None),
        (3, None, Some("2")),
    ] {
        let db = dir.path().join(format!("anp{n}.db"));
        let out = anp(&db)
            .args(["bulk", "-"])
            .write_stdin(lines.clone())
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(out.status.success(), "{}", stderr_of(&out));
        let mut work = anp(&db);
        work.arg("work").arg("--config").arg(&config);
        work.arg("--exit-when-drained")
            .timeout(Duration::from_secs(60));
        if let Some(flag) = flag {
            work.arg(flag);
        }
        if let Some(env) = env {
            work.env("ANP_WORK_THREADS", env);
        }
        let out = work.output().unwrap_or_else(|e| panic!("{e}"));
        assert!(out.status.success(), "run {n}: {}", stderr_of(&out));
        let v = queues_json(&db);
        assert_eq!(v[0]["counts"]["completed"], 200, "run {n}: {v}");
        assert_eq!(v[0]["counts"]["available"], 0, "run {n}: {v}");
    }
}

#[test]
fn foreign_files_are_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let text = dir.path().join("notes.db");
    std::fs::write(&text, "my notes\n").unwrap_or_else(|e| panic!("{e}"));
    let out = anp(&text)
        .arg("queues")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(6), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("is not a SQLite database"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(
        std::fs::read_to_string(&text).unwrap_or_default(),
        "my notes\n"
    );
    let missing_dir = dir.path().join("no/such/dir/anp.db");
    let out = anp(&missing_dir)
        .arg("queues")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
}

#[test]
fn json_output_is_one_value() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let db = dir.path().join("anp.db");
    let out = anp(&db)
        .args(["--json", "enqueue", "greet", "--unique", "k"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let first: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first["duplicate"], false);
    let out = anp(&db)
        .args(["--json", "enqueue", "greet", "--unique", "k"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let again: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["id"], first["id"]);
    for args in [
        &["--json", "queues"][..],
        &["--json", "jobs", "list"],
        &["--json", "workers"],
        &["--json", "deploy", "list"],
        &["--json", "schedules", "list"],
    ] {
        let out = anp(&db)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(out.status.success(), "{args:?}: {}", stderr_of(&out));
        let _: serde_json::Value =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_reports_a_deploy_that_made_failures_rise() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let db = dir.path().join("anp.db");
    let store = open_sqlite(&db).await;
    let now = jiff::Timestamp::now();
    let deploy_at = ts_sub(now, Duration::from_secs(10 * 60));
    let key = |t| StatKey {
        minute: minute_of(t),
        queue: QueueName::parse("default").unwrap_or_else(|e| panic!("{e}")),
        kind: Kind::parse("email.send").unwrap_or_else(|e| panic!("{e}")),
    };
    let counts = |completed, failed| {
        let mut c = StatCounts {
            completed,
            failed,
            ..Default::default()
        };
        for _ in 0..(completed + failed) {
            c.run.record(Duration::from_millis(30));
            c.wait.record(Duration::from_millis(2));
        }
        c
    };
    let mut deltas = BTreeMap::new();
    deltas.insert(
        key(ts_sub(deploy_at, Duration::from_secs(5 * 60))),
        counts(100, 2),
    );
    deltas.insert(
        key(ts_add(deploy_at, Duration::from_secs(5 * 60))),
        counts(60, 40),
    );
    store
        .stats_record(StatsRecordParams {
            deltas,
            prune_before: None,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .deploy_mark(DeployMarker {
            at: deploy_at,
            version: "v42".into(),
            owner: Some("web".into()),
            rollback: Some("deploy v41".into()),
            note: None,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let out = anp(&db)
        .args(["--json", "status"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(8), "{}", stderr_of(&out));
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    for key in ["up", "slow", "failing", "deploy"] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert_eq!(v["deploy"]["verdict"], "worse", "{}", v["deploy"]);
    assert_eq!(v["deploy"]["last"]["rollback"], "deploy v41");
    assert_eq!(v["deploy"]["before"]["failed"], 2);
    assert_eq!(v["deploy"]["after"]["failed"], 40);
    assert!(v["problems"].as_array().is_some_and(|p| p.iter().any(|x| x
        .as_str()
        .unwrap_or("")
        .contains("deploy v42 made things worse"))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_restores_every_job_state_and_history() {
    use anp_core::store::{AckOutcome, JobEnqueueManyParams, JobListParams};
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (a, b) = (dir.path().join("a.db"), dir.path().join("b.db"));
    let store = open_sqlite(&a).await;
    let now = jiff::Timestamp::now();
    let jobs: Vec<_> = (0..6)
        .map(|i| {
            anp_core::NewJob::new(
                Kind::parse("k").unwrap_or_else(|e| panic!("{e}")),
                anp_core::Args::from_json(&format!("{{\"i\":{i}}}"))
                    .unwrap_or_else(|e| panic!("{e}")),
            )
        })
        .collect();
    store
        .job_enqueue_many(JobEnqueueManyParams { jobs, now })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // Three fetched: one completed, one retryable, one left running.
    let outcomes = vec![
        AckOutcome::Complete,
        AckOutcome::Retry {
            at: ts_add(now, Duration::from_secs(60)),
            error: attempt_error(now, "boom"),
        },
    ];
    fetch_and_ack(&store, now, 3, outcomes).await;
    store
        .deploy_mark(DeployMarker {
            at: now,
            version: "v1".into(),
            owner: None,
            rollback: Some("r".into()),
            note: None,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let file = dir.path().join("backup.jsonl");
    let out = anp(&a)
        .args(["backup", "--to"])
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success(), "{}", stderr_of(&out));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&file)
            .map(|m| m.permissions().mode() & 0o777)
            .ok(),
        Some(0o600)
    );
    let out = anp(&b)
        .args(["--json", "restore", "--from"])
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success(), "{}", stderr_of(&out));
    let restored = open_sqlite(&b).await;
    let all = |s: SqliteStore| async move {
        let jobs = s
            .job_list(JobListParams {
                limit: 1000,
                ..Default::default()
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        serde_json::to_value(jobs).unwrap_or_else(|e| panic!("{e}"))
    };
    let (before, after) = (all(store.clone()).await, all(restored.clone()).await);
    assert_eq!(before.as_array().map(|a| a.len()), Some(6));
    assert_eq!(
        before, after,
        "every job, state and history restored as it was"
    );
    assert_eq!(restored.deploy_list(5).await.map(|d| d.len()).ok(), Some(1));
    // A second restore into the now non-empty store is refused; a truncated file changes nothing.
    let out = anp(&b)
        .args(["restore", "--from"])
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(5), "{}", stderr_of(&out));
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    let cut = dir.path().join("cut.jsonl");
    std::fs::write(&cut, &text[..text.len() / 2]).unwrap_or_else(|e| panic!("{e}"));
    let c = dir.path().join("c.db");
    let out = anp(&c)
        .args(["restore", "--from"])
        .arg(&cut)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("nothing was restored"),
        "{}",
        stderr_of(&out)
    );
}

/// `anp queues purge`: without `--yes` it exits 2 saying what it would delete and deletes
/// nothing; `--state running` is refused; with `--yes` it deletes the chosen states of that
/// queue only, keeps running jobs, and prints the count (text and `--json`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queues_purge_needs_yes_and_deletes_one_queue() {
    use anp_conformance::util::{enqueue, fetch, new_job, plus};
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let db = dir.path().join("anp.db");
    let store = open_sqlite(&db).await;
    let now = jiff::Timestamp::now();
    let mut later = new_job("greet", "mail", 9);
    later.run_at = Some(plus(now, 3600));
    let mut jobs: Vec<_> = (0..3).map(|n| new_job("greet", "mail", n)).collect();
    jobs.push(later);
    jobs.push(new_job("greet", "other", 1));
    enqueue(&store, jobs, now).await;
    let running = fetch(&store, "mail", 1, now).await;
    assert_eq!(running.len(), 1);
    // mail: 2 available, 1 scheduled, 1 running; other: 1 available.
    let counts = |queue: &str| {
        let v = queues_json(&db);
        v.as_array()
            .and_then(|a| a.iter().find(|q| q["queue"] == queue))
            .map(|q| q["counts"].clone())
            .unwrap_or(serde_json::Value::Null)
    };
    let before = counts("mail");
    assert_eq!(before["available"], 2, "{before}");

    let out = anp(&db)
        .args(["queues", "purge", "mail"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    for want in [
        "would delete 3 jobs of queue mail",
        "1 scheduled",
        "2 available",
        "1 running jobs are kept",
        "--yes",
    ] {
        assert!(err.contains(want), "{want:?} missing in {err}");
    }
    assert_eq!(counts("mail"), before, "nothing deleted without --yes");

    let out = anp(&db)
        .args(["--json", "queues", "purge", "mail", "--state", "dead"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v["error"]["kind"], "invalid_input", "{v}");

    let out = anp(&db)
        .args(["queues", "purge", "mail", "--state", "running", "--yes"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("cancelled first"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(counts("mail"), before, "nothing deleted for running");

    let out = anp(&db)
        .args(["queues", "purge", "mail", "--state", "scheduled", "--yes"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("deleted 1 jobs of queue mail"), "{text}");
    assert!(text.contains("1 running jobs were kept"), "{text}");

    let out = anp(&db)
        .args(["--json", "queues", "purge", "mail", "--yes"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success(), "{}", stderr_of(&out));
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (v["deleted"].clone(), v["running_kept"].clone()),
        (2.into(), 1.into()),
        "{v}"
    );
    assert_eq!(v["queue"], "mail", "{v}");

    let after = counts("mail");
    assert_eq!(
        (
            after["running"].clone(),
            after["available"].clone(),
            after["scheduled"].clone()
        ),
        (1.into(), 0.into(), 0.into()),
        "{after}"
    );
    assert_eq!(
        counts("other")["available"],
        1,
        "other queues are untouched"
    );
    assert_eq!(
        store.job_get(running[0].id).await.map(|j| j.state).ok(),
        Some(anp_core::JobState::Running)
    );
}
