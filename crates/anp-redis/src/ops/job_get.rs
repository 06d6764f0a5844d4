//! `job_get`: the job's fields read from every known queue in one pipelined round trip (ids
//! carry no queue; the trait's job_get takes none).

use anp_core::{Job, JobId, Result};

use crate::conn::Redis;
use crate::ops::{find, not_found};

const OP: &str = "job_get";

/// The job, or `NotFound`.
pub(crate) async fn run(r: &Redis, id: JobId) -> Result<Job> {
    find(r, OP, id).await?.ok_or_else(|| not_found(OP, id))
}
