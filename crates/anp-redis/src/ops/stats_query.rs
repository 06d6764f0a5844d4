//! `stats_query`: the per-minute stats buckets of every known queue in `[from, until)` (layout:
//! see `stats_record`).

use anp_core::monitor::{Histogram, StatCounts, StatKey, StatsQueryParams};
use anp_core::{Error, Kind, Result};
use jiff::Timestamp;

use crate::conn::{Call, Redis};
use crate::keys::Q;
use crate::ops::stats_histogram::BUCKETS;
use crate::ops::{known_queues, micros, ok};
use crate::record::{bad_reply, int, items, text};

/// `stats_query`: the buckets of every known queue in `[from, until)`: one pipelined
/// `ZRANGEBYSCORE` per queue, then one pipelined `HMGET` per bucket.
pub(crate) async fn run(r: &Redis, p: StatsQueryParams) -> Result<Vec<(StatKey, StatCounts)>> {
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
