//! `job_fetch`: one `job_fetch.lua` call leases and returns a whole batch.

use anp_core::store::JobFetchParams;
use anp_core::{Job, Result};

use crate::conn::Redis;
use crate::ops::{jobs, micros, ok};
use crate::scripts::JOB_FETCH;

const OP: &str = "job_fetch";

/// The leased jobs, in fetch order.
pub(crate) async fn run(r: &Redis, p: JobFetchParams) -> Result<Vec<Job>> {
    if p.limit == 0 {
        return Ok(Vec::new());
    }
    let mut call = r.script(&JOB_FETCH, &p.queue);
    call.arg(micros(p.now))
        .arg(micros(p.lease_until))
        .arg(p.limit)
        .arg(&p.worker);
    let v = r.run(OP, vec![call]).await?.pop().unwrap_or_default();
    let v = ok(r, OP, v)?;
    jobs(OP, &p.queue, v)
}
