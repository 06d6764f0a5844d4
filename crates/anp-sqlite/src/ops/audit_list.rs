//! `audit_list`: the newest audit entries, newest first, on the reader connection.

use anp_core::monitor::AuditEntry;
use anp_core::Result;
use rusqlite::Connection;

use crate::conn::OpResult;
use crate::{row, SqliteStore};

/// Reads on the reader connection.
pub(crate) async fn run(s: &SqliteStore, limit: u32) -> Result<Vec<AuditEntry>> {
    s.read("audit_list", move |c| sql(c, limit)).await
}

fn sql(c: &Connection, limit: u32) -> OpResult<Vec<AuditEntry>> {
    let mut stmt = c.prepare_cached(include_str!("../../sql/audit_list.sql"))?;
    let mut rows = stmt.query([limit])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(AuditEntry {
            at: row::ts(r, 0, "at")?,
            who: row::text(r, 1, "who")?.to_owned(),
            action: row::text(r, 2, "action")?.to_owned(),
            target: row::text(r, 3, "target")?.to_owned(),
            result: row::text(r, 4, "result")?.to_owned(),
        });
    }
    Ok(out)
}
