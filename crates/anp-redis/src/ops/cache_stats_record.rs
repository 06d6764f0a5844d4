//! `cache_stats_record`: `ZADD anp:c:stats <at ms> <record JSON with a nonce>` (the nonce keeps
//! two equal flushes apart: a zset member is unique), and a `ZREMRANGEBYSCORE` of the flushes
//! older than [`STATS_KEEP`], in one pipeline.

use std::time::Duration;

use anp_core::cache::CacheStatsRecord;
use anp_core::{Error, Result};
use jiff::Timestamp;

use crate::conn::{Call, Redis};
use crate::keys;
use crate::ops::ok;

const OP: &str = "cache_stats_record";

/// How long stats flushes are kept.
pub(crate) const STATS_KEEP: Duration = Duration::from_secs(7 * 24 * 3600);

/// Adds one flush and trims the old ones.
pub(crate) async fn run(r: &Redis, rec: CacheStatsRecord) -> Result<()> {
    let mut json = serde_json::to_value(&rec)
        .map_err(|e| Error::internal(OP, format!("cannot encode the stats: {e}")))?;
    if let Some(obj) = json.as_object_mut() {
        obj.insert(
            "nonce".to_owned(),
            serde_json::Value::from(format!("{:016x}", rand::random::<u64>())),
        );
    }
    let calls = vec![
        Call::keyed(
            keys::CACHE_STATS,
            redis::cmd("ZADD")
                .arg(keys::CACHE_STATS)
                .arg(rec.at.as_millisecond())
                .arg(json.to_string())
                .to_owned(),
        ),
        trim(rec.at),
    ];
    for v in r.run(OP, calls).await? {
        ok(r, OP, v)?;
    }
    Ok(())
}

/// `ZREMRANGEBYSCORE anp:c:stats -inf (<now - STATS_KEEP>`.
pub(crate) fn trim(now: Timestamp) -> Call {
    let keep_ms = i64::try_from(STATS_KEEP.as_millis()).unwrap_or(i64::MAX);
    let cutoff = now.as_millisecond().saturating_sub(keep_ms);
    Call::keyed(
        keys::CACHE_STATS,
        redis::cmd("ZREMRANGEBYSCORE")
            .arg(keys::CACHE_STATS)
            .arg("-inf")
            .arg(format!("({cutoff}"))
            .to_owned(),
    )
}
