//! `schedule_list`: every schedule with its last job's state, by name, on the reader connection.

use anp_core::schedule::ScheduleInfo;
use anp_core::Result;
use rusqlite::Connection;

use crate::conn::OpResult;
use crate::{row, SqliteStore};

/// Lists on the reader connection.
pub(crate) async fn run(s: &SqliteStore) -> Result<Vec<ScheduleInfo>> {
    s.read("schedule_list", |c| sql(c)).await
}

fn sql(c: &Connection) -> OpResult<Vec<ScheduleInfo>> {
    let mut stmt = c.prepare_cached(include_str!("../../sql/schedule_list.sql"))?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(row::schedule_info(r)?);
    }
    Ok(out)
}
