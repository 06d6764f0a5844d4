//! `process_list`: deletes processes not seen for `stale_after`, then lists the rest by id.

use anp_core::job::ts_sub;
use anp_core::monitor::{ProcessInfo, ProcessListParams};
use anp_core::{Kind, QueueName, Result};
use rusqlite::Connection;

use crate::conn::OpResult;
use crate::row::{self, damaged, micros};
use crate::SqliteStore;

/// Prunes and lists in one write transaction.
pub(crate) async fn run(s: &SqliteStore, p: ProcessListParams) -> Result<Vec<ProcessInfo>> {
    s.write("process_list", move |c| sql(c, &p)).await
}

fn sql(c: &Connection, p: &ProcessListParams) -> OpResult<Vec<ProcessInfo>> {
    c.prepare_cached(include_str!("../../sql/process_list_prune.sql"))?
        .execute([micros(ts_sub(p.now, p.stale_after))])?;
    let mut stmt = c.prepare_cached(include_str!("../../sql/process_list.sql"))?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let queues: Vec<QueueName> =
            serde_json::from_str(row::text(r, 5, "queues")?).map_err(|e| damaged("queues", e))?;
        let kinds: Vec<Kind> =
            serde_json::from_str(row::text(r, 6, "kinds")?).map_err(|e| damaged("kinds", e))?;
        out.push(ProcessInfo {
            id: row::text(r, 0, "id")?.to_owned(),
            role: row::text(r, 1, "role")?.to_owned(),
            host: row::text(r, 2, "host")?.to_owned(),
            pid: row::uint(r, 3, "pid")?,
            version: row::text(r, 4, "version")?.to_owned(),
            queues,
            kinds,
            started_at: row::ts(r, 7, "started_at")?,
            last_seen: row::ts(r, 8, "last_seen")?,
        });
    }
    Ok(out)
}
