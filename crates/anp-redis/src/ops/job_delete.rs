//! `job_delete`: finds the job's queue, then one `job_delete.lua` call.

use anp_core::{Error, JobId, Result};

use crate::conn::Redis;
use crate::ops::{anp_error, find, not_found, ok};
use crate::scripts::JOB_DELETE;

const OP: &str = "job_delete";

/// Deleted, or why not.
pub(crate) async fn run(r: &Redis, id: JobId) -> Result<()> {
    let job = find(r, OP, id).await?.ok_or_else(|| not_found(OP, id))?;
    let mut call = r.script(&JOB_DELETE, &job.queue);
    call.arg(id.to_string());
    let v = r.run(OP, vec![call]).await?.pop().unwrap_or_default();
    if let Some((code, detail)) = anp_error(&v) {
        return Err(match code {
            "ANP_NOT_FOUND" => not_found(OP, id),
            "ANP_CONFLICT" => Error::conflict(
                OP,
                format!(
                    "job {id} is {}: expected a job that is not running; cancel it first or wait",
                    detail.trim()
                ),
            ),
            _ => ok(r, OP, v)
                .err()
                .unwrap_or_else(|| Error::internal(OP, "unexpected error reply")),
        });
    }
    ok(r, OP, v)?;
    Ok(())
}
