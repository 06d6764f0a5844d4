//! `process_list`: deletes processes not seen for `stale_after`, then lists the rest.

use anp_core::job::ts_sub;
use anp_core::monitor::{ProcessInfo, ProcessListParams};
use anp_core::{Kind, QueueName, Result};

use crate::conn::{Conn, OpResult};
use crate::row::{self, damaged, micros};
use crate::store::in_tx;
use crate::PostgresStore;

/// Prunes and lists in one transaction.
pub(crate) async fn run(s: &PostgresStore, p: ProcessListParams) -> Result<Vec<ProcessInfo>> {
    in_tx!(s, "process_list", |tx| sql(tx, &p))
}

async fn sql(c: &dyn Conn, p: &ProcessListParams) -> OpResult<Vec<ProcessInfo>> {
    c.execute(
        include_str!("../../sql/process_list_prune.sql"),
        &[&micros(ts_sub(p.now, p.stale_after))],
    )
    .await?;
    let rows = c
        .query(include_str!("../../sql/process_list.sql"), &[])
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let queues: Vec<QueueName> =
            serde_json::from_str(row::text(r, 5)?).map_err(|e| damaged("queues", e))?;
        let kinds: Vec<Kind> =
            serde_json::from_str(row::text(r, 6)?).map_err(|e| damaged("kinds", e))?;
        let pid = row::int(r, 3)?;
        out.push(ProcessInfo {
            id: row::text(r, 0)?.to_owned(),
            role: row::text(r, 1)?.to_owned(),
            host: row::text(r, 2)?.to_owned(),
            pid: u32::try_from(pid).map_err(|_| damaged("pid", pid))?,
            version: row::text(r, 4)?.to_owned(),
            queues,
            kinds,
            started_at: row::ts(r, 7)?,
            last_seen: row::ts(r, 8)?,
        });
    }
    Ok(out)
}
