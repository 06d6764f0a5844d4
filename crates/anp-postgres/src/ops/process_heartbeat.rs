//! `process_heartbeat`: registers or refreshes a worker or scheduler in `processes`.

use anp_core::monitor::ProcessInfo;
use anp_core::Result;

use crate::conn::{Conn, OpResult};
use crate::row::{micros, to_json};
use crate::store::in_tx;
use crate::PostgresStore;

/// Upserts in one transaction.
pub(crate) async fn run(s: &PostgresStore, p: ProcessInfo) -> Result<()> {
    in_tx!(s, "process_heartbeat", |tx| sql(tx, &p))
}

async fn sql(c: &dyn Conn, p: &ProcessInfo) -> OpResult<()> {
    c.execute(
        include_str!("../../sql/process_heartbeat.sql"),
        &[
            &p.id,
            &p.role,
            &p.host,
            &i64::from(p.pid),
            &p.version,
            &to_json(&p.queues, "process_heartbeat")?,
            &to_json(&p.kinds, "process_heartbeat")?,
            &micros(p.started_at),
            &micros(p.last_seen),
        ],
    )
    .await?;
    Ok(())
}
