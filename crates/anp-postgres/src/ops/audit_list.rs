//! `audit_list`: the newest audit entries, newest first.

use anp_core::monitor::AuditEntry;
use anp_core::Result;

use crate::conn::{Conn, OpResult};
use crate::row::{self, count_param};
use crate::store::in_tx;
use crate::PostgresStore;

/// Reads.
pub(crate) async fn run(s: &PostgresStore, limit: u32) -> Result<Vec<AuditEntry>> {
    in_tx!(s, "audit_list", |tx| sql(tx, limit))
}

async fn sql(c: &dyn Conn, limit: u32) -> OpResult<Vec<AuditEntry>> {
    let rows = c
        .query(
            include_str!("../../sql/audit_list.sql"),
            &[&count_param(u64::from(limit))],
        )
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        out.push(AuditEntry {
            at: row::ts(r, 0)?,
            who: row::text(r, 1)?.to_owned(),
            action: row::text(r, 2)?.to_owned(),
            target: row::text(r, 3)?.to_owned(),
            result: row::text(r, 4)?.to_owned(),
        });
    }
    Ok(out)
}
