//! `schedule_trigger`: enqueues a schedule's job now, outside its timetable, and logs it as
//! triggered, in one transaction.

use anp_core::job::Enqueued;
use anp_core::schedule::ScheduleTriggerParams;
use anp_core::Result;

use crate::conn::{Conn, Failure, OpResult};
use crate::ops::schedule_claim_tick;
use crate::ops::schedule_fire_log as fire_log;
use crate::ops::schedule_get::{self, not_found};
use crate::store::in_tx;
use crate::PostgresStore;

/// Triggers in one transaction.
pub(crate) async fn run(s: &PostgresStore, p: ScheduleTriggerParams) -> Result<Enqueued> {
    let out = in_tx!(s, "schedule_trigger", |tx| sql(tx, &p));
    s.made_available();
    out
}

async fn sql(c: &dyn Conn, p: &ScheduleTriggerParams) -> OpResult<Enqueued> {
    let (info, _) = schedule_get::sql(c, &p.name, 0)
        .await
        .map_err(|e| match e {
            Failure::Anp(_) => not_found("schedule_trigger", &p.name),
            other => other,
        })?;
    let e = schedule_claim_tick::enqueue(c, info.def.new_job(), p.now).await?;
    fire_log::log(
        c,
        &p.name,
        p.now,
        p.now,
        "triggered",
        Some(e.id),
        Some(&format!("by {}", p.by)),
        &p.by,
    )
    .await?;
    fire_log::trim(c, &p.name, p.log_max).await?;
    Ok(e)
}
