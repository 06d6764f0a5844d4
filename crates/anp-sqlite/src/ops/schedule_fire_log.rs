//! The fire log's writes, shared by `schedule_claim_tick` and `schedule_trigger`: appending a
//! decision (`schedule_fire_log.sql`) and keeping only the newest entries
//! (`schedule_fire_log_trim.sql`). `schedule_get` reads it, `schedule_delete` drops it.

use anp_core::schedule::ScheduleName;
use anp_core::JobId;
use jiff::Timestamp;
use rusqlite::{params, Connection};

use crate::conn::OpResult;
use crate::row::micros;

/// Appends one decision about `tick`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn log(
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

/// Keeps the newest `keep` entries (at least one).
pub(crate) fn trim(c: &Connection, name: &ScheduleName, keep: u32) -> OpResult<()> {
    c.prepare_cached(include_str!("../../sql/schedule_fire_log_trim.sql"))?
        .execute(params![name.as_str(), keep.max(1)])?;
    Ok(())
}
