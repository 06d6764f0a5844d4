//! The JSON objects `anp … --json` and `anp serve`'s `/api/` share where the library's own
//! form lacks something an operator asks for: a schedule's next run, a queue's oldest-job age.
//! Everything else (jobs, workers, deploys, status) is the library's type as it serializes.

use alphanode::{FireLogEntry, JobId, JobState, QueueInfo, ScheduleDef, ScheduleInfo};
use anp_cron::{format_rfc3339_offset, CronExpr, Tz};
use jiff::{Timestamp, ZonedDateTime};
use serde::Serialize;

use crate::output;

/// Next fire instant of a stored schedule, or `None` if its text no longer parses.
pub fn next_run(info: &ScheduleInfo, now: Timestamp) -> Option<ZonedDateTime> {
    let expr = CronExpr::parse(&info.def.cron).ok()?;
    let tz = Tz::parse(&info.def.tz).ok()?;
    expr.next_after(&tz, now)
}

/// A schedule (`anp schedules list|show --json`, `GET /api/schedules[/NAME]`): the
/// definition's fields, flat, then its state and next run in its zone and in UTC; `show` and
/// `/api/schedules/NAME` add `fire_log`, newest first.
#[derive(Debug, Serialize)]
pub struct ScheduleView<'a> {
    /// Name, cron, tz, the job's kind, args, queue, priority, max_attempts, owner, expected,
    /// rollback, catch_up, catch_up_max, skip_if_running.
    #[serde(flatten)]
    def: &'a ScheduleDef,
    /// Paused schedules record their ticks as skipped.
    paused: bool,
    /// The next tick in the schedule's zone (RFC 3339 with offset); `null` if none.
    next_run: Option<String>,
    /// The same instant in UTC.
    next_run_utc: Option<String>,
    /// The latest tick decided.
    last_tick: Option<Timestamp>,
    /// The job of the latest fired tick…
    last_job: Option<JobId>,
    /// …and its state now, if it still exists.
    last_job_state: Option<JobState>,
    /// When the definition was first registered.
    created_at: Timestamp,
    /// When the definition or pause flag last changed.
    updated_at: Timestamp,
    /// The newest fire-log entries (only for one schedule).
    #[serde(skip_serializing_if = "Option::is_none")]
    fire_log: Option<&'a [FireLogEntry]>,
}

impl<'a> ScheduleView<'a> {
    /// The view of `info` as of `now` (which decides `next_run`).
    pub fn new(info: &'a ScheduleInfo, now: Timestamp) -> ScheduleView<'a> {
        let next = next_run(info, now);
        ScheduleView {
            def: &info.def,
            paused: info.paused,
            next_run: next.as_ref().map(format_rfc3339_offset),
            next_run_utc: next.as_ref().map(|z| output::ts(z.timestamp())),
            last_tick: info.last_tick,
            last_job: info.last_job,
            last_job_state: info.last_job_state,
            created_at: info.created_at,
            updated_at: info.updated_at,
            fire_log: None,
        }
    }

    /// With its fire log.
    pub fn with_fire_log(self, log: &'a [FireLogEntry]) -> ScheduleView<'a> {
        ScheduleView {
            fire_log: Some(log),
            ..self
        }
    }
}

/// A queue (`anp queues --json`, `GET /api/queues`): the library's counts per state and oldest
/// available job, plus that job's wait in seconds as of `now`.
#[derive(Debug, Serialize)]
pub struct QueueView<'a> {
    /// queue, paused, counts, oldest_available_at.
    #[serde(flatten)]
    info: &'a QueueInfo,
    /// Seconds the oldest available job has waited; `null` when none is available.
    oldest_available_age_s: Option<f64>,
}

impl<'a> QueueView<'a> {
    /// The view of `info` as of `now`.
    pub fn new(info: &'a QueueInfo, now: Timestamp) -> QueueView<'a> {
        QueueView {
            info,
            oldest_available_age_s: info
                .oldest_available_at
                .map(|t| now.duration_since(t).as_secs_f64().max(0.0)),
        }
    }
}
