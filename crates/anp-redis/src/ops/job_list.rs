//! `job_list`: the read-only `job_list.lua` on each queue (pipelined), newest first; queues
//! whose scan budget ran out before `limit` matches are asked again from their cursor. The
//! per-queue lists are merged by id.

use anp_core::store::JobListParams;
use anp_core::{Job, QueueName, Result};

use crate::conn::Redis;
use crate::ops::{known_queues, ok};
use crate::record::{self, bad_reply, items, text};
use crate::scripts::JOB_LIST;

const OP: &str = "job_list";

/// Ids one script call examines at most (keeps each call around a few milliseconds).
const BUDGET: u32 = 10_000;

struct Pending {
    queue: QueueName,
    before: String,
    found: u32,
}

/// Matching jobs, newest first.
pub(crate) async fn run(r: &Redis, p: JobListParams) -> Result<Vec<Job>> {
    if p.limit == 0 {
        return Ok(Vec::new());
    }
    let queues = match &p.queue {
        Some(q) => vec![q.clone()],
        None => known_queues(r, OP).await?,
    };
    let mut states: Vec<&str> = p.states.iter().map(|s| s.as_str()).collect();
    states.sort_unstable();
    states.dedup();
    let states = states.join(" ");
    let kind = p.kind.as_ref().map(|k| k.as_str()).unwrap_or("");
    let before = p.before.map(|id| id.to_string()).unwrap_or_default();
    let mut pending: Vec<Pending> = queues
        .into_iter()
        .map(|queue| Pending {
            queue,
            before: before.clone(),
            found: 0,
        })
        .collect();
    let mut out: Vec<Job> = Vec::new();
    while !pending.is_empty() {
        let calls = pending
            .iter()
            .map(|q| {
                let mut call = r.script(&JOB_LIST, &q.queue);
                call.arg(&q.before)
                    .arg(p.limit - q.found)
                    .arg(kind)
                    .arg(&states)
                    .arg(BUDGET);
                call
            })
            .collect();
        let replies = r.run(OP, calls).await?;
        let mut next = Vec::new();
        for (mut q, v) in pending.into_iter().zip(replies) {
            let v = ok(r, OP, v)?;
            let mut f = items(v.clone())
                .ok_or_else(|| bad_reply(OP, "a cursor and jobs", &v))?
                .into_iter();
            let cursor = f
                .next()
                .as_ref()
                .and_then(text)
                .map(str::to_owned)
                .ok_or_else(|| bad_reply(OP, "a cursor and jobs", &v))?;
            for j in f {
                out.push(record::job(&q.queue, j)?);
                q.found += 1;
            }
            if !cursor.is_empty() && q.found < p.limit {
                q.before = cursor;
                next.push(q);
            }
        }
        pending = next;
    }
    out.sort_by_key(|j| std::cmp::Reverse(j.id));
    out.truncate(p.limit as usize);
    Ok(out)
}
