//! `queue_purge`: one `queue_purge.lua` call on the queue's slot (the queue is named, so no
//! lookup of known queues is needed; a queue the store never saw has empty zsets and deletes
//! nothing).

use anp_core::store::QueuePurgeParams;
use anp_core::{Error, Result};

use crate::conn::Redis;
use crate::ops::{anp_error, ok};
use crate::record::{bad_reply, int};
use crate::scripts::QUEUE_PURGE;

const OP: &str = QueuePurgeParams::OP;

/// How many jobs were deleted.
pub(crate) async fn run(r: &Redis, p: QueuePurgeParams) -> Result<u64> {
    let states = p.checked_states()?;
    let mut call = r.script(&QUEUE_PURGE, &p.queue);
    call.arg(p.limit);
    for s in &states {
        call.arg(s.as_str());
    }
    let v = r.run(OP, vec![call]).await?.pop().unwrap_or_default();
    if let Some(("ANP_INVALID", detail)) = anp_error(&v) {
        return Err(Error::invalid(
            OP,
            format!(
                "the store refused {:?} for queue {}: expected a limit of at least 1 and states \
                 that are not running",
                detail.trim(),
                p.queue
            ),
        ));
    }
    let v = ok(r, OP, v)?;
    int(&v)
        .and_then(|n| u64::try_from(n).ok())
        .ok_or_else(|| bad_reply(OP, "a count of deleted jobs", &v))
}
