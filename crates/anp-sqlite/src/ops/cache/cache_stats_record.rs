//! `cache_stats_record`: one flush of counters as a JSON row of `cache_stats`. One write
//! transaction.

use anp_core::cache::CacheStatsRecord;
use anp_core::Result;
use rusqlite::{params, Connection};

use super::ms;
use crate::conn::OpResult;
use crate::row::to_json;
use crate::SqliteStore;

/// Inserts in one write transaction.
pub(crate) async fn run(s: &SqliteStore, r: CacheStatsRecord) -> Result<()> {
    s.write("cache_stats_record", move |c| sql(c, &r)).await
}

fn sql(c: &Connection, r: &CacheStatsRecord) -> OpResult<()> {
    c.prepare_cached(include_str!("../../../sql/cache_stats_record.sql"))?
        .execute(params![
            ms(r.at),
            r.ns.as_str(),
            to_json(r, "cache_stats_record")?
        ])?;
    Ok(())
}
