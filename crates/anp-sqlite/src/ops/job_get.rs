//! `job_get`: one job by id, on the reader connection.

use anp_core::{Error, Job, JobId, Result};
use rusqlite::Connection;

use crate::conn::OpResult;
use crate::row;
use crate::SqliteStore;

/// Reads the job on the reader connection.
pub(crate) async fn run(s: &SqliteStore, id: JobId) -> Result<Job> {
    s.read("job_get", move |c| sql(c, id)).await
}

/// The job, or `NotFound`.
fn sql(c: &Connection, id: JobId) -> OpResult<Job> {
    let mut stmt = c.prepare_cached(include_str!("../../sql/job_get.sql"))?;
    let mut rows = stmt.query([id.to_string()])?;
    match rows.next()? {
        Some(r) => row::job(r),
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
