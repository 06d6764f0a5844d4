//! `schedule_set_paused`: sets the pause flag of an existing schedule.

use anp_core::schedule::ScheduleName;
use anp_core::Result;
use jiff::Timestamp;

use crate::conn::{Conn, OpResult};
use crate::ops::schedule_get::not_found;
use crate::row::micros;
use crate::store::in_tx;
use crate::PostgresStore;

/// Pauses or resumes in one transaction.
pub(crate) async fn run(
    s: &PostgresStore,
    name: ScheduleName,
    paused: bool,
    now: Timestamp,
) -> Result<()> {
    in_tx!(s, "schedule_set_paused", |tx| sql(tx, &name, paused, now))
}

async fn sql(c: &dyn Conn, name: &ScheduleName, paused: bool, now: Timestamp) -> OpResult<()> {
    let n = c
        .execute(
            include_str!("../../sql/schedule_set_paused.sql"),
            &[&name.as_str(), &paused, &micros(now)],
        )
        .await?;
    if n == 0 {
        return Err(not_found("schedule_set_paused", name));
    }
    Ok(())
}
