//! `queue_purge`: deletes up to `limit` jobs of one queue in the chosen states.

use anp_core::store::QueuePurgeParams;
use anp_core::{JobState, Result};

use crate::conn::{Conn, OpResult};
use crate::store::in_tx;
use crate::PostgresStore;

/// Purges in one transaction, after checking the states.
pub(crate) async fn run(s: &PostgresStore, p: QueuePurgeParams) -> Result<u64> {
    let states = p.checked_states()?;
    let n = in_tx!(s, QueuePurgeParams::OP, |tx| sql(tx, &p, &states))?;
    crate::vacuum::changed(s, n);
    Ok(n)
}

async fn sql(c: &dyn Conn, p: &QueuePurgeParams, states: &[JobState]) -> OpResult<u64> {
    let mut remaining = u64::from(p.limit);
    let mut deleted = 0u64;
    for state in states {
        if remaining == 0 {
            break;
        }
        let n = c
            .execute(
                include_str!("../../sql/queue_purge.sql"),
                &[
                    &p.queue.as_str(),
                    &state.as_str(),
                    &crate::row::count_param(remaining),
                ],
            )
            .await?;
        deleted += n;
        remaining = remaining.saturating_sub(n);
    }
    Ok(deleted)
}
