//! `process_remove`: forgets a process that stopped cleanly.

use anp_core::Result;

use crate::conn::{Conn, OpResult};
use crate::store::in_tx;
use crate::PostgresStore;

/// Deletes in one transaction.
pub(crate) async fn run(s: &PostgresStore, id: String) -> Result<()> {
    in_tx!(s, "process_remove", |tx| sql(tx, &id))
}

async fn sql(c: &dyn Conn, id: &str) -> OpResult<()> {
    c.execute(include_str!("../../sql/process_remove.sql"), &[&id])
        .await?;
    Ok(())
}
