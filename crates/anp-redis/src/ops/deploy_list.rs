//! `deploy_list`: the newest members of the zset `anp:deploys` (see `deploy_mark`).

use anp_core::monitor::DeployMarker;
use anp_core::Result;

use crate::conn::{Call, Redis};
use crate::keys;
use crate::record::{items, text};

/// The newest `limit` markers, newest first.
pub(crate) async fn run(r: &Redis, limit: u32) -> Result<Vec<DeployMarker>> {
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
