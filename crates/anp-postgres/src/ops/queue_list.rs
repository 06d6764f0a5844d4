//! `queue_list`: every queue with jobs or a row in `queues`, counts per state, oldest available
//! job; read in one snapshot (REPEATABLE READ, read only).

use std::collections::BTreeMap;

use anp_core::job::ts_from_micros;
use anp_core::store::QueueInfo;
use anp_core::{JobState, Result};

use crate::conn::{Conn, Failure, OpResult};
use crate::row;
use crate::store::in_tx;
use crate::PostgresStore;

/// Lists in one snapshot.
pub(crate) async fn run(s: &PostgresStore) -> Result<Vec<QueueInfo>> {
    in_tx!(s, "queue_list", snapshot, |tx| sql(tx))
}

async fn sql(c: &dyn Conn) -> OpResult<Vec<QueueInfo>> {
    let names = c
        .query(include_str!("../../sql/queue_list.sql"), &[])
        .await?;
    let mut out = Vec::with_capacity(names.len());
    for r in &names {
        let queue = row::queue(r, 0)?;
        let paused: bool = r.try_get(1)?;
        let mut counts: BTreeMap<JobState, u64> =
            JobState::ALL.into_iter().map(|s| (s, 0)).collect();
        for c in c
            .query(
                include_str!("../../sql/queue_list_counts.sql"),
                &[&queue.as_str()],
            )
            .await?
        {
            let n = row::int(&c, 1)?;
            counts.insert(
                row::state(&c, 0)?,
                u64::try_from(n).map_err(|_| Failure::Damaged(format!("count {n}")))?,
            );
        }
        let oldest = c
            .query_one(
                include_str!("../../sql/queue_list_oldest.sql"),
                &[&queue.as_str()],
            )
            .await?;
        let oldest = row::opt_int(&oldest, 0)?;
        out.push(QueueInfo {
            queue,
            paused,
            counts,
            oldest_available_at: oldest.map(ts_from_micros),
        });
    }
    Ok(out)
}
