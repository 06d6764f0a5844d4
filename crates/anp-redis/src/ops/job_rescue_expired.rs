//! `job_rescue_expired`: counts leases in every queue in one pipelined round trip, then runs
//! `job_rescue_expired.lua` on the queues that have some, within the limit.

use anp_core::store::{JobRescueParams, Rescued};
use anp_core::{JobId, JobState, Kind, Result};

use crate::conn::{Call, Redis};
use crate::keys::Q;
use crate::ops::{known_queues, micros, ok};
use crate::record::{bad_reply, int, items, text};
use crate::scripts::JOB_RESCUE_EXPIRED;

const OP: &str = "job_rescue_expired";

/// The leases hash's field that is no job (`LEASES_PIN` in `lua/lib.lua`).
const LEASES_PIN: &str = "~hashtable";

/// The rescued jobs.
pub(crate) async fn run(r: &Redis, p: JobRescueParams) -> Result<Vec<Rescued>> {
    let mut out = Vec::new();
    if p.limit == 0 {
        return Ok(out);
    }
    let now = micros(p.now);
    let queues = known_queues(r, OP).await?;
    // Per queue: how many jobs are leased (layout 2's leases hash, which the script reads
    // whole: it holds only jobs in flight; less its pin field, `LEASES_PIN` in lib.lua) and how
    // many expired leases a layout-1 process left in the running zset (docs/redis-keys.md,
    // "Migration 1 → 2").
    let calls = queues
        .iter()
        .flat_map(|q| {
            [
                Call::queue(q, redis::cmd("HLEN").arg(Q::Leases.key(q)).to_owned()),
                Call::queue(
                    q,
                    redis::cmd("HEXISTS")
                        .arg(Q::Leases.key(q))
                        .arg(LEASES_PIN)
                        .to_owned(),
                ),
                Call::queue(
                    q,
                    redis::cmd("ZCOUNT")
                        .arg(Q::Running.key(q))
                        .arg("-inf")
                        .arg(format!("({now}"))
                        .to_owned(),
                ),
            ]
        })
        .collect();
    let replies = r.run(OP, calls).await?;
    let mut counts = Vec::with_capacity(queues.len());
    for three in replies.chunks(3) {
        let mut n = [0; 3];
        for (n, v) in n.iter_mut().zip(three) {
            *n = int(&ok(r, OP, v.clone())?).unwrap_or(0);
        }
        // leases less the pin field, plus layout 1's expired ones
        counts.push(n[0] - n[1] + n[2]);
    }
    let now_text = p.now.to_string();
    for (q, c) in queues.iter().zip(counts) {
        let left = u64::from(p.limit).saturating_sub(out.len() as u64);
        if left == 0 {
            break;
        }
        if c == 0 {
            continue;
        }
        let mut call = r.script(&JOB_RESCUE_EXPIRED, q);
        call.arg(now).arg(&now_text).arg(left);
        let v = ok(
            r,
            OP,
            r.run(OP, vec![call]).await?.pop().unwrap_or_default(),
        )?;
        let f = items(v.clone()).ok_or_else(|| bad_reply(OP, "4 entries per job", &v))?;
        if f.len() % 4 != 0 {
            return Err(bad_reply(OP, "4 entries per job", &v));
        }
        for e in f.chunks(4) {
            let bad = || bad_reply(OP, "id, kind, attempt, state", &v);
            out.push(Rescued {
                id: text(&e[0])
                    .and_then(|s| JobId::parse(s).ok())
                    .ok_or_else(bad)?,
                queue: q.clone(),
                kind: text(&e[1])
                    .and_then(|s| Kind::parse(s).ok())
                    .ok_or_else(bad)?,
                attempt: int(&e[2])
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(bad)?,
                state: text(&e[3])
                    .and_then(|s| JobState::parse(s).ok())
                    .ok_or_else(bad)?,
            });
        }
    }
    Ok(out)
}
