//! `schedule_set_paused`: sets the pause flag of an existing schedule.

use anp_core::schedule::ScheduleName;
use anp_core::Result;
use jiff::Timestamp;

use crate::conn::Redis;
use crate::ops::schedule_hash::{not_found, queue_of};
use crate::ops::{anp_error, micros, ok};
use crate::scripts::SCHEDULE_SET_PAUSED;

/// `schedule_set_paused`: one `schedule_set_paused.lua` call.
pub(crate) async fn run(r: &Redis, name: ScheduleName, paused: bool, now: Timestamp) -> Result<()> {
    const OP: &str = "schedule_set_paused";
    let Some(q) = queue_of(r, OP, &name).await? else {
        return Err(not_found(OP, &name));
    };
    let mut call = r.schedule_script(&SCHEDULE_SET_PAUSED, &q, &name);
    call.arg(if paused { "1" } else { "0" }).arg(micros(now));
    let v = r.run_one(OP, call).await?;
    if let Some(("ANP_NOT_FOUND", _)) = anp_error(&v) {
        return Err(not_found(OP, &name));
    }
    ok(r, OP, v)?;
    Ok(())
}
