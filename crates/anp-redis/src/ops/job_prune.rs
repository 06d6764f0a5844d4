//! `job_prune`: `job_prune.lua` on each queue in turn, within the overall limit.

use anp_core::job::ts_sub;
use anp_core::store::JobPruneParams;
use anp_core::Result;

use crate::conn::Redis;
use crate::ops::{known_queues, micros, ok};
use crate::record::int;
use crate::scripts::JOB_PRUNE;

const OP: &str = "job_prune";

/// How many jobs were deleted.
pub(crate) async fn run(r: &Redis, p: JobPruneParams) -> Result<u64> {
    let mut deleted = 0u64;
    if p.limit == 0 {
        return Ok(0);
    }
    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    for q in known_queues(r, OP).await? {
        let left = u64::from(p.limit).saturating_sub(deleted);
        if left == 0 {
            break;
        }
        let mut call = r.script(&JOB_PRUNE, &q);
        call.arg(micros(ts_sub(p.now, p.finished_max_age)))
            .arg(count(p.finished_max_count))
            .arg(micros(ts_sub(p.now, p.dead_max_age)))
            .arg(count(p.dead_max_count))
            .arg(left);
        let v = ok(
            r,
            OP,
            r.run(OP, vec![call]).await?.pop().unwrap_or_default(),
        )?;
        deleted += int(&v).and_then(|n| u64::try_from(n).ok()).unwrap_or(0);
    }
    Ok(deleted)
}
