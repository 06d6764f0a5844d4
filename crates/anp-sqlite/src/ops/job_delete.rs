//! `job_delete`: removes a job that is not running.

use anp_core::{JobId, Result};
use rusqlite::Connection;

use crate::conn::OpResult;
use crate::ops::not_running_error;
use crate::SqliteStore;

const OP: &str = "job_delete";

/// Deletes the job in one write transaction.
pub(crate) async fn run(s: &SqliteStore, id: JobId) -> Result<()> {
    s.write(OP, move |c| sql(c, id)).await
}

/// Deleted, or why not.
fn sql(c: &Connection, id: JobId) -> OpResult<()> {
    let id_text = id.to_string();
    let n = c
        .prepare_cached(include_str!("../../sql/job_delete.sql"))?
        .execute([&id_text])?;
    if n == 1 {
        return Ok(());
    }
    Err(not_running_error(c, OP, id)?.into())
}
