//! `job_heartbeat_many`: one transaction, one conditional UPDATE per lease.

use anp_core::store::JobHeartbeatManyParams;
use anp_core::Result;
use rusqlite::{params, Connection};

use crate::conn::OpResult;
use crate::row::micros;
use crate::SqliteStore;

/// Extends the leases in one write transaction.
pub(crate) async fn run(s: &SqliteStore, p: JobHeartbeatManyParams) -> Result<Vec<bool>> {
    if p.leases.is_empty() {
        return Ok(Vec::new());
    }
    s.write("job_heartbeat_many", move |c| sql(c, &p)).await
}

/// Per lease, whether it is still held (and now extended).
fn sql(c: &Connection, p: &JobHeartbeatManyParams) -> OpResult<Vec<bool>> {
    let until = micros(p.lease_until);
    let mut stmt = c.prepare_cached(include_str!("../../sql/job_heartbeat_many.sql"))?;
    p.leases
        .iter()
        .map(|l| Ok(stmt.execute(params![l.id.to_string(), l.token, until])? == 1))
        .collect()
}
