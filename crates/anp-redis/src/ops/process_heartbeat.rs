//! `process_heartbeat`: registers or refreshes a worker or scheduler: one JSON value per process
//! in the hash `anp:processes` (a single-key command; no script needed).

use anp_core::monitor::ProcessInfo;
use anp_core::{Error, Result};

use crate::conn::{Call, Redis};
use crate::keys;

/// Registers or refreshes a process.
pub(crate) async fn run(r: &Redis, p: ProcessInfo) -> Result<()> {
    const OP: &str = "process_heartbeat";
    let json = serde_json::to_string(&p)
        .map_err(|e| Error::internal(OP, format!("cannot encode the process: {e}")))?;
    r.run_one(
        OP,
        Call::global(
            redis::cmd("HSET")
                .arg(keys::PROCESSES)
                .arg(&p.id)
                .arg(json)
                .to_owned(),
        ),
    )
    .await?;
    Ok(())
}
