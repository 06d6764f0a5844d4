//! `job_retry_dead`: `job_retry_dead.lua` on each matching queue in turn, within the limit.

use anp_core::store::JobRetryDeadParams;
use anp_core::Result;

use crate::conn::Redis;
use crate::ops::{known_queues, micros, ok};
use crate::record::int;
use crate::scripts::JOB_RETRY_DEAD;

const OP: &str = "job_retry_dead";

/// How many jobs were revived.
pub(crate) async fn run(r: &Redis, p: JobRetryDeadParams) -> Result<u64> {
    let queues = match p.queue {
        Some(q) => vec![q],
        None => known_queues(r, OP).await?,
    };
    let mut revived = 0u64;
    for q in queues {
        let left = u64::from(p.limit).saturating_sub(revived);
        if left == 0 {
            break;
        }
        let mut call = r.script(&JOB_RETRY_DEAD, &q);
        call.arg(micros(p.now))
            .arg(left)
            .arg(p.kind.as_ref().map(|k| k.as_str()).unwrap_or(""));
        let v = ok(
            r,
            OP,
            r.run(OP, vec![call]).await?.pop().unwrap_or_default(),
        )?;
        revived += int(&v).and_then(|n| u64::try_from(n).ok()).unwrap_or(0);
    }
    Ok(revived)
}
