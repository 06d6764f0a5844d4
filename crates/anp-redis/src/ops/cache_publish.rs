//! `cache_publish`: `PUBLISH anp:c:changes {"origin": …, "change": …}` (JSON). In Cluster a
//! `PUBLISH` on any node reaches the subscribers of every node.

use anp_core::cache::Invalidation;
use anp_core::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::conn::{Call, Redis};
use crate::keys;

const OP: &str = "cache_publish";

/// One message on the channel (`cache_watch` reads the same shape).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Published {
    /// The publishing process id.
    pub(crate) origin: String,
    /// The change.
    pub(crate) change: Invalidation,
}

/// Publishes the change to every watching process.
pub(crate) async fn run(r: &Redis, origin: String, change: Invalidation) -> Result<()> {
    let json = serde_json::to_string(&Published { origin, change })
        .map_err(|e| Error::internal(OP, format!("cannot encode the change: {e}")))?;
    r.run_one(
        OP,
        Call::global(
            redis::cmd("PUBLISH")
                .arg(keys::CACHE_CHANGES)
                .arg(json)
                .to_owned(),
        ),
    )
    .await?;
    Ok(())
}
