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
mod tests;
