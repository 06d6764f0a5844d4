//! `job_heartbeat_many`: one transaction, one conditional UPDATE per lease.

use anp_core::store::JobHeartbeatManyParams;
use rusqlite::{params, Connection};

use crate::conn::OpResult;
use crate::row::micros;

/// Per lease, whether it is still held (and now extended).
pub(crate) fn run(c: &Connection, p: &JobHeartbeatManyParams) -> OpResult<Vec<bool>> {
    let until = micros(p.lease_until);
    let mut stmt = c.prepare_cached(include_str!("../../sql/job_heartbeat_many.sql"))?;
    p.leases
        .iter()
        .map(|l| Ok(stmt.execute(params![l.id.to_string(), l.token, until])? == 1))
        .collect()
}
