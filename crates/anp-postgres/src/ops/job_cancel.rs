//! `job_cancel`: a job that is not final becomes cancelled; a running job's lease is voided.

use anp_core::{Error, Job, JobId, Result};
use jiff::Timestamp;

use crate::conn::{Conn, OpResult};
use crate::ops::job_get::not_found;
use crate::ops::job_state;
use crate::row::{self, micros};
use crate::store::in_tx;
use crate::PostgresStore;

const OP: &str = "job_cancel";

/// Cancels the job in one transaction.
pub(crate) async fn run(s: &PostgresStore, id: JobId, now: Timestamp) -> Result<Job> {
    in_tx!(s, OP, |tx| sql(tx, id, now))
}

async fn sql(c: &dyn Conn, id: JobId, now: Timestamp) -> OpResult<Job> {
    let id_text = id.to_string();
    // `at` as serde writes a Timestamp, so the history entry reads back as an AttemptError.
    if let Some(r) = c
        .query_opt(
            include_str!("../../sql/job_cancel.sql"),
            &[&id_text, &micros(now), &now.to_string()],
        )
        .await?
    {
        return row::job(&r);
    }
    match job_state(c, &id_text).await? {
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
