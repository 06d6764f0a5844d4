//! `deploy_list`: the newest deploy markers, newest first, on the reader connection.

use anp_core::monitor::DeployMarker;
use anp_core::Result;
use rusqlite::Connection;

use crate::conn::OpResult;
use crate::{row, SqliteStore};

/// Reads on the reader connection.
pub(crate) async fn run(s: &SqliteStore, limit: u32) -> Result<Vec<DeployMarker>> {
    s.read("deploy_list", move |c| sql(c, limit)).await
}

fn sql(c: &Connection, limit: u32) -> OpResult<Vec<DeployMarker>> {
    let mut stmt = c.prepare_cached(include_str!("../../sql/deploy_list.sql"))?;
    let mut rows = stmt.query([limit])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(DeployMarker {
            at: row::ts(r, 0, "at")?,
            version: row::text(r, 1, "version")?.to_owned(),
            owner: row::opt_text(r, 2, "owner")?.map(str::to_owned),
            rollback: row::opt_text(r, 3, "rollback")?.map(str::to_owned),
            note: row::opt_text(r, 4, "note")?.map(str::to_owned),
        });
    }
    Ok(out)
}
