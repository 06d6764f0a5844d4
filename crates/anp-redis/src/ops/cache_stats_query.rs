//! `cache_stats_query`: `ZRANGEBYSCORE anp:c:stats <since ms> <until ms>`, decoded, filtered to
//! `since <= at < until` (scores are whole milliseconds) and to the namespace, oldest first.

use anp_core::cache::{CacheStatsQueryParams, CacheStatsRecord};
use anp_core::Result;

use crate::conn::{Call, Redis};
use crate::keys;
use crate::record::{bad_reply, items};

const OP: &str = "cache_stats_query";

/// The flushes in the range, oldest first. A member that does not decode is skipped (logged).
pub(crate) async fn run(r: &Redis, p: CacheStatsQueryParams) -> Result<Vec<CacheStatsRecord>> {
    if p.since >= p.until {
        return Ok(Vec::new());
    }
    let v = r
        .run_one(
            OP,
            Call::keyed(
                keys::CACHE_STATS,
                redis::cmd("ZRANGEBYSCORE")
                    .arg(keys::CACHE_STATS)
                    .arg(p.since.as_millisecond())
                    .arg(p.until.as_millisecond())
                    .to_owned(),
            ),
        )
        .await?;
    let members = items(v.clone()).ok_or_else(|| bad_reply(OP, "an array of members", &v))?;
    let mut out = Vec::with_capacity(members.len());
    for m in members {
        let decoded = match &m {
            redis::Value::BulkString(b) => serde_json::from_slice::<CacheStatsRecord>(b).ok(),
            _ => None,
        };
        let Some(rec) = decoded else {
            tracing::warn!(member = ?m, key = keys::CACHE_STATS, "skipping a stats member that does not decode");
            continue;
        };
        if rec.at >= p.since && rec.at < p.until && p.ns.as_ref().is_none_or(|ns| *ns == rec.ns) {
            out.push(rec);
        }
    }
    // Scores are milliseconds; order by the exact time (stable: equal times keep score order).
    out.sort_by_key(|rec| rec.at);
    Ok(out)
}
