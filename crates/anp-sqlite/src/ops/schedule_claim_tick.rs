//! `schedule_claim_tick`: claims one tick of a schedule and, unless its previous run has not
//! finished (`skip_if_running`) or the scheduler skips it, enqueues the schedule's job, in one
//! write transaction; logs the decision (and any ticks passed over) in the fire log.

use anp_core::job::Enqueued;
use anp_core::schedule::{ScheduleDef, TickClaim, TickClaimParams};
use anp_core::store::JobEnqueueManyParams;
use anp_core::{Error, JobId, NewJob, Result};
use jiff::Timestamp;
use rusqlite::{params, Connection, OptionalExtension};

use crate::conn::{Failure, OpResult};
use crate::ops::job_enqueue_many;
use crate::ops::schedule_fire_log as fire_log;
use crate::ops::schedule_get::not_found;
use crate::row::{damaged, micros};
use crate::SqliteStore;

/// Claims in one write transaction; waiters are woken when the job is available.
pub(crate) async fn run(s: &SqliteStore, p: TickClaimParams) -> Result<TickClaim> {
    s.write_waking("schedule_claim_tick", move |c| sql(c, p))
        .await
}

/// The claim, and whether a job became available (to wake waiters).
fn sql(c: &Connection, p: TickClaimParams) -> OpResult<(TickClaim, bool)> {
    const OP: &str = "schedule_claim_tick";
    let state = c
        .prepare_cached(include_str!("../../sql/schedule_claim_tick_read.sql"))?
        .query_row([p.name.as_str()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<i64>>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<bool>>(3)?,
            ))
        })
        .optional()?;
    let Some((def, last_tick, last_job, last_unfinished)) = state else {
        return Err(not_found(OP, &p.name));
    };
    if last_tick.is_some_and(|t| t >= micros(p.tick)) {
        return Ok((TickClaim::AlreadyClaimed, false));
    }
    let def: ScheduleDef = serde_json::from_str(&def).map_err(|e| damaged("def", e))?;
    let overlap_with = match (&p.job, def.skip_if_running, last_unfinished, &last_job) {
        (Some(_), true, Some(true), Some(prev)) => {
            Some(JobId::parse(prev).map_err(|e| damaged("last_job", e.message()))?)
        }
        _ => None,
    };
    let (enqueued, available) = match (p.job, overlap_with) {
        (Some(job), None) => {
            let (e, a) = enqueue(c, job, p.now)?;
            (Some(e), a)
        }
        _ => (None, false),
    };
    let changed = c
        .prepare_cached(include_str!("../../sql/schedule_claim_tick.sql"))?
        .execute(params![
            p.name.as_str(),
            micros(p.tick),
            enqueued.as_ref().map(|e| e.id.to_string())
        ])?;
    if changed != 1 {
        // Cannot happen inside the write transaction after the read above; refuse loudly.
        return Err(Error::internal(
            OP,
            format!(
                "claiming tick {} of {} matched {changed} rows",
                p.tick, p.name
            ),
        )
        .into());
    }
    if p.passed_over > 0 {
        let reason = format!(
            "{} earlier missed tick(s) passed over (catch_up = {})",
            p.passed_over,
            def.catch_up.as_str()
        );
        fire_log::log(
            c,
            &p.name,
            p.tick,
            p.now,
            "skipped",
            None,
            Some(&reason),
            &p.scheduler,
        )?;
    }
    match (&enqueued, overlap_with) {
        (Some(e), _) => fire_log::log(
            c,
            &p.name,
            p.tick,
            p.now,
            "enqueued",
            Some(e.id),
            None,
            &p.scheduler,
        )?,
        (None, Some(prev)) => {
            let reason = format!("overlap: previous run {prev} has not finished");
            fire_log::log(
                c,
                &p.name,
                p.tick,
                p.now,
                "skipped",
                Some(prev),
                Some(&reason),
                &p.scheduler,
            )?
        }
        (None, None) => fire_log::log(
            c,
            &p.name,
            p.tick,
            p.now,
            "skipped",
            None,
            p.skip_reason.as_deref(),
            &p.scheduler,
        )?,
    }
    fire_log::trim(c, &p.name, p.log_max)?;
    Ok((
        TickClaim::Claimed {
            job: enqueued,
            overlap_with,
        },
        available,
    ))
}

/// Enqueues the schedule's job inside the caller's transaction (also `schedule_trigger`'s).
pub(crate) fn enqueue(c: &Connection, job: NewJob, now: Timestamp) -> OpResult<(Enqueued, bool)> {
    let (mut res, available) = job_enqueue_many::sql(
        c,
        &JobEnqueueManyParams {
            jobs: vec![job],
            now,
        },
    )?;
    let e = res.pop().ok_or_else(|| {
        Failure::Anp(Error::internal(
            "schedule_claim_tick",
            "enqueue returned nothing",
        ))
    })?;
    Ok((e, available))
}
