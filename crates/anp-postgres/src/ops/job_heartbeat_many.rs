//! `job_heartbeat_many`: one transaction, one conditional UPDATE per lease.

use anp_core::store::JobHeartbeatManyParams;
use anp_core::Result;

use crate::conn::{Conn, OpResult};
use crate::row::micros;
use crate::store::in_tx;
use crate::PostgresStore;

/// Extends the leases in one transaction.
pub(crate) async fn run(s: &PostgresStore, p: JobHeartbeatManyParams) -> Result<Vec<bool>> {
    if p.leases.is_empty() {
        return Ok(Vec::new());
    }
    in_tx!(s, "job_heartbeat_many", |tx| sql(tx, &p))
}

async fn sql(c: &dyn Conn, p: &JobHeartbeatManyParams) -> OpResult<Vec<bool>> {
    let until = micros(p.lease_until);
    let mut out = Vec::with_capacity(p.leases.len());
    for l in &p.leases {
        let n = c
            .execute(
                include_str!("../../sql/job_heartbeat_many.sql"),
                &[&l.id.to_string(), &l.token, &until],
            )
            .await?;
        out.push(n == 1);
    }
    Ok(out)
}
