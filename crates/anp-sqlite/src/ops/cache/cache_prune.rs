//! `cache_prune`: deletes expired entries, leases and tag versions (up to `limit` in all, each
//! oldest expiry first through its `*_expiry` index), feed rows older than [`FEED_KEEP`] and
//! stats flushes older than [`STATS_KEEP`] (each up to `limit` too). One write transaction.

use std::time::Duration;

use anp_core::Result;
use jiff::Timestamp;
use rusqlite::{params, Connection};

use super::ms;
use crate::conn::OpResult;
use crate::SqliteStore;

/// How long a published change stays in `cache_changes`: far longer than a watcher's 50 ms poll,
/// so only a watcher stalled this long misses changes (and it then resyncs).
pub(crate) const FEED_KEEP: Duration = Duration::from_secs(60);

/// How long stats flushes are kept.
pub(crate) const STATS_KEEP: Duration = Duration::from_secs(7 * 24 * 3600);

/// Prunes in one write transaction; returns the expired entries, leases and tag versions
/// deleted (the feed and stats rows are housekeeping, not counted).
pub(crate) async fn run(s: &SqliteStore, now: Timestamp, limit: u32) -> Result<u64> {
    if limit == 0 {
        return Ok(0);
    }
    s.write("cache_prune", move |c| sql(c, now, limit)).await
}

fn sql(c: &Connection, now: Timestamp, limit: u32) -> OpResult<u64> {
    let now_ms = ms(now);
    let mut left = i64::from(limit);
    for stmt in [
        include_str!("../../../sql/cache_prune_entries.sql"),
        include_str!("../../../sql/cache_prune_leases.sql"),
        include_str!("../../../sql/cache_prune_tags.sql"),
    ] {
        if left == 0 {
            break;
        }
        let n = c.prepare_cached(stmt)?.execute(params![now_ms, left])?;
        left = left
            .saturating_sub(i64::try_from(n).unwrap_or(i64::MAX))
            .max(0);
    }
    let before =
        |keep: Duration| now_ms.saturating_sub(i64::try_from(keep.as_millis()).unwrap_or(i64::MAX));
    c.prepare_cached(include_str!("../../../sql/cache_prune_changes.sql"))?
        .execute(params![before(FEED_KEEP), limit])?;
    c.prepare_cached(include_str!("../../../sql/cache_prune_stats.sql"))?
        .execute(params![before(STATS_KEEP), limit])?;
    Ok(u64::try_from(i64::from(limit) - left).unwrap_or(0))
}
