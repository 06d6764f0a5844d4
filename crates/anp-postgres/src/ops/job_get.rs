//! `job_get`: one job by id.

use anp_core::{Error, Job, JobId, Result};

use crate::conn::{Conn, OpResult};
use crate::row;
use crate::store::in_tx;
use crate::PostgresStore;

/// Reads the job.
pub(crate) async fn run(s: &PostgresStore, id: JobId) -> Result<Job> {
    in_tx!(s, "job_get", |tx| sql(tx, id))
}

async fn sql(c: &dyn Conn, id: JobId) -> OpResult<Job> {
    match c
        .query_opt(include_str!("../../sql/job_get.sql"), &[&id.to_string()])
        .await?
    {
        Some(r) => row::job(&r),
        None => Err(not_found("job_get", id).into()),
    }
}

/// `job <id> not found: expected the id of an existing job (it may have been pruned)`.
pub(crate) fn not_found(op: &str, id: JobId) -> Error {
    Error::not_found(
        op,
        format!("job {id} not found: expected the id of an existing job (it may have been pruned)"),
    )
}
