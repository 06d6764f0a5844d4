//! `deploy_mark`: records a deploy marker.

use anp_core::monitor::DeployMarker;
use anp_core::Result;
use rusqlite::{params, Connection};

use crate::conn::OpResult;
use crate::row::micros;
use crate::SqliteStore;

/// Inserts in one write transaction.
pub(crate) async fn run(s: &SqliteStore, m: DeployMarker) -> Result<()> {
    s.write("deploy_mark", move |c| sql(c, &m)).await
}

fn sql(c: &Connection, m: &DeployMarker) -> OpResult<()> {
    c.prepare_cached(include_str!("../../sql/deploy_mark.sql"))?
        .execute(params![
            micros(m.at),
            m.version,
            m.owner,
            m.rollback,
            m.note
        ])?;
    Ok(())
}
