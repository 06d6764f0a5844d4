//! `schedule_sync`: upserts each definition (`schedule_sync.sql`); a schedule's state (pause
//! flag, last tick, last job) survives a changed definition.

use anp_core::schedule::{ScheduleDef, ScheduleSyncParams};
use anp_core::{Error, Result};
use rusqlite::{params, Connection};

use crate::conn::OpResult;
use crate::row::micros;
use crate::SqliteStore;

/// Upserts the definitions in one write transaction.
pub(crate) async fn run(s: &SqliteStore, p: ScheduleSyncParams) -> Result<()> {
    s.write("schedule_sync", move |c| sql(c, &p)).await
}

fn sql(c: &Connection, p: &ScheduleSyncParams) -> OpResult<()> {
    let mut stmt = c.prepare_cached(include_str!("../../sql/schedule_sync.sql"))?;
    for def in &p.defs {
        stmt.execute(params![def.name.as_str(), def_json(def)?, micros(p.now)])?;
    }
    Ok(())
}

fn def_json(def: &ScheduleDef) -> OpResult<String> {
    serde_json::to_string(def).map_err(|e| {
        Error::internal("schedule", format!("cannot encode the definition: {e}")).into()
    })
}
