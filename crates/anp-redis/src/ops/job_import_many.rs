//! `job_import_many`: jobs from a backup, grouped by queue, one `job_import_many.lua` call per
//! chunk of [`CHUNK`] jobs of one queue, all pipelined after one `SADD anp:queues`.

use anp_core::{Error, Job, Result};

use crate::conn::Redis;
use crate::ops::{by_queue, layout_reply, micros, ok, register_queues};
use crate::record::{bad_reply, int};
use crate::scripts::JOB_IMPORT_MANY;

const OP: &str = "job_import_many";

/// Jobs per script call (as for `job_enqueue_many`).
const CHUNK: usize = crate::ops::job_enqueue_many::CHUNK;

fn opt_micros(t: Option<jiff::Timestamp>) -> String {
    t.map_or_else(|| "-".to_owned(), |t| micros(t).to_string())
}

/// How many jobs were added (existing ids are left alone).
pub(crate) async fn run(r: &Redis, jobs: Vec<Job>) -> Result<u64> {
    if jobs.is_empty() {
        return Ok(0);
    }
    let groups = by_queue(&jobs, |j| &j.queue);
    let mut calls = vec![register_queues(groups.iter().map(|(q, _)| *q))];
    for (queue, idx) in &groups {
        for chunk in idx.chunks(CHUNK) {
            let mut call = r.script(&JOB_IMPORT_MANY, queue);
            call.arg(chunk.len());
            for &i in chunk {
                let j = &jobs[i];
                let errors = if j.errors.is_empty() {
                    String::new()
                } else {
                    serde_json::to_string(&j.errors).map_err(|e| {
                        Error::internal(OP, format!("cannot encode the history of {}: {e}", j.id))
                    })?
                };
                call.arg(j.id.text())
                    .arg(j.kind.as_str())
                    .arg(j.args.as_json())
                    .arg(j.state.as_str())
                    .arg(j.priority)
                    .arg(j.attempt)
                    .arg(j.max_attempts)
                    .arg(micros(j.run_at))
                    .arg(micros(j.created_at))
                    .arg(opt_micros(j.attempted_at))
                    .arg(opt_micros(j.finalized_at))
                    .arg(j.unique_key.as_deref().unwrap_or(""))
                    .arg(j.lease_owner.as_deref().unwrap_or(""))
                    .arg(opt_micros(j.lease_expires_at))
                    .arg(
                        j.lease_token
                            .map_or_else(|| "-".to_owned(), |t| t.to_string()),
                    )
                    .arg(errors);
            }
            calls.push(call);
        }
    }
    let mut replies = r.run(OP, calls).await?.into_iter();
    if let Some(v) = replies.next() {
        ok(r, OP, v)?;
    }
    let mut added = 0u64;
    for v in replies {
        let v = layout_reply(r, OP, "the batch", v)?;
        let n = int(&v).ok_or_else(|| bad_reply(OP, "the number of jobs added", &v))?;
        added += u64::try_from(n).map_err(|_| bad_reply(OP, "a count", &v))?;
    }
    Ok(added)
}
