//! `schedule_delete`: removes a schedule and its fire log.

use anp_core::schedule::ScheduleName;
use anp_core::Result;
use rusqlite::Connection;

use crate::conn::OpResult;
use crate::ops::schedule_get::not_found;
use crate::SqliteStore;

/// Deletes in one write transaction.
pub(crate) async fn run(s: &SqliteStore, name: ScheduleName) -> Result<()> {
    s.write("schedule_delete", move |c| sql(c, &name)).await
}

fn sql(c: &Connection, name: &ScheduleName) -> OpResult<()> {
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
