//! `job_fetch`: one `UPDATE … RETURNING` leases the jobs, inside `BEGIN IMMEDIATE`, so two
//! fetchers (threads or processes) never lease the same job.

use anp_core::store::JobFetchParams;
use anp_core::{Job, Result};
use rusqlite::{params, Connection};

use crate::conn::OpResult;
use crate::row::{self, micros};
use crate::SqliteStore;

/// Leases up to `limit` jobs in one write transaction.
pub(crate) async fn run(s: &SqliteStore, p: JobFetchParams) -> Result<Vec<Job>> {
    if p.limit == 0 {
        return Ok(Vec::new());
    }
    s.write("job_fetch", move |c| sql(c, &p)).await
}

/// The leased jobs in (priority, run_at, id) order.
pub(crate) fn sql(c: &Connection, p: &JobFetchParams) -> OpResult<Vec<Job>> {
    let mut stmt = c.prepare_cached(include_str!("../../sql/job_fetch.sql"))?;
    let rows = stmt.query(params![
        micros(p.now),
        p.worker,
        micros(p.lease_until),
        p.queue.as_str(),
        p.limit,
    ])?;
    let mut jobs = row::jobs(rows)?;
    // RETURNING yields rows in no particular order.
    jobs.sort_unstable_by_key(|j| (j.priority, j.run_at, j.id));
    Ok(jobs)
}
