//! `stats_record`: per-minute stats in each queue's `anp:{<queue>}:stats` hash (counters
//! `<minute_us>:<kind>:<counter>`) and `anp:{<queue>}:stat_minutes` zset (buckets
//! `<minute_us>:<kind>` by minute). Enqueues and acks count in their own scripts.

use std::collections::BTreeMap;

use anp_core::monitor::{StatCounts, StatsRecordParams};
use anp_core::{Kind, QueueName, Result};

use crate::conn::{Call, Redis};
use crate::ops::stats_histogram::BUCKETS;
use crate::ops::{known_queues, micros, ok, register_queues};
use crate::scripts::STATS_RECORD;

/// `stats_record`: one `stats_record.lua` call per queue with deltas (or, with
/// `prune_before`, per known queue), pipelined after an `SADD anp:queues`.
pub(crate) async fn run(r: &Redis, p: StatsRecordParams) -> Result<()> {
    const OP: &str = "stats_record";
    let mut per_queue: BTreeMap<QueueName, Vec<(i64, Kind, String, i64)>> = BTreeMap::new();
    for (k, d) in &p.deltas {
        let incs = increments(d);
        if incs.is_empty() {
            continue;
        }
        let list = per_queue.entry(k.queue.clone()).or_default();
        for (counter, n) in incs {
            list.push((micros(k.minute), k.kind.clone(), counter, n));
        }
    }
    if let Some(_before) = p.prune_before {
        for q in known_queues(r, OP).await? {
            per_queue.entry(q).or_default();
        }
    }
    if per_queue.is_empty() {
        return Ok(());
    }
    let prune = p
        .prune_before
        .map(|t| micros(t).to_string())
        .unwrap_or_default();
    let mut calls = Vec::with_capacity(per_queue.len() + 1);
    let with_deltas: Vec<&QueueName> = per_queue
        .iter()
        .filter(|(_, l)| !l.is_empty())
        .map(|(q, _)| q)
        .collect();
    if !with_deltas.is_empty() {
        calls.push(register_queues(with_deltas));
    }
    for (q, list) in &per_queue {
        calls.push(call(
            r,
            q,
            &prune,
            list.iter()
                .map(|(minute, kind, counter, n)| (*minute, kind.as_str(), counter.as_str(), *n)),
        ));
    }
    for v in r.run(OP, calls).await? {
        ok(r, OP, v)?;
    }
    Ok(())
}

/// One `stats_record.lua` call on `queue`: `prune` (µs as text, `''` for none), then each
/// increment as (minute µs, kind, counter, amount).
pub(crate) fn call<'a, A: redis::ToRedisArgs>(
    r: &Redis,
    queue: &QueueName,
    prune: &str,
    incs: impl ExactSizeIterator<Item = (i64, &'a str, &'a str, A)>,
) -> Call {
    let mut call = r.script(&STATS_RECORD, queue);
    call.arg(prune).arg(incs.len());
    for (minute, kind, counter, n) in incs {
        call.arg(minute).arg(kind).arg(counter).arg(n);
    }
    call
}

fn amount(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The counters of one delta that are not zero, as (counter, amount).
fn increments(c: &StatCounts) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for (name, n) in [
        ("enqueued", c.enqueued),
        ("completed", c.completed),
        ("failed", c.failed),
        ("dead", c.dead),
    ] {
        if n > 0 {
            out.push((name.to_owned(), amount(n)));
        }
    }
    for (name, h) in [("run", &c.run), ("wait", &c.wait)] {
        for (i, n) in h.counts.iter().enumerate() {
            if *n > 0 {
                out.push((format!("{name}:{}", i.min(BUCKETS - 1)), amount(*n)));
            }
        }
        if h.sum_us > 0 {
            out.push((format!("{name}_sum_us"), amount(h.sum_us)));
        }
    }
    out
}
