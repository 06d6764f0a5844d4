//! `job_delete`: finds the job's queue, then one `job_delete.lua` call.

use anp_core::{JobId, Result};

use crate::conn::Redis;
use crate::ops::{find, not_found, one_job_reply};
use crate::scripts::JOB_DELETE;

const OP: &str = "job_delete";

/// Deleted, or why not.
pub(crate) async fn run(r: &Redis, id: JobId) -> Result<()> {
    let job = find(r, OP, id).await?.ok_or_else(|| not_found(OP, id))?;
    let mut call = r.script(&JOB_DELETE, &job.queue);
    call.arg(id.to_string());
    let v = r.run(OP, vec![call]).await?.pop().unwrap_or_default();
    one_job_reply(r, OP, id, v, |state| {
        format!("job {id} is {state}: expected a job that is not running; cancel it first or wait")
    })?;
    Ok(())
}
