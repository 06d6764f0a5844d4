//! `process_list`: `HGETALL anp:processes`; stale entries (and unreadable ones) are deleted.

use anp_core::monitor::{ProcessInfo, ProcessListParams};
use anp_core::Result;

use crate::conn::{Call, Redis};
use crate::keys;
use crate::ops::ok;
use crate::record::{hash_entries, text};

/// Live processes by id; stale ones (and unreadable entries) are deleted.
pub(crate) async fn run(r: &Redis, p: ProcessListParams) -> Result<Vec<ProcessInfo>> {
    const OP: &str = "process_list";
    let v = r
        .run_one(
            OP,
            Call::global(redis::cmd("HGETALL").arg(keys::PROCESSES).to_owned()),
        )
        .await?;
    let cutoff = anp_core::job::ts_sub(p.now, p.stale_after);
    let mut live = Vec::new();
    let mut stale = Vec::new();
    let pairs: Vec<(String, Option<ProcessInfo>)> = hash_entries(v)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(k, v)| {
            Some((
                text(&k)?.to_owned(),
                v.as_ref()
                    .and_then(text)
                    .and_then(|j| serde_json::from_str(j).ok()),
            ))
        })
        .collect();
    for (id, info) in pairs {
        match info {
            Some(info) if info.last_seen >= cutoff => live.push(info),
            _ => stale.push(id),
        }
    }
    if !stale.is_empty() {
        let mut cmd = redis::cmd("HDEL");
        cmd.arg(keys::PROCESSES).arg(stale);
        ok(r, OP, r.run_one(OP, Call::global(cmd)).await?)?;
    }
    live.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(live)
}
