//! `schedule_trigger`: enqueues a schedule's job now, outside its timetable (`anp schedules
//! trigger`), and logs it as triggered, in one write transaction.

use anp_core::job::Enqueued;
use anp_core::schedule::ScheduleTriggerParams;
use anp_core::Result;
use rusqlite::Connection;

use crate::conn::{Failure, OpResult};
use crate::ops::schedule_claim_tick;
use crate::ops::schedule_fire_log as fire_log;
use crate::ops::schedule_get::{self, not_found};
use crate::SqliteStore;

/// Triggers in one write transaction; waiters are woken when the job is available.
pub(crate) async fn run(s: &SqliteStore, p: ScheduleTriggerParams) -> Result<Enqueued> {
    s.write_waking("schedule_trigger", move |c| sql(c, &p))
        .await
}

fn sql(c: &Connection, p: &ScheduleTriggerParams) -> OpResult<(Enqueued, bool)> {
    let (info, _) = schedule_get::sql(c, &p.name, 0).map_err(|e| match e {
        Failure::Anp(_) => not_found("schedule_trigger", &p.name),
        other => other,
    })?;
    let (e, available) = schedule_claim_tick::enqueue(c, info.def.new_job(), p.now)?;
    fire_log::log(
        c,
        &p.name,
        p.now,
        p.now,
        "triggered",
        Some(e.id),
        Some(&format!("by {}", p.by)),
        &p.by,
    )?;
    fire_log::trim(c, &p.name, p.log_max)?;
    Ok((e, available))
}
