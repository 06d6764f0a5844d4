//! Rows to jobs and back: the column order every job-returning statement uses, and the JSON form
//! of the error history (the serde form of [`AttemptError`], so the store and `Job`'s JSON agree);
//! rows to schedules.

use anp_core::job::{ts_from_micros, ts_micros};
use anp_core::monitor::Histogram;
use anp_core::schedule::{ScheduleDef, ScheduleInfo};
use anp_core::{Args, AttemptError, Job, JobId, JobState, Kind, QueueName};
use jiff::Timestamp;
use rusqlite::types::ValueRef;
use rusqlite::Row;

use crate::conn::{Failure, OpResult};

/// The columns of every statement that returns jobs, in the order [`job`] reads them (a test
/// checks each such statement against this list).
#[cfg(test)]
pub(crate) const JOB_COLUMNS: [&str; 17] = [
    "id",
    "kind",
    "queue",
    "args",
    "state",
    "priority",
    "attempt",
    "max_attempts",
    "run_at",
    "created_at",
    "attempted_at",
    "finalized_at",
    "unique_key",
    "lease_owner",
    "lease_expires_at",
    "lease_token",
    "errors",
];

pub(crate) fn damaged(column: &str, why: impl std::fmt::Display) -> Failure {
    Failure::Damaged(format!("column {column}: {why}"))
}

/// The text in column `i`.
pub(crate) fn text<'r>(row: &'r Row<'_>, i: usize, column: &str) -> OpResult<&'r str> {
    match row.get_ref(i)? {
        ValueRef::Text(t) => std::str::from_utf8(t).map_err(|e| damaged(column, e)),
        other => Err(damaged(
            column,
            format!("expected text, got {:?}", other.data_type()),
        )),
    }
}

/// The text in column `i`, or `None` for NULL.
pub(crate) fn opt_text<'r>(row: &'r Row<'_>, i: usize, column: &str) -> OpResult<Option<&'r str>> {
    match row.get_ref(i)? {
        ValueRef::Null => Ok(None),
        _ => text(row, i, column).map(Some),
    }
}

/// The integer in column `i`, or `None` for NULL.
pub(crate) fn opt_int(row: &Row<'_>, i: usize, column: &str) -> OpResult<Option<i64>> {
    match row.get_ref(i)? {
        ValueRef::Null => Ok(None),
        ValueRef::Integer(n) => Ok(Some(n)),
        other => Err(damaged(
            column,
            format!("expected an integer, got {:?}", other.data_type()),
        )),
    }
}

/// The integer in column `i`.
pub(crate) fn int(row: &Row<'_>, i: usize, column: &str) -> OpResult<i64> {
    opt_int(row, i, column)?.ok_or_else(|| damaged(column, "expected an integer, got NULL"))
}

/// An id.
pub(crate) fn job_id(row: &Row<'_>, i: usize) -> OpResult<JobId> {
    JobId::parse(text(row, i, "id")?).map_err(|e| damaged("id", e.message()))
}

/// A state name.
pub(crate) fn state(row: &Row<'_>, i: usize) -> OpResult<JobState> {
    JobState::parse(text(row, i, "state")?).map_err(|e| damaged("state", e.message()))
}

/// A queue name.
pub(crate) fn queue(row: &Row<'_>, i: usize) -> OpResult<QueueName> {
    QueueName::parse(text(row, i, "queue")?).map_err(|e| damaged("queue", e.message()))
}

/// A kind.
pub(crate) fn kind(row: &Row<'_>, i: usize) -> OpResult<Kind> {
    Kind::parse(text(row, i, "kind")?).map_err(|e| damaged("kind", e.message()))
}

/// A non-negative count that fits `u32`.
pub(crate) fn uint(row: &Row<'_>, i: usize, column: &str) -> OpResult<u32> {
    let n = int(row, i, column)?;
    u32::try_from(n).map_err(|_| damaged(column, format!("{n} is out of range")))
}

pub(crate) fn ts(row: &Row<'_>, i: usize, column: &str) -> OpResult<Timestamp> {
    int(row, i, column).map(ts_from_micros)
}

pub(crate) fn opt_ts(row: &Row<'_>, i: usize, column: &str) -> OpResult<Option<Timestamp>> {
    Ok(opt_int(row, i, column)?.map(ts_from_micros))
}

/// A state name, or `None` for NULL.
pub(crate) fn opt_state(row: &Row<'_>, i: usize) -> OpResult<Option<JobState>> {
    opt_text(row, i, "state")?
        .map(|s| JobState::parse(s).map_err(|e| damaged("state", e.message())))
        .transpose()
}

/// A job id in `column`, or `None` for NULL.
pub(crate) fn opt_job_id(row: &Row<'_>, i: usize, column: &str) -> OpResult<Option<JobId>> {
    opt_text(row, i, column)?
        .map(|s| JobId::parse(s).map_err(|e| damaged(column, e.message())))
        .transpose()
}

/// A schedule from a row of `schedule_list.sql` / `schedule_get.sql`.
pub(crate) fn schedule_info(row: &Row<'_>) -> OpResult<ScheduleInfo> {
    let def: ScheduleDef =
        serde_json::from_str(text(row, 1, "def")?).map_err(|e| damaged("def", e))?;
    Ok(ScheduleInfo {
        def,
        paused: int(row, 2, "paused")? != 0,
        last_tick: opt_ts(row, 3, "last_tick")?,
        last_job: opt_job_id(row, 4, "last_job")?,
        last_job_state: opt_state(row, 5)?,
        created_at: ts(row, 6, "created_at")?,
        updated_at: ts(row, 7, "updated_at")?,
    })
}

/// A whole job from a row in [`JOB_COLUMNS`] order.
pub(crate) fn job(row: &Row<'_>) -> OpResult<Job> {
    let priority = int(row, 5, "priority")?;
    let errors_json = text(row, 16, "errors")?;
    let errors = if errors_json == "[]" {
        Vec::new()
    } else {
        serde_json::from_str::<Vec<AttemptError>>(errors_json).map_err(|e| damaged("errors", e))?
    };
    Ok(Job {
        id: job_id(row, 0)?,
        kind: kind(row, 1)?,
        queue: queue(row, 2)?,
        args: Args::from_json(text(row, 3, "args")?).map_err(|e| damaged("args", e.message()))?,
        state: state(row, 4)?,
        priority: u8::try_from(priority)
            .map_err(|_| damaged("priority", format!("{priority} is out of range")))?,
        attempt: uint(row, 6, "attempt")?,
        max_attempts: uint(row, 7, "max_attempts")?,
        run_at: ts(row, 8, "run_at")?,
        created_at: ts(row, 9, "created_at")?,
        attempted_at: opt_ts(row, 10, "attempted_at")?,
        finalized_at: opt_ts(row, 11, "finalized_at")?,
        unique_key: opt_text(row, 12, "unique_key")?.map(str::to_owned),
        lease_owner: opt_text(row, 13, "lease_owner")?.map(str::to_owned),
        lease_expires_at: opt_ts(row, 14, "lease_expires_at")?,
        lease_token: opt_int(row, 15, "lease_token")?,
        errors,
    })
}

/// All jobs a statement returns.
pub(crate) fn jobs(mut rows: rusqlite::Rows<'_>) -> OpResult<Vec<Job>> {
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(job(row)?);
    }
    Ok(out)
}

/// The JSON stored for one entry of the error history.
pub(crate) fn attempt_error_json(e: &AttemptError) -> OpResult<String> {
    serde_json::to_string(e).map_err(|err| {
        Failure::Anp(anp_core::Error::internal(
            "attempt error",
            format!("cannot encode {e:?} as JSON: {err}"),
        ))
    })
}

/// `v` as JSON for a bound parameter; `what` names the op in the error.
pub(crate) fn to_json<T: serde::Serialize>(v: &T, what: &str) -> OpResult<String> {
    serde_json::to_string(v).map_err(|e| {
        Failure::Anp(anp_core::Error::internal(
            what.to_owned(),
            format!("cannot encode: {e}"),
        ))
    })
}

/// A histogram stored as JSON (the stats columns `run` and `wait`).
pub(crate) fn histogram(text: &str, column: &str) -> OpResult<Histogram> {
    serde_json::from_str(text).map_err(|e| damaged(column, e))
}

/// Microseconds for a bound parameter.
pub(crate) fn micros(t: Timestamp) -> i64 {
    ts_micros(t)
}

/// A count or limit as a bound parameter (SQLite integers are signed).
pub(crate) fn count_param(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
