//! Output: `--json` (one JSON value on stdout, nothing else) or human text; logs on stderr.
//! Rooms: `json.rs` (the rounding JSON writer), `table.rs` (tables, colour, `-q`); this file:
//! logging, a closed stdout, progress bars and numbers for people.
//!
//! Human output follows where stdout goes (README "Output"):
//! - a terminal: tables with box lines, fitted to the width (`COLUMNS`, else the terminal's):
//!   short columns (ids, states, counts, ages, times) keep their width and long text wraps; job
//!   ids show their last 12 hex digits, which every command taking a job id accepts;
//! - anything else (a pipe, a file): one header line, then tab-separated rows with whole ids; no
//!   box characters and no colour, so `cut`, `awk` and `grep` see only the values;
//! - `-q/--quiet` on list commands ([`ListArgs`]): only the ids (or names), one per line.
//!
//! Colour (job states: dead red, retryable yellow, completed green, running cyan, cancelled
//! grey): off when `NO_COLOR` is set and not empty; else on when `CLICOLOR_FORCE` is set and not
//! `0`; else on when stdout is a terminal, unless `CLICOLOR=0` or `TERM=dumb`.
//!
//! Numbers: `--json` output is rounded by field name ([`json`]); human text uses [`ms`],
//! [`span`] and [`age`].
//!
//! A reader that stops reading (`anp jobs list | head`) ends the command quietly with exit code
//! [`EXIT_STDOUT_CLOSED`] (0): see [`StdoutClosed`] and [`exit_quietly_on_closed_pipe`].

use std::ffi::OsString;
use std::fmt;
use std::io::{IsTerminal, Write};
use std::sync::OnceLock;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, Color, ColumnConstraint, ContentArrangement, Width};
use indicatif::{ProgressBar, ProgressStyle};
use jiff::Timestamp;
use serde::Serialize;

mod json;
mod table;

pub use json::json;
// The rooms' crate-private helpers (colour rules, width, rounding), for this module's logging
// setup and its tests; not all are used outside tests.
#[allow(unused_imports)]
use json::*;
#[allow(unused_imports)]
use table::*;
pub use table::{state, table, ListArgs};

/// Exit code when stdout's reader went away (`| head`): the command did its work, the reader
/// chose to stop reading. Documented in README's exit-code table.
pub const EXIT_STDOUT_CLOSED: u8 = 0;

/// Hex digits of a job id that tables show (its last group).
pub const SHORT_ID_LEN: usize = 12;

/// Logs go to stderr; `ANP_LOG` (a tracing filter) wins over `-v`.
pub fn init_logging(verbose: u8, long_running: bool) {
    let default = match (verbose, long_running) {
        (0, false) => "warn",
        (0, true) | (1, _) => "info",
        (2, _) => "debug",
        _ => "trace",
    };
    let filter = log_filter(std::env::var("ANP_LOG").ok().as_deref(), default, verbose);
    let ansi = std::io::stderr().is_terminal() && !no_color(&env);
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .try_init();
}

/// The tracing filter: `ANP_LOG` when it parses, else `default`. notify (the SQLite wake-up's
/// file watch) logs a harmless "unable to remove watch descriptor … Invalid argument" at INFO
/// on every shutdown, which reads like a failure: only its warnings are shown, unless `-vv` or
/// an `ANP_LOG` that names `notify` asks for more.
fn log_filter(env: Option<&str>, default: &str, verbose: u8) -> tracing_subscriber::EnvFilter {
    let quiet = |f: &str| {
        if verbose >= 2 || f.contains("notify") {
            f.to_owned()
        } else {
            format!("{f},notify=warn")
        }
    };
    env.and_then(|f| tracing_subscriber::EnvFilter::try_new(quiet(f)).ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new(quiet(default)))
}

/// Stdout's reader went away (`anp … | head`, EPIPE): the command stops writing and exits
/// quietly with [`EXIT_STDOUT_CLOSED`].
#[derive(Debug)]
pub struct StdoutClosed;

impl fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("stdout was closed by its reader")
    }
}

impl std::error::Error for StdoutClosed {}

/// A command printed its outcome (the whole `--json` object among it) and still fails: `anp`
/// prints `message` on stderr and exits with `code`, without a second `--json` object.
#[derive(Debug)]
pub struct Reported {
    /// The exit code.
    pub code: u8,
    /// What failed, what was expected, whether retrying is safe.
    pub message: String,
}

impl fmt::Display for Reported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Reported {}

/// Writes `text` on stdout and flushes it; a closed stdout is [`StdoutClosed`].
pub fn out(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                anyhow::Error::new(StdoutClosed)
            } else {
                anyhow::Error::new(e).context("cannot write to stdout")
            }
        })
}

/// `println!` panics when its reader went away; this hook turns that panic (on stdout or
/// stderr) into a quiet exit with [`EXIT_STDOUT_CLOSED`]. Every other panic is reported as
/// before.
pub fn exit_quietly_on_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let text = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if text.starts_with("failed printing to std")
            && (text.contains("os error 32") || text.contains("Broken pipe"))
        {
            std::process::exit(i32::from(EXIT_STDOUT_CLOSED));
        }
        default(info);
    }));
}

/// A progress bar on a terminal (hidden otherwise, and with `--json`).
pub fn progress(len: u64, json: bool, what: &str) -> ProgressBar {
    if json || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len);
    let style = ProgressStyle::with_template(
        "{msg} [{elapsed_precise}] {wide_bar} {pos}/{len} ({per_sec}, eta {eta})",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    pb.set_style(style);
    pb.set_message(what.to_owned());
    pb
}

/// Whole seconds for people: `42s`, `3m`, `5h`, `2d` (the unit changes at 2 of the next).
pub fn span(secs: i64) -> String {
    // Rounded to the nearest unit, not truncated: `--in 10m` read a moment later is "in 10m",
    // not "in 9m". A unit is used while the rounded count stays under its limit (119s, 119m,
    // 47h), so 7,199 s is "2h", not "120m".
    const UNITS: [(i64, &str, i64); 4] = [
        (1, "s", 120),
        (60, "m", 120),
        (3600, "h", 48),
        (86_400, "d", i64::MAX),
    ];
    for (unit, name, limit) in UNITS {
        let n = (secs as f64 / unit as f64).round() as i64;
        if n.abs() < limit {
            return format!("{n}{name}");
        }
    }
    format!("{}d", secs / 86_400)
}

/// A duration as [`span`] writes whole seconds (`90s`, `5m`, `2d`).
pub fn span_of(d: std::time::Duration) -> String {
    span(i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// `3m ago`-style age, for humans (`in 5m` for a time ahead).
pub fn age(t: Timestamp, now: Timestamp) -> String {
    let secs = now.duration_since(t).as_secs();
    if secs < 0 {
        format!("in {}", span(-secs))
    } else {
        format!("{} ago", span(secs))
    }
}

/// Milliseconds for people: 3 decimals at most, fewer as the value grows (`0.116`, `12.5`,
/// `340`).
pub fn ms(x: f64) -> String {
    let s = if x.abs() >= 100.0 {
        format!("{x:.0}")
    } else if x.abs() >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.3}")
    };
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

/// RFC 3339 in UTC with seconds.
pub fn ts(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn spans_round_to_the_nearest_unit() {
        // `anp enqueue --in 10m`, listed a moment later (issue 13: it said "in 9m").
        assert_eq!(super::span(-599), "-10m");
        assert_eq!(super::span(599), "10m");
        assert_eq!(super::span(89), "89s");
        assert_eq!(super::span(5399), "90m");
        assert_eq!(super::span(7199), "2h");
    }

    use super::*;

    #[test]
    fn notify_info_lines_stay_hidden_unless_asked_for() {
        let f = |env, verbose| log_filter(env, "info", verbose).to_string();
        // the quickstart's `ANP_LOG=info anp work`: the shutdown line of notify is hidden
        assert!(
            f(Some("info"), 0).contains("notify=warn"),
            "{}",
            f(Some("info"), 0)
        );
        assert!(f(None, 0).contains("notify=warn"));
        // asked for: -vv, or a filter that names notify itself
        assert!(!f(None, 2).contains("notify"));
        let named = f(Some("warn,notify=debug"), 0);
        assert!(
            named.contains("notify=debug") && !named.contains("notify=warn"),
            "{named}"
        );
        // an ANP_LOG that does not parse falls back to the default
        assert_eq!(f(Some("info,[bad"), 0), f(None, 0));
    }

    fn vars<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn colour_follows_no_color_then_clicolor_force_then_the_terminal() {
        assert!(color_wanted(true, &vars(&[("TERM", "xterm")])));
        assert!(!color_wanted(false, &vars(&[("TERM", "xterm")])));
        assert!(!color_wanted(true, &vars(&[("NO_COLOR", "1")])));
        assert!(color_wanted(true, &vars(&[("NO_COLOR", "")])));
        assert!(color_wanted(false, &vars(&[("CLICOLOR_FORCE", "1")])));
        assert!(!color_wanted(false, &vars(&[("CLICOLOR_FORCE", "0")])));
        assert!(!color_wanted(
            false,
            &vars(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")])
        ));
        assert!(!color_wanted(true, &vars(&[("CLICOLOR", "0")])));
        assert!(!color_wanted(true, &vars(&[("TERM", "dumb")])));
    }

    #[test]
    fn json_numbers_are_rounded_by_field_name_in_order() {
        let v = serde_json::json!({
            "round_trip_ms": 0.11592999999999999,
            "enqueue_per_s": 12345.678,
            "failure_rate_15m": 0.123456,
            "oldest_available_age_s": {"mail": 12.3456789},
            "spread": {"process_per_s": {"min": 10.6, "max": 20.2}},
            "ratio": 0.123456,
            "count": 3,
            "args": {"wait_ms": 1.23456, "x": [0.5555]},
        });
        let mut buf = Vec::new();
        let mut ser = serde_json::Serializer::with_formatter(&mut buf, Rounding::default());
        v.serialize(&mut ser).unwrap_or_else(|e| panic!("{e}"));
        let text = String::from_utf8_lossy(&buf);
        let back: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back["round_trip_ms"], serde_json::json!(0.116));
        assert_eq!(back["enqueue_per_s"], serde_json::json!(12346));
        assert_eq!(back["failure_rate_15m"], serde_json::json!(0.123));
        assert_eq!(
            back["oldest_available_age_s"]["mail"],
            serde_json::json!(12.346)
        );
        assert_eq!(
            back["spread"]["process_per_s"]["min"],
            serde_json::json!(11)
        );
        assert_eq!(back["ratio"], serde_json::json!(0.123456));
        assert_eq!(back["count"], serde_json::json!(3));
        assert_eq!(back["args"]["wait_ms"], serde_json::json!(1.23456));
        assert!(text.contains("\n  \"round_trip_ms\": 0.116,\n"), "{text}");
    }

    #[test]
    fn people_get_short_numbers_and_ids() {
        assert_eq!(ms(0.11592999999999999), "0.116");
        assert_eq!(ms(2.5), "2.5");
        assert_eq!(ms(12.345), "12.3");
        assert_eq!(ms(340.4), "340");
        assert_eq!(ms(1.0), "1");
        assert_eq!(span(59), "59s");
        assert_eq!(span(3 * 3600), "3h");
        assert_eq!(
            short_id("0192f0c1-8f3a-7c2e-9d1b-3f4a5b6c7d8e"),
            "3f4a5b6c7d8e"
        );
        assert_eq!(short_id("worker-1"), "worker-1");
    }

    #[test]
    fn tables_fit_the_width_and_keep_ids_whole() {
        let mut t = table(&["id", "kind", "state", "last error"]);
        t.job_id_column(0).state_column(2);
        let long = "connection refused by upstream while sending the newsletter ".repeat(3);
        t.add_row(vec![
            "0192f0c1-8f3a-7c2e-9d1b-3f4a5b6c7d8e".into(),
            "email.send".into(),
            "dead".into(),
            long,
        ]);
        let term = Term {
            tty: true,
            color: false,
            width: Some(60),
        };
        let text = t.render(term);
        assert!(text.lines().all(|l| l.chars().count() <= 60), "{text}");
        assert!(text.contains("3f4a5b6c7d8e"), "{text}");
        assert!(text.contains("last"), "{text}");
        let mut wide = table(&["queue", "scheduled", "available", "completed", "retryable"]);
        wide.add_row(vec![
            "mail".into(),
            "0".into(),
            "3".into(),
            "10".into(),
            "1".into(),
        ]);
        let narrow = Term {
            tty: true,
            color: false,
            width: Some(30),
        };
        let text = wide.render(narrow);
        assert!(text.lines().all(|l| l.chars().count() <= 30), "{text}");
        assert!(
            text.contains(" retryable ") && text.contains(" 10 "),
            "{text}"
        );
        let piped = t.render(Term {
            tty: false,
            color: false,
            width: None,
        });
        assert!(
            piped.starts_with("id\tkind\tstate\tlast error\n0192f0c1-"),
            "{piped}"
        );
    }
}
