//! `job_import_many`: jobs from a backup, inserted as they were, in one transaction.

use anp_core::{Job, JobState, Result};

use crate::conn::{Conn, OpResult};
use crate::ops::notify;
use crate::row::{i32_param, micros, to_json};
use crate::store::in_tx;
use crate::PostgresStore;

/// Imports the jobs in one transaction.
pub(crate) async fn run(s: &PostgresStore, jobs: Vec<Job>) -> Result<u64> {
    if jobs.is_empty() {
        return Ok(0);
    }
    let out = in_tx!(s, "job_import_many", |tx| sql(tx, &jobs));
    s.made_available();
    if let Ok(n) = out {
        crate::vacuum::inserted(s, n);
    }
    out
}

async fn sql(c: &dyn Conn, jobs: &[Job]) -> OpResult<u64> {
    let mut added = 0;
    let mut available = false;
    for j in jobs {
        let errors = if j.errors.is_empty() {
            None
        } else {
            Some(to_json(&j.errors, "job_import_many")?)
        };
        let n = c
            .execute(
                include_str!("../../sql/job_import_many.sql"),
                &[
                    &j.id.to_string(),
                    &j.kind.as_str(),
                    &j.queue.as_str(),
                    &j.args.as_json(),
                    &j.state.as_str(),
                    &i16::from(j.priority),
                    &i32_param(j.attempt),
                    &i32_param(j.max_attempts),
                    &micros(j.run_at),
                    &micros(j.created_at),
                    &j.attempted_at.map(micros),
                    &j.finalized_at.map(micros),
                    &j.unique_key,
                    &j.lease_owner,
                    &j.lease_expires_at.map(micros),
                    &j.lease_token,
                    &errors,
                ],
            )
            .await?;
        added += n;
        available |= n == 1 && j.state == JobState::Available;
    }
    // Fresh leases must never reuse a restored running job's token (fencing).
    if let Some(max) = jobs.iter().filter_map(|j| j.lease_token).max() {
        c.query(
            include_str!("../../sql/job_import_many_tokens.sql"),
            &[&max],
        )
        .await?;
    }
    if available {
        notify(c).await?;
    }
    Ok(added)
}
