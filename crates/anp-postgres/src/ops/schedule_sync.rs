//! `schedule_sync`: upserts each definition; a schedule's state survives a changed definition.

use anp_core::schedule::ScheduleSyncParams;
use anp_core::Result;

use crate::conn::{Conn, OpResult};
use crate::row::{micros, to_json};
use crate::store::in_tx;
use crate::PostgresStore;

/// Upserts the definitions in one transaction.
pub(crate) async fn run(s: &PostgresStore, p: ScheduleSyncParams) -> Result<()> {
    in_tx!(s, "schedule_sync", |tx| sql(tx, &p))
}

async fn sql(c: &dyn Conn, p: &ScheduleSyncParams) -> OpResult<()> {
    for def in &p.defs {
        c.execute(
            include_str!("../../sql/schedule_sync.sql"),
            &[
                &def.name.as_str(),
                &to_json(def, "schedule_sync")?,
                &micros(p.now),
            ],
        )
        .await?;
    }
    Ok(())
}
