//! `deploy_mark`: a deploy marker as a JSON member of the zset `anp:deploys`, scored by time
//! (µs); the newest [`KEEP`] are kept.

use anp_core::monitor::DeployMarker;
use anp_core::{Error, Result};

use crate::conn::{Call, Redis};
use crate::keys;
use crate::ops::{micros, ok};

/// Markers kept.
const KEEP: i64 = 1000;

/// Records a marker (and trims the oldest beyond [`KEEP`]).
pub(crate) async fn run(r: &Redis, m: DeployMarker) -> Result<()> {
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
