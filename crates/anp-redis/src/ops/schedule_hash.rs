//! What the schedule ops share: where a schedule lives and how its hash reads.
//!
//! A schedule lives in the slot of its queue: `anp:{<queue>}:schedule:<name>` (hash) and
//! `anp:{<queue>}:fires:<name>` (fire log, newest first); `anp:schedules` maps each name to
//! that queue. Claiming a tick and enqueueing its job is one `schedule_claim_tick.lua` call.

use anp_core::schedule::{ScheduleDef, ScheduleInfo, ScheduleName};
use anp_core::{Error, JobId, JobState, QueueName, Result};
use jiff::Timestamp;
use redis::Value;

use crate::conn::{Call, Redis};
use crate::keys::{self, S};
use crate::ops::{job_get_call, ok};
use crate::record::{bad_reply, int, items, text};

/// The fields of the schedule hash read back, in this order.
pub(crate) const FIELDS: [&str; 6] = [
    "def",
    "paused",
    "last_tick",
    "last_job",
    "created_at",
    "updated_at",
];

/// `schedule <name> not found: expected the name of a schedule registered by …`.
pub(crate) fn not_found(op: &str, name: &ScheduleName) -> Error {
    Error::not_found(
        op,
        format!("schedule {name} not found: expected the name of a schedule registered by `anp scheduler` or `anp work` (see `anp schedules list`)"),
    )
}

/// A schedule field this build cannot read.
pub(crate) fn corrupt(op: &str, name: &ScheduleName, what: &str) -> Error {
    Error::internal(
        op,
        format!("schedule {name} has an unreadable {what}: expected the alphanode key layout"),
    )
}

/// `HGET anp:schedules <name>`: the queue holding the schedule.
pub(crate) fn hget_queue(name: &ScheduleName) -> Call {
    Call::global(
        redis::cmd("HGET")
            .arg(keys::SCHEDULES)
            .arg(name.as_str())
            .to_owned(),
    )
}

/// The queue of an `HGET anp:schedules` reply, if any.
pub(crate) fn parse_queue(v: &Value) -> Option<QueueName> {
    text(v).and_then(|s| QueueName::parse(s).ok())
}

/// The queue holding schedule `name`, if it exists.
pub(crate) async fn queue_of(
    r: &Redis,
    op: &str,
    name: &ScheduleName,
) -> Result<Option<QueueName>> {
    let v = r.run_one(op, hget_queue(name)).await?;
    let v = ok(r, op, v)?;
    Ok(parse_queue(&v))
}

/// `HMGET` of the schedule hash's [`FIELDS`].
pub(crate) fn hmget(queue: &QueueName, name: &ScheduleName) -> Call {
    let mut cmd = redis::cmd("HMGET");
    cmd.arg(S::Schedule.key(queue, name));
    for f in FIELDS {
        cmd.arg(f);
    }
    Call::queue(queue, cmd)
}

fn ts(v: &Value) -> Option<Timestamp> {
    Timestamp::from_microsecond(int(v)?).ok()
}

/// The state of a job from a `job_get.lua` reply (its merged record's first word), if the job
/// exists.
pub(crate) fn state_of(v: &Value) -> Option<JobState> {
    let Value::Array(f) = v else {
        return None;
    };
    f.get(1)
        .and_then(text)
        .and_then(|s| s.split(' ').next())
        .and_then(|s| JobState::parse(s).ok())
}

/// A schedule's hash fields (`FIELDS`) as info, without the last job's state; `None` when the
/// hash is absent.
pub(crate) fn info(op: &str, name: &ScheduleName, v: Value) -> Result<Option<ScheduleInfo>> {
    let f = items(v.clone()).ok_or_else(|| bad_reply(op, "the schedule's fields", &v))?;
    if f.len() != FIELDS.len() {
        return Err(bad_reply(op, "the schedule's fields", &v));
    }
    let Some(def) = text(&f[0]) else {
        return Ok(None);
    };
    let def: ScheduleDef =
        serde_json::from_str(def).map_err(|_| corrupt(op, name, "definition"))?;
    let last_job = match text(&f[3]) {
        Some(s) => Some(JobId::parse(s).map_err(|_| corrupt(op, name, "last job"))?),
        None => None,
    };
    Ok(Some(ScheduleInfo {
        def,
        paused: text(&f[1]) == Some("1"),
        last_tick: ts(&f[2]),
        last_job,
        last_job_state: None,
        created_at: ts(&f[4]).ok_or_else(|| corrupt(op, name, "created_at"))?,
        updated_at: ts(&f[5]).ok_or_else(|| corrupt(op, name, "updated_at"))?,
    }))
}

/// Fills in the state of each schedule's last job (one pipelined `HGET` per job).
pub(crate) async fn with_states(
    r: &Redis,
    op: &str,
    list: &mut [(QueueName, ScheduleInfo)],
) -> Result<()> {
    let idx: Vec<usize> = (0..list.len())
        .filter(|&i| list[i].1.last_job.is_some())
        .collect();
    if idx.is_empty() {
        return Ok(());
    }
    let calls = idx
        .iter()
        .map(|&i| {
            let (q, info) = &list[i];
            let id = info.last_job.map(|j| j.to_string()).unwrap_or_default();
            job_get_call(r, q, &id)
        })
        .collect();
    for (&i, v) in idx.iter().zip(r.run(op, calls).await?) {
        list[i].1.last_job_state = state_of(&ok(r, op, v)?);
    }
    Ok(())
}

/// `DEL` of a schedule's hash and fire log.
pub(crate) fn del_keys(queue: &QueueName, name: &ScheduleName) -> Call {
    Call::queue(
        queue,
        redis::cmd("DEL")
            .arg(S::Schedule.key(queue, name))
            .arg(S::Fires.key(queue, name))
            .to_owned(),
    )
}
