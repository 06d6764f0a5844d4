//! `schedule_sync`: registers or updates each definition; a definition whose queue changed
//! moves, with its state, to the new queue's slot.

use anp_core::schedule::{ScheduleDef, ScheduleSyncParams};
use anp_core::{Error, QueueName, Result};

use crate::conn::{Call, Redis};
use crate::keys;
use crate::ops::schedule_hash::{del_keys, hget_queue, hmget, info, parse_queue};
use crate::ops::{micros, ok};
use crate::scripts::SCHEDULE_SYNC;

/// `schedule_sync`: one `schedule_sync.lua` call per definition, then `HSET anp:schedules`.
/// A definition whose queue changed is re-created under the new queue with its state (pause
/// flag, last tick, last job, created_at), and the old queue's keys are deleted.
pub(crate) async fn run(r: &Redis, p: ScheduleSyncParams) -> Result<()> {
    const OP: &str = "schedule_sync";
    if p.defs.is_empty() {
        return Ok(());
    }
    let now = micros(p.now);
    let calls = p.defs.iter().map(|d| hget_queue(&d.name)).collect();
    let olds: Vec<Option<QueueName>> = r
        .run(OP, calls)
        .await?
        .into_iter()
        .map(|v| ok(r, OP, v).map(|v| parse_queue(&v)))
        .collect::<Result<_>>()?;
    for (def, old) in p.defs.iter().zip(olds) {
        let json = def_json(OP, def)?;
        let mut call = r.schedule_script(&SCHEDULE_SYNC, &def.queue, &def.name);
        call.arg(json.as_str())
            .arg(now)
            .arg(if def.skip_if_running { "1" } else { "0" })
            .arg(def.catch_up.as_str())
            .arg(def.queue.as_str());
        let moved = old.as_ref().filter(|o| **o != def.queue);
        match moved {
            Some(oq) => {
                let v = ok(r, OP, r.run_one(OP, hmget(oq, &def.name)).await?)?;
                match info(OP, &def.name, v)? {
                    Some(prev) => {
                        call.arg("1")
                            .arg(if prev.paused { "1" } else { "0" })
                            .arg(
                                prev.last_tick
                                    .map(|t| micros(t).to_string())
                                    .unwrap_or_default(),
                            )
                            .arg(prev.last_job.map(|j| j.to_string()).unwrap_or_default())
                            .arg(micros(prev.created_at));
                    }
                    None => {
                        call.arg("").arg("").arg("").arg("").arg("");
                    }
                }
            }
            None => {
                call.arg("").arg("").arg("").arg("").arg("");
            }
        }
        ok(r, OP, r.run_one(OP, call).await?)?;
        let set = Call::global(
            redis::cmd("HSET")
                .arg(keys::SCHEDULES)
                .arg(def.name.as_str())
                .arg(def.queue.as_str())
                .to_owned(),
        );
        ok(r, OP, r.run_one(OP, set).await?)?;
        if let Some(oq) = moved {
            ok(r, OP, r.run_one(OP, del_keys(oq, &def.name)).await?)?;
        }
    }
    Ok(())
}

fn def_json(op: &str, def: &ScheduleDef) -> Result<String> {
    serde_json::to_string(def)
        .map_err(|e| Error::internal(op, format!("cannot encode the definition: {e}")))
}
