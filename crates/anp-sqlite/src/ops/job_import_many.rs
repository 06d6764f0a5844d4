//! `job_import_many`: jobs from a backup, inserted as they were, in one transaction, queue by
//! queue (src/seq.rs).

use anp_core::{Job, Result};
use rusqlite::{params, Connection};

use crate::conn::{Failure, OpResult};
use crate::row::micros;
use crate::seq::{queue_order, JobNumbers};
use crate::SqliteStore;

/// Imports the jobs in one write transaction; waiters are woken when a job is available.
pub(crate) async fn run(s: &SqliteStore, jobs: Vec<Job>) -> Result<u64> {
    s.write_waking("job_import_many", move |c| sql(c, &jobs))
        .await
}

/// How many were added, and whether any is available now (to wake waiters).
fn sql(c: &Connection, jobs: &[Job]) -> OpResult<(u64, bool)> {
    let mut stmt = c.prepare_cached(include_str!("../../sql/job_import_many.sql"))?;
    let mut insert_args = c.prepare_cached(include_str!("../../sql/job_enqueue_many_args.sql"))?;
    let mut insert_errors =
        c.prepare_cached(include_str!("../../sql/job_import_many_errors.sql"))?;
    let mut added = 0;
    let mut available = false;
    let mut numbers = JobNumbers::default();
    for j in queue_order(jobs, |j| j.queue.as_str())
        .into_iter()
        .map(|i| &jobs[i])
    {
        let errors = serde_json::to_string(&j.errors).map_err(|e| {
            Failure::Anp(anp_core::Error::internal(
                "job_import_many",
                format!("cannot encode the history of {}: {e}", j.id),
            ))
        })?;
        let seq = numbers.next(c, j.queue.as_str())?;
        let n = stmt.execute(params![
            j.id.to_string(),
            j.kind.as_str(),
            j.queue.as_str(),
            j.state.as_str(),
            j.priority,
            j.attempt,
            j.max_attempts,
            micros(j.run_at),
            micros(j.created_at),
            j.attempted_at.map(micros),
            j.finalized_at.map(micros),
            j.unique_key,
            j.lease_owner,
            j.lease_expires_at.map(micros),
            j.lease_token,
            seq,
        ])?;
        if n == 1 {
            insert_args.execute(params![seq, j.args.as_json()])?;
            if !j.errors.is_empty() {
                insert_errors.execute(params![seq, errors])?;
            }
        }
        added += n as u64;
        available |= n == 1 && j.state == anp_core::JobState::Available;
    }
    Ok((added, available))
}
