//! Rows to jobs, schedules and counts. Every statement returning jobs selects the columns
//! `id, kind, queue, args, state, priority, attempt, max_attempts, run_at, created_at,
//! attempted_at, finalized_at, unique_key, lease_owner, lease_expires_at, lease_token, errors`
//! in that order (`errors` as JSON text, `'[]'` when none).

use anp_core::job::{ts_from_micros, ts_micros};
use anp_core::schedule::{ScheduleDef, ScheduleInfo};
use anp_core::{Args, AttemptError, Job, JobId, JobState, Kind, QueueName};
use jiff::Timestamp;
use tokio_postgres::Row;

use crate::conn::{Failure, OpResult};

pub(crate) fn damaged(column: &str, why: impl std::fmt::Display) -> Failure {
    Failure::Damaged(format!("column {column}: {why}"))
}

pub(crate) fn text(row: &Row, i: usize) -> OpResult<&str> {
    Ok(row.try_get::<_, &str>(i)?)
}

pub(crate) fn opt_text(row: &Row, i: usize) -> OpResult<Option<&str>> {
    Ok(row.try_get::<_, Option<&str>>(i)?)
}

pub(crate) fn int(row: &Row, i: usize) -> OpResult<i64> {
    Ok(row.try_get::<_, i64>(i)?)
}

pub(crate) fn opt_int(row: &Row, i: usize) -> OpResult<Option<i64>> {
    Ok(row.try_get::<_, Option<i64>>(i)?)
}

pub(crate) fn job_id(row: &Row, i: usize) -> OpResult<JobId> {
    JobId::parse(text(row, i)?).map_err(|e| damaged("id", e.message()))
}

pub(crate) fn opt_job_id(row: &Row, i: usize, column: &str) -> OpResult<Option<JobId>> {
    opt_text(row, i)?
        .map(|s| JobId::parse(s).map_err(|e| damaged(column, e.message())))
        .transpose()
}

pub(crate) fn state(row: &Row, i: usize) -> OpResult<JobState> {
    JobState::parse(text(row, i)?).map_err(|e| damaged("state", e.message()))
}

pub(crate) fn opt_state(row: &Row, i: usize) -> OpResult<Option<JobState>> {
    opt_text(row, i)?
        .map(|s| JobState::parse(s).map_err(|e| damaged("state", e.message())))
        .transpose()
}

pub(crate) fn queue(row: &Row, i: usize) -> OpResult<QueueName> {
    QueueName::parse(text(row, i)?).map_err(|e| damaged("queue", e.message()))
}

pub(crate) fn kind(row: &Row, i: usize) -> OpResult<Kind> {
    Kind::parse(text(row, i)?).map_err(|e| damaged("kind", e.message()))
}

/// An INTEGER column that must fit `u32`.
pub(crate) fn uint(row: &Row, i: usize, column: &str) -> OpResult<u32> {
    let n: i32 = row.try_get(i)?;
    u32::try_from(n).map_err(|_| damaged(column, format!("{n} is out of range")))
}

pub(crate) fn ts(row: &Row, i: usize) -> OpResult<Timestamp> {
    int(row, i).map(ts_from_micros)
}

pub(crate) fn opt_ts(row: &Row, i: usize) -> OpResult<Option<Timestamp>> {
    Ok(opt_int(row, i)?.map(ts_from_micros))
}

/// A whole job from a row in the job column order.
pub(crate) fn job(row: &Row) -> OpResult<Job> {
    let priority: i16 = row.try_get(5)?;
    let errors_json = text(row, 16)?;
    let errors = if errors_json == "[]" {
        Vec::new()
    } else {
        serde_json::from_str::<Vec<AttemptError>>(errors_json).map_err(|e| damaged("errors", e))?
    };
    Ok(Job {
        id: job_id(row, 0)?,
        kind: kind(row, 1)?,
        queue: queue(row, 2)?,
        args: Args::from_json(text(row, 3)?).map_err(|e| damaged("args", e.message()))?,
        state: state(row, 4)?,
        priority: u8::try_from(priority)
            .map_err(|_| damaged("priority", format!("{priority} is out of range")))?,
        attempt: uint(row, 6, "attempt")?,
        max_attempts: uint(row, 7, "max_attempts")?,
        run_at: ts(row, 8)?,
        created_at: ts(row, 9)?,
        attempted_at: opt_ts(row, 10)?,
        finalized_at: opt_ts(row, 11)?,
        unique_key: opt_text(row, 12)?.map(str::to_owned),
        lease_owner: opt_text(row, 13)?.map(str::to_owned),
        lease_expires_at: opt_ts(row, 14)?,
        lease_token: opt_int(row, 15)?,
        errors,
    })
}

/// Every row as a job.
pub(crate) fn jobs(rows: &[Row]) -> OpResult<Vec<Job>> {
    rows.iter().map(job).collect()
}

/// A schedule from a row of `schedule_list.sql` / `schedule_get.sql`.
pub(crate) fn schedule_info(row: &Row) -> OpResult<ScheduleInfo> {
    let def: ScheduleDef = serde_json::from_str(text(row, 1)?).map_err(|e| damaged("def", e))?;
    Ok(ScheduleInfo {
        def,
        paused: row.try_get(2)?,
        last_tick: opt_ts(row, 3)?,
        last_job: opt_job_id(row, 4, "last_job")?,
        last_job_state: opt_state(row, 5)?,
        created_at: ts(row, 6)?,
        updated_at: ts(row, 7)?,
    })
}

/// `v` as JSON text for a parameter; `what` names the op in the error.
pub(crate) fn to_json<T: serde::Serialize>(v: &T, what: &str) -> OpResult<String> {
    serde_json::to_string(v).map_err(|e| {
        Failure::Anp(anp_core::Error::internal(
            what.to_owned(),
            format!("cannot encode: {e}"),
        ))
    })
}

/// Microseconds for a parameter.
pub(crate) fn micros(t: Timestamp) -> i64 {
    ts_micros(t)
}

/// A count or limit as a parameter.
pub(crate) fn count_param(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A `u32` as an INTEGER parameter.
pub(crate) fn i32_param(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}
