//! `queue_list`: one read-only `queue_list.lua` call per known queue, pipelined.

use std::collections::BTreeMap;

use anp_core::job::ts_from_micros;
use anp_core::store::QueueInfo;
use anp_core::{JobState, Result};

use crate::conn::Redis;
use crate::ops::{known_queues, ok};
use crate::record::{bad_reply, int, items, text};
use crate::scripts::QUEUE_LIST;

const OP: &str = "queue_list";

/// The order of the counts in the reply (the script's KEYS[2..8]).
const STATES: [JobState; 7] = [
    JobState::Scheduled,
    JobState::Available,
    JobState::Running,
    JobState::Completed,
    JobState::Retryable,
    JobState::Dead,
    JobState::Cancelled,
];

/// Queues that hold jobs or were paused or resumed, by name.
pub(crate) async fn run(r: &Redis) -> Result<Vec<QueueInfo>> {
    let queues = known_queues(r, OP).await?;
    let calls = queues.iter().map(|q| r.script(&QUEUE_LIST, q)).collect();
    let replies = r.run(OP, calls).await?;
    let mut out = Vec::with_capacity(queues.len());
    for (q, v) in queues.into_iter().zip(replies) {
        let v = ok(r, OP, v)?;
        let f = items(v.clone()).ok_or_else(|| bad_reply(OP, "9 entries", &v))?;
        if f.len() != 9 {
            return Err(bad_reply(OP, "9 entries", &v));
        }
        let paused = text(&f[0]).unwrap_or("");
        let mut counts = BTreeMap::new();
        for (st, c) in STATES.iter().zip(&f[1..8]) {
            counts.insert(*st, int(c).and_then(|n| u64::try_from(n).ok()).unwrap_or(0));
        }
        let total: u64 = counts.values().sum();
        if total == 0 && paused.is_empty() {
            continue;
        }
        out.push(QueueInfo {
            queue: q,
            paused: paused == "1",
            counts,
            oldest_available_at: int(&f[8]).map(ts_from_micros),
        });
    }
    Ok(out)
}
