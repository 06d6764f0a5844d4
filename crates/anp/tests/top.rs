//! `anp top` in a real pseudo-terminal (issue 17, item 3): the real binary runs under rexpect
//! on a seeded SQLite store, and its output goes through a terminal emulator (vt100) so the
//! test reads the screen a person would see. Every wait polls the screen for text with a
//! generous deadline; nothing asserts on timing.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anp_core::store::{AckOutcome, JobEnqueueManyParams};
use anp_core::{Args, Kind, NewJob, Store};
use rexpect::session::PtySession;

mod support;
use support::{attempt_error, fetch_and_ack, open_sqlite};

const COLS: u16 = 120;
const ROWS: u16 = 40;
/// How long a screen may take to show what is awaited: far above what it needs (a snapshot
/// every second), so a loaded machine does not fail the test.
const DEADLINE: Duration = Duration::from_secs(60);

/// Variables of the caller's shell that would change the store, colour or width.
const CALLER_ENV: [&str; 6] = [
    "ANP_CONFIG",
    "ANP_STORE",
    "NO_COLOR",
    "CLICOLOR_FORCE",
    "COLUMNS",
    "LINES",
];

fn nonzero(n: u16) -> std::num::NonZeroU16 {
    std::num::NonZeroU16::new(n).unwrap_or(std::num::NonZeroU16::MIN)
}

/// `anp top` running in a 120×40 pseudo-terminal, and the screen it drew.
struct Top {
    session: PtySession,
    screen: vt100::Parser,
    /// Every byte it wrote, escape sequences included.
    raw: Vec<u8>,
}

impl Top {
    /// Starts `sh -c '<script>; echo "exit=$?"'` in a pty with `$0` the `anp` binary and
    /// `store` as `ANP_STORE` (run in `dir`, so no ./anp.toml of the caller's is found).
    fn spawn(dir: &Path, store: &str, script: &str) -> Top {
        let mut cmd = Command::new("sh");
        cmd.args([
            "-c",
            &format!("stty cols {COLS} rows {ROWS} && {script}; echo \"exit=$?\""),
            env!("CARGO_BIN_EXE_anp"),
        ])
        .current_dir(dir)
        .env("TERM", "xterm-256color");
        for var in CALLER_ENV {
            cmd.env_remove(var);
        }
        cmd.env("ANP_STORE", store);
        let mut session = rexpect::session::spawn_command(cmd, Some(DEADLINE.as_millis() as u64))
            .unwrap_or_else(|e| panic!("cannot start anp top in a pty: {e}"));
        // Dropped while still running (a failed assertion): SIGKILL after 5 s of SIGTERM.
        session.process_mut().set_kill_timeout(Some(5_000));
        Top {
            session,
            screen: vt100::Parser::new(nonzero(ROWS), nonzero(COLS), 0),
            raw: Vec::new(),
        }
    }

    /// `anp top ARGS` on the SQLite file `db`.
    fn sqlite(dir: &Path, db: &Path, args: &str) -> Top {
        Top::spawn(
            dir,
            &format!("sqlite://{}", db.display()),
            &format!("\"$0\" top {args}"),
        )
    }

    /// Feeds what it wrote since the last call to the terminal emulator.
    fn pump(&mut self) {
        let mut bytes = Vec::new();
        // rexpect hands over each byte as one char.
        while let Some(c) = self.session.try_read() {
            bytes.push(u8::try_from(u32::from(c)).unwrap_or(b'?'));
        }
        self.screen.process(&bytes);
        self.raw.extend_from_slice(&bytes);
    }

    /// The screen's text, one line per row.
    fn text(&self) -> String {
        self.screen.screen().contents()
    }

    /// Polls the screen until `ok` holds; panics with the screen after [`DEADLINE`].
    fn wait_for(&mut self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            self.pump();
            let text = self.text();
            if ok(&text) {
                return text;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "the screen never showed {what}; it shows:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn send(&mut self, keys: &str) {
        self.session
            .send(keys)
            .unwrap_or_else(|e| panic!("cannot type {keys:?}: {e}"));
        self.session
            .flush()
            .unwrap_or_else(|e| panic!("cannot type {keys:?}: {e}"));
    }

    /// Waits for the process to end (reading what it still writes); its exit code.
    fn exit_code(&mut self) -> i32 {
        let rest = self
            .session
            .exp_eof()
            .unwrap_or_else(|e| panic!("anp top did not end: {e}\n{}", self.text()));
        let bytes: Vec<u8> = rest
            .chars()
            .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
            .collect();
        self.screen.process(&bytes);
        self.raw.extend_from_slice(&bytes);
        let raw = String::from_utf8_lossy(&self.raw);
        let code = raw.rfind("exit=").and_then(|at| {
            let digits: String = raw[at + 5..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        });
        code.unwrap_or_else(|| panic!("no exit code after anp top:\n{raw}"))
    }
}

/// The cells after the queue name `queue` on the queues pane's row: available, scheduled,
/// running, retryable, dead, completed, cancelled, …
fn queue_row(screen: &str, queue: &str) -> Option<Vec<String>> {
    screen.lines().find_map(|line| {
        let at = line.find(&format!("│{queue} "))?;
        Some(
            line[at + queue.len() + '│'.len_utf8()..]
                .split_whitespace()
                .take(7)
                .map(str::to_owned)
                .collect(),
        )
    })
}

fn available(screen: &str, queue: &str) -> Option<u64> {
    queue_row(screen, queue)?.first()?.parse().ok()
}

/// Seeds queue `default` with 4 `email.send` jobs, one of them dead ("mailbox unavailable"),
/// and enqueues 2 `report.build` jobs in queue `reports` with the binary.
async fn seed(dir: &Path, db: &Path) {
    let store = open_sqlite(db).await;
    let now = jiff::Timestamp::now();
    let jobs = (0..4)
        .map(|i| {
            NewJob::new(
                Kind::parse("email.send").unwrap_or_else(|e| panic!("{e}")),
                Args::from_json(&format!("{{\"i\":{i}}}")).unwrap_or_else(|e| panic!("{e}")),
            )
        })
        .collect();
    store
        .job_enqueue_many(JobEnqueueManyParams { jobs, now })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let dead = AckOutcome::Dead {
        error: attempt_error(now, "mailbox unavailable"),
    };
    fetch_and_ack(&store, now, 1, vec![dead]).await;
    enqueue(dir, db, "reports", 2);
}

/// `anp enqueue report.build --queue QUEUE`, `n` times.
fn enqueue(dir: &Path, db: &Path, queue: &str, n: usize) {
    for _ in 0..n {
        let out = Command::new(env!("CARGO_BIN_EXE_anp"))
            .args(["enqueue", "report.build", "--queue", queue])
            .current_dir(dir)
            .env_remove("ANP_CONFIG")
            .env("ANP_STORE", format!("sqlite://{}", db.display()))
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            out.status.success(),
            "anp enqueue failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_screen_shows_queues_failing_kinds_and_follows_new_jobs() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let db = dir.path().join("anp.db");
    seed(dir.path(), &db).await;

    let mut top = Top::sqlite(dir.path(), &db, "--interval 1s");
    let screen = top.wait_for("the seeded queues", |s| {
        available(s, "default") == Some(3) && available(s, "reports") == Some(2)
    });
    let default = queue_row(&screen, "default").unwrap_or_default();
    // available, scheduled, running, retryable, dead, completed, cancelled
    assert_eq!(default, ["3", "0", "0", "0", "1", "0", "0"], "{screen}");
    for text in [
        "UP",
        "SLOW",
        "FAILING",
        "DEPLOY",
        "no live workers",
        "email.send",
        "mailbox unavailable",
        "schedules due next",
        "workers and schedulers",
    ] {
        assert!(
            screen.contains(text),
            "no {text:?} on the screen:\n{screen}"
        );
    }

    // Jobs enqueued while it runs show up at a later snapshot.
    enqueue(dir.path(), &db, "reports", 3);
    top.wait_for("5 available jobs in queue reports", |s| {
        available(s, "reports") == Some(5)
    });

    // The help box opens and closes; Esc first closes it, then quits.
    top.send("?");
    top.wait_for("the help box", |s| s.contains("refresh now"));
    top.send("\x1b");
    top.wait_for("the help box closed", |s| !s.contains("refresh now"));
    top.send("\x1b");
    assert_eq!(top.exit_code(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_refreshes_now_and_q_gives_the_terminal_back() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let db = dir.path().join("anp.db");
    seed(dir.path(), &db).await;

    // An hour between snapshots: only `r` can bring the new jobs in. After `anp top` the
    // shell prints the terminal's settings, then anp top's exit code.
    let mut top = Top::spawn(
        dir.path(),
        &format!("sqlite://{}", db.display()),
        "\"$0\" top --interval 1h; c=$?; stty -a; (exit $c)",
    );
    top.wait_for("the seeded queues", |s| available(s, "reports") == Some(2));
    enqueue(dir.path(), &db, "reports", 1);
    top.send("r");
    top.wait_for("3 available jobs in queue reports after r", |s| {
        available(s, "reports") == Some(3)
    });

    top.send("q");
    assert_eq!(top.exit_code(), 0, "anp top after q");
    let raw = String::from_utf8_lossy(&top.raw).into_owned();
    assert!(
        raw.contains("\x1b[?1049h"),
        "anp top never entered the alternate screen"
    );
    let after = raw
        .rfind("\x1b[?1049l")
        .unwrap_or_else(|| panic!("anp top never left the alternate screen"));
    let tail = &raw[after..];
    // Raw mode is off again: line editing (icanon) is back on.
    assert!(
        tail.split_whitespace().any(|w| w == "icanon"),
        "the terminal is still in raw mode after anp top: {tail}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_is_down_is_shown_and_retried_until_it_is_up() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));

    // A file that is not a database.
    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, vec![b'x'; 8192]).unwrap_or_else(|e| panic!("{e}"));
    let mut top = Top::sqlite(dir.path(), &garbage, "--interval 1s");
    top.wait_for("DOWN with the store's error", |s| {
        s.contains("DOWN:") && s.contains("retrying")
    });
    top.send("\x03");
    assert_eq!(top.exit_code(), 0, "Ctrl-C on a DOWN screen");

    // A Redis nobody listens on (port 1 on loopback refuses at once).
    let mut top = Top::spawn(
        dir.path(),
        "redis://127.0.0.1:1",
        "\"$0\" top --interval 1s",
    );
    top.wait_for("DOWN for an unreachable Redis", |s| {
        s.contains("DOWN:") && s.contains("retrying")
    });
    top.send("q");
    assert_eq!(top.exit_code(), 0);

    // A store that does not exist yet is retried, and shown once it is there.
    let later = dir.path().join("later.db");
    let mut top = Top::sqlite(dir.path(), &later, "--interval 1s");
    top.wait_for("DOWN while the store does not exist", |s| {
        s.contains("DOWN:") && s.contains("retrying")
    });
    enqueue(dir.path(), &later, "reports", 1);
    top.wait_for("the store once it exists, without DOWN", |s| {
        available(s, "reports") == Some(1) && !s.contains("DOWN:")
    });
    top.send("q");
    assert_eq!(top.exit_code(), 0);
}

#[test]
fn without_a_terminal_it_says_what_to_use_instead() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new(env!("CARGO_BIN_EXE_anp"))
        .arg("top")
        .current_dir(dir.path())
        .env_remove("ANP_CONFIG")
        .env(
            "ANP_STORE",
            format!("sqlite://{}", dir.path().join("a.db").display()),
        )
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("interactive terminal"), "{stderr}");
    assert!(stderr.contains("anp status --json"), "{stderr}");
    assert!(out.stdout.is_empty(), "nothing drawn on a pipe");
}
