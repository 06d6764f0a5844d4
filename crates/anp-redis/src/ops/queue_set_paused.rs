//! `queue_set_paused`: `SADD anp:queues` and one `queue_set_paused.lua` call, pipelined.

use anp_core::{QueueName, Result};
use jiff::Timestamp;

use crate::conn::Redis;
use crate::ops::{ok, register_queues};
use crate::scripts::QUEUE_SET_PAUSED;

const OP: &str = "queue_set_paused";

/// Done. `_now` is not kept: the pause flag is all Redis stores.
pub(crate) async fn run(r: &Redis, queue: QueueName, paused: bool, _now: Timestamp) -> Result<()> {
    let mut call = r.script(&QUEUE_SET_PAUSED, &queue);
    call.arg(if paused { "1" } else { "0" });
    for v in r.run(OP, vec![register_queues([&queue]), call]).await? {
        ok(r, OP, v)?;
    }
    Ok(())
}
