//! The fire log's writes, shared by `schedule_claim_tick` and `schedule_trigger`.

use anp_core::schedule::ScheduleName;
use anp_core::JobId;
use jiff::Timestamp;

use crate::conn::{Conn, OpResult};
use crate::row::{count_param, micros};

/// Appends one decision about `tick`.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn log(
    c: &dyn Conn,
    name: &ScheduleName,
    tick: Timestamp,
    now: Timestamp,
    decision: &str,
    job: Option<JobId>,
    reason: Option<&str>,
    scheduler: &str,
) -> OpResult<()> {
    c.execute(
        include_str!("../../sql/schedule_fire_log.sql"),
        &[
            &name.as_str(),
            &micros(tick),
            &micros(now),
            &decision,
            &job.map(|j| j.to_string()),
            &reason,
            &scheduler,
        ],
    )
    .await?;
    Ok(())
}

/// Keeps the newest `keep` entries (at least one).
pub(crate) async fn trim(c: &dyn Conn, name: &ScheduleName, keep: u32) -> OpResult<()> {
    c.execute(
        include_str!("../../sql/schedule_fire_log_trim.sql"),
        &[&name.as_str(), &count_param(u64::from(keep.max(1)))],
    )
    .await?;
    Ok(())
}
