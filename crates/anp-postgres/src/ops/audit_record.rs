//! `audit_record`: appends an operator action to the audit log, trimming it to
//! [`AUDIT_KEEP`] entries in the same transaction.

use anp_core::monitor::{AuditEntry, AUDIT_KEEP};
use anp_core::Result;

use crate::conn::{Conn, OpResult};
use crate::row::{count_param, micros};
use crate::store::in_tx;
use crate::PostgresStore;

/// Inserts and trims in one transaction.
pub(crate) async fn run(s: &PostgresStore, e: AuditEntry) -> Result<()> {
    in_tx!(s, "audit_record", |tx| sql(tx, &e))
}

async fn sql(c: &dyn Conn, e: &AuditEntry) -> OpResult<()> {
    c.execute(
        include_str!("../../sql/audit_record.sql"),
        &[&micros(e.at), &e.who, &e.action, &e.target, &e.result],
    )
    .await?;
    c.execute(
        include_str!("../../sql/audit_trim.sql"),
        &[&count_param(u64::from(AUDIT_KEEP))],
    )
    .await?;
    Ok(())
}
