//! `deploy_mark`, `deploy_list`: deploy markers as JSON members of the zset `anp:deploys`,
//! scored by time (µs); the newest [`KEEP`] are kept.

use anp_core::monitor::DeployMarker;
use anp_core::{Error, Result};

use crate::conn::{Call, Redis};
use crate::keys;
use crate::ops::{micros, ok};
use crate::record::{items, text};

/// Markers kept.
const KEEP: i64 = 1000;

/// Records a marker (and trims the oldest beyond [`KEEP`]).
pub(crate) async fn mark(r: &Redis, m: DeployMarker) -> Result<()> {
    const OP: &str = "deploy_mark";
    let json = serde_json::to_string(&m)
        .map_err(|e| Error::internal(OP, format!("cannot encode the marker: {e}")))?;
    let calls = vec![
        Call::global(
            redis::cmd("ZADD")
                .arg(keys::DEPLOYS)
                .arg(micros(m.at))
                .arg(json)
                .to_owned(),
        ),
        Call::global(
            redis::cmd("ZREMRANGEBYRANK")
                .arg(keys::DEPLOYS)
                .arg(0)
                .arg(-(KEEP + 1))
                .to_owned(),
        ),
    ];
    for v in r.run(OP, calls).await? {
        ok(r, OP, v)?;
    }
    Ok(())
}

/// The newest `limit` markers, newest first.
pub(crate) async fn list(r: &Redis, limit: u32) -> Result<Vec<DeployMarker>> {
    const OP: &str = "deploy_list";
    if limit == 0 {
        return Ok(Vec::new());
    }
    let v = r
        .run_one(
            OP,
            Call::global(
                redis::cmd("ZREVRANGE")
                    .arg(keys::DEPLOYS)
                    .arg(0)
                    .arg(i64::from(limit) - 1)
                    .to_owned(),
            ),
        )
        .await?;
    Ok(items(v)
        .unwrap_or_default()
        .iter()
        .filter_map(|m| text(m).and_then(|j| serde_json::from_str(j).ok()))
        .collect())
}
