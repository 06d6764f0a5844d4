//! `cache_prune`: Redis expires entries, leases and tag versions by itself, so this only trims
//! the stats flushes older than [`STATS_KEEP`](crate::ops::cache_stats_record::STATS_KEEP)
//! from `anp:c:stats` (`ZREMRANGEBYSCORE`).

use jiff::Timestamp;

use anp_core::Result;

use crate::conn::Redis;
use crate::ops::cache_stats_record::trim;
use crate::ops::ok;

const OP: &str = "cache_prune";

/// Always 0: no entry needs deleting by hand.
pub(crate) async fn run(r: &Redis, now: Timestamp, _limit: u32) -> Result<u64> {
    ok(
        r,
        OP,
        r.run(OP, vec![trim(now)]).await?.pop().unwrap_or_default(),
    )?;
    Ok(0)
}
