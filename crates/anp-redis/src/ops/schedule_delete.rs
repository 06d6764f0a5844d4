//! `schedule_delete`: removes a schedule and its fire log.

use anp_core::schedule::ScheduleName;
use anp_core::Result;

use crate::conn::{Call, Redis};
use crate::keys;
use crate::ops::ok;
use crate::ops::schedule_hash::{del_keys, not_found, queue_of};

/// `schedule_delete`: `DEL` of the schedule's keys and `HDEL anp:schedules`.
pub(crate) async fn run(r: &Redis, name: ScheduleName) -> Result<()> {
    const OP: &str = "schedule_delete";
    let Some(q) = queue_of(r, OP, &name).await? else {
        return Err(not_found(OP, &name));
    };
    ok(r, OP, r.run_one(OP, del_keys(&q, &name)).await?)?;
    let hdel = Call::global(
        redis::cmd("HDEL")
            .arg(keys::SCHEDULES)
            .arg(name.as_str())
            .to_owned(),
    );
    ok(r, OP, r.run_one(OP, hdel).await?)?;
    Ok(())
}
