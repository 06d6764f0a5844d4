//! `cache_prune`: expired entries, leases and tag versions (at most `limit` in all), old feed
//! rows (kept [`FEED_KEEP`]) and old stats flushes (kept [`STATS_KEEP`]).

use std::time::Duration;

use anp_core::Result;
use jiff::Timestamp;

use super::ms;
use crate::conn::{Conn, OpResult};
use crate::store::in_tx;
use crate::PostgresStore;

/// How long feed rows are kept.
pub(crate) const FEED_KEEP: Duration = Duration::from_secs(60);

/// How long stats flushes are kept.
pub(crate) const STATS_KEEP: Duration = Duration::from_secs(7 * 24 * 3600);

/// Prunes in one transaction.
pub(crate) async fn run(s: &PostgresStore, now: Timestamp, limit: u32) -> Result<u64> {
    if limit == 0 {
        return Ok(0);
    }
    in_tx!(s, "cache_prune", |tx| sql(tx, now, limit))
}

async fn sql(c: &dyn Conn, now: Timestamp, limit: u32) -> OpResult<u64> {
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
        let n = c.execute(stmt, &[&now_ms, &left]).await?;
        left = left
            .saturating_sub(i64::try_from(n).unwrap_or(i64::MAX))
            .max(0);
    }
    let before =
        |keep: Duration| now_ms.saturating_sub(i64::try_from(keep.as_millis()).unwrap_or(i64::MAX));
    let lim = i64::from(limit);
    c.execute(
        include_str!("../../../sql/cache_prune_changes.sql"),
        &[&before(FEED_KEEP), &lim],
    )
    .await?;
    c.execute(
        include_str!("../../../sql/cache_prune_stats.sql"),
        &[&before(STATS_KEEP), &lim],
    )
    .await?;
    Ok(u64::try_from(i64::from(limit) - left).unwrap_or(0))
}
