//! `cache_usage`: the exact count and size (key and value bytes) of a generation's live
//! entries, on the reader connection (a walk of `cache_entries_key` for the generation).

use anp_core::cache::{CacheUsage, Namespace};
use anp_core::Result;
use jiff::Timestamp;
use rusqlite::{params, Connection};

use super::{ms, u64_param};
use crate::conn::OpResult;
use crate::{row, SqliteStore};

/// Counts on the reader connection.
pub(crate) async fn run(
    s: &SqliteStore,
    ns: Namespace,
    generation: u64,
    now: Timestamp,
) -> Result<CacheUsage> {
    s.read("cache_usage", move |c| sql(c, &ns, generation, now))
        .await
}

fn sql(c: &Connection, ns: &Namespace, generation: u64, now: Timestamp) -> OpResult<CacheUsage> {
    let mut stmt = c.prepare_cached(include_str!("../../../sql/cache_usage.sql"))?;
    let mut rows = stmt.query(params![ns.as_str(), u64_param(generation), ms(now)])?;
    let Some(r) = rows.next()? else {
        return Ok(CacheUsage {
            exact: true,
            ..CacheUsage::default()
        });
    };
    let n = |i: usize, col: &str| -> OpResult<u64> {
        let v = row::int(r, i, col)?;
        u64::try_from(v).map_err(|_| row::damaged(col, format!("{v} is negative")))
    };
    Ok(CacheUsage {
        entries: n(0, "count")?,
        bytes: n(1, "bytes")?,
        exact: true,
    })
}
