//! `job_cancel`: finds the job's queue, then one `job_cancel.lua` call.

use anp_core::{Error, Job, JobId, Result};
use jiff::Timestamp;

use crate::conn::Redis;
use crate::ops::{anp_error, find, micros, not_found, ok};
use crate::record;
use crate::scripts::JOB_CANCEL;

const OP: &str = "job_cancel";

/// The job as it is now.
pub(crate) async fn run(r: &Redis, id: JobId, now: Timestamp) -> Result<Job> {
    let job = find(r, OP, id).await?.ok_or_else(|| not_found(OP, id))?;
    let mut call = r.script(&JOB_CANCEL, &job.queue);
    // `at` as serde writes a Timestamp, so the history entry reads back as an AttemptError.
    call.arg(id.to_string())
        .arg(micros(now))
        .arg(now.to_string());
    let v = r.run(OP, vec![call]).await?.pop().unwrap_or_default();
    if let Some((code, detail)) = anp_error(&v) {
        return Err(match code {
            "ANP_NOT_FOUND" => not_found(OP, id),
            "ANP_CONFLICT" => Error::conflict(
                OP,
                format!(
                    "job {id} is already {}: expected a scheduled, available, running or retryable job",
                    detail.trim()
                ),
            ),
            _ => ok(r, OP, v).err().unwrap_or_else(|| Error::internal(OP, "unexpected error reply")),
        });
    }
    record::job(&job.queue, ok(r, OP, v)?)
}
