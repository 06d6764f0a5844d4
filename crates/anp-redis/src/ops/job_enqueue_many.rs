//! `job_enqueue_many`: jobs grouped by queue, one script call per chunk of [`CHUNK`] jobs of
//! one queue, all pipelined after one `SADD anp:queues`.
//!
//! A chunk of plain jobs (each due now, its id and its unique key, if any, not repeated in the
//! call: what application code and `anp bulk` enqueue most) goes through
//! `job_enqueue_plain.lua`, with records, field names, scores and per-kind counts built here:
//! about half the server instructions of the general script (docs/callgrind.md). When that
//! script finds something to decide (a job's id exists, a unique key is held, an export runs)
//! it writes nothing and answers 0, and the chunk is sent again, in a second pipeline, through
//! `job_enqueue_many.lua`, whose replies are the authority on duplicates. Any other chunk goes
//! through `job_enqueue_many.lua` at once.

use std::collections::HashSet;

use anp_core::job::Enqueued;
use anp_core::store::JobEnqueueManyParams;
use anp_core::{Error, JobId, JobState, NewJob, Result};
use jiff::Timestamp;
use redis::Value;

use crate::conn::{Call, Redis};
use crate::ops::{by_queue, layout_reply, micros, ok, register_queues};
use crate::record::{bad_reply, int, items, text};
use crate::scripts::{JOB_ENQUEUE_MANY, JOB_ENQUEUE_PLAIN};
use anp_core::QueueName;

const OP: &str = "job_enqueue_many";

/// Jobs per script call: big enough to amortise the round trip, small enough to keep each
/// script (which blocks the server while it runs) around a millisecond.
pub(crate) const CHUNK: usize = 500;

/// What one call's jobs have in common.
struct Batch<'a> {
    jobs: &'a [NewJob],
    /// `now`, µs.
    now: i64,
    /// The start of now's minute, µs (the stats bucket).
    minute: i64,
    at: Timestamp,
}

impl Batch<'_> {
    /// When `j` runs, µs: its `run_at`, else now.
    fn run_at(&self, j: &NewJob) -> i64 {
        j.run_at.map(micros).unwrap_or(self.now)
    }

    /// Whether `j` can take the plain path: due now. (A unique key may be plain: the script
    /// checks that nobody holds it.)
    fn plain(&self, j: &NewJob) -> bool {
        self.run_at(j) <= self.now
    }
}

/// One result per job, in input order.
pub(crate) async fn run(r: &Redis, p: JobEnqueueManyParams) -> Result<Vec<Enqueued>> {
    if p.jobs.is_empty() {
        return Ok(Vec::new());
    }
    for j in &p.jobs {
        j.validate()?;
    }
    let b = Batch {
        jobs: &p.jobs,
        now: micros(p.now),
        minute: micros(anp_core::monitor::minute_of(p.now)),
        at: p.now,
    };
    let repeated = Repeated::of(&p.jobs);
    let groups = by_queue(&p.jobs, |j| &j.queue);
    let mut calls = vec![register_queues(groups.iter().map(|(q, _)| *q))];
    let mut chunks: Vec<(&QueueName, &[usize], bool)> = Vec::new();
    for (queue, idx) in &groups {
        for chunk in idx.chunks(CHUNK) {
            let plain = chunk
                .iter()
                .all(|&i| b.plain(&p.jobs[i]) && !repeated.holds(&p.jobs[i]));
            calls.push(if plain {
                plain_call(r, queue, chunk, &b)
            } else {
                general_call(r, queue, chunk, &b)
            });
            chunks.push((queue, chunk, plain));
        }
    }
    let mut replies = r.run(OP, calls).await?.into_iter();
    if let Some(v) = replies.next() {
        ok(r, OP, v)?;
    }
    let mut out: Vec<Option<Enqueued>> = vec![None; p.jobs.len()];
    let mut again: Vec<(&QueueName, &[usize])> = Vec::new();
    for ((queue, chunk, plain), v) in chunks.into_iter().zip(replies) {
        let v = layout_reply(r, OP, "the batch", v)?;
        if !plain {
            general_reply(chunk, v, &mut out)?;
            continue;
        }
        match int(&v) {
            Some(1) => {
                for &i in chunk {
                    out[i] = Some(Enqueued {
                        id: p.jobs[i].id,
                        duplicate: false,
                        state: JobState::Available,
                    });
                }
            }
            Some(0) => again.push((queue, chunk)),
            _ => return Err(bad_reply(OP, "1 (added) or 0 (take the general path)", &v)),
        }
    }
    if !again.is_empty() {
        let calls = again
            .iter()
            .map(|(queue, chunk)| general_call(r, queue, chunk, &b))
            .collect();
        let replies = r.run(OP, calls).await?;
        for ((_, chunk), v) in again.into_iter().zip(replies) {
            general_reply(chunk, layout_reply(r, OP, "the batch", v)?, &mut out)?;
        }
    }
    out.into_iter()
        .map(|e| e.ok_or_else(|| Error::internal(OP, "a job got no reply: expected one per job")))
        .collect()
}

/// The ids, and the unique keys of a queue, that appear more than once in a call: their
/// chunks take the general path, which resolves a repeat to its first job in input order.
#[derive(Default)]
struct Repeated<'a> {
    ids: HashSet<JobId>,
    keys: HashSet<(&'a QueueName, &'a str)>,
}

impl<'a> Repeated<'a> {
    fn of(jobs: &'a [NewJob]) -> Repeated<'a> {
        let mut out = Repeated::default();
        if jobs.len() < 2 {
            return out;
        }
        let mut ids = HashSet::with_capacity(jobs.len());
        let mut keys = HashSet::new();
        for j in jobs {
            if !ids.insert(j.id) {
                out.ids.insert(j.id);
            }
            if let Some(u) = &j.unique {
                let key = (&j.queue, u.key.as_str());
                if !keys.insert(key) {
                    out.keys.insert(key);
                }
            }
        }
        out
    }

    /// Whether `j`'s id or unique key is repeated in the call.
    fn holds(&self, j: &NewJob) -> bool {
        self.ids.contains(&j.id)
            || j.unique
                .as_ref()
                .is_some_and(|u| self.keys.contains(&(&j.queue, u.key.as_str())))
    }
}

/// `job_enqueue_plain.lua` for `chunk` (plain jobs of `queue`).
fn plain_call(r: &Redis, queue: &QueueName, chunk: &[usize], b: &Batch<'_>) -> Call {
    let mut call = r.script(&JOB_ENQUEUE_PLAIN, queue);
    // per kind, in first-seen order: the stats bucket and how many jobs
    let mut kinds: Vec<(&str, usize)> = Vec::new();
    for &i in chunk {
        let kind = b.jobs[i].kind.as_str();
        match kinds.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, n)) => *n += 1,
            None => kinds.push((kind, 1)),
        }
    }
    let keyed = chunk
        .iter()
        .filter(|&&i| b.jobs[i].unique.is_some())
        .count();
    call.arg(b.minute)
        .arg(chunk.len())
        .arg(kinds.len())
        .arg(keyed);
    let mut scores = Vec::with_capacity(chunk.len());
    let mut unique: Vec<(String, &str)> = Vec::with_capacity(keyed);
    for &i in chunk {
        let j = &b.jobs[i];
        let id = j.id.text();
        let run_at = b.run_at(j);
        call.arg(&id)
            .arg(new_record(j, run_at, b.now))
            .arg(field(&id, "args"))
            .arg(j.args.as_json());
        scores.push(avail_score(j.priority, run_at));
        if let Some(u) = &j.unique {
            unique.push((id, u.key.as_str()));
        }
    }
    for score in scores {
        call.arg(score);
    }
    for (id, key) in &unique {
        call.arg(field(id, "unique")).arg(*key);
    }
    for (id, key) in &unique {
        call.arg(*key).arg(id);
    }
    for (kind, n) in kinds {
        call.arg(field(itoa::Buffer::new().format(b.minute), kind))
            .arg(n);
    }
    call
}

/// `<a>:<b>`: a job's field name (`<id>:args`) or a stats bucket (`<minute>:<kind>`), built
/// without `core::fmt` (a `format!` costs ~1,400 instructions; this runs per job).
fn field(a: &str, b: &str) -> String {
    let mut out = String::with_capacity(a.len() + b.len() + 1);
    out.push_str(a);
    out.push(':');
    out.push_str(b);
    out
}

/// `job_enqueue_many.lua` for `chunk` (any jobs of `queue`).
fn general_call(r: &Redis, queue: &QueueName, chunk: &[usize], b: &Batch<'_>) -> Call {
    let mut call = r.script(&JOB_ENQUEUE_MANY, queue);
    call.arg(b.now).arg(b.minute).arg(chunk.len());
    for &i in chunk {
        job_args(&mut call, &b.jobs[i], b.at);
    }
    call
}

/// Reads `job_enqueue_many.lua`'s reply for `chunk` into `out`: 3 entries per job.
fn general_reply(chunk: &[usize], v: Value, out: &mut [Option<Enqueued>]) -> Result<()> {
    let f = items(v.clone()).ok_or_else(|| bad_reply(OP, "3 entries per job", &v))?;
    if f.len() != chunk.len() * 3 {
        return Err(bad_reply(OP, "3 entries per job", &v));
    }
    for (&i, e) in chunk.iter().zip(f.chunks(3)) {
        let id = text(&e[0])
            .and_then(|s| JobId::parse(s).ok())
            .ok_or_else(|| bad_reply(OP, "a job id", &e[0]))?;
        let state = text(&e[2])
            .and_then(|s| JobState::parse(s).ok())
            .ok_or_else(|| bad_reply(OP, "a job state", &e[2]))?;
        out[i] = Some(Enqueued {
            id,
            duplicate: int(&e[1]) == Some(1),
            state,
        });
    }
    Ok(())
}

/// The record of a new available job, as `new_rec` in `lua/lib.lua` writes it (attempt 0, no
/// lease, flags `+-` then `u` with a unique key, else `-`: no errors yet).
/// Built without `core::fmt`, as it runs per job.
fn new_record(j: &NewJob, run_at: i64, now: i64) -> String {
    let kind = j.kind.as_str();
    let mut ints = itoa::Buffer::new();
    let mut out = String::with_capacity(kind.len() + 72);
    out.push_str("available ");
    out.push_str(ints.format(j.priority));
    out.push_str(" 0 ");
    out.push_str(ints.format(j.max_attempts));
    out.push(' ');
    out.push_str(ints.format(run_at));
    out.push(' ');
    out.push_str(ints.format(now));
    out.push_str(" - - - - ");
    out.push_str(kind);
    out.push_str(if j.unique.is_some() { " +-u" } else { " +--" });
    out
}

/// A job's score in `anp:{<queue>}:available`, as `avail_score` in `lua/lib.lua` computes it:
/// priority × 10¹⁴ + run_at in whole milliseconds (floored, kept within 0..10¹⁴).
fn avail_score(priority: u8, run_at_us: i64) -> i64 {
    const MAX_MS: i64 = 99_999_999_999_999;
    i64::from(priority) * (MAX_MS + 1) + run_at_us.div_euclid(1000).clamp(0, MAX_MS)
}

/// The 8 ARGV of one job, as `job_enqueue_many.lua` (and the schedule claim, which enqueues
/// through the same Lua function) takes them.
pub(crate) fn job_args(call: &mut Call, j: &NewJob, now: Timestamp) {
    let period = j
        .unique
        .as_ref()
        .and_then(|u| u.period)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX).to_string())
        .unwrap_or_default();
    call.arg(j.id.text())
        .arg(j.kind.as_str())
        .arg(j.args.as_json())
        .arg(j.priority)
        .arg(j.max_attempts)
        .arg(micros(j.run_at.unwrap_or(now)))
        .arg(j.unique.as_ref().map(|u| u.key.as_str()).unwrap_or(""))
        .arg(period);
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::{avail_score, new_record};

    #[test]
    fn new_records_are_what_new_rec_in_lib_lua_writes() {
        let kind = anp_core::Kind::parse("email.send").unwrap();
        let mut j = anp_core::NewJob::new(kind, anp_core::Args::from_json("{}").unwrap());
        j.priority = 5;
        j.max_attempts = 25;
        let t = 1_732_550_400_000_000;
        assert_eq!(
            new_record(&j, t, t),
            "available 5 0 25 1732550400000000 1732550400000000 - - - - email.send +--"
        );
        j.unique = Some(anp_core::Unique::key("line-1").unwrap());
        j.priority = 0;
        j.max_attempts = 4_000_000_000;
        assert_eq!(
            new_record(&j, -3, t + 1),
            "available 0 0 4000000000 -3 1732550400000001 - - - - email.send +-u"
        );
    }

    #[test]
    fn avail_scores_match_lib_lua() {
        // the texts avail_score in lua/lib.lua gives (fast path and clamped slow path)
        assert_eq!(avail_score(0, 1_732_550_400_123_456), 1_732_550_400_123);
        assert_eq!(avail_score(5, 1_732_550_400_123_456), 501_732_550_400_123);
        assert_eq!(avail_score(9, 999), 900_000_000_000_000);
        assert_eq!(avail_score(0, 999), 0);
        assert_eq!(avail_score(3, -1), 300_000_000_000_000);
        assert_eq!(avail_score(1, i64::MAX), 199_999_999_999_999);
    }
}
