//! `schedule_claim_tick`: claims one tick of a schedule and enqueues its job (unless skipped),
//! logging the decision, in one `schedule_claim_tick.lua` call; `schedule_trigger` sends the
//! same script in trigger mode.

use anp_core::job::Enqueued;
use anp_core::schedule::{ScheduleName, TickClaim, TickClaimParams};
use anp_core::{Error, JobId, JobState, NewJob, QueueName, Result};
use jiff::Timestamp;
use redis::Value;

use crate::conn::Redis;
use crate::ops::schedule_hash::{not_found, queue_of};
use crate::ops::{anp_error, layout_reply, micros, register_queues};
use crate::record::{bad_reply, int, items, text};
use crate::scripts::SCHEDULE_CLAIM_TICK;

/// `schedule_claim_tick`: one `schedule_claim_tick.lua` call (claim and enqueue together).
pub(crate) async fn run(r: &Redis, p: TickClaimParams) -> Result<TickClaim> {
    const OP: &str = "schedule_claim_tick";
    let Some(q) = queue_of(r, OP, &p.name).await? else {
        return Err(not_found(OP, &p.name));
    };
    let res = claim_call(
        r,
        OP,
        &q,
        &p.name,
        "claim",
        p.tick,
        p.now,
        p.skip_reason.as_deref().unwrap_or(""),
        p.passed_over,
        &p.scheduler,
        p.log_max,
        p.job.as_ref(),
    )
    .await?;
    Ok(match res {
        None => TickClaim::AlreadyClaimed,
        Some((job, overlap_with)) => TickClaim::Claimed { job, overlap_with },
    })
}

/// What the claim script answered: `None` for already claimed, else the job and overlap.
pub(crate) type Claimed = Option<(Option<Enqueued>, Option<JobId>)>;

/// One `schedule_claim_tick.lua` call in `mode` (`claim` or `trigger`), after an
/// `SADD anp:queues`; `job` is enqueued unless the script skips the tick.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn claim_call(
    r: &Redis,
    op: &str,
    queue: &QueueName,
    name: &ScheduleName,
    mode: &str,
    tick: Timestamp,
    now: Timestamp,
    skip_reason: &str,
    passed_over: u32,
    who: &str,
    log_max: u32,
    job: Option<&NewJob>,
) -> Result<Claimed> {
    let mut call = r.schedule_script(&SCHEDULE_CLAIM_TICK, queue, name);
    call.arg(micros(now))
        .arg(micros(anp_core::monitor::minute_of(now)))
        .arg(mode)
        .arg(micros(tick))
        .arg(skip_reason)
        .arg(passed_over)
        .arg(who)
        .arg(log_max.max(1));
    match job {
        Some(j) => {
            j.validate()?;
            if j.queue != *queue {
                return Err(Error::invalid(
                    op,
                    format!(
                        "the job of schedule {name} is for queue {}: expected the schedule's queue {queue} (sync the definition first)",
                        j.queue
                    ),
                ));
            }
            call.arg("1");
            super::job_enqueue_many::job_args(&mut call, j, now);
        }
        None => {
            call.arg("0");
        }
    }
    let v = r
        .run(op, vec![register_queues([queue]), call])
        .await?
        .pop()
        .unwrap_or(Value::Nil);
    if let Some(("ANP_NOT_FOUND", _)) = anp_error(&v) {
        return Err(not_found(op, name));
    }
    let v = layout_reply(r, op, "the claim", v)?;
    let f = items(v.clone()).ok_or_else(|| bad_reply(op, "a claim reply", &v))?;
    match f.first().and_then(text) {
        Some("already") => return Ok(None),
        Some("claimed") if f.len() == 5 => {}
        _ => return Err(bad_reply(op, "a claim reply", &v)),
    }
    let job = match text(&f[1]) {
        Some("") | None => None,
        Some(id) => Some(Enqueued {
            id: JobId::parse(id).map_err(|_| bad_reply(op, "a job id", &f[1]))?,
            duplicate: int(&f[2]) == Some(1),
            state: text(&f[3])
                .and_then(|s| JobState::parse(s).ok())
                .ok_or_else(|| bad_reply(op, "a job state", &f[3]))?,
        }),
    };
    let overlap = match text(&f[4]) {
        Some("") | None => None,
        Some(id) => Some(JobId::parse(id).map_err(|_| bad_reply(op, "a job id", &f[4]))?),
    };
    Ok(Some((job, overlap)))
}
