//! `stats_query`: the per-minute stats in `[from, until)`.

use anp_core::monitor::{Histogram, StatCounts, StatKey, StatsQueryParams};
use anp_core::Result;

use crate::conn::{Conn, OpResult};
use crate::row::{self, damaged, micros};
use crate::store::in_tx;
use crate::PostgresStore;

/// Reads.
pub(crate) async fn run(
    s: &PostgresStore,
    p: StatsQueryParams,
) -> Result<Vec<(StatKey, StatCounts)>> {
    in_tx!(s, "stats_query", |tx| sql(tx, &p))
}

/// A histogram stored as JSON.
pub(crate) fn histogram(text: &str, column: &str) -> OpResult<Histogram> {
    serde_json::from_str(text).map_err(|e| damaged(column, e))
}

async fn sql(c: &dyn Conn, p: &StatsQueryParams) -> OpResult<Vec<(StatKey, StatCounts)>> {
    let rows = c
        .query(
            include_str!("../../sql/stats_query.sql"),
            &[&micros(p.from), &micros(p.until)],
        )
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let n = |i: usize| -> OpResult<u64> { Ok(u64::try_from(row::int(r, i)?).unwrap_or(0)) };
        out.push((
            StatKey {
                minute: row::ts(r, 0)?,
                queue: row::queue(r, 1)?,
                kind: row::kind(r, 2)?,
            },
            StatCounts {
                enqueued: n(3)?,
                completed: n(4)?,
                failed: n(5)?,
                dead: n(6)?,
                run: histogram(row::text(r, 7)?, "run")?,
                wait: histogram(row::text(r, 8)?, "wait")?,
            },
        ));
    }
    Ok(out)
}
