//! `job_wait`'s check: does any of the queues have an available job (and is it not paused)?
//! Run under the write lock, so a commit whose wake-up fired before the waiter registered is
//! visible (a reader could still see the snapshot before it).

use anp_core::QueueName;
use rusqlite::Connection;

use crate::conn::OpResult;

/// Whether a fetch from one of `queues` would return something now.
pub(crate) fn any_available(c: &Connection, queues: &[QueueName]) -> OpResult<bool> {
    let mut stmt = c.prepare_cached(include_str!("../../sql/job_wait.sql"))?;
    for q in queues {
        if stmt.query_row([q.as_str()], |r| r.get::<_, bool>(0))? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// `PRAGMA data_version`: changes when another connection commits (the polling fallback).
pub(crate) fn data_version(c: &Connection) -> OpResult<i64> {
    Ok(c.pragma_query_value(None, "data_version", |r| r.get(0))?)
}
