//! `job_retry`: any job but a running one becomes available now.

use anp_core::{Error, Job, JobId, Result};
use jiff::Timestamp;

use crate::conn::{Conn, OpResult};
use crate::ops::{not_running_error, notify};
use crate::row::{self, micros};
use crate::store::in_tx;
use crate::PostgresStore;

const OP: &str = "job_retry";

/// Retries the job in one transaction.
pub(crate) async fn run(s: &PostgresStore, id: JobId, now: Timestamp) -> Result<Job> {
    let out = in_tx!(s, OP, |tx| sql(tx, id, now));
    s.made_available();
    out
}

async fn sql(c: &dyn Conn, id: JobId, now: Timestamp) -> OpResult<Job> {
    let id_text = id.to_string();
    // Reviving it would give its unique key a second live job: refuse with the holder's name
    // (the unique index would refuse anyway, with a less helpful message).
    if let Some(r) = c
        .query_opt(
            include_str!("../../sql/job_retry_unique_holder.sql"),
            &[&id_text],
        )
        .await?
    {
        let other = row::job_id(&r, 0)?;
        let state = row::state(&r, 1)?;
        let key = row::text(&r, 2)?;
        return Err(Error::conflict(
            OP,
            format!(
                "job {id} cannot be retried: its unique key {key:?} is held by live job {other} ({state}); expected no other live job with that key; wait for {other} to finish, or cancel it"
            ),
        )
        .into());
    }
    if let Some(r) = c
        .query_opt(
            include_str!("../../sql/job_retry.sql"),
            &[&id_text, &micros(now)],
        )
        .await?
    {
        let job = row::job(&r)?;
        notify(c).await?;
        return Ok(job);
    }
    Err(not_running_error(c, OP, id).await?.into())
}
