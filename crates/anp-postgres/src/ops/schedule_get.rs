//! `schedule_get`: one schedule and the newest entries of its fire log, with their jobs' states.

use anp_core::schedule::{FireDecision, FireLogEntry, ScheduleInfo, ScheduleName};
use anp_core::{Error, Result};

use crate::conn::{Conn, Failure, OpResult};
use crate::row::{self, count_param, damaged};
use crate::store::in_tx;
use crate::PostgresStore;

/// Reads in one snapshot.
pub(crate) async fn run(
    s: &PostgresStore,
    name: ScheduleName,
    log_limit: u32,
) -> Result<(ScheduleInfo, Vec<FireLogEntry>)> {
    in_tx!(s, "schedule_get", snapshot, |tx| sql(tx, &name, log_limit))
}

/// The schedule and its newest `log_limit` fire-log entries, newest first.
pub(crate) async fn sql(
    c: &dyn Conn,
    name: &ScheduleName,
    log_limit: u32,
) -> OpResult<(ScheduleInfo, Vec<FireLogEntry>)> {
    let info = match c
        .query_opt(
            include_str!("../../sql/schedule_get.sql"),
            &[&name.as_str()],
        )
        .await?
    {
        Some(r) => row::schedule_info(&r)?,
        None => return Err(not_found("schedule_get", name)),
    };
    let rows = c
        .query(
            include_str!("../../sql/schedule_get_fires.sql"),
            &[&name.as_str(), &count_param(u64::from(log_limit))],
        )
        .await?;
    let mut log = Vec::with_capacity(rows.len());
    for r in &rows {
        let decision = match row::text(r, 2)? {
            "enqueued" => FireDecision::Enqueued,
            "skipped" => FireDecision::Skipped,
            "triggered" => FireDecision::Triggered,
            other => return Err(damaged("decision", format!("{other:?} is not a decision"))),
        };
        log.push(FireLogEntry {
            tick: row::ts(r, 0)?,
            decided_at: row::ts(r, 1)?,
            decision,
            job_id: row::opt_job_id(r, 3, "job_id")?,
            job_state: row::opt_state(r, 4)?,
            reason: row::opt_text(r, 5)?.map(str::to_owned),
            scheduler: row::text(r, 6)?.to_owned(),
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
