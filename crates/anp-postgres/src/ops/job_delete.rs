//! `job_delete`: removes a job that is not running.

use anp_core::{JobId, Result};

use crate::conn::{Conn, OpResult};
use crate::ops::not_running_error;
use crate::store::in_tx;
use crate::PostgresStore;

const OP: &str = "job_delete";

/// Deletes the job in one transaction.
pub(crate) async fn run(s: &PostgresStore, id: JobId) -> Result<()> {
    in_tx!(s, OP, |tx| sql(tx, id))
}

async fn sql(c: &dyn Conn, id: JobId) -> OpResult<()> {
    let n = c
        .execute(include_str!("../../sql/job_delete.sql"), &[&id.to_string()])
        .await?;
    if n == 1 {
        return Ok(());
    }
    Err(not_running_error(c, OP, id).await?.into())
}
