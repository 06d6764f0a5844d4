//! The screen drawn into ratatui's `TestBackend` for a fixed snapshot, and the keys.

use std::collections::BTreeMap;

use alphanode::admin::{
    CacheStatus, DeployVerdict, Failing, LastDeploy, ProcessSeen, ScheduleProblem, Slow, TopError,
    Up, Window,
};
use alphanode::{
    Args, CatchUp, Kind, QueueInfo, QueueName, ScheduleDef, ScheduleInfo, ScheduleName,
};
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::KeyEvent;
use ratatui::Terminal;

use super::*;

fn at(s: &str) -> Timestamp {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// The instant every test draws at.
fn now() -> Timestamp {
    at("2026-12-06T14:00:30Z")
}

fn status() -> Status {
    Status {
        ok: false,
        problems: vec![
            "2 job(s) went dead in the last 15 minutes".into(),
            "schedule nightly-report: last run failed".into(),
        ],
        up: Up {
            store: "redis://127.0.0.1:6390".into(),
            backend: "redis".into(),
            schema_version: 3,
            round_trip_ms: 0.25,
            workers: 1,
            schedulers: 1,
            processes: vec![
                ProcessSeen {
                    id: "w-0192".into(),
                    role: "worker".into(),
                    host: "app-1".into(),
                    heartbeat_age_s: 3.0,
                },
                ProcessSeen {
                    id: "s-77".into(),
                    role: "scheduler".into(),
                    host: "app-2".into(),
                    heartbeat_age_s: 12.0,
                },
            ],
        },
        slow: Slow {
            last_15m: Window {
                attempts: 40,
                completed: 38,
                failed: 2,
                dead: 2,
                failure_rate: Some(0.05),
                run_p50_ms: Some(25.0),
                run_p95_ms: Some(250.0),
                wait_p50_ms: Some(5.0),
                wait_p95_ms: Some(50.0),
            },
            hour_before: Window::default(),
            oldest_available_age_s: BTreeMap::from([
                ("default".to_owned(), Some(90.0)),
                ("mail".to_owned(), None),
            ]),
        },
        failing: Failing {
            failure_rate_15m: Some(0.05),
            failed_15m: 2,
            dead_15m: 2,
            dead_total: 7,
            top_errors: vec![TopError {
                kind: "email.send".into(),
                message: "mailbox unavailable".into(),
                count: 2,
            }],
            schedules: vec![ScheduleProblem {
                name: "nightly-report".into(),
                problem: "last run failed".into(),
                owner: Some("team-billing".into()),
                rollback: Some("anp schedules pause nightly-report".into()),
            }],
        },
        deploy: DeployVerdict {
            last: Some(LastDeploy {
                version: "v2.4.1".into(),
                at: at("2026-12-06T13:30:30Z"),
                age_s: 1800,
                owner: Some("alice".into()),
                rollback: Some("deploy v2.4.0".into()),
                note: None,
            }),
            window_minutes: Some(30),
            before: None,
            after: None,
            verdict: "no change".into(),
            why: Some("failure rate 4.0% → 5.0%, p95 run time ×1.10".into()),
            threshold: String::new(),
        },
        cache: CacheStatus {
            namespaces: 2,
            lookups_15m: 1200,
            hit_ratio_15m: Some(0.931),
            hit_ratio_before_deploy: Some(0.9),
            hit_ratio_after_deploy: Some(0.931),
            http: None,
        },
    }
}

fn queue(name: &str, paused: bool, counts: [u64; 7], oldest: Option<&str>) -> QueueInfo {
    QueueInfo {
        queue: QueueName::parse(name).unwrap_or_else(|e| panic!("{e}")),
        paused,
        counts: JobState::ALL.into_iter().zip(counts).collect(),
        oldest_available_at: oldest.map(at),
    }
}

fn schedule(name: &str, cron: &str, tz: &str, paused: bool) -> ScheduleInfo {
    ScheduleInfo {
        def: ScheduleDef {
            name: ScheduleName::parse(name).unwrap_or_else(|e| panic!("{e}")),
            cron: cron.into(),
            tz: tz.into(),
            kind: Kind::parse("report.build").unwrap_or_else(|e| panic!("{e}")),
            args: Args::from_json("{}").unwrap_or_else(|e| panic!("{e}")),
            queue: QueueName::parse("default").unwrap_or_else(|e| panic!("{e}")),
            priority: 5,
            max_attempts: 3,
            owner: None,
            expected: None,
            rollback: None,
            catch_up: CatchUp::Latest,
            catch_up_max: 1,
            skip_if_running: false,
        },
        paused,
        last_tick: None,
        last_job: None,
        last_job_state: None,
        created_at: at("2026-12-01T00:00:00Z"),
        updated_at: at("2026-12-01T00:00:00Z"),
    }
}

fn view() -> View {
    let mut v = View::new("redis://127.0.0.1:6390".into(), Duration::from_secs(2));
    v.snapshot = Some(Snapshot {
        status: status(),
        // JobState::ALL order: scheduled, available, running, completed, retryable,
        // dead, cancelled.
        queues: vec![
            queue("mail", true, [0, 0, 0, 12, 0, 0, 0], None),
            queue(
                "default",
                false,
                [4, 1234567, 3, 90, 2, 7, 1],
                Some("2026-12-06T13:59:00Z"),
            ),
        ],
        schedules: vec![
            schedule("nightly-report", "0 2 * * *", "Europe/Paris", false),
            schedule("every-5-min", "*/5 * * * *", "UTC", false),
            schedule("paused-one", "* * * * *", "UTC", true),
        ],
        taken_at: at("2026-12-06T14:00:28Z"),
    });
    v
}

/// Draws `view` on a `w`×`h` test terminal; the screen's rows.
fn draw(view: &View, w: u16, h: u16) -> Vec<String> {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap_or_else(|e| panic!("{e}"));
    t.draw(|f| render(f, view, now()))
        .unwrap_or_else(|e| panic!("{e}"));
    let buf = t.backend().buffer();
    (0..h)
        .map(|y| (0..w).map(|x| buf[(x, y)].symbol()).collect::<String>())
        .collect()
}

fn row<'a>(screen: &'a [String], needle: &str) -> &'a str {
    screen
        .iter()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no row with {needle:?}:\n{}", screen.join("\n")))
}

/// The words of the row that holds `needle`, from `needle` on.
fn words_from(screen: &[String], needle: &str) -> Vec<String> {
    let r = row(screen, needle);
    let at = r.find(needle).unwrap_or(0);
    r[at..]
        .split(|c: char| c.is_whitespace() || c == '│')
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_snapshot_answers_the_four_questions_and_fills_every_pane() {
    let s = draw(&view(), 140, 45);
    let all = s.join("\n");
    assert!(
        row(&s, "anp top").contains("updated 2s ago (14:00:28 UTC)"),
        "{all}"
    );
    assert!(row(&s, "anp top").contains("needs attention"), "{all}");
    assert!(
        row(&s, "UP").contains("1 worker(s), 1 scheduler(s)"),
        "{all}"
    );
    assert!(
        row(&s, "SLOW").contains("run p50/p95 ≤25ms / ≤250ms"),
        "{all}"
    );
    assert!(
        row(&s, "FAILING").contains("2 job(s) went dead") && all.contains("7 dead in the store"),
        "{all}"
    );
    assert!(
        row(&s, "DEPLOY").contains("v2.4.1 (30m ago, owner alice): no change"),
        "{all}"
    );
    assert!(
        row(&s, "CACHE").contains("hit ratio 93.1% over 1200 lookup(s)"),
        "{all}"
    );
    assert!(all.contains("needs attention: 2 job(s) went dead"), "{all}");

    // Queues by name, counts in state order available, scheduled, running, retryable,
    // dead, completed, cancelled, then the oldest available job's age.
    assert_eq!(
        words_from(&s, "default")[..9],
        ["default", "1234567", "4", "3", "2", "7", "90", "1", "90s"],
        "{all}"
    );
    assert!(row(&s, "mail (paused)").contains("12"), "{all}");
    let queues_at = all.find("default  ").unwrap_or(usize::MAX);
    assert!(
        all.find("mail (paused)").unwrap_or(0) > queues_at,
        "sorted by name: {all}"
    );

    assert_eq!(
        words_from(&s, "email.send"),
        ["email.send", "mailbox", "unavailable"]
    );
    assert!(
        row(&s, "schedule nightly-report").contains("last run failed"),
        "{all}"
    );

    // Soonest first, in the schedule's zone; paused last.
    let pane = &all[all.find("schedules due next").unwrap_or(0)..];
    let order: Vec<usize> = ["every-5-min", "nightly-report in", "paused-one"]
        .iter()
        .map(|n| pane.find(n).unwrap_or_else(|| panic!("no {n}: {all}")))
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{all}");
    assert!(
        row(&s, "every-5-min").contains("2026-12-06 14:05:00 UTC"),
        "{all}"
    );
    assert!(
        row(&s, "2026-12-07 02:00:00 Europe/Paris").contains("nightly-report"),
        "{all}"
    );
    assert!(row(&s, "paused-one").contains("paused"), "{all}");

    // Heartbeat ages grow from the snapshot's time: 3 s then + 2 s.
    assert!(
        row(&s, "w-0192").contains("worker") && row(&s, "w-0192").contains("5s"),
        "{all}"
    );
    assert!(row(&s, "s-77").contains("14s"), "{all}");
}

#[test]
fn a_store_that_is_down_is_said_above_the_last_snapshot() {
    let mut v = view();
    v.error = Some("store redis://127.0.0.1:6390 is unavailable: connection refused".into());
    v.error_at = Some(at("2026-12-06T14:00:00Z"));
    let s = draw(&v, 140, 45);
    let all = s.join("\n");
    assert!(
        all.contains("DOWN: store redis://127.0.0.1:6390 is unavailable: connection refused, retrying every 2s (since 30s ago)"),
        "{all}"
    );
    assert!(all.contains("; below: the last snapshot"), "{all}");
    assert!(all.contains("v2.4.1"), "the last snapshot stays: {all}");

    // A snapshot that takes a while is said in the header; a quick one is not.
    v.reading_since = Some(at("2026-12-06T14:00:27Z"));
    assert!(draw(&v, 140, 45)[0].contains("reading the store for 3s…"));
    v.reading_since = Some(at("2026-12-06T14:00:29.900Z"));
    assert!(!draw(&v, 140, 45)[0].contains("reading the store"));

    let mut first = View::new("sqlite://x.db".into(), Duration::from_secs(2));
    first.error = Some("store sqlite://x.db does not exist".into());
    let all = draw(&first, 80, 30).join("\n");
    assert!(
        all.contains("DOWN: store sqlite://x.db does not exist, retrying"),
        "{all}"
    );
    assert!(all.contains("no snapshot yet"), "{all}");
}

#[test]
fn a_narrow_terminal_stacks_the_panes_with_short_headers() {
    let s = draw(&view(), 80, 60);
    let all = s.join("\n");
    for text in [
        "queues",
        "failing kinds",
        "schedules due next",
        "workers and schedulers",
        "avail",
    ] {
        assert!(all.contains(text), "no {text:?}:\n{all}");
    }
    assert_eq!(
        words_from(&s, "default")[..3],
        ["default", "1234567", "4"],
        "{all}"
    );
}

#[test]
fn the_overview_wraps_and_keeps_every_line_at_any_width() {
    for w in 60..=160 {
        let all = draw(&view(), w, 60).join("\n");
        let overview = &all[..all.find('└').unwrap_or(all.len())];
        let verdict = &overview[overview.find("needs attention:").unwrap_or(0)..];
        assert!(
            verdict.contains("nightly-report") && verdict.contains("failed"),
            "{w} columns: the verdict is cut\n{all}"
        );
    }
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

#[test]
fn keys_quit_refresh_move_scroll_and_open_help() {
    let mut v = view();
    assert_eq!(v.on_key(key(KeyCode::Char('q'))), Action::Quit);
    assert_eq!(
        v.on_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
        Action::Quit
    );
    assert_eq!(v.on_key(key(KeyCode::Char('r'))), Action::Refresh);
    assert_eq!(v.on_key(key(KeyCode::Tab)), Action::Redraw);
    assert_eq!(v.focus, Pane::Failing);
    v.on_key(key(KeyCode::Left));
    v.on_key(key(KeyCode::Left));
    assert_eq!(v.focus, Pane::Workers, "← wraps around");
    v.on_key(key(KeyCode::Down));
    v.on_key(key(KeyCode::Down));
    v.on_key(key(KeyCode::Up));
    assert_eq!(v.scroll, [0, 0, 0, 0]);
    // Two workers: scrolling stops at the last row, so one ↑ moves at once.
    for _ in 0..5 {
        v.on_key(key(KeyCode::Down));
    }
    assert_eq!(v.scroll, [0, 0, 0, 1]);

    // Scrolled by one, the workers pane starts at its second row.
    let all = draw(&v, 140, 45).join("\n");
    assert!(all.contains("s-77") && !all.contains("w-0192"), "{all}");

    v.on_key(key(KeyCode::Char('?')));
    let all = draw(&v, 140, 45).join("\n");
    assert!(all.contains("refresh now (at most once per 1s)"), "{all}");
    assert_eq!(
        v.on_key(key(KeyCode::Esc)),
        Action::Redraw,
        "Esc closes the help"
    );
    assert!(!v.help);
    assert_eq!(v.on_key(key(KeyCode::Esc)), Action::Quit);
}
