//! `schedule_get`: one schedule and the newest entries of its fire log, with their jobs' states.

use anp_core::schedule::{FireDecision, FireLogEntry, ScheduleInfo, ScheduleName};
use anp_core::{Error, Result};
use rusqlite::{params, Connection};

use crate::conn::{Failure, OpResult};
use crate::row::{self, damaged};
use crate::SqliteStore;

/// Reads on the reader connection.
pub(crate) async fn run(
    s: &SqliteStore,
    name: ScheduleName,
    log_limit: u32,
) -> Result<(ScheduleInfo, Vec<FireLogEntry>)> {
    s.read("schedule_get", move |c| sql(c, &name, log_limit))
        .await
}

/// The schedule and its newest `log_limit` fire-log entries, newest first.
pub(crate) fn sql(
    c: &Connection,
    name: &ScheduleName,
    log_limit: u32,
) -> OpResult<(ScheduleInfo, Vec<FireLogEntry>)> {
    let info = {
        let mut stmt = c.prepare_cached(include_str!("../../sql/schedule_get.sql"))?;
        let mut rows = stmt.query([name.as_str()])?;
        match rows.next()? {
            Some(r) => row::schedule_info(r)?,
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
            job_id: row::opt_job_id(r, 3, "job_id")?,
            job_state: row::opt_state(r, 4)?,
            reason: row::opt_text(r, 5, "reason")?.map(str::to_owned),
            scheduler: row::text(r, 6, "scheduler")?.to_owned(),
        });
    }
    Ok((info, log))
}

/// `schedule <name> not found: expected the name of a schedule registered by …`.
pub(crate) fn not_found(op: &str, name: &ScheduleName) -> Failure {
    Error::not_found(
        op,
        format!("schedule {name} not found: expected the name of a schedule registered by `anp scheduler` or `anp work` (see `anp schedules list`)"),
    )
    .into()
}
