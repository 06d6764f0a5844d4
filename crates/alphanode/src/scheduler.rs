//! The scheduler: fires cron schedules, each tick exactly once, whatever the number of
//! schedulers running.
//!
//! Every scheduler process runs the same loop: read each schedule's `last_tick` from the store,
//! compute the ticks due since then (in the schedule's time zone, with Debian cron's
//! daylight-saving rules), decide per the catch-up policy, and ask the store to claim the tick
//! and enqueue its job in one atomic step (`schedule_claim_tick`). A claim succeeds only for a
//! tick later than the stored `last_tick`, so when several schedulers race for a tick exactly one
//! wins and the others get [`TickClaim::AlreadyClaimed`]. Then it sleeps until the next tick.
//!
//! Missed ticks (every scheduler down): [`CatchUp::Latest`] (default) runs the latest once,
//! [`CatchUp::Skip`] runs none (a tick counts as on time within `on_time` of its instant),
//! [`CatchUp::All`] runs them all, oldest first, up to `catch_up_max`. Passed-over ticks are
//! recorded in the fire log, as are ticks skipped because the schedule is paused or because the
//! previous run is still going (`skip_if_running`).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use anp_core::job::{ts_add, ts_sub};
use anp_core::schedule::{
    CatchUp, ScheduleDef, ScheduleInfo, ScheduleName, ScheduleSyncParams, TickClaim,
    TickClaimParams,
};
use anp_core::{Clock, Error, Result, Store, SystemClock};
use anp_cron::{CronExpr, Tz};
use jiff::Timestamp;
use tokio_util::sync::CancellationToken;

/// A checked schedule: its definition with the parsed expression and zone.
#[derive(Clone, Debug)]
pub struct Schedule {
    def: ScheduleDef,
    expr: CronExpr,
    tz: Tz,
}

impl Schedule {
    /// Checks the definition's cron expression and time zone.
    pub fn new(def: ScheduleDef) -> Result<Schedule> {
        let expr = CronExpr::parse(&def.cron).map_err(|e| {
            Error::invalid(
                format!("schedule {}", def.name),
                format!("{}: {}", e.op(), e.message()),
            )
        })?;
        let tz = Tz::parse(&def.tz).map_err(|e| {
            Error::invalid(
                format!("schedule {}", def.name),
                format!("{}: {}", e.op(), e.message()),
            )
        })?;
        if def.catch_up == CatchUp::All && def.catch_up_max == 0 {
            return Err(Error::invalid(
                format!("schedule {}", def.name),
                "catch_up_max 0 with catch_up = \"all\": expected at least 1",
            ));
        }
        Ok(Schedule { def, expr, tz })
    }

    /// The definition.
    pub fn def(&self) -> &ScheduleDef {
        &self.def
    }

    /// The next fire instant strictly after `after`.
    pub fn next_after(&self, after: Timestamp) -> Option<Timestamp> {
        self.expr.next_timestamp_after(&self.tz, after)
    }

    /// The parsed expression.
    pub fn expr(&self) -> &CronExpr {
        &self.expr
    }

    /// The zone.
    pub fn tz(&self) -> &Tz {
        &self.tz
    }

    /// Ticks in `(after, until]`: the latest one and how many there are (`count` is capped at
    /// 100,000: a per-second schedule down for days is not enumerated in full).
    fn due(&self, after: Timestamp, until: Timestamp, oldest_first_limit: usize) -> Due {
        const CAP: usize = 100_000;
        // Look at the recent past first: for a dense schedule the latest tick is there.
        let recent_start = ts_sub(until, Duration::from_secs(3600)).max(after);
        let recent = self.expr.fires_between(&self.tz, recent_start, until, CAP);
        let older = if recent_start > after {
            self.expr.fires_between(&self.tz, after, recent_start, CAP)
        } else {
            Vec::new()
        };
        let mut all = older;
        all.extend(recent);
        let count = all.len();
        let latest = all.last().copied();
        let keep_from = count.saturating_sub(oldest_first_limit);
        Due {
            latest,
            count,
            tail: all.split_off(keep_from),
        }
    }
}

struct Due {
    latest: Option<Timestamp>,
    count: usize,
    /// The newest `oldest_first_limit` ticks, oldest first.
    tail: Vec<Timestamp>,
}

/// Fire-log entries kept per schedule unless [`SchedulerOptions::log_max`] says otherwise.
pub const DEFAULT_LOG_MAX: u32 = 1000;

/// Scheduler settings.
#[derive(Clone, Debug)]
pub struct SchedulerOptions {
    /// This scheduler's id, recorded in fire logs.
    pub id: String,
    /// With [`CatchUp::Skip`], a tick decided within this long after its instant is on time.
    /// Default 5 s.
    pub on_time: Duration,
    /// Fire-log entries kept per schedule. Default 1,000.
    pub log_max: u32,
    /// Re-read the store at least this often even when no tick is near. Default 30 s.
    pub max_sleep: Duration,
}

impl Default for SchedulerOptions {
    fn default() -> Self {
        SchedulerOptions {
            id: crate::process::process_id(),
            on_time: Duration::from_secs(5),
            log_max: DEFAULT_LOG_MAX,
            max_sleep: Duration::from_secs(30),
        }
    }
}

/// Fires schedules. Any number may run against one store.
pub struct Scheduler {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    schedules: Vec<Schedule>,
    options: SchedulerOptions,
}

impl fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scheduler")
            .field("id", &self.options.id)
            .field(
                "schedules",
                &self
                    .schedules
                    .iter()
                    .map(|s| s.def.name.as_str())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// What one pass decided, for logs and tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PassReport {
    /// Ticks whose job this scheduler enqueued.
    pub enqueued: u32,
    /// Ticks this scheduler recorded as skipped.
    pub skipped: u32,
    /// Ticks another scheduler had already decided.
    pub lost_races: u32,
}

impl Scheduler {
    /// A scheduler for `schedules` (names must be distinct) on `backend`.
    pub fn new(
        backend: impl Into<crate::Backend>,
        schedules: Vec<Schedule>,
        options: SchedulerOptions,
    ) -> Result<Scheduler> {
        let mut seen = std::collections::HashSet::new();
        for s in &schedules {
            if !seen.insert(s.def.name.clone()) {
                return Err(Error::invalid(
                    "scheduler",
                    format!(
                        "schedule {} is declared twice: expected unique names",
                        s.def.name
                    ),
                ));
            }
        }
        Ok(Scheduler {
            store: backend.into().store().clone(),
            clock: Arc::new(SystemClock),
            schedules,
            options,
        })
    }

    /// Injects a clock (tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Scheduler {
        self.clock = clock;
        self
    }

    /// Registers (or updates) the definitions in the store. New schedules start at now: ticks
    /// before registration are never fired.
    pub async fn sync(&self) -> Result<()> {
        self.store
            .schedule_sync(ScheduleSyncParams {
                defs: self.schedules.iter().map(|s| s.def.clone()).collect(),
                now: self.clock.now(),
            })
            .await
    }

    /// Syncs, then fires ticks until `shutdown` is cancelled.
    pub async fn run(self, shutdown: CancellationToken) -> Result<()> {
        if self.schedules.is_empty() {
            return Ok(());
        }
        self.sync().await?;
        tracing::info!(scheduler = %self.options.id, schedules = self.schedules.len(), "scheduler started");
        let started_at = self.clock.now();
        let mut last_beat: Option<std::time::Instant> = None;
        let mut backoff = Duration::from_millis(200);
        loop {
            if last_beat.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
                let info = crate::process::process_info(
                    &self.options.id,
                    "scheduler",
                    Vec::new(),
                    Vec::new(),
                    started_at,
                    self.clock.now(),
                );
                match self.store.process_heartbeat(info).await {
                    Ok(()) => last_beat = Some(std::time::Instant::now()),
                    Err(e) => tracing::warn!(error = %e, "scheduler heartbeat failed"),
                }
            }
            let sleep = match self.pass().await {
                Ok((_, sleep)) => {
                    backoff = Duration::from_millis(200);
                    sleep
                }
                Err(e) => {
                    tracing::warn!(error = %e, "scheduler pass failed; retrying");
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    backoff
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(sleep) => {}
            }
        }
        let _ = self.store.process_remove(self.options.id.clone()).await;
        tracing::info!(scheduler = %self.options.id, "scheduler stopped");
        Ok(())
    }

    /// Decides every due tick once; returns what it did and how long to sleep.
    pub async fn pass(&self) -> Result<(PassReport, Duration)> {
        let now = self.clock.now();
        let infos: HashMap<ScheduleName, ScheduleInfo> = self
            .store
            .schedule_list()
            .await?
            .into_iter()
            .map(|i| (i.def.name.clone(), i))
            .collect();
        if self
            .schedules
            .iter()
            .any(|s| !infos.contains_key(&s.def.name))
        {
            // Deleted by an operator meanwhile, or a new store: register again.
            self.sync().await?;
            return Ok((PassReport::default(), Duration::ZERO));
        }
        let mut report = PassReport::default();
        let mut wake = ts_add(now, self.options.max_sleep);
        for s in &self.schedules {
            let info = &infos[&s.def.name];
            let last = info.last_tick.unwrap_or(info.created_at);
            let limit = if s.def.catch_up == CatchUp::All {
                s.def.catch_up_max as usize
            } else {
                1
            };
            let due = s.due(last, now, limit);
            if let Some(latest) = due.latest {
                self.decide(s, info, &due, latest, now, &mut report).await?;
            }
            if let Some(next) = s.next_after(now) {
                wake = wake.min(next);
            }
        }
        let sleep = Duration::try_from(wake.duration_since(self.clock.now()))
            .unwrap_or(Duration::ZERO)
            // Wake just after the tick so it is due when we look.
            + Duration::from_millis(2);
        Ok((report, sleep))
    }

    async fn decide(
        &self,
        s: &Schedule,
        info: &ScheduleInfo,
        due: &Due,
        latest: Timestamp,
        now: Timestamp,
        report: &mut PassReport,
    ) -> Result<()> {
        let passed = u32::try_from(due.count.saturating_sub(1)).unwrap_or(u32::MAX);
        if info.paused {
            return self
                .claim(s, latest, None, Some("paused".into()), passed, now, report)
                .await;
        }
        match s.def.catch_up {
            CatchUp::Latest => {
                self.claim(s, latest, Some(s.def.new_job()), None, passed, now, report)
                    .await
            }
            CatchUp::Skip => {
                let late = Duration::try_from(now.duration_since(latest)).unwrap_or(Duration::ZERO);
                if late <= self.options.on_time {
                    self.claim(s, latest, Some(s.def.new_job()), None, passed, now, report)
                        .await
                } else {
                    let reason = format!(
                        "missed by {:.1}s while no scheduler ran (catch_up = skip)",
                        late.as_secs_f64()
                    );
                    self.claim(s, latest, None, Some(reason), passed, now, report)
                        .await
                }
            }
            CatchUp::All => {
                let beyond = due.count.saturating_sub(due.tail.len());
                let mut first = true;
                for &tick in &due.tail {
                    let passed_over = if first {
                        u32::try_from(beyond).unwrap_or(u32::MAX)
                    } else {
                        0
                    };
                    first = false;
                    self.claim(
                        s,
                        tick,
                        Some(s.def.new_job()),
                        None,
                        passed_over,
                        now,
                        report,
                    )
                    .await?;
                }
                Ok(())
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn claim(
        &self,
        s: &Schedule,
        tick: Timestamp,
        job: Option<anp_core::NewJob>,
        skip_reason: Option<String>,
        passed_over: u32,
        now: Timestamp,
        report: &mut PassReport,
    ) -> Result<()> {
        let skipping = job.is_none();
        let r = self
            .store
            .schedule_claim_tick(TickClaimParams {
                name: s.def.name.clone(),
                tick,
                job,
                skip_reason: skip_reason.clone(),
                passed_over,
                scheduler: self.options.id.clone(),
                now,
                log_max: self.options.log_max,
            })
            .await?;
        match r {
            TickClaim::Claimed { job: Some(e), .. } => {
                report.enqueued += 1;
                tracing::info!(schedule = %s.def.name, tick = %tick, job.id = %e.id, passed_over, "tick fired");
            }
            TickClaim::Claimed {
                job: None,
                overlap_with,
            } => {
                report.skipped += 1;
                match overlap_with {
                    Some(prev) => {
                        tracing::info!(schedule = %s.def.name, tick = %tick, previous = %prev, "tick skipped: previous run still going")
                    }
                    None if skipping => {
                        tracing::info!(schedule = %s.def.name, tick = %tick, reason = ?skip_reason, "tick skipped")
                    }
                    None => {}
                }
            }
            TickClaim::AlreadyClaimed => report.lost_races += 1,
        }
        Ok(())
    }
}
