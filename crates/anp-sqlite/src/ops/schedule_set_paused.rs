//! `schedule_set_paused`: sets the pause flag of an existing schedule.

use anp_core::schedule::ScheduleName;
use anp_core::Result;
use jiff::Timestamp;
use rusqlite::{params, Connection};

use crate::conn::OpResult;
use crate::ops::schedule_get::not_found;
use crate::row::micros;
use crate::SqliteStore;

/// Pauses or resumes in one write transaction.
pub(crate) async fn run(
    s: &SqliteStore,
    name: ScheduleName,
    paused: bool,
    now: Timestamp,
) -> Result<()> {
    s.write("schedule_set_paused", move |c| sql(c, &name, paused, now))
        .await
}

fn sql(c: &Connection, name: &ScheduleName, paused: bool, now: Timestamp) -> OpResult<()> {
    let n = c
        .prepare_cached(include_str!("../../sql/schedule_set_paused.sql"))?
        .execute(params![name.as_str(), paused, micros(now)])?;
    if n == 0 {
        return Err(not_found("schedule_set_paused", name));
    }
    Ok(())
}
