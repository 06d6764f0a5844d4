//! The schedule methods: `schedule_sync`, `schedule_list`, `schedule_get`,
//! `schedule_set_paused`, `schedule_claim_tick`, `schedule_trigger`, `schedule_delete`. They share
//! the row decoding and the fire log, so they live in one module; each statement is still its own
//! `sql/schedule_<op>*.sql`.

use anp_core::job::Enqueued;
use anp_core::schedule::{
    FireDecision, FireLogEntry, ScheduleDef, ScheduleInfo, ScheduleName, ScheduleSyncParams,
    ScheduleTriggerParams, TickClaim, TickClaimParams,
};
use anp_core::store::JobEnqueueManyParams;
use anp_core::{Error, JobId, JobState, NewJob};
use jiff::Timestamp;
use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::conn::{Failure, OpResult};
use crate::ops::job_enqueue_many;
use crate::row::{self, damaged, micros};

fn not_found(op: &str, name: &ScheduleName) -> Failure {
    Error::not_found(
        op,
        format!("schedule {name} not found: expected the name of a schedule registered by `anp scheduler` or `anp work` (see `anp schedules list`)"),
    )
    .into()
}

fn def_json(def: &ScheduleDef) -> OpResult<String> {
    serde_json::to_string(def).map_err(|e| {
        Error::internal("schedule", format!("cannot encode the definition: {e}")).into()
    })
}

fn opt_state(r: &Row<'_>, i: usize) -> OpResult<Option<JobState>> {
    row::opt_text(r, i, "state")?
        .map(|s| JobState::parse(s).map_err(|e| damaged("state", e.message())))
        .transpose()
}

fn opt_job_id(r: &Row<'_>, i: usize, column: &str) -> OpResult<Option<JobId>> {
    row::opt_text(r, i, column)?
        .map(|s| JobId::parse(s).map_err(|e| damaged(column, e.message())))
        .transpose()
}

/// A row of `schedule_list.sql` / `schedule_get.sql`.
fn info(r: &Row<'_>) -> OpResult<ScheduleInfo> {
    let def: ScheduleDef =
        serde_json::from_str(row::text(r, 1, "def")?).map_err(|e| damaged("def", e))?;
    Ok(ScheduleInfo {
        def,
        paused: row::int(r, 2, "paused")? != 0,
        last_tick: row::opt_ts(r, 3, "last_tick")?,
        last_job: opt_job_id(r, 4, "last_job")?,
        last_job_state: opt_state(r, 5)?,
        created_at: row::ts(r, 6, "created_at")?,
        updated_at: row::ts(r, 7, "updated_at")?,
    })
}

/// `schedule_sync`.
pub(crate) fn sync(c: &Connection, p: &ScheduleSyncParams) -> OpResult<()> {
    let mut stmt = c.prepare_cached(include_str!("../../sql/schedule_sync.sql"))?;
    for def in &p.defs {
        stmt.execute(params![def.name.as_str(), def_json(def)?, micros(p.now)])?;
    }
    Ok(())
}

/// `schedule_list`.
pub(crate) fn list(c: &Connection) -> OpResult<Vec<ScheduleInfo>> {
    let mut stmt = c.prepare_cached(include_str!("../../sql/schedule_list.sql"))?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(info(r)?);
    }
    Ok(out)
}

/// `schedule_get`.
pub(crate) fn get(
    c: &Connection,
    name: &ScheduleName,
    log_limit: u32,
) -> OpResult<(ScheduleInfo, Vec<FireLogEntry>)> {
    let info = {
        let mut stmt = c.prepare_cached(include_str!("../../sql/schedule_get.sql"))?;
        let mut rows = stmt.query([name.as_str()])?;
        match rows.next()? {
            Some(r) => info(r)?,
            None => return Err(not_found("schedule_get", name)),
        }
    };
    let mut stmt = c.prepare_cached(include_str!("../../sql/schedule_get_fires.sql"))?;
    let mut rows = stmt.query(params![name.as_str(), log_limit])?;
    let mut log = Vec::new();
    while let Some(r) = rows.next()? {
        let decision = match row::text(r, 2, "decision")? {
            "enqueued" => FireDecision::Enqueued,
            "skipped" => FireDecision::Skipped,
            "triggered" => FireDecision::Triggered,
            other => return Err(damaged("decision", format!("{other:?} is not a decision"))),
        };
        log.push(FireLogEntry {
            tick: row::ts(r, 0, "tick")?,
            decided_at: row::ts(r, 1, "decided_at")?,
            decision,
            job_id: opt_job_id(r, 3, "job_id")?,
            job_state: opt_state(r, 4)?,
            reason: row::opt_text(r, 5, "reason")?.map(str::to_owned),
            scheduler: row::text(r, 6, "scheduler")?.to_owned(),
        });
    }
    Ok((info, log))
}

/// `schedule_set_paused`.
pub(crate) fn set_paused(
    c: &Connection,
    name: &ScheduleName,
    paused: bool,
    now: Timestamp,
) -> OpResult<()> {
    let n = c
        .prepare_cached(include_str!("../../sql/schedule_set_paused.sql"))?
        .execute(params![name.as_str(), paused, micros(now)])?;
    if n == 0 {
        return Err(not_found("schedule_set_paused", name));
    }
    Ok(())
}

/// `schedule_delete`.
pub(crate) fn delete(c: &Connection, name: &ScheduleName) -> OpResult<()> {
    let n = c
        .prepare_cached(include_str!("../../sql/schedule_delete.sql"))?
        .execute([name.as_str()])?;
    if n == 0 {
        return Err(not_found("schedule_delete", name));
    }
    c.prepare_cached(include_str!("../../sql/schedule_delete_fires.sql"))?
        .execute([name.as_str()])?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn log(
    c: &Connection,
    name: &ScheduleName,
    tick: Timestamp,
    now: Timestamp,
    decision: &str,
    job: Option<JobId>,
    reason: Option<&str>,
    scheduler: &str,
) -> OpResult<()> {
    c.prepare_cached(include_str!("../../sql/schedule_fire_log.sql"))?
        .execute(params![
            name.as_str(),
            micros(tick),
            micros(now),
            decision,
            job.map(|j| j.to_string()),
            reason,
            scheduler
        ])?;
    Ok(())
}

fn trim(c: &Connection, name: &ScheduleName, keep: u32) -> OpResult<()> {
    c.prepare_cached(include_str!("../../sql/schedule_fire_log_trim.sql"))?
        .execute(params![name.as_str(), keep.max(1)])?;
    Ok(())
}

fn enqueue(c: &Connection, job: NewJob, now: Timestamp) -> OpResult<(Enqueued, bool)> {
    let (mut res, available) = job_enqueue_many::run(
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

/// `schedule_claim_tick`; the bool says whether a job became available (to wake waiters).
pub(crate) fn claim_tick(c: &Connection, p: TickClaimParams) -> OpResult<(TickClaim, bool)> {
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
        log(
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
        (Some(e), _) => log(
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
            log(
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
        (None, None) => log(
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
    trim(c, &p.name, p.log_max)?;
    Ok((
        TickClaim::Claimed {
            job: enqueued,
            overlap_with,
        },
        available,
    ))
}

/// `schedule_trigger`.
pub(crate) fn trigger(c: &Connection, p: &ScheduleTriggerParams) -> OpResult<(Enqueued, bool)> {
    let (info, _) = get(c, &p.name, 0).map_err(|e| match e {
        Failure::Anp(_) => not_found("schedule_trigger", &p.name),
        other => other,
    })?;
    let (e, available) = enqueue(c, info.def.new_job(), p.now)?;
    log(
        c,
        &p.name,
        p.now,
        p.now,
        "triggered",
        Some(e.id),
        Some(&format!("by {}", p.by)),
        &p.by,
    )?;
    trim(c, &p.name, p.log_max)?;
    Ok((e, available))
}
