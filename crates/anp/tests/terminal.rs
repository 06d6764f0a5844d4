//! What a person or a script sees of `anp` (issue 13): piped output is tab-separated with a
//! header line, no box characters and no colour; `-q` prints only ids; `--json` turns every
//! error, argument errors included, into one JSON object on stdout; human messages carry no
//! internal op names; job ids are taken by unique prefix or suffix; a reader that stops early
//! (`| head -c 10`) ends `anp` quietly with exit code 0; completions and man pages come out.
//! In a pseudo-terminal (rexpect): a table fits 80 columns with job ids whole, and job states
//! are coloured, unless `NO_COLOR` is set.

use std::io::Read;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anp_core::job::ts_add;
use anp_core::store::{AckOutcome, JobEnqueueManyParams};
use anp_core::{Args, JobId, Kind, NewJob, Store};
use assert_cmd::Command;

mod support;
use support::{attempt_error, fetch_and_ack, open_sqlite};

/// Variables of the caller's shell that would change colour, width or the store's config.
const CALLER_ENV: [&str; 5] = [
    "ANP_CONFIG",
    "NO_COLOR",
    "CLICOLOR_FORCE",
    "CLICOLOR",
    "COLUMNS",
];

/// Characters of the Unicode box-drawing block (what tables are drawn with on a terminal).
fn has_box_drawing(s: &str) -> bool {
    s.chars().any(|c| ('\u{2500}'..='\u{257f}').contains(&c))
}

/// `anp` on the SQLite store `db`, with no colour or width settings from the caller's shell.
fn anp(db: &Path) -> Command {
    let mut c = Command::cargo_bin("anp").unwrap_or_else(|e| panic!("{e}"));
    c.env("ANP_STORE", format!("sqlite://{}", db.display()));
    for var in CALLER_ENV {
        c.env_remove(var);
    }
    c
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Seeds `n` jobs of kind `email.send` in queue `default` (newest last in the returned ids):
/// the first three are fetched and end completed, retryable (with a long error) and dead.
async fn seed(db: &Path, n: usize) -> Vec<JobId> {
    let store = open_sqlite(db).await;
    let now = jiff::Timestamp::now();
    let jobs: Vec<NewJob> = (0..n)
        .map(|i| {
            NewJob::new(
                Kind::parse("email.send").unwrap_or_else(|e| panic!("{e}")),
                Args::from_json(&format!("{{\"i\":{i}}}")).unwrap_or_else(|e| panic!("{e}")),
            )
        })
        .collect();
    let ids: Vec<JobId> = store
        .job_enqueue_many(JobEnqueueManyParams { jobs, now })
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .iter()
        .map(|e| e.id)
        .collect();
    let outcomes = vec![
        AckOutcome::Complete,
        AckOutcome::Retry {
            at: ts_add(now, Duration::from_secs(600)),
            error: attempt_error(
                now,
                "connection refused by smtp.example.com:587 while sending the weekly newsletter",
            ),
        },
        AckOutcome::Dead {
            error: attempt_error(now, "mailbox unavailable"),
        },
    ];
    fetch_and_ack(&store, now, 3, outcomes).await;
    ids
}

fn dead_id(db: &Path) -> String {
    let out = anp(db)
        .args(["jobs", "list", "--state", "dead", "-q"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout).trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn piped_tables_are_tab_separated_without_box_characters_or_colour() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let db = dir.path().join("anp.db");
    let ids = seed(&db, 5).await;
    let out = anp(&db)
        .args(["jobs", "list"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.first().copied(),
        Some("id\tkind\tqueue\tstate\tattempt\trun at\tlast error"),
        "{stdout}"
    );
    assert_eq!(lines.len(), 1 + ids.len(), "{stdout}");
    assert!(lines.iter().all(|l| l.split('\t').count() == 7), "{stdout}");
    assert!(!has_box_drawing(&stdout), "{stdout}");
    assert!(!stdout.contains('\x1b'), "{stdout}");
    for id in &ids {
        assert!(
            stdout.contains(&format!("{id}\temail.send\tdefault\t")),
            "{stdout}"
        );
    }
    assert!(
        stdout.contains("\tdead\t1/25\t") && stdout.contains("\tretryable\t"),
        "{stdout}"
    );

    let out = anp(&db)
        .arg("queues")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("queue\tpaused\tscheduled\t"), "{stdout}");
    assert!(stdout.contains("\ndefault\t\t"), "{stdout}");
    assert!(!has_box_drawing(&stdout), "{stdout}");

    // Colour only when forced, and never with NO_COLOR.
    let out = anp(&db)
        .args(["jobs", "list"])
        .env("CLICOLOR_FORCE", "1")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("\x1b[31mdead\x1b[0m"), "{stdout}");
    assert!(stdout.contains("\x1b[32mcompleted\x1b[0m"), "{stdout}");
    let out = anp(&db)
        .args(["jobs", "list"])
        .env("CLICOLOR_FORCE", "1")
        .env("NO_COLOR", "1")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!text(&out.stdout).contains('\x1b'));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quiet_lists_print_only_ids_or_names() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let db = dir.path().join("anp.db");
    let ids = seed(&db, 4).await;
    let out = anp(&db)
        .args(["jobs", "list", "-q"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut newest_first: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
    newest_first.reverse();
    assert_eq!(text(&out.stdout), format!("{}\n", newest_first.join("\n")));
    let dead = dead_id(&db);
    assert!(newest_first.contains(&dead), "{dead}");
    for args in [&["queues", "-q"][..], &["queues", "list", "--quiet"]] {
        let out = anp(&db)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(text(&out.stdout), "default\n", "{args:?}");
    }
    for args in [&["workers", "-q"][..], &["schedules", "list", "-q"]] {
        let out = anp(&db)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "", "{args:?}");
    }
}

#[test]
fn argument_errors_are_json_on_stdout_with_json() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let db = dir.path().join("anp.db");
    let out = anp(&db)
        .args(["--json", "enqueue", "x", "--queu", "y"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(&out.stdout)));
    assert_eq!(v["error"]["kind"], "invalid_input", "{v}");
    assert_eq!(v["error"]["exit_code"], 2, "{v}");
    assert_eq!(v["error"]["retry_safe"], false, "{v}");
    let message = v["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("unexpected argument '--queu'"), "{v}");
    assert!(message.contains("--queue"), "the tip is kept: {v}");

    // --json anywhere before `--`, and missing subcommands too.
    let out = anp(&db)
        .args(["jobs", "show", "--json"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v["error"]["kind"], "invalid_input", "{v}");

    // Without --json: clap's own message on stderr, nothing on stdout, exit 2.
    let out = anp(&db)
        .args(["enqueue", "x", "--queu", "y"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(text(&out.stderr).contains("error: unexpected argument '--queu' found"));

    // Help is not an error.
    let out = anp(&db)
        .args(["--json", "--help"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("Usage: anp"));
}

#[test]
fn human_messages_name_no_internal_operation_but_json_and_logs_do() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let db = dir.path().join("anp.db");
    let missing = "01a213da-1ef9-7031-845b-0ca929d22533";
    // The store exists (read commands do not create one), the job and schedule do not.
    let made = anp(&db)
        .args(["enqueue", "seed"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(made.status.success(), "{}", text(&made.stderr));
    let cases: &[(&[&str], &str, &str)] = &[
        (
            &["jobs", "show", missing],
            "job_get",
            "job 01a213da-1ef9-7031-845b-0ca929d22533 not found: expected",
        ),
        (&["jobs", "retry", missing], "job_retry", "not found"),
        (
            &["schedules", "show", "nope"],
            "schedule_get",
            "schedule nope not found: expected",
        ),
    ];
    for (args, op, needle) in cases {
        let out = anp(&db)
            .args(*args)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(4), "{args:?}: {err}");
        assert!(
            err.starts_with(&format!("anp: error: {needle}")) || err.contains(needle),
            "{args:?}: {err}"
        );
        assert!(!err.contains(op), "{args:?} names {op}: {err}");
        assert!(
            !err.contains("error: job_") && !err.contains("error: schedule_"),
            "{err}"
        );

        let out = anp(&db)
            .arg("--json")
            .args(*args)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        let v: serde_json::Value =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v["error"]["op"], *op, "{v}");

        let out = anp(&db)
            .arg("-v")
            .args(*args)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            text(&out.stderr).contains(op),
            "-v logs the op: {}",
            text(&out.stderr)
        );
    }
    // User words stay: they say which input was wrong.
    let out = anp(&db)
        .args(["enqueue", "greet", "--priority", "12"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(text(&out.stderr).contains("anp: error: priority: 12 is out of range"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_ids_are_taken_by_unique_prefix_or_suffix() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let db = dir.path().join("anp.db");
    let ids: Vec<String> = seed(&db, 5).await.iter().map(|i| i.to_string()).collect();
    let show = |part: &str| {
        anp(&db)
            .args(["--json", "jobs", "show", part])
            .output()
            .unwrap_or_else(|e| panic!("{e}"))
    };
    for id in &ids {
        // The 12 hex digits tables show, a long prefix, and either without dashes or in capitals.
        let suffix = &id[24..];
        let prefix = &id[..28];
        for part in [
            suffix.to_owned(),
            prefix.to_owned(),
            prefix.replace('-', ""),
            suffix.to_uppercase(),
        ] {
            let out = show(&part);
            assert!(out.status.success(), "{part}: {}", text(&out.stderr));
            let v: serde_json::Value =
                serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(v["id"], id.as_str(), "{part}");
        }
    }
    // The other commands that take an id.
    let last = &ids[4];
    let out = anp(&db)
        .args(["--json", "jobs", "cancel", &last[24..]])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (v["id"].as_str(), v["state"].as_str()),
        (Some(last.as_str()), Some("cancelled"))
    );
    let out = anp(&db)
        .args(["jobs", "list", "-q", "--before", &last[24..]])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        text(&out.stdout).lines().count(),
        4,
        "{}",
        text(&out.stderr)
    );
    let out = anp(&db)
        .args(["jobs", "delete", &last[..28]])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        text(&out.stdout).contains(&format!("job {last} deleted")),
        "{}",
        text(&out.stderr)
    );

    // A prefix every job shares: refused, with the candidates.
    let out = show(&ids[0][..8]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("matches 4 jobs"), "{err}");
    assert!(ids[..4].iter().all(|id| err.contains(id.as_str())), "{err}");
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v["error"]["kind"], "invalid_input");
    // Unknown: not found, exit 4.
    let out = anp(&db)
        .args(["jobs", "show", "ffffffffffff"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("no job id starts or ends with ffffffffffff"));
    // Too short or not hex: invalid input, store untouched.
    for bad in ["abc", "nope"] {
        let out = anp(&db)
            .args(["jobs", "show", bad])
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(text(&out.stderr).contains("is not a job id"));
    }
}

/// Runs `anp args`, reads 10 bytes of its stdout and closes it, like `| head -c 10`.
fn head_c_10(db: &Path, args: &[&str]) -> (Option<i32>, String) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_anp"))
        .args(args)
        .env("ANP_STORE", format!("sqlite://{}", db.display()))
        .env_remove("ANP_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let mut first = [0u8; 10];
    stdout
        .read_exact(&mut first)
        .unwrap_or_else(|e| panic!("{e}"));
    drop(stdout);
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    (out.status.code(), text(&out.stderr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_stops_early_ends_anp_quietly_with_exit_0() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let db = dir.path().join("anp.db");
    // Far more than a pipe holds (64 KiB), so anp is still writing when the reader leaves.
    seed(&db, 1500).await;
    for args in [
        &["--json", "jobs", "list", "--limit", "1500"][..],
        &["jobs", "list", "--limit", "1500"],
        &["jobs", "list", "--limit", "1500", "-q"],
    ] {
        let (code, stderr) = head_c_10(&db, args);
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!stderr.contains("Broken pipe"), "{args:?}: {stderr}");
    }
}

#[test]
fn completions_and_man_pages_come_out() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let db = dir.path().join("anp.db");
    for (shell, needle) in [
        ("bash", "_anp()"),
        ("zsh", "#compdef anp"),
        ("fish", "complete -c anp"),
    ] {
        let out = anp(&db)
            .args(["completions", shell])
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(out.status.success(), "{shell}: {}", text(&out.stderr));
        let script = text(&out.stdout);
        assert!(script.contains(needle), "{shell}: {script}");
        assert!(script.contains("schedules"), "{shell}");
    }
    let out = anp(&db)
        .arg("man")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success());
    let page = text(&out.stdout);
    assert!(
        page.starts_with(".ie") || page.contains(".TH anp 1"),
        "{page}"
    );
    let pages = dir.path().join("man1");
    let out = anp(&db)
        .args(["man", "--dir"])
        .arg(&pages)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    for page in [
        "anp.1",
        "anp-jobs.1",
        "anp-jobs-list.1",
        "anp-completions.1",
    ] {
        assert!(pages.join(page).is_file(), "{page}");
    }
}

/// Decimals of the number after `"key": ` in pretty JSON text.
fn decimals(json: &str, key: &str) -> usize {
    let raw = json
        .split(&format!("\"{key}\": "))
        .nth(1)
        .and_then(|r| r.split([',', '\n']).next())
        .unwrap_or_else(|| panic!("no {key} in {json}"));
    raw.trim().split('.').nth(1).map_or(0, str::len)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_times_are_rounded_to_microseconds() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let db = dir.path().join("anp.db");
    seed(&db, 4).await;
    for (args, keys) in [
        (&["--json", "queues"][..], &["oldest_available_age_s"][..]),
        (&["--json", "status"], &["round_trip_ms", "default"]),
    ] {
        let out = anp(&db)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        let stdout = text(&out.stdout);
        let _: serde_json::Value =
            serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
        for key in keys {
            let d = decimals(&stdout, key);
            assert!(d <= 3, "{args:?}: {key} has {d} decimals: {stdout}");
        }
    }
}

/// Runs `anp jobs list` in a pseudo-terminal `cols` wide (and `COLUMNS` when given); returns
/// everything it printed.
fn jobs_list_in_a_terminal(db: &Path, cols: u16, columns_env: bool, no_color: bool) -> String {
    let mut cmd = std::process::Command::new("sh");
    cmd.args([
        "-c",
        &format!("stty cols {cols} rows 50 && exec \"$0\" jobs list"),
        env!("CARGO_BIN_EXE_anp"),
    ])
    .env("ANP_STORE", format!("sqlite://{}", db.display()))
    .env("TERM", "xterm-256color");
    for var in CALLER_ENV {
        cmd.env_remove(var);
    }
    if columns_env {
        cmd.env("COLUMNS", cols.to_string());
    }
    if no_color {
        cmd.env("NO_COLOR", "1");
    }
    let mut session =
        rexpect::session::spawn_command(cmd, Some(30_000)).unwrap_or_else(|e| panic!("{e}"));
    let read = session.exp_eof().unwrap_or_else(|e| panic!("{e}"));
    // rexpect hands over each byte as one char: put the UTF-8 back together.
    let bytes: Vec<u8> = read
        .chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// `s` without ANSI escape sequences (CSI … final byte).
fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_narrow_terminal_gets_a_fitting_coloured_table() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let db = dir.path().join("anp.db");
    let ids = seed(&db, 4).await;
    for (cols, columns_env) in [(80, true), (72, false)] {
        let screen = jobs_list_in_a_terminal(&db, cols, columns_env, false);
        let plain = strip_ansi(&screen);
        assert!(
            has_box_drawing(&plain),
            "a terminal gets a drawn table:\n{plain}"
        );
        for line in plain.lines() {
            let line = line.trim_end_matches('\r');
            assert!(
                line.chars().count() <= usize::from(cols),
                "wider than {cols}: {line:?}\n{plain}"
            );
        }
        for id in &ids {
            let shown = &id.to_string()[24..];
            assert!(plain.contains(shown), "{shown} is whole:\n{plain}");
        }
        assert!(
            plain.contains(" state ") && plain.contains(" attempt "),
            "headers are whole:\n{plain}"
        );
        assert!(screen.contains('\x1b'), "states are coloured:\n{screen}");
        let dead = screen
            .lines()
            .find(|l| strip_ansi(l).contains("dead"))
            .unwrap_or_else(|| panic!("no dead job:\n{plain}"));
        assert!(dead.contains("\x1b["), "dead is coloured: {dead:?}");
    }
    let screen = jobs_list_in_a_terminal(&db, 80, true, true);
    assert!(!screen.contains('\x1b'), "NO_COLOR: {screen:?}");
    assert!(has_box_drawing(&screen));
}
