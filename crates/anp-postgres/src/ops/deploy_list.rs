//! `deploy_list`: the newest deploy markers, newest first.

use anp_core::monitor::DeployMarker;
use anp_core::Result;

use crate::conn::{Conn, OpResult};
use crate::row::{self, count_param};
use crate::store::in_tx;
use crate::PostgresStore;

/// Reads.
pub(crate) async fn run(s: &PostgresStore, limit: u32) -> Result<Vec<DeployMarker>> {
    in_tx!(s, "deploy_list", |tx| sql(tx, limit))
}

async fn sql(c: &dyn Conn, limit: u32) -> OpResult<Vec<DeployMarker>> {
    let rows = c
        .query(
            include_str!("../../sql/deploy_list.sql"),
            &[&count_param(u64::from(limit))],
        )
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        out.push(DeployMarker {
            at: row::ts(r, 0)?,
            version: row::text(r, 1)?.to_owned(),
            owner: row::opt_text(r, 2)?.map(str::to_owned),
            rollback: row::opt_text(r, 3)?.map(str::to_owned),
            note: row::opt_text(r, 4)?.map(str::to_owned),
        });
    }
    Ok(out)
}
