//! `job_enqueue_many`: jobs grouped by queue, one `job_enqueue_many.lua` call per chunk of
//! [`CHUNK`] jobs of one queue, all pipelined after one `SADD anp:queues`.

use anp_core::job::Enqueued;
use anp_core::store::JobEnqueueManyParams;
use anp_core::{Error, JobId, JobState, NewJob, Result};
use jiff::Timestamp;

use crate::conn::{Call, Redis};
use crate::ops::{anp_error, by_queue, micros, ok, register_queues};
use crate::record::{bad_reply, int, items, text};
use crate::scripts::JOB_ENQUEUE_MANY;

const OP: &str = "job_enqueue_many";

/// Jobs per script call: big enough to amortise the round trip, small enough to keep each
/// script (which blocks the server while it runs) around a millisecond.
pub(crate) const CHUNK: usize = 500;

/// One result per job, in input order.
pub(crate) async fn run(r: &Redis, p: JobEnqueueManyParams) -> Result<Vec<Enqueued>> {
    if p.jobs.is_empty() {
        return Ok(Vec::new());
    }
    for j in &p.jobs {
        j.validate()?;
    }
    let now = micros(p.now);
    let minute = micros(anp_core::monitor::minute_of(p.now));
    let groups = by_queue(&p.jobs, |j| &j.queue);
    let mut calls = vec![register_queues(groups.iter().map(|(q, _)| *q))];
    let mut chunks: Vec<&[usize]> = Vec::new();
    for (queue, idx) in &groups {
        for chunk in idx.chunks(CHUNK) {
            let mut call = r.script(&JOB_ENQUEUE_MANY, queue);
            call.arg(now).arg(minute).arg(chunk.len());
            for &i in chunk {
                job_args(&mut call, &p.jobs[i], p.now);
            }
            calls.push(call);
            chunks.push(chunk);
        }
    }
    let mut replies = r.run(OP, calls).await?.into_iter();
    if let Some(v) = replies.next() {
        ok(r, OP, v)?;
    }
    let mut out: Vec<Option<Enqueued>> = vec![None; p.jobs.len()];
    for (chunk, v) in chunks.into_iter().zip(replies) {
        if let Some((code, detail)) = anp_error(&v) {
            return Err(Error::incompatible(
                OP,
                format!("store {} refused the batch ({code} {detail}): expected the alphanode key layout", r.target()),
            ));
        }
        let v = ok(r, OP, v)?;
        let f = items(v.clone()).ok_or_else(|| bad_reply(OP, "3 entries per job", &v))?;
        if f.len() != chunk.len() * 3 {
            return Err(bad_reply(OP, "3 entries per job", &v));
        }
        for (&i, e) in chunk.iter().zip(f.chunks(3)) {
            let id = text(&e[0])
                .and_then(|s| JobId::parse(s).ok())
                .ok_or_else(|| bad_reply(OP, "a job id", &e[0]))?;
            let state = text(&e[2])
                .and_then(|s| JobState::parse(s).ok())
                .ok_or_else(|| bad_reply(OP, "a job state", &e[2]))?;
            out[i] = Some(Enqueued {
                id,
                duplicate: int(&e[1]) == Some(1),
                state,
            });
        }
    }
    out.into_iter()
        .map(|e| e.ok_or_else(|| Error::internal(OP, "a job got no reply: expected one per job")))
        .collect()
}

/// The 8 ARGV of one job, as `job_enqueue_many.lua` (and the schedule claim, which enqueues
/// through the same Lua function) takes them.
pub(crate) fn job_args(call: &mut Call, j: &NewJob, now: Timestamp) {
    let period = j
        .unique
        .as_ref()
        .and_then(|u| u.period)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX).to_string())
        .unwrap_or_default();
    call.arg(j.id.to_string())
        .arg(j.kind.as_str())
        .arg(j.args.as_json())
        .arg(j.priority)
        .arg(j.max_attempts)
        .arg(micros(j.run_at.unwrap_or(now)))
        .arg(j.unique.as_ref().map(|u| u.key.as_str()).unwrap_or(""))
        .arg(period);
}
