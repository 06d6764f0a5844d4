//! `job_cancel`: a job that is not final becomes cancelled; a running job's lease is voided.

use anp_core::{Error, Job, JobId, Result};
use jiff::Timestamp;
use rusqlite::{params, Connection};

use crate::conn::OpResult;
use crate::ops::job_get::not_found;
use crate::ops::job_state;
use crate::row::{self, micros};
use crate::SqliteStore;

const OP: &str = "job_cancel";

/// Cancels the job in one write transaction.
pub(crate) async fn run(s: &SqliteStore, id: JobId, now: Timestamp) -> Result<Job> {
    s.write(OP, move |c| sql(c, id, now)).await
}

/// The job as it is now.
fn sql(c: &Connection, id: JobId, now: Timestamp) -> OpResult<Job> {
    let id_text = id.to_string();
    {
        // `at` as serde writes a Timestamp, so the history entry reads back as an AttemptError.
        // Appended first, under the same condition as the UPDATE (which then returns it).
        c.prepare_cached(include_str!("../../sql/job_cancel_error.sql"))?
            .execute(params![id_text, now.to_string()])?;
        let mut stmt = c.prepare_cached(include_str!("../../sql/job_cancel.sql"))?;
        let mut rows = stmt.query(params![id_text, micros(now)])?;
        if let Some(r) = rows.next()? {
            return row::job(r);
        }
    }
    match job_state(c, &id_text)? {
        None => Err(not_found(OP, id).into()),
        Some(state) => Err(Error::conflict(
            OP,
            format!(
                "job {id} is already {state}: expected a scheduled, available, running or retryable job"
            ),
        )
        .into()),
    }
}
