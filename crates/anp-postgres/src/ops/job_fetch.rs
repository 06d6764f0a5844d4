//! `job_fetch`: one statement picks (`FOR UPDATE SKIP LOCKED`, so concurrent fetchers never
//! wait on each other nor lease the same job) and leases the batch; it is its own transaction
//! (no BEGIN/COMMIT round trips).

use anp_core::store::JobFetchParams;
use anp_core::{Job, Result};

use crate::conn::{Conn, OpResult};
use crate::row::{self, micros};
use crate::store::in_tx;
use crate::PostgresStore;

/// Leases up to `limit` jobs in one transaction.
pub(crate) async fn run(s: &PostgresStore, p: JobFetchParams) -> Result<Vec<Job>> {
    if p.limit == 0 {
        return Ok(Vec::new());
    }
    in_tx!(s, "job_fetch", single, |tx| sql(tx, &p))
}

/// The leased jobs in (priority, run_at, id) order.
async fn sql(c: &dyn Conn, p: &JobFetchParams) -> OpResult<Vec<Job>> {
    let rows = c
        .query(
            include_str!("../../sql/job_fetch.sql"),
            &[
                &micros(p.now),
                &p.worker,
                &micros(p.lease_until),
                &p.queue.as_str(),
                &i64::from(p.limit),
            ],
        )
        .await?;
    let mut jobs = row::jobs(&rows)?;
    // RETURNING yields rows in no particular order.
    jobs.sort_unstable_by_key(|j| (j.priority, j.run_at, j.id));
    Ok(jobs)
}
