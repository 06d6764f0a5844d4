//! `anp top`: the overview of `anp status`, live in a terminal, for an on-call person on a
//! server without a browser.
//!
//! # Layout
//! - `top.rs`: the command, the terminal (raw mode and the alternate screen, always given
//!   back) and the loop that reads keys and snapshots.
//! - `top/snapshot.rs`: one snapshot of the store, through [`alphanode::Admin`] only.
//! - `top/view.rs`: what is drawn, a pure function of the view and the time (`top/view/tests.rs`:
//!   drawn into ratatui's `TestBackend`).
//!
//! # Cost to the store
//! One snapshot at a time, started at most once per `--interval` (≥ 1 s): redraws (every
//! second, on a key or a resize) draw the last snapshot again and never read the store. `r`
//! asks for a snapshot now, but not sooner than 1 s after the previous one started.

mod snapshot;
mod view;

use std::io::IsTerminal;
use std::time::Duration;

use alphanode::{Admin, Error};
use futures_util::StreamExt;
use jiff::Timestamp;
use ratatui::crossterm::event::{Event, EventStream, KeyEventKind};
use ratatui::DefaultTerminal;
use tokio::signal::unix::{signal, SignalKind};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::Ctx;
use crate::config::parse_duration;
use view::{Action, View};

/// The shortest `--interval`, and the least time between two snapshots that `r` can ask for.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);

/// The longest a snapshot may take before the store counts as down: a stalled store then shows
/// as DOWN rather than as an old screen that looks fine.
const MIN_PATIENCE: Duration = Duration::from_secs(10);

/// `anp top`.
#[derive(clap::Args, Debug)]
pub struct TopArgs {
    /// Time between two snapshots of the store, at least 1s (each reads the four questions,
    /// the queues and the schedules once, however often the screen is drawn).
    #[arg(long, default_value = "2s", value_name = "DURATION")]
    pub interval: String,
}

/// Runs `anp top` until q, Esc, Ctrl-C, SIGTERM or SIGHUP.
pub async fn run(ctx: &Ctx, args: TopArgs) -> anyhow::Result<()> {
    let interval = parse_duration("--interval", &args.interval)?;
    if interval < MIN_INTERVAL {
        return Err(Error::invalid(
            "--interval",
            format!(
                "{:?} is too short: expected at least 1s (each refresh reads the store)",
                args.interval
            ),
        )
        .into());
    }
    if ctx.json {
        return Err(Error::invalid(
            "anp top",
            "anp top is an interactive screen and prints no JSON: expected no --json; for the \
             same figures as one JSON object use `anp status --json`",
        )
        .into());
    }
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(Error::invalid(
            "anp top",
            "anp top needs an interactive terminal, and stdin or stdout is not one: expected a \
             TTY (ssh -t for a remote shell); for a one-off report use `anp status`, for \
             scripts and monitoring `anp status --json`",
        )
        .into());
    }
    let url = ctx.url(None);
    let store = alphanode::backend::redact_url(&url);
    let (guard, mut terminal) = Screen::enter()?;
    let result = run_screen(&mut terminal, url, View::new(store, interval)).await;
    drop(terminal);
    drop(guard);
    result
}

/// The terminal in raw mode on the alternate screen; dropping it gives the terminal back
/// (raw mode off, alternate screen left), on a return and on an error alike. ratatui's panic
/// hook does the same on a panic.
struct Screen;

impl Screen {
    fn enter() -> anyhow::Result<(Screen, DefaultTerminal)> {
        // The guard exists before raw mode is switched on, so a failure half-way (raw mode on,
        // the alternate screen refused) is undone too.
        let guard = Screen;
        let terminal = ratatui::try_init().map_err(|e| {
            anyhow::anyhow!("cannot take over the terminal (raw mode, alternate screen): {e}")
        })?;
        Ok((guard, terminal))
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        if let Err(e) = ratatui::try_restore() {
            eprintln!("anp: cannot give the terminal back ({e}): run `reset` to fix it");
        }
    }
}

/// When the next snapshot may start: the whole bound on what `anp top` costs the store.
#[derive(Debug)]
struct Pace {
    interval: Duration,
    /// When the last snapshot started.
    last: Option<Instant>,
    /// The next snapshot starts at or after this.
    next: Instant,
}

impl Pace {
    fn new(interval: Duration, now: Instant) -> Pace {
        Pace {
            interval,
            last: None,
            next: now,
        }
    }

    fn due(&self, now: Instant) -> bool {
        now >= self.next
    }

    fn started(&mut self, now: Instant) {
        self.last = Some(now);
    }

    /// The next one starts an interval after this one started, and never sooner than a second
    /// after this one ended: a store slower than the interval is not read back to back.
    fn finished(&mut self, now: Instant) {
        let by_interval = self.last.map_or(now, |s| s + self.interval);
        self.next = by_interval.max(now + MIN_INTERVAL.min(self.interval));
    }

    /// `r`: now, but not sooner than [`MIN_INTERVAL`] after the last one started; never later
    /// than it was due anyway.
    fn refresh(&mut self, now: Instant) {
        let soonest = self.last.map_or(now, |s| (s + MIN_INTERVAL).max(now));
        self.next = self.next.min(soonest);
    }
}

/// The snapshot being read; dropped (on quit or error) it is cancelled, so leaving never waits
/// for a slow store.
struct Fetch(JoinHandle<Read>);

/// What a snapshot task gives back: the store to keep using, and the snapshot or the error.
type Read = (Option<Admin>, Result<snapshot::Snapshot, String>);

impl Drop for Fetch {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Waits for the snapshot being read, or forever when none is.
async fn finished(fetch: &mut Option<Fetch>) -> Result<Read, tokio::task::JoinError> {
    match fetch.as_mut() {
        Some(f) => (&mut f.0).await,
        None => std::future::pending().await,
    }
}

/// Draws, reads keys and snapshots until asked to stop.
async fn run_screen(
    terminal: &mut DefaultTerminal,
    url: String,
    mut view: View,
) -> anyhow::Result<()> {
    let interval = view.interval;
    let patience = MIN_PATIENCE.max(interval * 2);
    let mut keys = EventStream::new();
    let mut term = signal(SignalKind::terminate())?;
    let mut hangup = signal(SignalKind::hangup())?;
    // Redraws once a second so ages ("updated 3s ago", heartbeats) move between snapshots.
    let mut clock = tokio::time::interval(Duration::from_secs(1));
    clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);

    let mut admin: Option<Admin> = None;
    let mut fetch: Option<Fetch> = None;
    let mut pace = Pace::new(interval, Instant::now());
    loop {
        if fetch.is_none() && pace.due(Instant::now()) {
            fetch = Some(Fetch(tokio::spawn(snapshot::take(
                url.clone(),
                admin.take(),
                patience,
            ))));
            pace.started(Instant::now());
            view.reading_since = Some(Timestamp::now());
        }
        terminal
            .draw(|f| view::render(f, &view, Timestamp::now()))
            .map_err(|e| anyhow::anyhow!("cannot draw on the terminal: {e}"))?;
        tokio::select! {
            event = keys.next() => match event {
                Some(Ok(Event::Key(k))) if k.kind == KeyEventKind::Press => match view.on_key(k) {
                    Action::Quit => return Ok(()),
                    Action::Refresh if fetch.is_none() => pace.refresh(Instant::now()),
                    Action::Refresh | Action::Redraw => {}
                },
                // A resize or another event: drawn again at the top of the loop.
                Some(Ok(_)) => {}
                Some(Err(e)) => anyhow::bail!("cannot read the terminal's keys: {e}"),
                // The terminal went away.
                None => return Ok(()),
            },
            joined = finished(&mut fetch) => {
                fetch = None;
                view.reading_since = None;
                let (kept, read) = joined
                    .map_err(|e| anyhow::anyhow!("reading a snapshot failed: {e}"))?;
                admin = kept;
                match read {
                    Ok(s) => {
                        view.snapshot = Some(s);
                        view.error = None;
                        view.error_at = None;
                    }
                    Err(e) => {
                        view.error_at.get_or_insert_with(Timestamp::now);
                        view.error = Some(e);
                    }
                }
                pace.finished(Instant::now());
            },
            _ = tokio::time::sleep_until(pace.next), if fetch.is_none() => {}
            _ = clock.tick() => {}
            _ = term.recv() => return Ok(()),
            _ = hangup.recv() => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn snapshots_start_once_per_interval_and_r_waits_a_second_after_the_last() {
        let t0 = Instant::now();
        let mut p = Pace::new(ms(2000), t0);
        assert!(p.due(t0), "the first snapshot is read at once");
        p.started(t0);
        p.finished(t0 + ms(50));
        assert_eq!(p.next, t0 + ms(2000));
        assert!(!p.due(t0 + ms(1999)));

        // r at once after a snapshot: a second after it started.
        p.refresh(t0 + ms(100));
        assert_eq!(p.next, t0 + ms(1000));
        // Pressed again and again: never sooner.
        for n in 0..100 {
            p.refresh(t0 + ms(100 + n));
        }
        assert_eq!(p.next, t0 + ms(1000));
        // r later than that: now.
        let mut p = Pace::new(ms(2000), t0);
        p.started(t0);
        p.finished(t0 + ms(50));
        p.refresh(t0 + ms(1500));
        assert_eq!(p.next, t0 + ms(1500));
    }

    #[test]
    fn a_slow_store_is_not_read_back_to_back() {
        let t0 = Instant::now();
        let mut p = Pace::new(ms(2000), t0);
        p.started(t0);
        p.finished(t0 + ms(3000));
        assert_eq!(
            p.next,
            t0 + ms(4000),
            "a second after the slow snapshot ended"
        );
    }
}
