//! `process_heartbeat`, `process_remove`, `process_list`: the registry of live workers and
//! schedulers, one JSON value per process in the hash `anp:processes` (single-key commands; no
//! script needed).

use anp_core::monitor::{ProcessInfo, ProcessListParams};
use anp_core::{Error, Result};

use crate::conn::{Call, Redis};
use crate::keys;
use crate::ops::ok;
use crate::record::{items, text};

/// Registers or refreshes a process.
pub(crate) async fn heartbeat(r: &Redis, p: ProcessInfo) -> Result<()> {
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

/// Removes a process that stopped cleanly.
pub(crate) async fn remove(r: &Redis, id: String) -> Result<()> {
    r.run_one(
        "process_remove",
        Call::global(redis::cmd("HDEL").arg(keys::PROCESSES).arg(id).to_owned()),
    )
    .await?;
    Ok(())
}

/// Live processes by id; stale ones (and unreadable entries) are deleted.
pub(crate) async fn list(r: &Redis, p: ProcessListParams) -> Result<Vec<ProcessInfo>> {
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
    let pairs: Vec<(String, Option<ProcessInfo>)> = match v {
        redis::Value::Map(m) => m
            .iter()
            .filter_map(|(k, v)| {
                Some((
                    text(k)?.to_owned(),
                    text(v).and_then(|j| serde_json::from_str(j).ok()),
                ))
            })
            .collect(),
        v => items(v)
            .unwrap_or_default()
            .chunks(2)
            .filter_map(|kv| {
                let k = text(kv.first()?)?.to_owned();
                Some((
                    k,
                    kv.get(1)
                        .and_then(text)
                        .and_then(|j| serde_json::from_str(j).ok()),
                ))
            })
            .collect(),
    };
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
