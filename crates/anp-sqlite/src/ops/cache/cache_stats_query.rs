//! `cache_stats_query`: the flushes in `[since, until)` (millisecond resolution), optionally of
//! one namespace, oldest first, on the reader connection (a range of `cache_stats_at`).

use anp_core::cache::{CacheStatsQueryParams, CacheStatsRecord};
use anp_core::Result;
use rusqlite::{params, Connection};

use super::ms;
use crate::conn::OpResult;
use crate::{row, SqliteStore};

/// Reads on the reader connection.
pub(crate) async fn run(
    s: &SqliteStore,
    p: CacheStatsQueryParams,
) -> Result<Vec<CacheStatsRecord>> {
    s.read("cache_stats_query", move |c| sql(c, &p)).await
}

fn sql(c: &Connection, p: &CacheStatsQueryParams) -> OpResult<Vec<CacheStatsRecord>> {
    let (since, until) = (ms(p.since), ms(p.until));
    let mut stmt;
    let mut rows = match &p.ns {
        Some(ns) => {
            stmt = c.prepare_cached(include_str!("../../../sql/cache_stats_query_ns.sql"))?;
            stmt.query(params![since, until, ns.as_str()])?
        }
        None => {
            stmt = c.prepare_cached(include_str!("../../../sql/cache_stats_query.sql"))?;
            stmt.query(params![since, until])?
        }
    };
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let json = row::text(r, 0, "record")?;
        out.push(serde_json::from_str(json).map_err(|e| row::damaged("record", e))?);
    }
    Ok(out)
}
