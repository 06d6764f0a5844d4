//! `job_cancel`: finds the job's queue, then one `job_cancel.lua` call.

use anp_core::{Job, JobId, Result};
use jiff::Timestamp;

use crate::conn::Redis;
use crate::ops::{find, micros, not_found, one_job_reply};
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
    let v = one_job_reply(r, OP, id, v, |state| {
        format!("job {id} is already {state}: expected a scheduled, available, running or retryable job")
    })?;
    record::job(&job.queue, v)
}
