//! `job_retry`: any job but a running one becomes available now.

use anp_core::{Error, Job, JobId, Result};
use jiff::Timestamp;
use rusqlite::{params, Connection};

use crate::conn::{is_unique_violation, OpResult};
use crate::ops::not_running_error;
use crate::row::{self, micros};
use crate::SqliteStore;

const OP: &str = "job_retry";

/// Retries the job in one write transaction, then wakes waiters.
pub(crate) async fn run(s: &SqliteStore, id: JobId, now: Timestamp) -> Result<Job> {
    s.write_waking(OP, move |c| Ok((sql(c, id, now)?, true)))
        .await
}

/// The job as it is now.
fn sql(c: &Connection, id: JobId, now: Timestamp) -> OpResult<Job> {
    let id_text = id.to_string();
    {
        let mut stmt = c.prepare_cached(include_str!("../../sql/job_retry.sql"))?;
        let mut rows = stmt.query(params![id_text, micros(now)])?;
        match rows.next() {
            Ok(Some(r)) => return row::job(r),
            Ok(None) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(unique_conflict(c, id, &id_text)?.into())
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(not_running_error(c, OP, id)?.into())
}

/// The conflict when reviving `id` would give its unique key a second live job.
fn unique_conflict(c: &Connection, id: JobId, id_text: &str) -> OpResult<Error> {
    let mut stmt = c.prepare_cached(include_str!("../../sql/job_retry_unique_holder.sql"))?;
    let mut rows = stmt.query([id_text])?;
    let holder = match rows.next()? {
        Some(r) => Some((
            row::job_id(r, 0)?,
            row::state(r, 1)?,
            row::text(r, 2, "unique_key")?.to_owned(),
        )),
        None => None,
    };
    Ok(match holder {
        Some((other, state, key)) => Error::conflict(
            OP,
            format!(
                "job {id} cannot be retried: its unique key {key:?} is held by live job {other} ({state}); expected no other live job with that key; wait for {other} to finish, or cancel it"
            ),
        ),
        None => Error::conflict(
            OP,
            format!("job {id} cannot be retried: another live job holds its unique key; expected none"),
        ),
    })
}
