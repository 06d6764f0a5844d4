//! `job_retry`: finds the job's queue, then one `job_retry.lua` call.

use anp_core::{Job, JobId, Result};
use jiff::Timestamp;

use crate::conn::Redis;
use crate::ops::{find, micros, not_found, one_job_reply};
use crate::record;
use crate::scripts::JOB_RETRY;

const OP: &str = "job_retry";

/// The job as it is now.
pub(crate) async fn run(r: &Redis, id: JobId, now: Timestamp) -> Result<Job> {
    let job = find(r, OP, id).await?.ok_or_else(|| not_found(OP, id))?;
    let mut call = r.script(&JOB_RETRY, &job.queue);
    call.arg(id.to_string()).arg(micros(now));
    let v = r.run(OP, vec![call]).await?.pop().unwrap_or_default();
    let v = one_job_reply(r, OP, id, v, |detail| {
        let mut words = detail.split_whitespace();
        match words.next() {
            Some("unique") => {
                let other = words.next().unwrap_or("?");
                let state = words.next().unwrap_or("?");
                format!(
                    "job {id} cannot be retried: its unique key is held by live job {other} ({state}); expected no other live job with that key; wait for {other} to finish, or cancel it"
                )
            }
            state => format!(
                "job {id} is {}: expected a job that is not running; cancel it first or wait",
                state.unwrap_or("?")
            ),
        }
    })?;
    record::job(&job.queue, v)
}
