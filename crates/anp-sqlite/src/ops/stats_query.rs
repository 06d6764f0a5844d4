//! `stats_query`: the per-minute stats in `[from, until)`, on the reader connection.

use anp_core::monitor::{StatCounts, StatKey, StatsQueryParams};
use anp_core::Result;
use rusqlite::{params, Connection};

use crate::conn::OpResult;
use crate::row::{self, histogram, micros};
use crate::SqliteStore;

/// Reads on the reader connection.
pub(crate) async fn run(
    s: &SqliteStore,
    p: StatsQueryParams,
) -> Result<Vec<(StatKey, StatCounts)>> {
    s.read("stats_query", move |c| sql(c, &p)).await
}

fn sql(c: &Connection, p: &StatsQueryParams) -> OpResult<Vec<(StatKey, StatCounts)>> {
    let mut stmt = c.prepare_cached(include_str!("../../sql/stats_query.sql"))?;
    let mut rows = stmt.query(params![micros(p.from), micros(p.until)])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let n = |i: usize, col: &str| -> OpResult<u64> {
            Ok(u64::try_from(row::int(r, i, col)?).unwrap_or(0))
        };
        out.push((
            StatKey {
                minute: row::ts(r, 0, "minute")?,
                queue: row::queue(r, 1)?,
                kind: row::kind(r, 2)?,
            },
            StatCounts {
                enqueued: n(3, "enqueued")?,
                completed: n(4, "completed")?,
                failed: n(5, "failed")?,
                dead: n(6, "dead")?,
                run: histogram(row::text(r, 7, "run")?, "run")?,
                wait: histogram(row::text(r, 8, "wait")?, "wait")?,
            },
        ));
    }
    Ok(out)
}
