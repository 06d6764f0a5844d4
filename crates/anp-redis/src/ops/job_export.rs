//! `job_export`: each known queue read as of one instant, in short steps, while workers run.
//!
//! Per queue: `job_export_begin.lua` opens the export (from then on every script that changes
//! a job of the queue first copies it, as it was, into `anp:{<queue>}:export`: copy-on-write
//! in `lua/lib.lua`); `job_export_page.lua` walks the queue's ids a step at a time and returns
//! each job's pre-image when it changed since the export began; `job_export_end.lua` stops the
//! copying; the pre-images of jobs the scan never saw (deleted meanwhile) are then read from
//! the frozen export hash, and the hash is deleted. No step holds Redis for longer than one
//! page. Queues are exported one after another, so the export is consistent per queue.

use std::collections::{BTreeMap, HashSet};

use anp_core::store::{ExportSink, JobExportParams};
use anp_core::{Error, JobId, QueueName, Result};
use redis::Value;

use crate::conn::{Call, Redis};
use crate::keys::Q;
use crate::ops::{anp_error, known_queues, ok};
use crate::record::{self, bad_reply, items, text};
use crate::scripts::{JOB_EXPORT_BEGIN, JOB_EXPORT_END, JOB_EXPORT_PAGE};

const OP: &str = "job_export";

/// The export hash expires when the exporter has not touched it for this long.
const TTL_MS: u64 = 60_000;

/// Jobs read per `job_export_page.lua` call at most: about 1 ms of Redis time (measured: ~12 µs
/// per job with 100-byte args on a busy 2-core VM), about what two fetches of a batch of 50 take.
const STEP_MAX: u32 = 100;

/// Exports every known queue in turn.
pub(crate) async fn run(r: &Redis, p: JobExportParams, sink: &mut ExportSink<'_>) -> Result<u64> {
    let page = p.page.clamp(1, STEP_MAX);
    let mut n = 0;
    for queue in known_queues(r, OP).await? {
        n += queue_export(r, &queue, page, sink).await?;
    }
    Ok(n)
}

async fn queue_export(
    r: &Redis,
    queue: &QueueName,
    page: u32,
    sink: &mut ExportSink<'_>,
) -> Result<u64> {
    let token = format!("{:032x}", rand::random::<u128>());
    let mut begin = r.script(&JOB_EXPORT_BEGIN, queue);
    begin.arg(&token).arg(TTL_MS);
    let v = r.run_one(OP, begin).await?;
    if let Some(("ANP_CONFLICT", holder)) = anp_error(&v) {
        return Err(Error::conflict(
            OP,
            format!(
                "queue {queue} is being exported by another backup ({holder}): retry when it \
                 ends (its export key anp:{{{queue}}}:export expires {}s after its last step)",
                TTL_MS / 1000
            ),
        ));
    }
    ok(r, OP, v)?;
    let result = scan(r, queue, &token, page, sink).await;
    if result.is_err() {
        // Best effort: stop the copying now rather than at the expiry.
        let _ = r
            .run_one(
                OP,
                Call::queue(
                    queue,
                    redis::cmd("UNLINK").arg(Q::Export.key(queue)).to_owned(),
                ),
            )
            .await;
    }
    result
}

/// Splits a `{cursor, items}` reply (the page script's and HSCAN's).
fn cursor_and_items(v: Value, what: &str) -> Result<(String, Vec<Value>)> {
    let bad = || bad_reply(OP, what, &v);
    let mut parts = items(v.clone()).filter(|p| p.len() == 2).ok_or_else(bad)?;
    let list = items(parts.pop().unwrap_or_default()).ok_or_else(bad)?;
    let cursor = parts.first().and_then(text).ok_or_else(bad)?.to_owned();
    Ok((cursor, list))
}

fn lost(queue: &QueueName) -> Error {
    Error::unavailable(
        OP,
        format!(
            "the export of queue {queue} was interrupted: its key expired (a step took over {}s) \
             or was deleted; nothing was changed, retry the backup",
            TTL_MS / 1000
        ),
    )
}

async fn scan(
    r: &Redis,
    queue: &QueueName,
    token: &str,
    page: u32,
    sink: &mut ExportSink<'_>,
) -> Result<u64> {
    let mut seen: HashSet<JobId> = HashSet::new();
    let mut n = 0;
    let mut cursor = String::new();
    loop {
        let mut call = r.script(&JOB_EXPORT_PAGE, queue);
        call.arg(token).arg(TTL_MS).arg(&cursor).arg(page);
        let v = r.run_one(OP, call).await?;
        if let Some(("ANP_EXPORT_LOST", _)) = anp_error(&v) {
            return Err(lost(queue));
        }
        let list;
        (cursor, list) = cursor_and_items(ok(r, OP, v)?, "{cursor, jobs}")?;
        let mut jobs = Vec::with_capacity(list.len());
        for j in list {
            let job = record::job(queue, j)?;
            if seen.insert(job.id) {
                jobs.push(job);
            }
        }
        n += jobs.len() as u64;
        if !jobs.is_empty() {
            sink(jobs)?;
        }
        if cursor.is_empty() {
            break;
        }
    }
    let mut end = r.script(&JOB_EXPORT_END, queue);
    end.arg(token).arg(TTL_MS);
    let v = r.run_one(OP, end).await?;
    if let Some(("ANP_EXPORT_LOST", _)) = anp_error(&v) {
        return Err(lost(queue));
    }
    ok(r, OP, v)?;
    n += deleted_meanwhile(r, queue, page, &seen, sink).await?;
    r.run_one(
        OP,
        Call::queue(
            queue,
            redis::cmd("UNLINK").arg(Q::Export.key(queue)).to_owned(),
        ),
    )
    .await?;
    Ok(n)
}

/// The pre-images of jobs that existed when the export began but that the scan did not see
/// (deleted or pruned meanwhile), read from the export hash, which no longer changes.
async fn deleted_meanwhile(
    r: &Redis,
    queue: &QueueName,
    page: u32,
    seen: &HashSet<JobId>,
    sink: &mut ExportSink<'_>,
) -> Result<u64> {
    let mut fields: BTreeMap<String, Value> = BTreeMap::new();
    let mut cursor = "0".to_owned();
    loop {
        let v = r
            .run_one(
                OP,
                Call::queue(
                    queue,
                    redis::cmd("HSCAN")
                        .arg(Q::Export.key(queue))
                        .arg(&cursor)
                        .arg("COUNT")
                        .arg(u64::from(page) * 3)
                        .to_owned(),
                ),
            )
            .await?;
        let flat;
        (cursor, flat) = cursor_and_items(ok(r, OP, v)?, "{cursor, fields}")?;
        let mut it = flat.into_iter();
        while let (Some(k), Some(val)) = (it.next(), it.next()) {
            if let Some(k) = text(&k) {
                let id_part = k.split(':').next().unwrap_or(k);
                let unseen = JobId::parse(id_part).is_ok_and(|id| !seen.contains(&id));
                if unseen {
                    fields.insert(k.to_owned(), val);
                }
            }
        }
        if cursor == "0" {
            break;
        }
    }
    let mut jobs = Vec::new();
    let mut n = 0;
    for (k, rec) in &fields {
        if k.contains(':') || text(rec) == Some("-") {
            continue;
        }
        let get = |suffix: &str| {
            fields
                .get(&format!("{k}:{suffix}"))
                .cloned()
                .unwrap_or(Value::Nil)
        };
        let reply = Value::Array(vec![
            Value::BulkString(k.clone().into_bytes()),
            rec.clone(),
            get("args"),
            get("errors"),
            get("unique"),
        ]);
        jobs.push(record::job(queue, reply)?);
        if jobs.len() >= page as usize {
            n += jobs.len() as u64;
            sink(std::mem::take(&mut jobs))?;
        }
    }
    if !jobs.is_empty() {
        n += jobs.len() as u64;
        sink(jobs)?;
    }
    Ok(n)
}
