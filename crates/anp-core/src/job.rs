//! The job model.
//!
//! ```text
//! scheduled ──(run_at reached)──▶ available ──(fetched)──▶ running ──▶ completed
//!     ▲                              ▲                        │
//!     │ snooze                       │ lease lost / handed back├──▶ retryable ──(run_at)──▶ available
//!     └──────────────────────────────┴────────────────────────├──▶ dead (max attempts, or not retry-safe)
//!                                                             └──▶ cancelled
//! ```
//! Every transition is one atomic step in the store.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::error::Error;
use crate::id::JobId;
use crate::names::{Kind, QueueName};

/// Where a job is in its life. See the module docs for the diagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for its `run_at` (enqueued for later, or snoozed).
    Scheduled,
    /// Ready to be fetched by a worker.
    Available,
    /// Held by a worker under a lease.
    Running,
    /// Finished successfully. Final.
    Completed,
    /// A failed attempt; runs again at `run_at`.
    Retryable,
    /// Out of attempts, or failed in a way that is not retry-safe. Final until retried by hand.
    Dead,
    /// Cancelled by a handler or an operator. Final.
    Cancelled,
}

impl JobState {
    /// Every state, in life order.
    pub const ALL: [JobState; 7] = [
        JobState::Scheduled,
        JobState::Available,
        JobState::Running,
        JobState::Completed,
        JobState::Retryable,
        JobState::Dead,
        JobState::Cancelled,
    ];

    /// The lower-case name used in the store, CLI and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Scheduled => "scheduled",
            JobState::Available => "available",
            JobState::Running => "running",
            JobState::Completed => "completed",
            JobState::Retryable => "retryable",
            JobState::Dead => "dead",
            JobState::Cancelled => "cancelled",
        }
    }

    /// True for states a job leaves only by an operator's action (completed, dead, cancelled).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobState::Completed | JobState::Dead | JobState::Cancelled
        )
    }

    /// Parses a state name.
    pub fn parse(s: &str) -> Result<JobState, Error> {
        JobState::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| {
                Error::invalid(
                    "job state",
                    format!(
                        "{s:?} is not a job state: expected one of scheduled, available, running, completed, retryable, dead, cancelled"
                    ),
                )
            })
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobState {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JobState::parse(s)
    }
}

/// One failed attempt in a job's error history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptError {
    /// The attempt number that failed (1-based).
    pub attempt: u32,
    /// When the failure was recorded.
    pub at: Timestamp,
    /// What happened, for a human (handler error, panic message, command output tail, "lease
    /// expired").
    pub message: String,
    /// Whether running the job again is safe. `false` sends the job straight to `dead`.
    pub retry_safe: bool,
}

/// A job's arguments: any JSON value, kept as the text it arrived as (no re-encoding on the hot
/// path).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Args(Box<RawValue>);

impl Args {
    /// Parses JSON text typed by a user or read from a store.
    ///
    /// ```
    /// assert!(anp_core::Args::from_json(r#"{"to":"a@b.c"}"#).is_ok());
    /// let err = anp_core::Args::from_json("{to:").unwrap_err();
    /// assert!(err.to_string().starts_with("job args: invalid JSON"));
    /// ```
    pub fn from_json(s: &str) -> Result<Args, Error> {
        serde_json::from_str::<Box<RawValue>>(s)
            .map(Args)
            .map_err(|e| {
                Error::invalid(
                    "job args",
                    format!("invalid JSON ({e}): expected a JSON value such as {{\"id\": 42}}"),
                )
            })
    }

    /// Encodes a serializable value.
    pub fn from_serialize<T: Serialize + ?Sized>(v: &T) -> Result<Args, Error> {
        serde_json::value::to_raw_value(v)
            .map(Args)
            .map_err(|e| Error::invalid("job args", format!("cannot encode args as JSON: {e}")))
    }

    /// `{}`.
    pub fn empty_object() -> Args {
        Args::from_json("{}").unwrap_or_else(|_| unreachable_args())
    }

    /// Decodes into a typed value.
    pub fn decode<T: for<'de> Deserialize<'de>>(&self) -> Result<T, Error> {
        serde_json::from_str(self.0.get()).map_err(|e| {
            Error::invalid(
                "job args",
                format!("args {} do not match the handler's type: {e}", self.0.get()),
            )
        })
    }

    /// The JSON text.
    pub fn as_json(&self) -> &str {
        self.0.get()
    }
}

#[cold]
fn unreachable_args() -> Args {
    // `{}` always parses; this exists so the library holds no `unwrap`.
    panic!("`{{}}` failed to parse as JSON")
}

impl PartialEq for Args {
    fn eq(&self, other: &Self) -> bool {
        self.0.get() == other.0.get()
    }
}

/// A unique key: while a job with the same key in the same queue is not finished
/// (scheduled, available, running, retryable) — or, with `period`, was created within that
/// period — enqueue returns the existing job, marked duplicate, instead of adding another.
///
/// Keys are scoped to a queue so every check touches one queue (one Redis Cluster slot).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unique {
    /// The key, 1–255 characters.
    pub key: String,
    /// Also treat finished jobs created within this period as duplicates.
    #[serde(default, with = "opt_duration_secs")]
    pub period: Option<std::time::Duration>,
}

impl Unique {
    /// A key with no period: unique while not finished.
    pub fn key(key: impl Into<String>) -> Result<Unique, Error> {
        let key = key.into();
        if key.is_empty() || key.len() > 255 {
            return Err(Error::invalid(
                "unique key",
                format!("{key:?} is invalid: expected 1-255 characters"),
            ));
        }
        Ok(Unique { key, period: None })
    }
}

/// A job to enqueue.
#[derive(Clone, Debug)]
pub struct NewJob {
    /// Id, chosen by the client (so bulk enqueue needs no reply to know its ids).
    pub id: JobId,
    /// Handler name.
    pub kind: Kind,
    /// Target queue.
    pub queue: QueueName,
    /// Arguments.
    pub args: Args,
    /// 0 (runs first) to 9 (runs last); FIFO within a priority. Default 5.
    pub priority: u8,
    /// Attempts before the job goes dead (at least 1). Default 25.
    pub max_attempts: u32,
    /// Run no earlier than this; `None` means now.
    pub run_at: Option<Timestamp>,
    /// Optional uniqueness.
    pub unique: Option<Unique>,
}

impl NewJob {
    /// Default priority.
    pub const DEFAULT_PRIORITY: u8 = 5;
    /// Highest allowed priority number (runs last).
    pub const MAX_PRIORITY: u8 = 9;
    /// Default maximum attempts.
    pub const DEFAULT_MAX_ATTEMPTS: u32 = 25;

    /// A job of `kind` with `args` on the default queue, with default options.
    pub fn new(kind: Kind, args: Args) -> NewJob {
        NewJob {
            id: JobId::new(),
            kind,
            queue: QueueName::default_queue(),
            args,
            priority: Self::DEFAULT_PRIORITY,
            max_attempts: Self::DEFAULT_MAX_ATTEMPTS,
            run_at: None,
            unique: None,
        }
    }

    /// Checks the numeric options (names and args are checked by their types).
    pub fn validate(&self) -> Result<(), Error> {
        if self.priority > Self::MAX_PRIORITY {
            return Err(Error::invalid(
                "priority",
                format!(
                    "{} is out of range: expected 0-9 (0 runs first)",
                    self.priority
                ),
            ));
        }
        if self.max_attempts == 0 || self.max_attempts > 1000 {
            return Err(Error::invalid(
                "max attempts",
                format!("{} is out of range: expected 1-1000", self.max_attempts),
            ));
        }
        Ok(())
    }
}

/// What enqueue did with one job.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enqueued {
    /// The new job's id, or the existing job's id for a duplicate.
    pub id: JobId,
    /// True when a unique key matched an existing job and nothing was added.
    pub duplicate: bool,
    /// The state of the job named by `id`.
    pub state: JobState,
}

/// A job as stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Job {
    /// Id.
    pub id: JobId,
    /// Handler name.
    pub kind: Kind,
    /// Queue.
    pub queue: QueueName,
    /// Arguments.
    pub args: Args,
    /// Current state.
    pub state: JobState,
    /// 0 runs first.
    pub priority: u8,
    /// Attempts started so far (the running attempt included).
    pub attempt: u32,
    /// Attempts allowed.
    pub max_attempts: u32,
    /// When the job may run (for scheduled and retryable jobs: when it becomes available).
    pub run_at: Timestamp,
    /// When it was enqueued.
    pub created_at: Timestamp,
    /// When the latest attempt started.
    pub attempted_at: Option<Timestamp>,
    /// When it reached a final state.
    pub finalized_at: Option<Timestamp>,
    /// Unique key, if any.
    pub unique_key: Option<String>,
    /// The worker holding the lease while running.
    pub lease_owner: Option<String>,
    /// When the lease expires while running.
    pub lease_expires_at: Option<Timestamp>,
    /// The fencing token of the current lease; acks must present it.
    pub lease_token: Option<i64>,
    /// One entry per failed attempt, oldest first.
    pub errors: Vec<AttemptError>,
}

impl Job {
    /// The lease presented when acknowledging or heartbeating this (running) job.
    pub fn lease(&self) -> Option<crate::store::Lease> {
        self.lease_token.map(|token| crate::store::Lease {
            id: self.id,
            queue: self.queue.clone(),
            token,
        })
    }
}

/// `t + d`, saturating at jiff's maximum instant.
pub fn ts_add(t: Timestamp, d: std::time::Duration) -> Timestamp {
    let sd = jiff::SignedDuration::try_from(d).unwrap_or(jiff::SignedDuration::MAX);
    t.checked_add(sd).unwrap_or(Timestamp::MAX)
}

/// `t - d`, saturating at jiff's minimum instant.
pub fn ts_sub(t: Timestamp, d: std::time::Duration) -> Timestamp {
    let sd = jiff::SignedDuration::try_from(d).unwrap_or(jiff::SignedDuration::MAX);
    t.checked_sub(sd).unwrap_or(Timestamp::MIN)
}

/// Microseconds since the Unix epoch, the form both backends store.
pub fn ts_micros(t: Timestamp) -> i64 {
    t.as_microsecond()
}

/// The inverse of [`ts_micros`]; out-of-range values clamp (a store holding them is damaged).
pub fn ts_from_micros(us: i64) -> Timestamp {
    Timestamp::from_microsecond(us).unwrap_or(if us < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    })
}

mod opt_duration_secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub(super) fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&d.as_secs_f64()),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        let v = Option::<f64>::deserialize(d)?;
        v.map(|secs| Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom))
            .transpose()
    }
}
