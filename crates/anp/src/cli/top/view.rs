//! What `anp top` draws: a pure function of the [`View`] and the time, so it is tested by
//! drawing into ratatui's `TestBackend`.

use std::time::Duration;

use alphanode::admin::Status;
use alphanode::JobState;
use jiff::Timestamp;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Row, Table, Wrap};
use ratatui::Frame;

use super::snapshot::Snapshot;
use crate::cli::status::{ms, pct};
use crate::output;
use crate::wire::views::next_run;

/// The four lists below the overview, in the order Tab visits them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pane {
    /// Counts per state per queue.
    Queues,
    /// The most frequent errors of the last 15 minutes and failing schedules.
    Failing,
    /// Schedules by next run.
    Schedules,
    /// Live workers and schedulers.
    Workers,
}

impl Pane {
    const ALL: [Pane; 4] = [Pane::Queues, Pane::Failing, Pane::Schedules, Pane::Workers];

    fn index(self) -> usize {
        match self {
            Pane::Queues => 0,
            Pane::Failing => 1,
            Pane::Schedules => 2,
            Pane::Workers => 3,
        }
    }

    fn moved(self, by: isize) -> Pane {
        let n = Pane::ALL.len() as isize;
        let i = (self.index() as isize + by).rem_euclid(n);
        Pane::ALL[i as usize]
    }
}

/// What a key asks for beyond moving around the screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Nothing to do but draw again.
    Redraw,
    /// Read a snapshot now (rate-limited by the caller).
    Refresh,
    /// Leave.
    Quit,
}

/// Everything the screen shows.
#[derive(Debug)]
pub struct View {
    /// The store's URL, password hidden.
    pub store: String,
    /// Time between snapshots.
    pub interval: Duration,
    /// The last snapshot read, if any (kept on screen, marked stale, while the store is down).
    pub snapshot: Option<Snapshot>,
    /// Why the last refresh failed; `None` once one succeeds again.
    pub error: Option<String>,
    /// When the last refresh failed (its age is shown).
    pub error_at: Option<Timestamp>,
    /// When the snapshot being read started, if one is.
    pub reading_since: Option<Timestamp>,
    /// The pane the arrow keys scroll.
    pub focus: Pane,
    /// First row shown, per pane.
    pub scroll: [usize; 4],
    /// The help box is open.
    pub help: bool,
}

impl View {
    /// The screen before the first snapshot.
    pub fn new(store: String, interval: Duration) -> View {
        View {
            store,
            interval,
            snapshot: None,
            error: None,
            error_at: None,
            reading_since: None,
            focus: Pane::Queues,
            scroll: [0; 4],
            help: false,
        }
    }

    /// Applies a key press: q / Esc / Ctrl-C quit (Esc first closes the help box), r refresh,
    /// Tab / Shift-Tab / ← / → change pane, ↑ / ↓ / PgUp / PgDn / Home scroll it, ? help.
    pub fn on_key(&mut self, key: KeyEvent) -> Action {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let pane = self.focus.index();
        match key.code {
            KeyCode::Char('c') if ctrl => return Action::Quit,
            KeyCode::Char('q') | KeyCode::Char('Q') => return Action::Quit,
            KeyCode::Esc if self.help => self.help = false,
            KeyCode::Esc => return Action::Quit,
            KeyCode::Char('r') | KeyCode::Char('R') => return Action::Refresh,
            KeyCode::Char('?') => self.help = !self.help,
            KeyCode::Tab | KeyCode::Right => self.focus = self.focus.moved(1),
            KeyCode::BackTab | KeyCode::Left => self.focus = self.focus.moved(-1),
            KeyCode::Down | KeyCode::Char('j') => self.scroll[pane] += 1,
            KeyCode::Up | KeyCode::Char('k') => {
                self.scroll[pane] = self.scroll[pane].saturating_sub(1)
            }
            KeyCode::PageDown => self.scroll[pane] += 10,
            KeyCode::PageUp => self.scroll[pane] = self.scroll[pane].saturating_sub(10),
            KeyCode::Home => self.scroll[pane] = 0,
            _ => {}
        }
        self.scroll[pane] = self.scroll[pane].min(self.rows(self.focus).saturating_sub(1));
        Action::Redraw
    }

    /// Rows the pane lists in the last snapshot.
    fn rows(&self, pane: Pane) -> usize {
        self.snapshot.as_ref().map_or(0, |s| match pane {
            Pane::Queues => s.queues.len(),
            Pane::Failing => s.status.failing.top_errors.len() + s.status.failing.schedules.len(),
            Pane::Schedules => s.schedules.len(),
            Pane::Workers => s.status.up.processes.len(),
        })
    }
}

/// Draws the whole screen as of `now`.
pub fn render(frame: &mut Frame<'_>, view: &View, now: Timestamp) {
    let area = frame.area();
    let overview = view
        .snapshot
        .as_ref()
        .map(|s| overview_lines(&s.status, now));
    let down = view.error.as_ref().map(|e| down_line(view, e, now));
    let down = down.map(|l| Paragraph::new(l).wrap(Wrap { trim: false }));
    let down_height = down
        .as_ref()
        .map_or(0, |p| height(p.line_count(area.width)));
    // Counted without the block: line_count wraps at the width it is given, borders included.
    let overview = overview.map(|lines| Paragraph::new(lines).wrap(Wrap { trim: false }));
    let overview_height = overview.as_ref().map_or(3, |p| {
        height(p.line_count(area.width.saturating_sub(2))).saturating_add(2)
    });
    let overview = overview.map(|p| p.block(Block::bordered().title(TITLE)));
    let [header, down_area, overview_area, panes, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(down_height),
        Constraint::Max(overview_height),
        Constraint::Min(4),
        Constraint::Length(1),
    ])
    .areas(area);

    frame.render_widget(Paragraph::new(header_line(view, now)), header);
    if let Some(d) = down {
        frame.render_widget(d, down_area);
    }
    match overview {
        Some(p) => frame.render_widget(p, overview_area),
        None => {
            let text = if view.error.is_some() {
                "no snapshot yet"
            } else {
                "reading the store…"
            };
            frame.render_widget(
                Paragraph::new(text).block(Block::bordered().title(TITLE)),
                overview_area,
            )
        }
    }
    render_panes(frame, view, now, panes);
    frame.render_widget(
        Paragraph::new(" q quit · r refresh · tab/←/→ pane · ↑/↓ scroll · ? help".to_owned())
            .style(Style::new().fg(Color::DarkGray)),
        footer,
    );
    if view.help {
        render_help(frame, view, area);
    }
}

fn header_line(view: &View, now: Timestamp) -> Line<'static> {
    let mut spans = vec![
        Span::styled("anp top", Style::new().add_modifier(Modifier::BOLD)),
        Span::raw(format!(" · {} · every {}", view.store, secs(view.interval))),
    ];
    match &view.snapshot {
        Some(s) => spans.push(Span::raw(format!(
            " · updated {} ({} UTC)",
            output::age(s.taken_at, now),
            s.taken_at.strftime("%H:%M:%S")
        ))),
        None => spans.push(Span::raw(" · no snapshot yet")),
    }
    // Said only when it takes a while, so a quick snapshot does not flicker in the header.
    if let Some(since) = view.reading_since {
        let secs = now.duration_since(since).as_secs();
        if secs >= 1 {
            spans.push(Span::raw(format!(" · reading the store for {secs}s…")));
        }
    }
    if let Some(s) = &view.snapshot {
        let (text, color) = if s.status.ok {
            ("all well", Color::Green)
        } else {
            ("needs attention", Color::Yellow)
        };
        spans.push(Span::raw(" · "));
        spans.push(Span::styled(
            text,
            Style::new().fg(color).add_modifier(Modifier::BOLD),
        ));
    }
    Line::from(spans)
}

const TITLE: &str = " the four questions ";

fn height(rows: usize) -> u16 {
    u16::try_from(rows).unwrap_or(u16::MAX)
}

fn down_line(view: &View, error: &str, now: Timestamp) -> Line<'static> {
    let since = view
        .error_at
        .map(|t| format!(" (since {})", output::age(t, now)))
        .unwrap_or_default();
    let stale = if view.snapshot.is_some() {
        "; below: the last snapshot"
    } else {
        ""
    };
    Line::from(vec![
        Span::styled(
            "DOWN: ",
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        ),
        Span::styled(
            format!(
                "{error}, retrying every {}{since}{stale}",
                secs(view.interval)
            ),
            Style::new().fg(Color::Red),
        ),
    ])
}

fn label(name: &'static str) -> Span<'static> {
    Span::styled(
        format!("{name:<9}"),
        Style::new().add_modifier(Modifier::BOLD),
    )
}

/// The four questions (and the cache), one line each, then the verdict.
fn overview_lines(s: &Status, _now: Timestamp) -> Vec<Line<'static>> {
    let u = &s.up;
    let mut lines = vec![Line::from(vec![
        label("UP"),
        Span::raw(format!(
            "store {} ({}), round trip {} ms · {} worker(s), {} scheduler(s)",
            u.store,
            u.backend,
            output::ms(u.round_trip_ms),
            u.workers,
            u.schedulers
        )),
    ])];
    let (r, b) = (&s.slow.last_15m, &s.slow.hour_before);
    let oldest = s
        .slow
        .oldest_available_age_s
        .values()
        .flatten()
        .fold(None::<f64>, |m, a| Some(m.map_or(*a, |m| m.max(*a))));
    lines.push(Line::from(vec![
        label("SLOW"),
        Span::raw(format!(
            "wait p50/p95 {} / {} (hour before {} / {}) · run p50/p95 {} / {} (hour before {} / {}){}",
            ms(r.wait_p50_ms),
            ms(r.wait_p95_ms),
            ms(b.wait_p50_ms),
            ms(b.wait_p95_ms),
            ms(r.run_p50_ms),
            ms(r.run_p95_ms),
            ms(b.run_p50_ms),
            ms(b.run_p95_ms),
            oldest
                .map(|a| format!(" · oldest available job waited {}", output::span(a as i64)))
                .unwrap_or_default()
        )),
    ]));
    let f = &s.failing;
    let failing_style = if f.dead_15m > 0 || f.failure_rate_15m.is_some_and(|r| r > 0.10) {
        Style::new().fg(Color::Yellow)
    } else {
        Style::new()
    };
    lines.push(Line::from(vec![
        label("FAILING"),
        Span::styled(
            format!(
                "{} attempt(s) failed, {} job(s) went dead in the last 15 min (failure rate {}) · {} dead in the store",
                f.failed_15m,
                f.dead_15m,
                pct(f.failure_rate_15m),
                f.dead_total
            ),
            failing_style,
        ),
    ]));
    let d = &s.deploy;
    lines.push(Line::from(vec![
        label("DEPLOY"),
        match &d.last {
            None => Span::raw("no deploy marker (anp deploy mark --version V)"),
            Some(m) => Span::styled(
                format!(
                    "{} ({} ago, owner {}): {}{} · rollback: {}",
                    m.version,
                    output::span(i64::try_from(m.age_s).unwrap_or(i64::MAX)),
                    m.owner.as_deref().unwrap_or("-"),
                    d.verdict,
                    d.why
                        .as_deref()
                        .map(|w| format!(" — {w}"))
                        .unwrap_or_default(),
                    m.rollback.as_deref().unwrap_or("-")
                ),
                if d.verdict == "worse" {
                    Style::new().fg(Color::Yellow)
                } else {
                    Style::new()
                },
            ),
        },
    ]));
    let c = &s.cache;
    if c.namespaces > 0 {
        lines.push(Line::from(vec![
            label("CACHE"),
            Span::raw(format!(
                "hit ratio {} over {} lookup(s) in the last 15 min · around the last deploy {} → {} · {} namespace(s)",
                pct(c.hit_ratio_15m),
                c.lookups_15m,
                pct(c.hit_ratio_before_deploy),
                pct(c.hit_ratio_after_deploy),
                c.namespaces
            )),
        ]));
    }
    if let Some(h) = &c.http {
        let t = &h.total;
        lines.push(Line::from(vec![
            label("HTTP"),
            Span::raw(format!(
                "hit ratio {} · bypass rate {} over {} request(s) in the last 15 min · around the last deploy hit {} → {}",
                pct(t.hit_ratio_15m),
                pct(t.bypass_rate_15m),
                t.requests_15m,
                pct(t.hit_ratio_before_deploy),
                pct(t.hit_ratio_after_deploy)
            )),
        ]));
    }
    if s.ok {
        lines.push(Line::from(Span::styled(
            "all well",
            Style::new().fg(Color::Green),
        )));
    } else {
        let mut spans = vec![Span::styled(
            "needs attention: ",
            Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
        )];
        spans.push(Span::styled(
            s.problems.join(" · "),
            Style::new().fg(Color::Yellow),
        ));
        lines.push(Line::from(spans));
    }
    lines
}

/// The four panes: on a wide terminal the queues and the failing kinds across the whole width
/// (their rows are wide) above schedules and workers side by side; stacked on a narrow one.
fn render_panes(frame: &mut Frame<'_>, view: &View, now: Timestamp, area: Rect) {
    let areas: [Rect; 4] = if area.width >= 100 {
        let [queues, failing, bottom] = Layout::vertical([Constraint::Fill(1); 3]).areas(area);
        let [schedules, workers] =
            Layout::horizontal([Constraint::Percentage(58), Constraint::Percentage(42)])
                .areas(bottom);
        [queues, failing, schedules, workers]
    } else {
        Layout::vertical([Constraint::Fill(1); 4]).areas(area)
    };
    for pane in Pane::ALL {
        let (title, header, widths, rows) =
            pane_content(view, pane, now, areas[pane.index()].width);
        let total = rows.len();
        let inner_rows = usize::from(areas[pane.index()].height.saturating_sub(3));
        let first = view.scroll[pane.index()].min(total.saturating_sub(1));
        let shown = rows.into_iter().skip(first);
        let more = if total > inner_rows {
            format!(
                " ({}-{} of {total})",
                first + 1,
                (first + inner_rows).min(total)
            )
        } else {
            String::new()
        };
        let focused = view.focus == pane;
        let border = if focused {
            Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)
        } else {
            Style::new()
        };
        let block = Block::bordered()
            .title(format!(" {title}{more} "))
            .border_style(border);
        let table = Table::new(shown, widths)
            .header(Row::new(header).style(Style::new().add_modifier(Modifier::BOLD)))
            .block(block)
            .column_spacing(1);
        frame.render_widget(table, areas[pane.index()]);
    }
}

type PaneContent = (
    &'static str,
    Vec<&'static str>,
    Vec<Constraint>,
    Vec<Row<'static>>,
);

fn pane_content(view: &View, pane: Pane, now: Timestamp, width: u16) -> PaneContent {
    let snap = view.snapshot.as_ref();
    match pane {
        Pane::Queues => {
            let states = [
                JobState::Available,
                JobState::Scheduled,
                JobState::Running,
                JobState::Retryable,
                JobState::Dead,
                JobState::Completed,
                JobState::Cancelled,
            ];
            // Whole state names when they fit (7 numbers of up to 7 digits), else short ones.
            let short = width < 96;
            let name = |s: &JobState| -> &'static str {
                if !short {
                    return s.as_str();
                }
                match s {
                    JobState::Available => "avail",
                    JobState::Scheduled => "sched",
                    JobState::Running => "run",
                    JobState::Retryable => "retry",
                    JobState::Dead => "dead",
                    JobState::Completed => "done",
                    JobState::Cancelled => "cancl",
                }
            };
            let mut header = vec!["queue"];
            header.extend(states.iter().map(name));
            header.push(if short { "oldest" } else { "oldest available" });
            let mut widths = vec![Constraint::Min(8)];
            widths.extend(
                states
                    .iter()
                    .map(|s| Constraint::Length(u16::try_from(name(s).len().max(7)).unwrap_or(9))),
            );
            widths.push(Constraint::Length(if short { 6 } else { 16 }));
            let mut queues: Vec<_> = snap.map(|s| s.queues.iter().collect()).unwrap_or_default();
            queues.sort_by(|a, b| a.queue.as_str().cmp(b.queue.as_str()));
            let rows = queues
                .into_iter()
                .map(|q| {
                    let mut cells = vec![if q.paused {
                        format!("{} (paused)", q.queue)
                    } else {
                        q.queue.to_string()
                    }];
                    cells.extend(
                        states
                            .iter()
                            .map(|s| q.counts.get(s).copied().unwrap_or(0).to_string()),
                    );
                    cells.push(
                        q.oldest_available_at
                            .map(|t| output::span(now.duration_since(t).as_secs().max(0)))
                            .unwrap_or_else(|| "-".into()),
                    );
                    let style = if q.paused {
                        Style::new().fg(Color::Yellow)
                    } else {
                        Style::new()
                    };
                    Row::new(cells).style(style)
                })
                .collect();
            ("queues", header, widths, rows)
        }
        Pane::Failing => {
            let mut rows = Vec::new();
            if let Some(s) = snap {
                for e in &s.status.failing.top_errors {
                    rows.push(Row::new(vec![
                        e.count.to_string(),
                        e.kind.clone(),
                        e.message.clone(),
                    ]));
                }
                for p in &s.status.failing.schedules {
                    rows.push(
                        Row::new(vec![
                            "-".to_owned(),
                            format!("schedule {}", p.name),
                            format!(
                                "{} (owner {}; rollback: {})",
                                p.problem,
                                p.owner.as_deref().unwrap_or("-"),
                                p.rollback.as_deref().unwrap_or("-")
                            ),
                        ])
                        .style(Style::new().fg(Color::Yellow)),
                    );
                }
            }
            (
                "failing kinds, last 15 min",
                vec!["jobs", "kind", "last error"],
                vec![
                    Constraint::Length(5),
                    Constraint::Max(24),
                    Constraint::Fill(1),
                ],
                rows,
            )
        }
        Pane::Schedules => {
            let mut next: Vec<_> = snap
                .map(|s| {
                    s.schedules
                        .iter()
                        .map(|i| (i, if i.paused { None } else { next_run(i, now) }))
                        .collect()
                })
                .unwrap_or_default();
            // Soonest first; paused and never-again schedules last, by name.
            next.sort_by(|(a, an), (b, bn)| {
                (
                    an.is_none(),
                    an.as_ref().map(|z| z.timestamp()),
                    a.def.name.as_str(),
                )
                    .cmp(&(
                        bn.is_none(),
                        bn.as_ref().map(|z| z.timestamp()),
                        b.def.name.as_str(),
                    ))
            });
            let rows = next
                .into_iter()
                .map(|(i, n)| {
                    let (when, zone, until) = match (&n, i.paused) {
                        (_, true) => ("paused".to_owned(), i.def.tz.clone(), String::new()),
                        (None, false) => ("never".to_owned(), i.def.tz.clone(), String::new()),
                        (Some(z), false) => (
                            z.strftime("%Y-%m-%d %H:%M:%S").to_string(),
                            i.def.tz.clone(),
                            output::age(z.timestamp(), now),
                        ),
                    };
                    Row::new(vec![i.def.name.to_string(), until, when, zone])
                })
                .collect::<Vec<_>>();
            let names = snap.map_or(0, |s| {
                s.schedules
                    .iter()
                    .map(|i| i.def.name.as_str().chars().count())
                    .max()
                    .unwrap_or(0)
            });
            (
                "schedules due next",
                vec!["schedule", "in", "next run", "zone"],
                vec![
                    Constraint::Length(u16::try_from(names.clamp(8, 24)).unwrap_or(24)),
                    Constraint::Length(7),
                    Constraint::Length(19),
                    Constraint::Fill(1),
                ],
                rows,
            )
        }
        Pane::Workers => {
            let rows = snap
                .map(|s| {
                    let since = now.duration_since(s.taken_at).as_secs_f64().max(0.0);
                    s.status
                        .up
                        .processes
                        .iter()
                        .map(|p| {
                            Row::new(vec![
                                p.role.clone(),
                                p.host.clone(),
                                p.id.clone(),
                                output::span((p.heartbeat_age_s + since).round() as i64),
                            ])
                        })
                        .collect()
                })
                .unwrap_or_default();
            (
                "workers and schedulers",
                vec!["role", "host", "id", "heartbeat"],
                vec![
                    Constraint::Length(9),
                    Constraint::Fill(1),
                    Constraint::Fill(1),
                    Constraint::Length(9),
                ],
                rows,
            )
        }
    }
}

fn secs(d: Duration) -> String {
    output::span(i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn render_help(frame: &mut Frame<'_>, view: &View, area: Rect) {
    let lines = vec![
        Line::from(Span::styled(
            "anp top — keys",
            Style::new().add_modifier(Modifier::BOLD),
        )),
        Line::from(""),
        Line::from("q, Esc, Ctrl-C   quit"),
        Line::from(format!(
            "r                refresh now (at most once per {})",
            secs(super::MIN_INTERVAL)
        )),
        Line::from("Tab, →           next pane"),
        Line::from("Shift-Tab, ←     previous pane"),
        Line::from("↑ ↓ PgUp PgDn    scroll the pane (Home: top)"),
        Line::from("?                close this help"),
        Line::from(""),
        Line::from(format!(
            "One snapshot of the store every {}, however often the screen is drawn.",
            secs(view.interval)
        )),
    ];
    let w = area.width.min(76);
    let h = area
        .height
        .min(u16::try_from(lines.len()).unwrap_or(u16::MAX) + 2);
    let popup = area.centered(Constraint::Length(w), Constraint::Length(h));
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(" help ")),
        popup,
    );
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use alphanode::admin::{
        CacheStatus, DeployVerdict, Failing, LastDeploy, ProcessSeen, ScheduleProblem, Slow,
        TopError, Up, Window,
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
            row(&s, "FAILING").contains("2 job(s) went dead")
                && all.contains("7 dead in the store"),
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
}
