//! `queue_purge`: deletes up to `limit` jobs of one queue in the chosen states, state by state,
//! in the one write transaction the store runs it in.

use anp_core::store::QueuePurgeParams;
use anp_core::{JobState, QueueName, Result};
use rusqlite::{params, Connection};

use crate::conn::OpResult;
use crate::SqliteStore;

/// Purges in one write transaction, after checking the states.
pub(crate) async fn run(s: &SqliteStore, p: QueuePurgeParams) -> Result<u64> {
    let states = p.checked_states()?;
    s.write(QueuePurgeParams::OP, move |c| {
        sql(c, &p.queue, &states, p.limit)
    })
    .await
}

/// How many jobs were deleted. `states` comes from `QueuePurgeParams::checked_states` (never
/// `running`); `limit` is at least 1.
fn sql(c: &Connection, queue: &QueueName, states: &[JobState], limit: u32) -> OpResult<u64> {
    let mut remaining = i64::from(limit);
    let mut deleted = 0u64;
    let mut stmt = c.prepare_cached(include_str!("../../sql/queue_purge.sql"))?;
    for state in states {
        if remaining <= 0 {
            break;
        }
        let n = stmt.execute(params![queue.as_str(), state.as_str(), remaining])?;
        deleted += n as u64;
        remaining -= i64::try_from(n).unwrap_or(remaining);
    }
    Ok(deleted)
}
