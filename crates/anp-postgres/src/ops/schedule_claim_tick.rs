//! `schedule_claim_tick`: claims one tick of a schedule and, unless its previous run has not
//! finished (`skip_if_running`) or the scheduler skips it, enqueues the schedule's job, in one
//! transaction; logs the decision. The schedule's row is locked first (`FOR UPDATE`), so
//! concurrent schedulers claiming the same tick queue on it and all but one find it claimed.

use anp_core::job::Enqueued;
use anp_core::schedule::{ScheduleDef, TickClaim, TickClaimParams};
use anp_core::store::JobEnqueueManyParams;
use anp_core::{Error, JobId, NewJob, Result};
use jiff::Timestamp;

use crate::conn::{Conn, Failure, OpResult};
use crate::ops::job_enqueue_many;
use crate::ops::schedule_fire_log as fire_log;
use crate::ops::schedule_get::not_found;
use crate::row::{damaged, micros};
use crate::store::in_tx;
use crate::PostgresStore;

const OP: &str = "schedule_claim_tick";

/// Claims in one transaction.
pub(crate) async fn run(s: &PostgresStore, p: TickClaimParams) -> Result<TickClaim> {
    let out = in_tx!(s, OP, |tx| sql(tx, p.clone()));
    s.made_available();
    out
}

async fn sql(c: &dyn Conn, p: TickClaimParams) -> OpResult<TickClaim> {
    let Some(r) = c
        .query_opt(
            include_str!("../../sql/schedule_claim_tick_read.sql"),
            &[&p.name.as_str()],
        )
        .await?
    else {
        return Err(not_found(OP, &p.name));
    };
    let def: String = r.try_get(0)?;
    let last_tick: Option<i64> = r.try_get(1)?;
    let last_job: Option<String> = r.try_get(2)?;
    let last_unfinished: Option<bool> = r.try_get(3)?;
    if last_tick.is_some_and(|t| t >= micros(p.tick)) {
        return Ok(TickClaim::AlreadyClaimed);
    }
    let def: ScheduleDef = serde_json::from_str(&def).map_err(|e| damaged("def", e))?;
    let overlap_with = match (&p.job, def.skip_if_running, last_unfinished, &last_job) {
        (Some(_), true, Some(true), Some(prev)) => {
            Some(JobId::parse(prev).map_err(|e| damaged("last_job", e.message()))?)
        }
        _ => None,
    };
    let enqueued = match (p.job, overlap_with) {
        (Some(job), None) => Some(enqueue(c, job, p.now).await?),
        _ => None,
    };
    let changed = c
        .execute(
            include_str!("../../sql/schedule_claim_tick.sql"),
            &[
                &p.name.as_str(),
                &micros(p.tick),
                &enqueued.as_ref().map(|e| e.id.to_string()),
            ],
        )
        .await?;
    if changed != 1 {
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
        )
        .await?;
    }
    match (&enqueued, overlap_with) {
        (Some(e), _) => {
            fire_log::log(
                c,
                &p.name,
                p.tick,
                p.now,
                "enqueued",
                Some(e.id),
                None,
                &p.scheduler,
            )
            .await?
        }
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
            )
            .await?
        }
        (None, None) => {
            fire_log::log(
                c,
                &p.name,
                p.tick,
                p.now,
                "skipped",
                None,
                p.skip_reason.as_deref(),
                &p.scheduler,
            )
            .await?
        }
    }
    fire_log::trim(c, &p.name, p.log_max).await?;
    Ok(TickClaim::Claimed {
        job: enqueued,
        overlap_with,
    })
}

/// Enqueues the schedule's job inside the caller's transaction (also `schedule_trigger`'s).
pub(crate) async fn enqueue(c: &dyn Conn, job: NewJob, now: Timestamp) -> OpResult<Enqueued> {
    let mut res = job_enqueue_many::sql(
        c,
        &JobEnqueueManyParams {
            jobs: vec![job],
            now,
        },
    )
    .await?;
    res.pop()
        .ok_or_else(|| Failure::Anp(Error::internal(OP, "enqueue returned nothing")))
}
