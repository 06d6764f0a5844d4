//! `schedule_trigger`: enqueues a schedule's job now, outside its timetable (`anp schedules
//! trigger`), and logs it as triggered.

use anp_core::job::Enqueued;
use anp_core::schedule::ScheduleTriggerParams;
use anp_core::{Error, Result};

use crate::conn::Redis;
use crate::ops::ok;
use crate::ops::schedule_claim_tick::claim_call;
use crate::ops::schedule_hash::{hmget, info, not_found, queue_of};

/// `schedule_trigger`: reads the definition, then one `schedule_claim_tick.lua` call in
/// trigger mode.
pub(crate) async fn run(r: &Redis, p: ScheduleTriggerParams) -> Result<Enqueued> {
    const OP: &str = "schedule_trigger";
    let Some(q) = queue_of(r, OP, &p.name).await? else {
        return Err(not_found(OP, &p.name));
    };
    let v = ok(r, OP, r.run_one(OP, hmget(&q, &p.name)).await?)?;
    let Some(info) = info(OP, &p.name, v)? else {
        return Err(not_found(OP, &p.name));
    };
    let job = info.def.new_job();
    let res = claim_call(
        r,
        OP,
        &q,
        &p.name,
        "trigger",
        p.now,
        p.now,
        "",
        0,
        &p.by,
        p.log_max,
        Some(&job),
    )
    .await?;
    match res {
        Some((Some(e), _)) => Ok(e),
        _ => Err(Error::internal(
            OP,
            "the trigger enqueued nothing: expected the schedule's job",
        )),
    }
}
