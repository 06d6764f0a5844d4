//! `job_fetch_queues`: `job_fetch`'s statement once per queue, all inside one `BEGIN IMMEDIATE`
//! transaction, so a worker serving N queues pays for one write transaction (lock, commit, WAL
//! frame, hop to the blocking pool) per round instead of N.

use anp_core::store::JobFetchQueuesParams;
use anp_core::{Job, Result};
use rusqlite::Connection;

use crate::conn::OpResult;
use crate::ops::job_fetch;
use crate::SqliteStore;

/// Leases up to `p.limit` jobs over `p.queues` in one write transaction.
pub(crate) async fn run(s: &SqliteStore, p: JobFetchQueuesParams) -> Result<Vec<Job>> {
    if p.limit == 0 || p.queues.iter().all(|q| q.limit == 0) {
        return Ok(Vec::new());
    }
    s.write("job_fetch_queues", move |c| sql(c, &p)).await
}

/// Each queue's jobs in `job_fetch`'s order, queues in the given order; each queue's share
/// sized by [`JobFetchQueuesParams::queue_params`].
fn sql(c: &Connection, p: &JobFetchQueuesParams) -> OpResult<Vec<Job>> {
    let mut jobs = Vec::new();
    for q in &p.queues {
        if let Some(one) = p.queue_params(q, jobs.len()) {
            jobs.extend(job_fetch::sql(c, &one)?);
        }
    }
    Ok(jobs)
}
