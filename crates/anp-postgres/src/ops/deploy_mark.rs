//! `deploy_mark`: records a deploy marker.

use anp_core::monitor::DeployMarker;
use anp_core::Result;

use crate::conn::{Conn, OpResult};
use crate::row::micros;
use crate::store::in_tx;
use crate::PostgresStore;

/// Inserts in one transaction.
pub(crate) async fn run(s: &PostgresStore, m: DeployMarker) -> Result<()> {
    in_tx!(s, "deploy_mark", |tx| sql(tx, &m))
}

async fn sql(c: &dyn Conn, m: &DeployMarker) -> OpResult<()> {
    c.execute(
        include_str!("../../sql/deploy_mark.sql"),
        &[&micros(m.at), &m.version, &m.owner, &m.rollback, &m.note],
    )
    .await?;
    Ok(())
}
