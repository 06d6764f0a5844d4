//! Human tables: fitted to a terminal's width with coloured job states, or tab-separated lines
//! when stdout is not a terminal; `-q` for ids only.

use super::*;

/// `-q/--quiet` of the list commands.
#[derive(clap::Args, Clone, Copy, Debug, Default)]
pub struct ListArgs {
    /// Print only the ids (names), one per line, for scripts.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Where human output goes, decided once per process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Term {
    /// Stdout is a terminal: draw tables; else tab-separated lines.
    pub(super) tty: bool,
    /// Colour job states.
    pub(super) color: bool,
    /// Columns to fit tables in (terminals only).
    pub(super) width: Option<u16>,
}

pub(super) fn term() -> Term {
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

pub(super) fn env(name: &str) -> Option<OsString> {
    std::env::var_os(name)
}

pub(super) fn no_color(var: &dyn Fn(&str) -> Option<OsString>) -> bool {
    var("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// `NO_COLOR` wins, then `CLICOLOR_FORCE`, then a terminal (not `CLICOLOR=0`, not `TERM=dumb`).
pub(super) fn color_wanted(tty: bool, var: &dyn Fn(&str) -> Option<OsString>) -> bool {
    if no_color(var) {
        return false;
    }
    if var("CLICOLOR_FORCE").is_some_and(|v| !v.is_empty() && v != "0") {
        return true;
    }
    tty && var("CLICOLOR").is_none_or(|v| v != "0") && var("TERM").is_none_or(|v| v != "dumb")
}

/// `COLUMNS` when set to a number, else the terminal's width.
pub(super) fn terminal_width() -> Option<u16> {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<u16>().ok())
        .filter(|w| *w > 0)
        .or_else(|| terminal_size::terminal_size_of(std::io::stdout()).map(|(w, _)| w.0))
}

/// The colour of a job state (`None`: plain).
pub(super) fn state_color(state: &str) -> Option<Color> {
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
pub(super) fn sgr(c: Color) -> &'static str {
    match c {
        Color::Red => "31",
        Color::Yellow => "33",
        Color::Green => "32",
        Color::Cyan => "36",
        _ => "90",
    }
}

pub(super) fn paint(state: &str, color: bool) -> String {
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
pub(super) const KEEP_MAX: usize = 24;

/// Room a wrapped column gets before short columns give up their width.
pub(super) const WRAP_MIN: usize = 10;

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

    pub(super) fn render(&self, t: Term) -> String {
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
