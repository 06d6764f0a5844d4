//! `job_retry_dead`: dead jobs become available again, oldest first. A job whose unique key is
//! now held by another live job is skipped (it stays dead), not an error for the batch.

use anp_core::store::JobRetryDeadParams;
use anp_core::Result;
use rusqlite::{params, Connection};

use crate::conn::{is_unique_violation, OpResult};
use crate::row::micros;
use crate::SqliteStore;

/// Revives in one write transaction; waiters are woken when any job was revived.
pub(crate) async fn run(s: &SqliteStore, p: JobRetryDeadParams) -> Result<u64> {
    if p.limit == 0 {
        return Ok(0);
    }
    s.write_waking("job_retry_dead", move |c| sql(c, &p)).await
}

/// How many jobs were revived, and whether any was.
fn sql(c: &Connection, p: &JobRetryDeadParams) -> OpResult<(u64, bool)> {
    let limit = u64::from(p.limit);
    let now = micros(p.now);
    let queue = p.queue.as_ref().map(|q| q.as_str());
    let kind = p.kind.as_ref().map(|k| k.as_str());
    let mut select = c.prepare_cached(include_str!("../../sql/job_retry_dead.sql"))?;
    let mut update = c.prepare_cached(include_str!("../../sql/job_retry_dead_update.sql"))?;
    let mut after = String::new();
    let mut retried = 0u64;
    while retried < limit {
        let ids = select
            .query_map(params![after, queue, kind, p.limit], |r| {
                r.get::<_, String>(0)
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let Some(last) = ids.last().cloned() else {
            break;
        };
        for id in &ids {
            match update.execute(params![id, now]) {
                Ok(n) => retried += n as u64,
                Err(e) if is_unique_violation(&e) => {
                    tracing::debug!(job = %id, "dead job not retried: its unique key is held by a live job");
                }
                Err(e) => return Err(e.into()),
            }
            if retried == limit {
                break;
            }
        }
        after = last;
    }
    Ok((retried, retried > 0))
}
