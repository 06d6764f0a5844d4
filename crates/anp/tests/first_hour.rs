//! The traps a new user met in their first hour (issue 13), each as the user hit it: a store
//! set in anp.toml that only some commands used, a typo in a SQLite path that left an empty
//! database behind, a config whose command does not exist, a kind no worker runs, a per-kind
//! attempt limit shown differently in different places, a cron expression that never fires.

use std::path::Path;
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

/// `anp` run in `dir` with no store or config from the environment.
fn anp(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("anp").unwrap_or_else(|e| panic!("{e}"));
    c.current_dir(dir)
        .env_remove("ANP_STORE")
        .env_remove("ANP_CONFIG")
        .env_remove("ANP_TOKEN")
        .env_remove("ANP_LOG");
    c
}

fn run(dir: &Path, args: &[&str]) -> Output {
    anp(dir)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(out)))
}

fn write(path: &Path, body: &str) {
    std::fs::write(path, body).unwrap_or_else(|e| panic!("{e}"));
}

/// A config whose store is `jobs.db` and whose kinds are `ok` (writes its environment to
/// `env.txt`) and `limited` (max_attempts = 3).
const CONFIG: &str = r#"store = "sqlite://jobs.db"

[[job]]
kind = "ok"
command = ["sh", "-c", "env > env.txt"]
max_attempts = 3
"#;

#[test]
fn the_store_in_anp_toml_is_the_store_of_every_command() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let d = dir.path();
    write(&d.join("anp.toml"), CONFIG);
    let out = run(d, &["enqueue", "ok", r#"{"n":1}"#]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        d.join("jobs.db").exists(),
        "enqueue used the config's store"
    );
    assert!(!d.join("anp.db").exists(), "and not the default one");
    let out = run(d, &["work", "--config", "anp.toml", "--exit-when-drained"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = run(d, &["--json", "jobs", "list"]);
    let jobs = json(&out);
    assert_eq!(jobs[0]["state"], "completed", "{jobs}");
    // The limit of the kind, everywhere: in the job, and in the command's environment.
    assert_eq!(jobs[0]["max_attempts"], 3, "{jobs}");
    let env = std::fs::read_to_string(d.join("env.txt")).unwrap_or_default();
    assert!(env.contains("ANP_MAX_ATTEMPTS=3"), "{env}");
    // -v says which store a command used and why.
    let out = run(d, &["-v", "queues"]);
    assert!(text(&out).contains("jobs.db"), "{}", text(&out));
    assert!(text(&out).contains("anp.toml's store"), "{}", text(&out));
}

#[test]
fn a_kind_limit_caps_jobs_enqueued_with_more_attempts() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let d = dir.path();
    write(&d.join("anp.toml"), CONFIG);
    let out = run(d, &["enqueue", "ok", "--max-attempts", "25"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = run(d, &["work", "--config", "anp.toml", "--exit-when-drained"]);
    assert!(out.status.success(), "{}", text(&out));
    let env = std::fs::read_to_string(d.join("env.txt")).unwrap_or_default();
    assert!(
        env.contains("ANP_MAX_ATTEMPTS=3"),
        "the handler sees the cap: {env}"
    );
}

#[test]
fn read_commands_never_create_a_database() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let d = dir.path();
    for args in [
        &["queues"][..],
        &["jobs", "list"],
        &["status"],
        &["schedules", "list"],
        &["workers"],
        &["deploy", "list"],
    ] {
        let mut all = vec!["--store", "sqlite://paly.db"];
        all.extend_from_slice(args);
        let out = run(d, &all);
        assert_eq!(out.status.code(), Some(4), "{args:?}: {}", text(&out));
        assert!(
            text(&out).contains("paly.db does not exist"),
            "{}",
            text(&out)
        );
        assert!(!d.join("paly.db").exists(), "{args:?} left paly.db behind");
    }
}

#[test]
fn doctor_finds_commands_that_cannot_run_and_urls_that_do_not_parse() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let d = dir.path();
    write(&d.join("plain.sh"), "#!/bin/sh\nexit 0\n");
    write(
        &d.join("anp.toml"),
        r#"
[[job]]
kind = "typo"
command = ["./wrok.sh"]

[[job]]
kind = "notexec"
command = ["./plain.sh"]

[[job]]
kind = "nopath"
command = ["no-such-program-anp"]

[[job]]
kind = "fine"
command = ["sh", "-c", "true"]
"#,
    );
    let out = run(d, &["--store", "sqlite://anp.db", "--json", "doctor"]);
    assert_eq!(out.status.code(), Some(8), "{}", text(&out));
    let report = json(&out);
    let failed: Vec<String> = report["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["ok"] == false)
        .map(|c| c["detail"].as_str().unwrap_or("").to_owned())
        .collect();
    let find = |kind: &str, what: &str| {
        assert!(
            failed
                .iter()
                .any(|f| f.contains(&format!("job {kind}:")) && f.contains(what)),
            "{kind}: {what}: {failed:?}"
        )
    };
    find("typo", "cannot be run");
    find("notexec", "is not executable");
    find("nopath", "not found on PATH");
    assert!(
        !failed.iter().any(|f| f.contains("job fine:")),
        "{failed:?}"
    );
    // An HTTP kind's URL is checked when the config is read.
    write(
        &d.join("anp.toml"),
        "[[job]]\nkind = \"hook\"\nurl = \"http://exa mple.com/hook\"\n",
    );
    let out = run(d, &["--store", "sqlite://anp.db", "doctor"]);
    assert_eq!(out.status.code(), Some(8), "{}", text(&out));
    assert!(text(&out).contains("is not a URL"), "{}", text(&out));
}

#[test]
fn a_kind_no_worker_runs_is_named_not_waited_for() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let d = dir.path();
    write(&d.join("anp.toml"), CONFIG);
    let out = run(d, &["enqueue", "shell.work"]);
    assert!(out.status.success(), "enqueued anyway: {}", text(&out));
    assert!(
        text(&out).contains("kind shell.work is not declared in anp.toml"),
        "{}",
        text(&out)
    );
    let out = run(d, &["enqueue", "ok"]);
    assert!(!text(&out).contains("warning"), "{}", text(&out));
    // The worker runs `ok`, then stops: `shell.work` would never finish here.
    let out = anp(d)
        .args(["work", "--config", "anp.toml", "--exit-when-drained"])
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("1 shell.work"),
        "names what it left: {}",
        text(&out)
    );
}

#[test]
fn a_cron_expression_that_never_fires_is_refused() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for expr in ["0 0 31 2 *", "0 0 30 2 *"] {
        let out = run(dir.path(), &["cron", "next", expr]);
        assert_eq!(out.status.code(), Some(2), "{expr}: {}", text(&out));
        assert!(text(&out).contains("matches no date"), "{}", text(&out));
    }
    // Only in a zone's daylight-saving gap: also refused, with the reason.
    let out = run(
        dir.path(),
        &["cron", "next", "*/5 2 * 3 0L", "--tz", "Europe/Berlin"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("never fires"), "{}", text(&out));
}

#[test]
fn a_schedule_that_never_fired_says_never() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let d = dir.path();
    write(
        &d.join("anp.toml"),
        &format!(
            "{CONFIG}\n[[schedule]]\nname = \"new-year\"\ncron = \"0 0 1 1 *\"\nkind = \"ok\"\n"
        ),
    );
    let out = run(d, &["enqueue", "ok"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = run(d, &["work", "--exit-when-drained"]);
    assert!(out.status.success(), "{}", text(&out));
    // Registered (its last tick is set to the registration instant) but never enqueued a job:
    // the list says "never", not "0s ago" (issue 13).
    let out = run(d, &["schedules", "list"]);
    let listed = String::from_utf8_lossy(&out.stdout).into_owned();
    let row = listed
        .lines()
        .find(|l| l.starts_with("new-year"))
        .unwrap_or_else(|| panic!("no new-year row: {}", text(&out)));
    assert!(row.contains("never"), "{row}");
    assert!(!row.contains(" ago"), "{row}");
}

#[test]
fn status_names_recent_failures_and_what_is_dead_now() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let d = dir.path();
    write(
        &d.join("anp.toml"),
        "[[job]]\nkind = \"fail\"\ncommand = [\"sh\", \"-c\", \"echo boom >&2; exit 3\"]\nmax_attempts = 1\n",
    );
    for _ in 0..2 {
        let out = run(d, &["enqueue", "fail"]);
        assert!(out.status.success(), "{}", text(&out));
    }
    let out = run(d, &["work", "--exit-when-drained"]);
    assert!(out.status.success(), "{}", text(&out));
    // The two dead jobs are retried by hand: none is dead now, two went dead recently.
    let out = run(d, &["jobs", "retry", "--all-dead"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = run(d, &["status"]);
    let human = text(&out);
    assert!(
        human.contains("2 jobs went dead in the last 15 min")
            && human.contains("0 dead jobs in the store now"),
        "{human}"
    );
    // The most frequent recent error is named on SQLite too (it was empty there).
    let out = run(d, &["--json", "status"]);
    let status = json(&out);
    let top = &status["failing"]["top_errors"];
    assert_eq!(top[0]["kind"], "fail", "{status}");
    assert!(
        top[0]["message"].as_str().unwrap_or("").contains("boom"),
        "{status}"
    );
}
