//! `process_remove`: forgets a process that stopped cleanly.

use anp_core::Result;
use rusqlite::Connection;

use crate::conn::OpResult;
use crate::SqliteStore;

/// Deletes in one write transaction.
pub(crate) async fn run(s: &SqliteStore, id: String) -> Result<()> {
    s.write("process_remove", move |c| sql(c, &id)).await
}

fn sql(c: &Connection, id: &str) -> OpResult<()> {
    c.prepare_cached(include_str!("../../sql/process_remove.sql"))?
        .execute([id])?;
    Ok(())
}
