//! Output: `--json` (one JSON value on stdout, nothing else) or human text; logs on stderr.
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
    // notify (the SQLite wake-up's file watch) logs a harmless "unable to remove watch
    // descriptor" at INFO on every shutdown: only its warnings are news.
    let filter = tracing_subscriber::EnvFilter::try_from_env("ANP_LOG").unwrap_or_else(|_| {
        let quiet = if verbose >= 2 { "" } else { ",notify=warn" };
        tracing_subscriber::EnvFilter::new(format!("{default}{quiet}"))
    });
    let ansi = std::io::stderr().is_terminal() && !no_color(&env);
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .try_init();
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

/// Prints one JSON value on stdout, numbers rounded by field name: `*_ms` and `*_s` (times) to
/// 3 decimals, `*_per_s` (rates) to whole numbers, `*_rate`/`*_rate_*` (fractions) to 3
/// decimals (a percentage with 1), `*_pct` to 1. Values inside an object or array under such a
/// field (per-queue ages, min/max pairs) are rounded like it; a job's `args` (user data) are
/// never touched. Field order is kept.
pub fn json<T: Serialize>(v: &T) -> anyhow::Result<()> {
    let mut buf = Vec::with_capacity(4096);
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, Rounding::default());
    v.serialize(&mut ser)?;
    buf.push(b'\n');
    out(&String::from_utf8_lossy(&buf))
}

/// How [`Rounding`] writes the numbers of a value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Digits {
    /// As serialized.
    #[default]
    AsIs,
    /// Rounded to this many decimals (0: an integer).
    Round(i32),
    /// As serialized, and so everything inside (user data such as a job's args).
    Verbatim,
}

/// Fields whose values are user data, written as they are.
const VERBATIM: [&str; 1] = ["args"];

/// Decimals kept for a JSON field, by its name's unit suffix (see [`json`]).
fn decimals_for(key: &str) -> Option<i32> {
    if key.ends_with("_per_s") {
        Some(0)
    } else if key.ends_with("_ms") || key.ends_with("_s") {
        Some(3)
    } else if key.ends_with("_pct") || key.ends_with("_percent") {
        Some(1)
    } else if key.ends_with("_rate") || key.contains("_rate_") {
        Some(3)
    } else {
        None
    }
}

/// A pretty JSON formatter that rounds floats by the name of the field they are under.
#[derive(Default)]
struct Rounding {
    pretty: serde_json::ser::PrettyFormatter<'static>,
    /// Inside an object key: its text is collected in `key`.
    in_key: bool,
    key: String,
    /// How the value being written is written.
    current: Digits,
    /// What each open object or array passes on to its values.
    open: Vec<Digits>,
}

impl Rounding {
    fn inherited(&self) -> Digits {
        self.open.last().copied().unwrap_or_default()
    }
}

impl serde_json::ser::Formatter for Rounding {
    fn write_f64<W: ?Sized + Write>(&mut self, w: &mut W, value: f64) -> std::io::Result<()> {
        match self.current {
            Digits::Round(0) if value.abs() < 9.0e15 => {
                self.pretty.write_i64(w, value.round() as i64)
            }
            Digits::Round(d) => {
                let f = 10f64.powi(d);
                self.pretty.write_f64(w, (value * f).round() / f)
            }
            Digits::AsIs | Digits::Verbatim => self.pretty.write_f64(w, value),
        }
    }

    fn write_f32<W: ?Sized + Write>(&mut self, w: &mut W, value: f32) -> std::io::Result<()> {
        self.write_f64(w, f64::from(value))
    }

    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        if self.in_key {
            self.key.push_str(fragment);
        }
        self.pretty.write_string_fragment(w, fragment)
    }

    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.open.push(self.current);
        self.pretty.begin_array(w)
    }

    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.open.pop();
        self.pretty.end_array(w)
    }

    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.current = self.inherited();
        self.pretty.begin_array_value(w, first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.pretty.end_array_value(w)
    }

    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.open.push(self.current);
        self.pretty.begin_object(w)
    }

    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.open.pop();
        self.pretty.end_object(w)
    }

    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.in_key = true;
        self.key.clear();
        self.pretty.begin_object_key(w, first)
    }

    fn end_object_key<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.in_key = false;
        self.pretty.end_object_key(w)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        let inherited = self.inherited();
        self.current = if inherited == Digits::Verbatim || VERBATIM.contains(&self.key.as_str()) {
            Digits::Verbatim
        } else {
            decimals_for(&self.key).map_or(inherited, Digits::Round)
        };
        self.pretty.begin_object_value(w)
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.pretty.end_object_value(w)
    }
}

/// `-q/--quiet` of the list commands.
#[derive(clap::Args, Clone, Copy, Debug, Default)]
pub struct ListArgs {
    /// Print only the ids (names), one per line, for scripts.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Where human output goes, decided once per process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Term {
    /// Stdout is a terminal: draw tables; else tab-separated lines.
    tty: bool,
    /// Colour job states.
    color: bool,
    /// Columns to fit tables in (terminals only).
    width: Option<u16>,
}

fn term() -> Term {
    static TERM: OnceLock<Term> = OnceLock::new();
    *TERM.get_or_init(|| {
        let tty = std::io::stdout().is_terminal();
        Term {
            tty,
            color: color_wanted(tty, &env),
            width: if tty { terminal_width() } else { None },
        }
    })
}

fn env(name: &str) -> Option<OsString> {
    std::env::var_os(name)
}

fn no_color(var: &dyn Fn(&str) -> Option<OsString>) -> bool {
    var("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// `NO_COLOR` wins, then `CLICOLOR_FORCE`, then a terminal (not `CLICOLOR=0`, not `TERM=dumb`).
fn color_wanted(tty: bool, var: &dyn Fn(&str) -> Option<OsString>) -> bool {
    if no_color(var) {
        return false;
    }
    if var("CLICOLOR_FORCE").is_some_and(|v| !v.is_empty() && v != "0") {
        return true;
    }
    tty && var("CLICOLOR").is_none_or(|v| v != "0") && var("TERM").is_none_or(|v| v != "dumb")
}

/// `COLUMNS` when set to a number, else the terminal's width.
fn terminal_width() -> Option<u16> {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<u16>().ok())
        .filter(|w| *w > 0)
        .or_else(|| terminal_size::terminal_size_of(std::io::stdout()).map(|(w, _)| w.0))
}

/// The colour of a job state (`None`: plain).
fn state_color(state: &str) -> Option<Color> {
    match state {
        "dead" | "failed" => Some(Color::Red),
        "retryable" => Some(Color::Yellow),
        "completed" => Some(Color::Green),
        "running" => Some(Color::Cyan),
        "cancelled" => Some(Color::DarkGrey),
        _ => None,
    }
}

/// The ANSI SGR code of [`state_color`] for text outside tables.
fn sgr(c: Color) -> &'static str {
    match c {
        Color::Red => "31",
        Color::Yellow => "33",
        Color::Green => "32",
        Color::Cyan => "36",
        _ => "90",
    }
}

fn paint(state: &str, color: bool) -> String {
    match state_color(state).filter(|_| color) {
        Some(c) => format!("\x1b[{}m{state}\x1b[0m", sgr(c)),
        None => state.to_owned(),
    }
}

/// A job state for human text, coloured when colour is on.
pub fn state(s: impl fmt::Display) -> String {
    paint(&s.to_string(), term().color)
}

/// The last [`SHORT_ID_LEN`] hex digits of a job id (other text as is).
pub fn short_id(id: &str) -> &str {
    match id.rsplit_once('-') {
        Some((_, tail)) if id.len() == 36 && tail.len() == SHORT_ID_LEN => tail,
        _ => id,
    }
}

/// A table with the house style: see the module docs for how it looks where.
pub fn table(header: &[&str]) -> Table {
    Table {
        header: header.iter().map(|h| (*h).to_owned()).collect(),
        ..Table::default()
    }
}

/// Rows of human output, drawn for a terminal or tab-separated for a pipe (see [`table`]).
#[derive(Debug, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    job_ids: Vec<usize>,
    states: Vec<usize>,
    empty: Option<String>,
}

/// Columns at most this wide keep their width on a terminal (unless they cannot all fit).
const KEEP_MAX: usize = 24;

/// Room a wrapped column gets before short columns give up their width.
const WRAP_MIN: usize = 10;

impl Table {
    /// Adds a row (one cell per header column).
    pub fn add_row(&mut self, row: Vec<String>) -> &mut Self {
        self.rows.push(row);
        self
    }

    /// Column `i` holds job ids: shortened on a terminal, never wrapped.
    pub fn job_id_column(&mut self, i: usize) -> &mut Self {
        self.job_ids.push(i);
        self
    }

    /// Column `i` holds job states: coloured, never wrapped.
    pub fn state_column(&mut self, i: usize) -> &mut Self {
        self.states.push(i);
        self
    }

    /// What a terminal shows instead of a table without rows (a pipe gets the header line).
    pub fn when_empty(&mut self, message: impl Into<String>) -> &mut Self {
        self.empty = Some(message.into());
        self
    }

    /// Prints the table; with `quiet`, only its first column (the ids or names), one per line.
    pub fn print(&self, quiet: bool) -> anyhow::Result<()> {
        let text = if quiet {
            self.rows
                .iter()
                .filter_map(|r| r.first())
                .map(|id| format!("{id}\n"))
                .collect()
        } else {
            format!("{}\n", self.render(term()))
        };
        out(&text)
    }

    fn render(&self, t: Term) -> String {
        if !t.tty {
            return self.tab_separated(t.color);
        }
        if self.rows.is_empty() {
            if let Some(m) = &self.empty {
                return m.clone();
            }
        }
        self.boxed(t)
    }

    fn tab_separated(&self, color: bool) -> String {
        let clean = |c: &str| c.replace(['\t', '\n', '\r'], " ");
        let mut lines = vec![self.header.join("\t")];
        for r in &self.rows {
            let cells: Vec<String> = r
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let c = clean(c);
                    if self.states.contains(&i) {
                        paint(&c, color)
                    } else {
                        c
                    }
                })
                .collect();
            lines.push(cells.join("\t"));
        }
        lines.join("\n")
    }

    fn boxed(&self, t: Term) -> String {
        let rows: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| {
                r.iter()
                    .enumerate()
                    .map(|(i, c)| {
                        if self.job_ids.contains(&i) {
                            short_id(c).to_owned()
                        } else {
                            c.clone()
                        }
                    })
                    .collect()
            })
            .collect();
        let new_table = || {
            let mut table = comfy_table::Table::new();
            table
                .load_style(UTF8_FULL_CONDENSED)
                .set_content_arrangement(ContentArrangement::Dynamic)
                .force_no_tty();
            if t.color {
                table.enforce_styling();
            }
            if let Some(w) = t.width {
                table.set_width(w);
            }
            table
        };
        let cell = |i: usize, c: &str| {
            let cell = Cell::new(c);
            match state_color(c).filter(|_| t.color && self.states.contains(&i)) {
                Some(color) => cell.fg(color),
                None => cell,
            }
        };
        let fit = t.width.map(|w| self.constraints(&rows, usize::from(w)));
        if let Some(None) = fit {
            // Too narrow for the columns side by side: each row as a small table of its own,
            // one line per column.
            let records: Vec<String> = rows
                .iter()
                .map(|r| {
                    let mut table = new_table();
                    for (i, c) in r.iter().enumerate() {
                        table.add_row(vec![Cell::new(&self.header[i]), cell(i, c)]);
                    }
                    table.set_constraints([
                        ColumnConstraint::ContentWidth,
                        ColumnConstraint::LowerBoundary(Width::Fixed(3)),
                    ]);
                    table.to_string()
                })
                .collect();
            return records.join("\n");
        }
        let mut table = new_table();
        table.set_header(self.header.clone());
        for r in &rows {
            table.add_row(r.iter().enumerate().map(|(i, c)| cell(i, c)));
        }
        if let Some(Some(constraints)) = fit {
            table.set_constraints(constraints);
        }
        table.to_string()
    }

    /// Fits the table in `width`: ids, states and short columns keep their content width while
    /// the long ones keep at least some room; headers never break inside a word. `None` when
    /// the columns cannot stand side by side in `width` at all.
    fn constraints(&self, rows: &[Vec<String>], width: usize) -> Option<Vec<ColumnConstraint>> {
        let n = self.header.len();
        let chars = |s: &str| s.chars().count();
        let word = |i: usize| {
            self.header[i]
                .split_whitespace()
                .map(chars)
                .max()
                .unwrap_or(1)
        };
        let content = |i: usize| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .flat_map(|c| c.lines())
                .map(chars)
                .chain([chars(&self.header[i])])
                .max()
                .unwrap_or(0)
        };
        let content: Vec<usize> = (0..n).map(content).collect();
        let must = |i: usize| self.job_ids.contains(&i) || self.states.contains(&i);
        let mut keep: Vec<bool> = (0..n).map(|i| must(i) || content[i] <= KEEP_MAX).collect();
        // Borders (one more than the columns) and one space of padding on each side.
        let budget = width.saturating_sub(n + 1 + 2 * n);
        // What the columns need: their content when kept, else `room`.
        let need = |keep: &[bool], room: &dyn Fn(usize) -> usize| -> usize {
            (0..n)
                .map(|i| if keep[i] { content[i] } else { room(i) })
                .sum()
        };
        let mut give_up: Vec<usize> = (0..n).filter(|&i| keep[i] && !must(i)).collect();
        give_up.sort_by_key(|&i| std::cmp::Reverse(content[i]));
        // First the widest short columns wrap, if that leaves long text some room; then, on a
        // very narrow terminal, any short column wraps (between words where it can).
        let rooms: [&dyn Fn(usize) -> usize; 2] = [
            &|i: usize| content[i].min(word(i).max(WRAP_MIN)),
            &|i: usize| content[i].min(word(i)),
        ];
        for room in rooms {
            for &i in &give_up {
                if need(&keep, room) <= budget {
                    break;
                }
                if content[i] > room(i) {
                    keep[i] = false;
                }
            }
        }
        if need(&keep, rooms[1]) > budget {
            return None;
        }
        let constraints = (0..n)
            .map(|i| {
                if keep[i] {
                    ColumnConstraint::ContentWidth
                } else {
                    let w = u16::try_from(word(i) + 2).unwrap_or(u16::MAX);
                    ColumnConstraint::LowerBoundary(Width::Fixed(w))
                }
            })
            .collect();
        Some(constraints)
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(term()))
    }
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
