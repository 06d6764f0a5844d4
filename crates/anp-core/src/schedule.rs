//! Scheduled tasks as the store sees them: definitions, their state and the fire log.
//!
//! Cron parsing and next-fire computation live in `anp-cron`; here a schedule's `cron` and `tz`
//! are text that was checked at the boundary. The store's job is the atomic part: claiming a
//! tick and enqueueing its job in one step, so any number of schedulers fire each tick once.

use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::id::JobId;
use crate::job::{Args, Enqueued, JobState, NewJob};
use crate::names::{Kind, QueueName};

/// A schedule's name: 1–128 characters of `[A-Za-z0-9_.:-]`, starting with a letter or digit.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ScheduleName(String);

impl ScheduleName {
    /// Checks and wraps a schedule name.
    pub fn parse(s: &str) -> Result<ScheduleName, Error> {
        let ok = (1..=128).contains(&s.len())
            && s.as_bytes()[0].is_ascii_alphanumeric()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'));
        if ok {
            Ok(ScheduleName(s.to_owned()))
        } else {
            Err(Error::invalid(
                "schedule name",
                format!("{s:?} is invalid: expected 1-128 chars of [A-Za-z0-9_.:-] starting with a letter or digit"),
            ))
        }
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ScheduleName {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        ScheduleName::parse(&s)
    }
}

impl From<ScheduleName> for String {
    fn from(n: ScheduleName) -> String {
        n.0
    }
}

impl fmt::Display for ScheduleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What to do with ticks missed while every scheduler was down.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CatchUp {
    /// Run none of them; only ticks that come on time run.
    Skip,
    /// Run the latest missed tick once (the default).
    #[default]
    Latest,
    /// Run every missed tick, oldest first, up to `catch_up_max`.
    All,
}

impl CatchUp {
    /// The config / CLI spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CatchUp::Skip => "skip",
            CatchUp::Latest => "latest",
            CatchUp::All => "all",
        }
    }
}

/// A schedule's definition (from `anp.toml` `[[schedule]]` or the library).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ScheduleDef {
    /// Unique name.
    pub name: ScheduleName,
    /// Cron expression text, checked by `anp-cron` at the boundary.
    pub cron: String,
    /// IANA time zone name, checked at the boundary.
    pub tz: String,
    /// Kind of the job each tick enqueues.
    pub kind: Kind,
    /// Its args.
    pub args: Args,
    /// Its queue.
    pub queue: QueueName,
    /// Its priority.
    pub priority: u8,
    /// Its max attempts.
    pub max_attempts: u32,
    /// Who to call about it.
    pub owner: Option<String>,
    /// What a good run produces.
    pub expected: Option<String>,
    /// How to stop or undo it.
    pub rollback: Option<String>,
    /// Missed-tick policy.
    pub catch_up: CatchUp,
    /// Bound for [`CatchUp::All`].
    pub catch_up_max: u32,
    /// Skip a tick while the previous tick's job has not finished.
    pub skip_if_running: bool,
}

impl ScheduleDef {
    /// The job one tick enqueues.
    pub fn new_job(&self) -> NewJob {
        let mut j = NewJob::new(self.kind.clone(), self.args.clone());
        j.queue = self.queue.clone();
        j.priority = self.priority;
        j.max_attempts = self.max_attempts;
        j
    }
}

/// A schedule with its current state.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ScheduleInfo {
    /// The definition as last synced.
    pub def: ScheduleDef,
    /// Paused schedules record their ticks as skipped.
    pub paused: bool,
    /// The latest tick decided (fired or skipped). Ticks at or before it are never fired again.
    pub last_tick: Option<Timestamp>,
    /// The job of the latest fired tick.
    pub last_job: Option<JobId>,
    /// That job's state now, if it still exists.
    pub last_job_state: Option<JobState>,
    /// When the definition was first registered.
    pub created_at: Timestamp,
    /// When the definition or pause flag last changed.
    pub updated_at: Timestamp,
}

/// What a scheduler decided for a tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FireDecision {
    /// The tick's job was enqueued.
    Enqueued,
    /// The tick was skipped (`reason` says why).
    Skipped,
    /// An operator triggered a run by hand (`anp schedules trigger`).
    Triggered,
}

/// One entry of a schedule's fire log.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FireLogEntry {
    /// The tick (for a trigger: when it was triggered).
    pub tick: Timestamp,
    /// When the decision was made.
    pub decided_at: Timestamp,
    /// Enqueued, skipped or triggered.
    pub decision: FireDecision,
    /// The job enqueued.
    pub job_id: Option<JobId>,
    /// That job's state now, if it still exists.
    pub job_state: Option<JobState>,
    /// Why it was skipped (overlap, paused, catch-up policy).
    pub reason: Option<String>,
    /// Which scheduler decided.
    pub scheduler: String,
}

/// Parameters of `schedule_sync`: register or update definitions.
#[derive(Clone, Debug)]
pub struct ScheduleSyncParams {
    /// Definitions; a new one starts with `last_tick = now` (nothing before it is fired).
    pub defs: Vec<ScheduleDef>,
    /// Now.
    pub now: Timestamp,
}

/// Parameters of `schedule_claim_tick`.
#[derive(Clone, Debug)]
pub struct TickClaimParams {
    /// The schedule.
    pub name: ScheduleName,
    /// The tick being decided; claimed only if later than the stored `last_tick`.
    pub tick: Timestamp,
    /// The job to enqueue, or `None` to record the tick as skipped with `skip_reason`.
    pub job: Option<NewJob>,
    /// Why the tick is skipped (with `job = None`).
    pub skip_reason: Option<String>,
    /// Earlier ticks passed over by this decision (catch-up), recorded in one log entry.
    pub passed_over: u32,
    /// This scheduler's id.
    pub scheduler: String,
    /// Now (decided-at).
    pub now: Timestamp,
    /// Keep at most this many fire-log entries for the schedule.
    pub log_max: u32,
}

/// Result of `schedule_claim_tick`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TickClaim {
    /// This call decided the tick. `job` is the enqueued job, `None` when skipped (asked to, or
    /// because the previous run was still going and the schedule skips overlaps).
    Claimed {
        /// The enqueued job.
        job: Option<Enqueued>,
        /// Set when the store skipped the tick because the previous run is unfinished.
        overlap_with: Option<JobId>,
    },
    /// Another scheduler (or an earlier call) already decided this tick or a later one.
    AlreadyClaimed,
}

/// Parameters of `schedule_trigger`: run a schedule's job now, by hand.
#[derive(Clone, Debug)]
pub struct ScheduleTriggerParams {
    /// The schedule.
    pub name: ScheduleName,
    /// Now (the logged tick and decided-at).
    pub now: Timestamp,
    /// Who triggered it, for the fire log.
    pub by: String,
    /// Keep at most this many fire-log entries.
    pub log_max: u32,
}
