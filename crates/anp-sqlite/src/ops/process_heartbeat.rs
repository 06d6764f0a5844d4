//! `process_heartbeat`: registers or refreshes a worker or scheduler in `processes`.

use anp_core::monitor::ProcessInfo;
use anp_core::Result;
use rusqlite::{params, Connection};

use crate::conn::OpResult;
use crate::row::{micros, to_json};
use crate::SqliteStore;

/// Upserts in one write transaction.
pub(crate) async fn run(s: &SqliteStore, p: ProcessInfo) -> Result<()> {
    s.write("process_heartbeat", move |c| sql(c, &p)).await
}

fn sql(c: &Connection, p: &ProcessInfo) -> OpResult<()> {
    c.prepare_cached(include_str!("../../sql/process_heartbeat.sql"))?
        .execute(params![
            p.id,
            p.role,
            p.host,
            p.pid,
            p.version,
            to_json(&p.queues, "process_heartbeat")?,
            to_json(&p.kinds, "process_heartbeat")?,
            micros(p.started_at),
            micros(p.last_seen)
        ])?;
    Ok(())
}
