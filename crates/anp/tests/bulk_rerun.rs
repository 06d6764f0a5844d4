//! `anp bulk` is safe to run again (issue 13): the same file twice enqueues nothing the second
//! time and says how many lines it skipped; an import that stopped halfway, run again, enqueues
//! only the missing lines; a batch the store refuses is reported with the line the import
//! stopped at and what was committed before it; `--unique-by` templates name the line and field they cannot fill and
//! store nothing; finished jobs free their keys unless `--unique-for`; `--help` lists the fields
//! a line may carry. Every run is against a fresh SQLite file.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

/// A temp dir with a store and the files of one test.
struct Dir {
    dir: tempfile::TempDir,
}

impl Dir {
    fn new() -> Dir {
        Dir {
            dir: tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}")),
        }
    }

    /// `anp` on this dir's store.
    fn anp(&self) -> Command {
        let mut c = Command::cargo_bin("anp").unwrap_or_else(|e| panic!("{e}"));
        c.env(
            "ANP_STORE",
            format!("sqlite://{}", self.dir.path().join("anp.db").display()),
        )
        .env_remove("ANP_CONFIG")
        .env_remove("ANP_LOG");
        c
    }

    /// Writes `lines` (one JSON object each) to `name` in this dir.
    fn file(&self, name: &str, lines: &[String]) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, lines.join("\n") + "\n").unwrap_or_else(|e| panic!("write: {e}"));
        path
    }

    /// `anp bulk FILE EXTRA...`, as a person runs it.
    fn run_bulk(&self, file: &Path, extra: &[&str]) -> Output {
        self.anp()
            .arg("bulk")
            .arg(file)
            .args(extra)
            .output()
            .unwrap_or_else(|e| panic!("run anp bulk: {e}"))
    }

    /// `anp bulk FILE EXTRA... --json`, which must succeed; its JSON summary.
    fn bulk(&self, file: &Path, extra: &[&str]) -> Value {
        let out = self.run_bulk(file, &[extra, &["--json"]].concat());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "anp bulk {extra:?} failed: {stderr}");
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON value ({e}): {stderr}"))
    }

    /// `anp ARGS...`, which must succeed within a minute.
    fn ok<S: AsRef<OsStr>>(&self, args: &[S]) -> Output {
        let out = self
            .anp()
            .args(args)
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .unwrap_or_else(|e| panic!("run anp: {e}"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "anp failed: {stderr}");
        out
    }

    /// Every job in the store (`anp --json jobs list`).
    fn jobs(&self) -> Vec<Value> {
        let out = self.ok(&["--json", "jobs", "list", "--limit", "10000"]);
        match serde_json::from_slice(&out.stdout) {
            Ok(Value::Array(jobs)) => jobs,
            other => panic!("anp jobs list: expected an array, got {other:?}"),
        }
    }

    /// How many jobs hold each `args.row`.
    fn rows(&self) -> BTreeMap<u64, usize> {
        let mut rows = BTreeMap::new();
        for j in self.jobs() {
            let row = j["args"]["row"]
                .as_u64()
                .unwrap_or_else(|| panic!("job without args.row: {j}"));
            *rows.entry(row).or_insert(0) += 1;
        }
        rows
    }
}

/// Line `row` of an import: kind `imp`, `args.row`, and a note.
fn line(row: u64, note: &str) -> String {
    format!(r#"{{"kind": "imp", "args": {{"row": {row}, "note": "{note}"}}}}"#)
}

fn lines(rows: std::ops::RangeInclusive<u64>) -> Vec<String> {
    rows.map(|r| line(r, "n")).collect()
}

/// Each of `rows` exactly once.
fn once(rows: std::ops::RangeInclusive<u64>) -> BTreeMap<u64, usize> {
    rows.map(|r| (r, 1)).collect()
}

/// `(enqueued, skipped)` of a summary.
fn counts(v: &Value) -> (u64, u64) {
    (n(v, "enqueued"), n(v, "skipped"))
}

/// `n` of a summary key.
fn n(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} missing in {v}"))
}

#[test]
fn the_same_file_twice_enqueues_nothing_the_second_time() {
    let d = Dir::new();
    let file = d.file("imp.jsonl", &lines(1..=5));
    let first = d.bulk(&file, &[]);
    assert_eq!(counts(&first), (5, 0));
    let again = d.bulk(&file, &[]);
    assert_eq!(counts(&again), (0, 5));
    assert_eq!(n(&again, "lines"), 5);
    assert_eq!(d.rows(), once(1..=5));

    // A person reads the same: nothing new, 5 lines skipped, a rounded rate.
    let out = d.run_bulk(&file, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with("enqueued 0 jobs, skipped 5 lines already enqueued (5 lines in "),
        "{stdout}"
    );
    let rate = stdout
        .trim_end()
        .rsplit(", ")
        .next()
        .unwrap_or_default()
        .trim_end_matches(')');
    assert!(
        rate.ends_with("/s") && !rate.contains('.'),
        "rate {rate:?} in {stdout}"
    );
}

#[test]
fn a_rerun_after_an_import_that_stopped_halfway_enqueues_only_the_missing_lines() {
    let d = Dir::new();
    let all = lines(1..=8);
    // The import was killed after its first batches: lines 1-3 are in the store.
    let half = d.file("half.jsonl", &all[..3]);
    let first = d.bulk(&half, &["--batch", "2"]);
    assert_eq!(n(&first, "enqueued"), 3);
    let file = d.file("imp.jsonl", &all);
    assert_eq!(counts(&d.bulk(&file, &["--batch", "2"])), (5, 3));
    assert_eq!(d.rows(), once(1..=8));
}

#[test]
fn a_failed_batch_names_the_line_it_stopped_at_and_a_rerun_enqueues_the_rest() {
    let d = Dir::new();
    // Lines 1-3 are rows 1-3, line 4 is blank, lines 5-11 are rows 4-10.
    let mut all = lines(1..=10);
    all.insert(3, String::new());
    let file = d.file("imp.jsonl", &all);
    // The store refuses row 5 (in the second batch of 3: lines 5-7), as a full disk would.
    // Make the store (a read command would not create it) without adding a job.
    d.ok(&["deploy", "mark", "--version", "setup"]);
    let db =
        rusqlite::Connection::open(d.dir.path().join("anp.db")).unwrap_or_else(|e| panic!("{e}"));
    db.execute_batch(
        "CREATE TRIGGER refuse_row_5 BEFORE INSERT ON job_args
         WHEN json_extract(NEW.args, '$.row') = 5
         BEGIN SELECT RAISE(ABORT, 'injected fault'); END;",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = d.run_bulk(&file, &["--batch", "3"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    for needle in [
        "imp.jsonl: stopped at line 5:",
        "injected fault",
        "lines 5-7 (one atomic batch) were not stored",
        "lines before 5 are committed (3 enqueued, 0 skipped as already enqueued)",
        "run the same command again to enqueue the rest",
    ] {
        assert!(stderr.contains(needle), "{needle:?} missing: {stderr}");
    }
    assert_eq!(d.rows(), once(1..=3), "only the first batch is stored");

    // Once the fault is gone, the same command enqueues the rest and nothing twice.
    db.execute_batch("DROP TRIGGER refuse_row_5")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(counts(&d.bulk(&file, &["--batch", "3"])), (7, 3));
    assert_eq!(d.rows(), once(1..=10));
}

#[test]
fn template_keys_skip_rows_already_enqueued_even_when_other_fields_differ() {
    let d = Dir::new();
    let by = ["--unique-by", "{kind}:{args.row}"];
    let first = d.bulk(&d.file("a.jsonl", &lines(1..=3)), &by);
    assert_eq!(n(&first, "enqueued"), 3);
    // The next export has a new row and other notes on the old ones: only row 4 is new.
    let next: Vec<String> = (1..=4).map(|r| line(r, "changed")).collect();
    let rerun = d.bulk(&d.file("b.jsonl", &next), &by);
    assert_eq!(counts(&rerun), (1, 3));
    assert_eq!(d.rows(), once(1..=4));
    let mut keys: Vec<String> = d
        .jobs()
        .iter()
        .filter_map(|j| j["unique_key"].as_str().map(str::to_owned))
        .collect();
    keys.sort();
    assert_eq!(keys, ["imp:1", "imp:2", "imp:3", "imp:4"]);
}

#[test]
fn a_template_field_missing_names_the_line_and_field_and_stores_nothing() {
    let d = Dir::new();
    let mut bad = lines(1..=4);
    bad[2] = r#"{"kind": "imp", "args": {"note": "no row"}}"#.to_owned();
    let file = d.file("bad.jsonl", &bad);
    // Batches of 1: lines 1 and 2 would be their own batches, yet nothing is stored, because
    // the whole file is checked before the first batch.
    let out = d.run_bulk(&file, &["--unique-by", "{kind}:{args.row}", "--batch", "1"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("bad.jsonl:3:"), "no line number: {stderr}");
    assert!(stderr.contains("\"args.row\""), "no field: {stderr}");
    assert!(stderr.contains("nothing was enqueued"), "{stderr}");
    assert!(d.jobs().is_empty(), "jobs were stored: {:?}", d.jobs());

    // A template that cannot work is refused before the file is read.
    let out = d.run_bulk(&file, &["--unique-by", "{kind"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--unique-by"), "{stderr}");
}

#[test]
fn a_line_s_own_unique_key_wins_and_repeated_keys_in_one_file_go_in_once() {
    let d = Dir::new();
    let file = d.file(
        "imp.jsonl",
        &[
            r#"{"kind": "imp", "args": {"row": 1}, "unique": "mine"}"#.to_owned(),
            line(2, "n"),
            line(2, "n"),
            r#"{"args": {"row": 2, "note": "n"}, "kind": "imp"}"#.to_owned(),
        ],
    );
    let first = d.bulk(&file, &[]);
    assert_eq!(
        (
            n(&first, "enqueued"),
            n(&first, "skipped"),
            n(&first, "repeated")
        ),
        (2, 0, 2)
    );
    assert_eq!(d.rows(), once(1..=2));
    let keys: Vec<Value> = d.jobs().iter().map(|j| j["unique_key"].clone()).collect();
    assert!(keys.contains(&Value::from("mine")), "{keys:?}");

    // --unique-by none is the old behaviour (every run enqueues every line), except for a
    // line that carries its own key.
    let none = d.bulk(&file, &["--unique-by", "none"]);
    assert_eq!(counts(&none), (3, 1));
}

#[test]
fn finished_jobs_free_their_keys_unless_unique_for() {
    let d = Dir::new();
    let config = d.dir.path().join("anp.toml");
    std::fs::write(
        &config,
        "[[queue]]\nname = \"default\"\nconcurrency = 4\n\n[[job]]\nkind = \"imp\"\nbuiltin = \"noop\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let file = d.file("imp.jsonl", &lines(1..=3));
    assert_eq!(n(&d.bulk(&file, &[]), "enqueued"), 3);
    d.ok(&[
        OsStr::new("work"),
        OsStr::new("--config"),
        config.as_os_str(),
        OsStr::new("--exit-when-drained"),
    ]);
    assert!(d.jobs().iter().all(|j| j["state"] == "completed"));

    // Within --unique-for, a completed job still holds its key.
    let within = d.bulk(&file, &["--unique-for", "1h"]);
    assert_eq!(counts(&within), (0, 3));
    // Without it, completed jobs free their keys: the lines are enqueued again.
    let after = d.bulk(&file, &[]);
    assert_eq!(counts(&after), (3, 0));
    assert_eq!(d.jobs().len(), 6);
}

#[test]
fn help_lists_every_field_of_a_line_and_how_long_keys_hold() {
    let d = Dir::new();
    let out = d.ok(&["bulk", "--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    for field in [
        "kind",
        "args",
        "queue",
        "priority",
        "max_attempts",
        "run_at",
        "in",
        "unique",
        "unique_for",
    ] {
        assert!(
            help.lines()
                .any(|l| l.trim_start().starts_with(&format!("{field}  "))),
            "field {field} is not listed:\n{help}"
        );
    }
    for needle in [
        r#"{"kind": "email.send", "args": {"#,
        "--unique-by",
        "--unique-for",
        "wins over --unique-by",
        "completed, cancelled or dead",
        "one atomic write",
    ] {
        assert!(help.contains(needle), "{needle:?} missing:\n{help}");
    }
}
