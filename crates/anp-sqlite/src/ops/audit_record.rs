//! `audit_record`: appends an operator action to the audit log, trimming it to
//! [`AUDIT_KEEP`] entries in the same write transaction.

use anp_core::monitor::{AuditEntry, AUDIT_KEEP};
use anp_core::Result;
use rusqlite::{params, Connection};

use crate::conn::OpResult;
use crate::row::micros;
use crate::SqliteStore;

/// Inserts and trims in one write transaction.
pub(crate) async fn run(s: &SqliteStore, e: AuditEntry) -> Result<()> {
    s.write("audit_record", move |c| sql(c, &e)).await
}

fn sql(c: &Connection, e: &AuditEntry) -> OpResult<()> {
    c.prepare_cached(include_str!("../../sql/audit_record.sql"))?
        .execute(params![micros(e.at), e.who, e.action, e.target, e.result])?;
    c.prepare_cached(include_str!("../../sql/audit_trim.sql"))?
        .execute([AUDIT_KEEP])?;
    Ok(())
}
