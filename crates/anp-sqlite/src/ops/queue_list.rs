//! `queue_list`: every queue with jobs or a row in `queues`, counts per state, oldest available
//! job; read in one snapshot on the reader connection.

use std::collections::BTreeMap;

use anp_core::job::ts_from_micros;
use anp_core::store::QueueInfo;
use anp_core::{JobState, Result};
use rusqlite::Connection;

use crate::conn::{Failure, OpResult};
use crate::row;
use crate::SqliteStore;

/// Lists on the reader connection.
pub(crate) async fn run(s: &SqliteStore) -> Result<Vec<QueueInfo>> {
    s.read("queue_list", sql).await
}

/// The queues by name.
fn sql(c: &mut Connection) -> OpResult<Vec<QueueInfo>> {
    let tx = c.transaction()?; // one read snapshot for every count
    let names = {
        let mut stmt = tx.prepare_cached(include_str!("../../sql/queue_list.sql"))?;
        let mut rows = stmt.query([])?;
        let mut names = Vec::new();
        while let Some(r) = rows.next()? {
            names.push((row::queue(r, 0)?, row::int(r, 1, "paused")? != 0));
        }
        names
    };
    let mut counts_stmt = tx.prepare_cached(include_str!("../../sql/queue_list_counts.sql"))?;
    let mut oldest_stmt = tx.prepare_cached(include_str!("../../sql/queue_list_oldest.sql"))?;
    let mut out = Vec::with_capacity(names.len());
    for (queue, paused) in names {
        let mut counts: BTreeMap<JobState, u64> =
            JobState::ALL.into_iter().map(|s| (s, 0)).collect();
        let mut rows = counts_stmt.query([queue.as_str()])?;
        while let Some(r) = rows.next()? {
            let n = row::int(r, 1, "count")?;
            counts.insert(
                row::state(r, 0)?,
                u64::try_from(n).map_err(|_| Failure::Damaged(format!("count {n}")))?,
            );
        }
        let oldest: Option<i64> = oldest_stmt.query_row([queue.as_str()], |r| r.get(0))?;
        out.push(QueueInfo {
            queue,
            paused,
            counts,
            oldest_available_at: oldest.map(ts_from_micros),
        });
    }
    Ok(out)
}
