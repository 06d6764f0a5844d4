//! `stats_record`, `stats_query`: per-minute stats in each queue's `anp:{<queue>}:stats` hash
//! (counters `<minute_us>:<kind>:<counter>`) and `anp:{<queue>}:stat_minutes` zset (buckets
//! `<minute_us>:<kind>` by minute). Enqueues and acks count in their own scripts; this module
//! also holds the bucket helpers they use.

use std::collections::BTreeMap;
use std::time::Duration;

use anp_core::monitor::{Histogram, StatCounts, StatKey, StatsQueryParams, StatsRecordParams};
use anp_core::{Error, Kind, QueueName, Result};
use jiff::Timestamp;

use crate::conn::{Call, Redis};
use crate::keys::Q;
use crate::ops::{known_queues, micros, ok, register_queues};
use crate::record::{bad_reply, int, items, text};
use crate::scripts::STATS_RECORD;

/// Histogram buckets (the bounds plus the overflow bucket).
const BUCKETS: usize = Histogram::BOUNDS_MS.len() + 1;

/// The histogram bucket `d` falls in (as [`Histogram::record`] counts it).
pub(crate) fn bucket(d: Duration) -> usize {
    let ms = d.as_secs_f64() * 1000.0;
    Histogram::BOUNDS_MS
        .iter()
        .position(|b| ms <= *b)
        .unwrap_or(Histogram::BOUNDS_MS.len())
}

/// `d` in whole µs (saturating).
pub(crate) fn us(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
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

/// `stats_record`: one `stats_record.lua` call per queue with deltas (or, with
/// `prune_before`, per known queue), pipelined after an `SADD anp:queues`.
pub(crate) async fn record(r: &Redis, p: StatsRecordParams) -> Result<()> {
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
        let mut call = r.script(&STATS_RECORD, q);
        call.arg(prune.as_str()).arg(list.len());
        for (minute, kind, counter, n) in list {
            call.arg(*minute)
                .arg(kind.as_str())
                .arg(counter.as_str())
                .arg(*n);
        }
        calls.push(call);
    }
    for v in r.run(OP, calls).await? {
        ok(r, OP, v)?;
    }
    Ok(())
}

/// The counter names of a bucket, in the order [`counts`] reads them.
fn counter_names(bucket: &str) -> Vec<String> {
    let mut f: Vec<String> = [
        "enqueued",
        "completed",
        "failed",
        "dead",
        "run_sum_us",
        "wait_sum_us",
    ]
    .iter()
    .map(|c| format!("{bucket}:{c}"))
    .collect();
    for name in ["run", "wait"] {
        for i in 0..BUCKETS {
            f.push(format!("{bucket}:{name}:{i}"));
        }
    }
    f
}

fn counts(op: &str, v: &[redis::Value]) -> Result<StatCounts> {
    if v.len() != 6 + 2 * BUCKETS {
        return Err(Error::internal(
            op,
            format!(
                "got {} stats counters: expected {}",
                v.len(),
                6 + 2 * BUCKETS
            ),
        ));
    }
    let n = |i: usize| u64::try_from(int(&v[i]).unwrap_or(0)).unwrap_or(0);
    let hist = |first: usize, sum: usize| {
        let counts: Vec<u64> = (first..first + BUCKETS).map(n).collect();
        if counts.iter().all(|c| *c == 0) && n(sum) == 0 {
            Histogram::default()
        } else {
            Histogram {
                counts,
                sum_us: n(sum),
            }
        }
    };
    Ok(StatCounts {
        enqueued: n(0),
        completed: n(1),
        failed: n(2),
        dead: n(3),
        run: hist(6, 4),
        wait: hist(6 + BUCKETS, 5),
    })
}

/// `stats_query`: the buckets of every known queue in `[from, until)`: one pipelined
/// `ZRANGEBYSCORE` per queue, then one pipelined `HMGET` per bucket.
pub(crate) async fn query(r: &Redis, p: StatsQueryParams) -> Result<Vec<(StatKey, StatCounts)>> {
    const OP: &str = "stats_query";
    let queues = known_queues(r, OP).await?;
    if queues.is_empty() {
        return Ok(Vec::new());
    }
    let calls = queues
        .iter()
        .map(|q| {
            Call::queue(
                q,
                redis::cmd("ZRANGEBYSCORE")
                    .arg(Q::StatMinutes.key(q))
                    .arg(micros(p.from))
                    .arg(format!("({}", micros(p.until)))
                    .to_owned(),
            )
        })
        .collect();
    let mut buckets: Vec<(StatKey, String)> = Vec::new();
    for (q, v) in queues.iter().zip(r.run(OP, calls).await?) {
        let v = ok(r, OP, v)?;
        for b in items(v.clone()).ok_or_else(|| bad_reply(OP, "an array of buckets", &v))? {
            let b = text(&b).ok_or_else(|| bad_reply(OP, "a bucket name", &b))?;
            let parsed = b.split_once(':').and_then(|(m, k)| {
                let m = Timestamp::from_microsecond(m.parse().ok()?).ok()?;
                Some((m, Kind::parse(k).ok()?))
            });
            let Some((minute, kind)) = parsed else {
                return Err(Error::internal(
                    OP,
                    format!("stats bucket {b:?} of queue {q} is unreadable: expected <minute_us>:<kind>"),
                ));
            };
            buckets.push((
                StatKey {
                    minute,
                    queue: q.clone(),
                    kind,
                },
                b.to_owned(),
            ));
        }
    }
    if buckets.is_empty() {
        return Ok(Vec::new());
    }
    let calls = buckets
        .iter()
        .map(|(k, b)| {
            let mut cmd = redis::cmd("HMGET");
            cmd.arg(Q::Stats.key(&k.queue));
            for f in counter_names(b) {
                cmd.arg(f);
            }
            Call::queue(&k.queue, cmd)
        })
        .collect();
    let mut out = Vec::with_capacity(buckets.len());
    for ((k, _), v) in buckets.into_iter().zip(r.run(OP, calls).await?) {
        let v = ok(r, OP, v)?;
        let f = items(v.clone()).ok_or_else(|| bad_reply(OP, "stats counters", &v))?;
        out.push((k, counts(OP, &f)?));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}
