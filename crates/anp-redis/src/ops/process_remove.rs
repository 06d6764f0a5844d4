//! `process_remove`: `HDEL anp:processes <id>`.

use anp_core::Result;

use crate::conn::{Call, Redis};
use crate::keys;

/// Removes a process that stopped cleanly.
pub(crate) async fn run(r: &Redis, id: String) -> Result<()> {
    r.run_one(
        "process_remove",
        Call::global(redis::cmd("HDEL").arg(keys::PROCESSES).arg(id).to_owned()),
    )
    .await?;
    Ok(())
}
