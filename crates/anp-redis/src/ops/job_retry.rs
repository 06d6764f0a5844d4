//! `job_retry`: finds the job's queue, then one `job_retry.lua` call.

use anp_core::{Error, Job, JobId, Result};
use jiff::Timestamp;

use crate::conn::Redis;
use crate::ops::{anp_error, find, micros, not_found, ok};
use crate::record;
use crate::scripts::JOB_RETRY;

const OP: &str = "job_retry";

/// The job as it is now.
pub(crate) async fn run(r: &Redis, id: JobId, now: Timestamp) -> Result<Job> {
    let job = find(r, OP, id).await?.ok_or_else(|| not_found(OP, id))?;
    let mut call = r.script(&JOB_RETRY, &job.queue);
    call.arg(id.to_string()).arg(micros(now));
    let v = r.run(OP, vec![call]).await?.pop().unwrap_or_default();
    if let Some((code, detail)) = anp_error(&v) {
        let mut words = detail.split_whitespace();
        return Err(match (code, words.next()) {
            ("ANP_NOT_FOUND", _) => not_found(OP, id),
            ("ANP_CONFLICT", Some("unique")) => {
                let other = words.next().unwrap_or("?");
                let state = words.next().unwrap_or("?");
                Error::conflict(
                    OP,
                    format!(
                        "job {id} cannot be retried: its unique key is held by live job {other} ({state}); expected no other live job with that key; wait for {other} to finish, or cancel it"
                    ),
                )
            }
            ("ANP_CONFLICT", Some(state)) => Error::conflict(
                OP,
                format!("job {id} is {state}: expected a job that is not running; cancel it first or wait"),
            ),
            _ => ok(r, OP, v).err().unwrap_or_else(|| Error::internal(OP, "unexpected error reply")),
        });
    }
    record::job(&job.queue, ok(r, OP, v)?)
}
