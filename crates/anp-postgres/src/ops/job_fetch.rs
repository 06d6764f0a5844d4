//! `job_fetch`: one statement picks (`FOR UPDATE SKIP LOCKED`, so concurrent fetchers never
//! wait on each other nor lease the same job) and leases the batch; it is its own transaction
//! (no BEGIN/COMMIT round trips). While this process's fetch hint for the queue is trusted
//! ([`crate::hint`]), the scan starts at the hint instead of the index's head; a hinted fetch
//! that comes up short is topped up by one from the head.

use anp_core::store::JobFetchParams;
use anp_core::{Job, Result};

use crate::conn::{Conn, OpResult};
use crate::hint::Key;
use crate::row::{self, micros};
use crate::store::in_tx;
use crate::PostgresStore;

const OP: &str = "job_fetch";

/// Leases up to `limit` jobs.
pub(crate) async fn run(s: &PostgresStore, p: JobFetchParams) -> Result<Vec<Job>> {
    if p.limit == 0 {
        return Ok(Vec::new());
    }
    let queue = p.queue.as_str();
    let epoch = s.fetch_epoch();
    let mut jobs = Vec::new();
    let mut from_head = true;
    if let Some(hint) = epoch.and_then(|e| s.hints().get(queue, e)) {
        jobs = in_tx!(s, OP, single, |tx| sql(tx, &p, p.limit, Some(&hint)))?;
        from_head = false;
    }
    let short = p.limit - u32::try_from(jobs.len()).unwrap_or(p.limit);
    if short > 0 {
        let more = in_tx!(s, OP, single, |tx| sql(tx, &p, short, None))?;
        from_head = true;
        jobs.extend(more);
    }
    crate::vacuum::changed(s, jobs.len() as u64);
    // RETURNING yields rows in no particular order.
    jobs.sort_unstable_by_key(|j| (j.priority, j.run_at, j.id));
    let first = jobs
        .first()
        .map(|j| (i16::from(j.priority), micros(j.run_at), j.id.to_string()));
    match epoch {
        Some(e) => s.hints().set(queue, first, e, from_head),
        None => s.hints().set(queue, None, s.hints().epoch(0), true),
    }
    Ok(jobs)
}

/// Leases up to `limit` jobs in (priority, run_at, id) order, from `after` on if given.
async fn sql(
    c: &dyn Conn,
    p: &JobFetchParams,
    limit: u32,
    after: Option<&Key>,
) -> OpResult<Vec<Job>> {
    let (now, until) = (micros(p.now), micros(p.lease_until));
    let (queue, limit) = (p.queue.as_str(), i64::from(limit));
    let rows = match after {
        None => {
            c.query(
                include_str!("../../sql/job_fetch.sql"),
                &[&now, &p.worker, &until, &queue, &limit],
            )
            .await?
        }
        Some((priority, run_at, id)) => {
            c.query(
                include_str!("../../sql/job_fetch_after.sql"),
                &[
                    &now, &p.worker, &until, &queue, &limit, priority, run_at, id,
                ],
            )
            .await?
        }
    };
    row::jobs(&rows)
}
