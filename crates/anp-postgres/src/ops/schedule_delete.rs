//! `schedule_delete`: removes a schedule and its fire log.

use anp_core::schedule::ScheduleName;
use anp_core::Result;

use crate::conn::{Conn, OpResult};
use crate::ops::schedule_get::not_found;
use crate::store::in_tx;
use crate::PostgresStore;

/// Deletes in one transaction.
pub(crate) async fn run(s: &PostgresStore, name: ScheduleName) -> Result<()> {
    in_tx!(s, "schedule_delete", |tx| sql(tx, &name))
}

async fn sql(c: &dyn Conn, name: &ScheduleName) -> OpResult<()> {
    let n = c
        .execute(
            include_str!("../../sql/schedule_delete.sql"),
            &[&name.as_str()],
        )
        .await?;
    if n == 0 {
        return Err(not_found("schedule_delete", name));
    }
    c.execute(
        include_str!("../../sql/schedule_delete_fires.sql"),
        &[&name.as_str()],
    )
    .await?;
    Ok(())
}
