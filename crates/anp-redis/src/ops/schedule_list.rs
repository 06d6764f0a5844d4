//! `schedule_list`: every schedule with its last job's state, by name.

use anp_core::schedule::{ScheduleInfo, ScheduleName};
use anp_core::{QueueName, Result};

use crate::conn::{Call, Redis};
use crate::keys;
use crate::ops::ok;
use crate::ops::schedule_hash::{hmget, info, parse_queue, with_states};
use crate::record::{bad_reply, hash_entries, text};

/// `schedule_list`: `HGETALL anp:schedules`, one pipelined `HMGET` per schedule, then the
/// last jobs' states; by name.
pub(crate) async fn run(r: &Redis) -> Result<Vec<ScheduleInfo>> {
    const OP: &str = "schedule_list";
    let v = r
        .run_one(
            OP,
            Call::global(redis::cmd("HGETALL").arg(keys::SCHEDULES).to_owned()),
        )
        .await?;
    let v = ok(r, OP, v)?;
    let pairs: Vec<(ScheduleName, QueueName)> = hash_entries(v.clone())
        .ok_or_else(|| bad_reply(OP, "a hash", &v))?
        .into_iter()
        .filter_map(|(k, v)| Some((ScheduleName::parse(text(&k)?).ok()?, parse_queue(&v?)?)))
        .collect();
    if pairs.is_empty() {
        return Ok(Vec::new());
    }
    let calls = pairs.iter().map(|(n, q)| hmget(q, n)).collect();
    let mut found = Vec::with_capacity(pairs.len());
    for ((n, q), v) in pairs.iter().zip(r.run(OP, calls).await?) {
        if let Some(i) = info(OP, n, ok(r, OP, v)?)? {
            found.push((q.clone(), i));
        }
    }
    with_states(r, OP, &mut found).await?;
    let mut out: Vec<ScheduleInfo> = found.into_iter().map(|(_, i)| i).collect();
    out.sort_by(|a, b| a.def.name.cmp(&b.def.name));
    Ok(out)
}
