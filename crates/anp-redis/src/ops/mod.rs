//! One module per [`Store`](anp_core::Store) method, named after it: `run`, what the `Store`
//! impl calls (in the span `anp.store.<method>`), sends the calls (its script in
//! `lua/<method>.lua`, or plain commands for reads) and reads the replies. Two modules are not
//! methods but what several share: `schedule_hash` (where a schedule lives, reading its hash)
//! and `stats_histogram` (how the stats hash stores a histogram). The helpers below serve
//! every op.

pub(crate) mod audit_list;
pub(crate) mod audit_record;
pub(crate) mod cache_count_tagged;
pub(crate) mod cache_delete;
pub(crate) mod cache_generation_move;
pub(crate) mod cache_lease_acquire;
pub(crate) mod cache_lease_release;
pub(crate) mod cache_lease_renew;
pub(crate) mod cache_namespace_list;
pub(crate) mod cache_namespace_register;
pub(crate) mod cache_prune;
pub(crate) mod cache_publish;
pub(crate) mod cache_purge_prefix;
pub(crate) mod cache_purge_tags;
pub(crate) mod cache_read;
pub(crate) mod cache_stats_query;
pub(crate) mod cache_stats_record;
pub(crate) mod cache_tag_versions;
pub(crate) mod cache_usage;
pub(crate) mod cache_watch;
pub(crate) mod cache_write;
pub(crate) mod deploy_list;
pub(crate) mod deploy_mark;
pub(crate) mod job_ack_many;
pub(crate) mod job_cancel;
pub(crate) mod job_delete;
pub(crate) mod job_enqueue_many;
pub(crate) mod job_export;
pub(crate) mod job_fetch;
pub(crate) mod job_get;
pub(crate) mod job_heartbeat_many;
pub(crate) mod job_import_many;
pub(crate) mod job_list;
pub(crate) mod job_promote_due;
pub(crate) mod job_prune;
pub(crate) mod job_rescue_expired;
pub(crate) mod job_retry;
pub(crate) mod job_retry_dead;
pub(crate) mod job_wait;
pub(crate) mod process_heartbeat;
pub(crate) mod process_list;
pub(crate) mod process_remove;
pub(crate) mod queue_list;
pub(crate) mod queue_purge;
pub(crate) mod queue_set_paused;
pub(crate) mod schedule_claim_tick;
pub(crate) mod schedule_delete;
pub(crate) mod schedule_get;
pub(crate) mod schedule_hash;
pub(crate) mod schedule_list;
pub(crate) mod schedule_set_paused;
pub(crate) mod schedule_sync;
pub(crate) mod schedule_trigger;
pub(crate) mod stats_histogram;
pub(crate) mod stats_query;
pub(crate) mod stats_record;
pub(crate) mod store_ping;

use anp_core::{Error, Job, JobId, QueueName, Result};
use redis::Value;

use crate::conn::{Call, Redis};
use crate::keys;
use crate::record::{self, items, text};

/// `job <id> not found: expected the id of an existing job (it may have been pruned)`.
pub(crate) fn not_found(op: &str, id: JobId) -> Error {
    Error::not_found(
        op,
        format!("job {id} not found: expected the id of an existing job (it may have been pruned)"),
    )
}

/// Every queue that ever held a job or was paused, by name.
pub(crate) async fn known_queues(r: &Redis, op: &str) -> Result<Vec<QueueName>> {
    let v = r
        .run_one(
            op,
            Call::global(redis::cmd("SMEMBERS").arg(keys::QUEUES).to_owned()),
        )
        .await?;
    let mut out: Vec<QueueName> = items(v)
        .unwrap_or_default()
        .iter()
        .filter_map(|v| text(v).and_then(|s| QueueName::parse(s).ok()))
        .collect();
    out.sort();
    Ok(out)
}

/// `SADD anp:queues <queue>…`: makes queues visible to listing and maintenance. Idempotent,
/// and always sent with (before, in the same pipeline) the first write to a queue.
pub(crate) fn register_queues<'a>(queues: impl IntoIterator<Item = &'a QueueName>) -> Call {
    let mut cmd = redis::cmd("SADD");
    cmd.arg(keys::QUEUES);
    for q in queues {
        cmd.arg(q.as_str());
    }
    Call::global(cmd)
}

/// `job_get.lua` for job `id` of `queue`: `{id, record merged with its lease, args, errors,
/// unique key}`, the record nil when the queue holds no such job.
pub(crate) fn job_get_call(r: &Redis, queue: &QueueName, id: &str) -> Call {
    let mut call = r.script(&crate::scripts::JOB_GET, queue);
    call.arg(id);
    call
}

/// The job with this id, looked up in every known queue at once (job ids are unique across
/// queues) with `job_get.lua` (the record merged with the job's lease); `None` if no queue
/// holds it.
pub(crate) async fn find(r: &Redis, op: &str, id: JobId) -> Result<Option<Job>> {
    let queues = known_queues(r, op).await?;
    let id_text = id.to_string();
    let calls = queues
        .iter()
        .map(|q| job_get_call(r, q, &id_text))
        .collect();
    let replies = r.run(op, calls).await?;
    for (q, v) in queues.iter().zip(replies) {
        let v = ok(r, op, v)?;
        let found =
            matches!(&v, Value::Array(f) if f.get(1).is_some_and(|rec| !matches!(rec, Value::Nil)));
        if found {
            return record::job(q, v).map(Some);
        }
    }
    Ok(None)
}

/// The reply, or its error as the store's error.
pub(crate) fn ok(r: &Redis, op: &str, v: Value) -> Result<Value> {
    match v {
        Value::ServerError(e) => Err(r.error(op, e.into())),
        v => Ok(v),
    }
}

/// The reply of a script whose `ANP_*` errors all mean a key layout it cannot read (a batch
/// of jobs, a schedule's claim): the value, or an `Incompatible` error naming `what` the store
/// refused; any other error reply as [`ok`] gives it.
pub(crate) fn layout_reply(r: &Redis, op: &str, what: &str, v: Value) -> Result<Value> {
    if let Some((code, detail)) = anp_error(&v) {
        return Err(Error::incompatible(
            op,
            format!(
                "store {} refused {what} ({code} {detail}): expected the alphanode key layout",
                r.target()
            ),
        ));
    }
    ok(r, op, v)
}

/// A script's `ANP_*` error reply as (code, detail), if `v` is one.
pub(crate) fn anp_error(v: &Value) -> Option<(&str, &str)> {
    match v {
        Value::ServerError(e) if e.code().starts_with("ANP_") => {
            Some((e.code(), e.details().unwrap_or("")))
        }
        _ => None,
    }
}

/// The reply of a script that changes one job (`ANP_NOT_FOUND` / `ANP_CONFLICT <state>`
/// errors): the value, or the error, the conflict worded by `conflict(state)`.
pub(crate) fn one_job_reply(
    r: &Redis,
    op: &str,
    id: JobId,
    v: Value,
    conflict: impl FnOnce(&str) -> String,
) -> Result<Value> {
    match anp_error(&v) {
        Some(("ANP_NOT_FOUND", _)) => Err(not_found(op, id)),
        Some(("ANP_CONFLICT", state)) => Err(Error::conflict(op, conflict(state.trim()))),
        Some(_) => Err(ok(r, op, v)
            .err()
            .unwrap_or_else(|| Error::internal(op, "unexpected error reply"))),
        None => ok(r, op, v),
    }
}

/// The input positions grouped by queue, in first-seen order of the queues.
pub(crate) fn by_queue<'a, T>(
    items: &'a [T],
    queue: impl Fn(&T) -> &QueueName,
) -> Vec<(&'a QueueName, Vec<usize>)>
where
    T: 'a,
{
    let mut groups: Vec<(&QueueName, Vec<usize>)> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let q = queue(item);
        match groups.iter_mut().find(|(g, _)| *g == q) {
            Some((_, idx)) => idx.push(i),
            None => groups.push((q, vec![i])),
        }
    }
    groups
}

/// µs since the epoch, as both backends store time.
pub(crate) fn micros(t: jiff::Timestamp) -> i64 {
    anp_core::job::ts_micros(t)
}

/// A duration as whole milliseconds for `PX` / `PEXPIRE`: at least 1 (0 is refused by Redis).
pub(crate) fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis())
        .unwrap_or(u64::MAX)
        .clamp(1, i64::MAX as u64)
}

/// A cache generation or tag version read from `key`: nil (absent or expired) is 0.
pub(crate) fn cache_counter(op: &str, key: &str, v: &Value) -> Result<u64> {
    if matches!(v, Value::Nil) {
        return Ok(0);
    }
    record::text(v)
        .and_then(|t| t.parse::<u64>().ok())
        .ok_or_else(|| {
            Error::incompatible(
                op,
                format!(
                    "{key} holds {v:?}: expected a decimal number (docs/redis-keys.md); it was \
                     not written by alphanode"
                ),
            )
        })
}
