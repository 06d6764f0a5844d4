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

/// `anp` in `dir` with `env` set.
fn run_env(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut c = anp(dir);
    for (k, v) in env {
        c.env(k, v);
    }
    c.args(args).output().unwrap_or_else(|e| panic!("{e}"))
}

/// The `store` field of a `--json` object: `(url, from, config)`.
fn store_of(v: &Value) -> (String, String, Option<String>) {
    let s = &v["store"];
    assert!(s.is_object(), "no store object in {v}");
    (
        s["url"].as_str().unwrap_or_default().to_owned(),
        s["from"].as_str().unwrap_or_default().to_owned(),
        s["config"].as_str().map(str::to_owned),
    )
}

#[test]
fn json_output_names_the_store_and_where_it_came_from() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let d = dir.path();
    write(&d.join("anp.toml"), CONFIG);
    let from_cwd = (
        "sqlite://jobs.db".to_owned(),
        "./anp.toml".to_owned(),
        Some("anp.toml".to_owned()),
    );
    // Objects: the same `store` as `-v` logs.
    let out = run(d, &["--json", "enqueue", "ok"]);
    assert!(out.status.success(), "{}", text(&out));
    let enqueued = json(&out);
    assert!(enqueued["id"].is_string(), "{enqueued}");
    assert_eq!(store_of(&enqueued), from_cwd, "enqueue");
    let id = enqueued["id"].as_str().unwrap_or_default().to_owned();
    write(
        &d.join("imp.jsonl"),
        "{\"kind\": \"ok\", \"args\": {\"row\": 1}}\n",
    );
    for args in [
        &["--json", "jobs", "show", &id][..],
        &["--json", "status"],
        &["--json", "doctor"],
        &["--json", "bulk", "imp.jsonl"],
        &["--json", "queues", "pause", "default"],
    ] {
        let out = run(d, args);
        assert_eq!(store_of(&json(&out)), from_cwd, "{args:?}");
    }
    // Lists stay arrays (`-v` says which store).
    for args in [&["--json", "jobs", "list"][..], &["--json", "queues"]] {
        let out = run(d, args);
        assert!(json(&out).is_array(), "{args:?}: {}", text(&out));
    }
    // Every source, and the error object of a command that got as far as choosing a store.
    let out = run(d, &["--json", "--store", "sqlite://paly.db", "queues"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    let v = json(&out);
    assert!(v["error"]["message"].is_string(), "{v}");
    assert_eq!(
        store_of(&v),
        ("sqlite://paly.db".to_owned(), "--store".to_owned(), None)
    );
    let out = run_env(
        d,
        &[("ANP_STORE", "sqlite://paly.db")],
        &["--json", "status"],
    );
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert_eq!(
        store_of(&json(&out)),
        ("sqlite://paly.db".to_owned(), "ANP_STORE".to_owned(), None)
    );
    write(&d.join("other.toml"), "store = \"sqlite://other.db\"\n");
    let out = run_env(
        d,
        &[("ANP_CONFIG", "other.toml")],
        &["--json", "enqueue", "x"],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        store_of(&json(&out)),
        (
            "sqlite://other.db".to_owned(),
            "ANP_CONFIG".to_owned(),
            Some("other.toml".to_owned())
        )
    );
    let empty = d.join("empty");
    std::fs::create_dir(&empty).unwrap_or_else(|e| panic!("{e}"));
    let out = run(&empty, &["--json", "jobs", "show", &id]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert_eq!(
        store_of(&json(&out)),
        ("sqlite://anp.db".to_owned(), "default".to_owned(), None)
    );
    // A password never shows; an error before any store was chosen names none.
    let out = run_env(
        d,
        &[("ANP_STORE", "redis://u:topsecret@127.0.0.1:1")],
        &["--json", "status"],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(!text(&out).contains("topsecret"), "{}", text(&out));
    let (url, from, _) = store_of(&json(&out));
    assert_eq!(
        (url.as_str(), from.as_str()),
        ("redis://u:***@127.0.0.1:1", "ANP_STORE")
    );
    let out = run(d, &["--json", "enqueue", "bad kind!"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(json(&out).get("store").is_none(), "{}", text(&out));
}

/// Makes a named pipe at `path` that hands out `body` to exactly one reader, then removes
/// itself: a command that opens the file a second time waits forever (no writer is left).
fn read_once_file(path: &std::path::Path, body: &str) -> std::thread::JoinHandle<()> {
    let made = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap_or_else(|e| panic!("mkfifo: {e}"));
    assert!(made.success(), "mkfifo {}", path.display());
    let (path, body) = (path.to_owned(), body.to_owned());
    std::thread::spawn(move || {
        // Opening for writing waits for the reader.
        std::fs::write(&path, body).unwrap_or_else(|e| panic!("{e}"));
    })
}

#[test]
fn enqueue_and_bulk_read_the_config_once() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let d = dir.path();
    write(&d.join("imp.jsonl"), "{\"kind\": \"ok\"}\n");
    for args in [
        &["--json", "enqueue", "ok"][..],
        &["--json", "bulk", "imp.jsonl"],
    ] {
        let fifo = d.join("anp.toml");
        let writer = read_once_file(&fifo, CONFIG);
        let out = anp(d)
            .args(args)
            .timeout(std::time::Duration::from_secs(20))
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            out.status.success(),
            "{args:?} read anp.toml more than once (or failed): {}",
            text(&out)
        );
        writer
            .join()
            .unwrap_or_else(|_| panic!("the writer failed"));
        std::fs::remove_file(&fifo).unwrap_or_else(|e| panic!("{e}"));
        // Both the store and the kind's limit came from that one read.
        assert_eq!(store_of(&json(&out)).0, "sqlite://jobs.db", "{args:?}");
    }
    let out = run(
        d,
        &["--store", "sqlite://jobs.db", "--json", "jobs", "list"],
    );
    let jobs = json(&out);
    let limits: Vec<&Value> = jobs
        .as_array()
        .into_iter()
        .flatten()
        .map(|j| &j["max_attempts"])
        .collect();
    assert_eq!(limits, vec![&Value::from(3); 2], "{jobs}");
}

/// A child process killed (SIGTERM, then waited for) when dropped.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.0.id()).unwrap_or(0));
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let _ = self.0.wait();
    }
}

/// Starts `anp ARGS` in `dir` in the background (stdout and stderr to `log`).
fn spawn(dir: &Path, args: &[&str], env: &[(&str, &str)], log: &str) -> Running {
    let log = std::fs::File::create(dir.join(log)).unwrap_or_else(|e| panic!("{e}"));
    let err = log.try_clone().unwrap_or_else(|e| panic!("{e}"));
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_anp"));
    c.current_dir(dir)
        .env_remove("ANP_STORE")
        .env_remove("ANP_CONFIG")
        .env_remove("ANP_TOKEN")
        .env_remove("ANP_LOG")
        .args(args)
        .stdout(log)
        .stderr(err);
    for (k, v) in env {
        c.env(k, v);
    }
    Running(c.spawn().unwrap_or_else(|e| panic!("{e}")))
}

/// Polls `f` every 50 ms for up to 30 s.
fn wait_until<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = std::time::Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_gives_jobs_the_kind_limits_of_its_config() {
    const TOKEN: &str = "first-hour-token-0123456789";
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let d = dir.path().to_owned();
    write(&d.join("site.toml"), CONFIG);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"));
    let bind = format!("127.0.0.1:{port}");
    let _server = spawn(
        &d,
        &["serve", "--config", "site.toml", "--bind", &bind],
        &[("ANP_TOKEN", TOKEN)],
        "serve.log",
    );
    let base = format!("http://{bind}");
    let c = reqwest::Client::new();
    let mut healthy = false;
    for _ in 0..600 {
        if let Ok(r) = c.get(format!("{base}/healthz")).send().await {
            healthy = r.status().is_success();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let log = std::fs::read_to_string(d.join("serve.log")).unwrap_or_default();
    assert!(healthy, "anp serve --config site.toml did not start: {log}");
    let post = |path: &str, body: Value| {
        let rb = c
            .post(format!("{base}{path}"))
            .bearer_auth(TOKEN)
            .json(&body);
        async move {
            let r = rb.send().await.unwrap_or_else(|e| panic!("{e}"));
            let status = r.status().as_u16();
            (
                status,
                r.json::<Value>().await.unwrap_or_else(|e| panic!("{e}")),
            )
        }
    };
    let (status, one) = post("/api/jobs", serde_json::json!({"kind": "ok"})).await;
    assert_eq!(status, 201, "{one}");
    let (status, bulk) = post(
        "/api/jobs/bulk",
        serde_json::json!({"jobs": [
            {"kind": "ok", "args": {"n": 2}},
            {"kind": "ok", "args": {"n": 3}, "max_attempts": 7},
            {"kind": "other"},
        ]}),
    )
    .await;
    assert_eq!(status, 201, "{bulk}");
    assert!(
        one.get("store").is_none(),
        "the API's objects are unchanged: {one}"
    );
    // The jobs are in the config's store, with the kind's limit unless they gave their own.
    let ids = [
        &one["id"],
        &bulk["jobs"][0]["id"],
        &bulk["jobs"][1]["id"],
        &bulk["jobs"][2]["id"],
    ];
    let expected = [3, 3, 7, 25];
    for (id, want) in ids.iter().zip(expected) {
        let id = id.as_str().unwrap_or_default();
        let out = run(
            &d,
            &["--store", "sqlite://jobs.db", "--json", "jobs", "show", id],
        );
        assert_eq!(json(&out)["max_attempts"], want, "{id}: {}", text(&out));
        let out = run(&d, &["--store", "sqlite://jobs.db", "jobs", "show", id]);
        assert!(
            text(&out).contains(&format!("attempt      0 of {want}")),
            "{}",
            text(&out)
        );
    }
    let out = run(&d, &["--store", "sqlite://jobs.db", "jobs", "list"]);
    let listed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(listed.matches("\t0/3\t").count(), 2, "{listed}");
}

/// A worker for kind `thumbnail` on the store jobs.db (queue default).
const THUMBNAILS: &str = r#"store = "sqlite://jobs.db"

[[job]]
kind = "thumbnail"
command = ["true"]
"#;

#[test]
fn live_workers_say_which_kinds_they_serve() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let d = dir.path();
    write(&d.join("anp.toml"), CONFIG);
    write(&d.join("thumbs.toml"), THUMBNAILS);
    let out = run(d, &["enqueue", "ok"]);
    assert!(out.status.success(), "{}", text(&out));
    let _worker = spawn(
        d,
        &["work", "--config", "thumbs.toml", "--no-scheduler"],
        &[],
        "worker.log",
    );
    let workers = wait_until("the thumbnail worker to register", || {
        let out = run(d, &["--json", "workers"]);
        let v: Value = serde_json::from_slice(&out.stdout).ok()?;
        (v.as_array().map(Vec::len) == Some(1)).then_some(v)
    });
    assert_eq!(
        workers[0]["kinds"],
        serde_json::json!(["thumbnail"]),
        "{workers}"
    );
    let out = run(d, &["workers"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("\tthumbnail\t"),
        "a kinds column: {}",
        text(&out)
    );
    // anp.toml does not declare thumbnail, but a live worker serves it: no warning.
    let out = run(d, &["enqueue", "thumbnail"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains("warning"), "{}", text(&out));
    // Neither the config nor a live worker: a warning that says so (still enqueued).
    let out = run(d, &["enqueue", "nobody.serves"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(
            "kind nobody.serves is not declared in anp.toml (so `anp work` with it will not run \
             it) and no live worker serves it"
        ),
        "{}",
        text(&out)
    );
    // A live worker serves the kind, but not on this queue: it would never fetch the job.
    let out = run(d, &["enqueue", "thumbnail", "--queue", "video"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(
            "the live workers that serve it do not serve queue video (they serve default)"
        ),
        "{}",
        text(&out)
    );
    // Bulk: one warning per kind nobody serves.
    write(
        &d.join("imp.jsonl"),
        "{\"kind\": \"ok\"}\n{\"kind\": \"thumbnail\", \"args\": {\"n\": 1}}\n{\"kind\": \"nobody.serves\", \"args\": {\"n\": 1}}\n{\"kind\": \"nobody.serves\", \"args\": {\"n\": 2}}\n",
    );
    let out = run(d, &["bulk", "imp.jsonl"]);
    assert!(out.status.success(), "{}", text(&out));
    let warned = text(&out);
    assert_eq!(warned.matches("warning").count(), 1, "{warned}");
    assert!(warned.contains("kind nobody.serves"), "{warned}");
}
