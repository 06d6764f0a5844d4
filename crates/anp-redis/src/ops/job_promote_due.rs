//! `job_promote_due`: counts due jobs in every queue in one pipelined round trip, then runs
//! `job_promote_due.lua` on the queues that have some, within the limit.

use anp_core::store::JobPromoteParams;
use anp_core::Result;

use crate::conn::{Call, Redis};
use crate::keys::Q;
use crate::ops::{known_queues, micros, ok};
use crate::record::int;
use crate::scripts::JOB_PROMOTE_DUE;

const OP: &str = "job_promote_due";

/// How many jobs became available.
pub(crate) async fn run(r: &Redis, p: JobPromoteParams) -> Result<u64> {
    if p.limit == 0 {
        return Ok(0);
    }
    let now = micros(p.now);
    let queues = known_queues(r, OP).await?;
    let mut calls = Vec::with_capacity(queues.len() * 2);
    for q in &queues {
        for z in [Q::Scheduled, Q::Retryable] {
            calls.push(Call::queue(
                q,
                redis::cmd("ZCOUNT")
                    .arg(z.key(q))
                    .arg("-inf")
                    .arg(now)
                    .to_owned(),
            ));
        }
    }
    let counts = r.run(OP, calls).await?;
    let mut promoted = 0u64;
    for (q, c) in queues.iter().zip(counts.chunks(2)) {
        let left = u64::from(p.limit).saturating_sub(promoted);
        if left == 0 {
            break;
        }
        let mut due = 0;
        for v in c {
            due += int(&ok(r, OP, v.clone())?).unwrap_or(0);
        }
        if due == 0 {
            continue;
        }
        let mut call = r.script(&JOB_PROMOTE_DUE, q);
        call.arg(now).arg(left);
        let v = ok(
            r,
            OP,
            r.run(OP, vec![call]).await?.pop().unwrap_or_default(),
        )?;
        promoted += int(&v).and_then(|n| u64::try_from(n).ok()).unwrap_or(0);
    }
    Ok(promoted)
}
