//! `job_heartbeat_many`: leases grouped by queue, one `job_heartbeat_many.lua` call per queue,
//! pipelined.

use anp_core::store::JobHeartbeatManyParams;
use anp_core::Result;

use crate::conn::Redis;
use crate::ops::{by_queue, micros, ok};
use crate::record::{bad_reply, int, items};
use crate::scripts::JOB_HEARTBEAT_MANY;

const OP: &str = "job_heartbeat_many";

/// Per lease, whether it is still held.
pub(crate) async fn run(r: &Redis, p: JobHeartbeatManyParams) -> Result<Vec<bool>> {
    if p.leases.is_empty() {
        return Ok(Vec::new());
    }
    let groups = by_queue(&p.leases, |l| &l.queue);
    let calls = groups
        .iter()
        .map(|(queue, idx)| {
            let mut call = r.script(&JOB_HEARTBEAT_MANY, queue);
            call.arg(micros(p.lease_until)).arg(idx.len());
            for &i in idx {
                call.arg(p.leases[i].id.text()).arg(p.leases[i].token);
            }
            call
        })
        .collect();
    let replies = r.run(OP, calls).await?;
    let mut out = vec![false; p.leases.len()];
    for ((_, idx), v) in groups.iter().zip(replies) {
        let v = ok(r, OP, v)?;
        let f = items(v.clone()).ok_or_else(|| bad_reply(OP, "one integer per lease", &v))?;
        if f.len() != idx.len() {
            return Err(bad_reply(OP, "one integer per lease", &v));
        }
        for (&i, res) in idx.iter().zip(&f) {
            out[i] = int(res) == Some(1);
        }
    }
    Ok(out)
}
