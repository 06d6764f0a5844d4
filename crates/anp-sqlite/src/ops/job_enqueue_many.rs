//! `job_enqueue_many`: one transaction for the batch; one INSERT per job, plus unique-key lookups
//! only for jobs that have a key. Jobs are inserted queue by queue (input order within a queue;
//! replies in input order), each numbered in its queue's extent (src/seq.rs). A duplicate within
//! the batch resolves to the first job of its queue because that one is already inserted when
//! the second is looked up (ids and unique keys of one batch's jobs in different queues: the
//! job of the queue whose name sorts first).

use anp_core::job::{ts_sub, Enqueued};
use anp_core::store::JobEnqueueManyParams;
use anp_core::{Error, JobState, NewJob, Result, Unique};
use rusqlite::{params, Connection};

use crate::conn::OpResult;
use crate::ops::job_state;
use crate::row::{self, micros};
use crate::seq::{queue_order, JobNumbers};
use crate::SqliteStore;

/// Enqueues the batch in one write transaction; waiters are woken when a job is available.
pub(crate) async fn run(s: &SqliteStore, p: JobEnqueueManyParams) -> Result<Vec<Enqueued>> {
    if p.jobs.is_empty() {
        return Ok(Vec::new());
    }
    s.write_waking("job_enqueue_many", move |c| sql(c, &p))
        .await
}

/// What the batch did, and whether any new job is available now (to wake local waiters).
pub(crate) fn sql(c: &Connection, p: &JobEnqueueManyParams) -> OpResult<(Vec<Enqueued>, bool)> {
    let now = micros(p.now);
    let mut insert = c.prepare_cached(include_str!("../../sql/job_enqueue_many.sql"))?;
    let mut insert_args = c.prepare_cached(include_str!("../../sql/job_enqueue_many_args.sql"))?;
    let mut out: Vec<Option<Enqueued>> = vec![None; p.jobs.len()];
    let mut any_available = false;
    let mut counted: Vec<(&str, &str, i64)> = Vec::new();
    let mut numbers = JobNumbers::default();
    for i in queue_order(&p.jobs, |j| j.queue.as_str()) {
        let job = &p.jobs[i];
        let out = &mut out[i];
        // Callers validate; checking again costs two comparisons and turns a CHECK failure deep
        // in SQLite into a clear `InvalidInput` (the whole batch is refused).
        job.validate()?;
        if let Some(unique) = &job.unique {
            if let Some(dup) = duplicate(c, job, unique, p)? {
                *out = Some(dup);
                continue;
            }
        }
        let run_at = job.run_at.unwrap_or(p.now);
        let state = if run_at <= p.now {
            JobState::Available
        } else {
            JobState::Scheduled
        };
        let id = job.id.to_string();
        let seq = numbers.next(c, job.queue.as_str())?;
        let inserted = insert.execute(params![
            id,
            job.kind.as_str(),
            job.queue.as_str(),
            state.as_str(),
            job.priority,
            job.max_attempts,
            micros(run_at),
            now,
            job.unique.as_ref().map(|u| u.key.as_str()),
            seq,
        ])?;
        if inserted == 1 {
            insert_args.execute(params![seq, job.args.as_json()])?;
            // Batches are usually one queue and kind: count runs of equal keys, one upsert each.
            match counted.last_mut() {
                Some((q, k, n)) if *q == job.queue.as_str() && *k == job.kind.as_str() => *n += 1,
                _ => counted.push((job.queue.as_str(), job.kind.as_str(), 1)),
            }
            any_available |= state == JobState::Available;
            *out = Some(Enqueued {
                id: job.id,
                duplicate: false,
                state,
            });
        } else {
            *out = Some(existing(c, job, &id, p)?);
        }
    }
    if !counted.is_empty() {
        let minute = micros(anp_core::monitor::minute_of(p.now));
        let mut stats = c.prepare_cached(include_str!("../../sql/job_enqueue_many_stats.sql"))?;
        for (queue, kind, n) in counted {
            stats.execute(params![minute, queue, kind, n])?;
        }
    }
    let out = out.into_iter().collect::<Option<Vec<_>>>().ok_or_else(|| {
        Error::internal(
            "job_enqueue_many",
            "a job of the batch got no reply: expected one reply per job",
        )
    })?;
    Ok((out, any_available))
}

/// The job a unique key points to: a live one, or (with a period) one created within it.
fn duplicate(
    c: &Connection,
    job: &NewJob,
    unique: &Unique,
    p: &JobEnqueueManyParams,
) -> OpResult<Option<Enqueued>> {
    let found = {
        let mut live = c.prepare_cached(include_str!("../../sql/job_enqueue_many_live.sql"))?;
        let mut rows = live.query([job.queue.as_str(), unique.key.as_str()])?;
        match rows.next()? {
            Some(r) => Some((row::job_id(r, 0)?, row::state(r, 1)?)),
            None => None,
        }
    };
    let found = match (found, unique.period) {
        (Some(f), _) => Some(f),
        (None, Some(period)) => {
            let since = micros(ts_sub(p.now, period));
            let mut recent =
                c.prepare_cached(include_str!("../../sql/job_enqueue_many_recent.sql"))?;
            let mut rows = recent.query(params![job.queue.as_str(), unique.key.as_str(), since])?;
            match rows.next()? {
                Some(r) => Some((row::job_id(r, 0)?, row::state(r, 1)?)),
                None => None,
            }
        }
        (None, None) => None,
    };
    Ok(found.map(|(id, state)| Enqueued {
        id,
        duplicate: true,
        state,
    }))
}

/// The INSERT matched an existing row: the same id enqueued again (a client retrying a batch
/// whose reply it lost) is a duplicate of itself.
fn existing(
    c: &Connection,
    job: &NewJob,
    id: &str,
    p: &JobEnqueueManyParams,
) -> OpResult<Enqueued> {
    if let Some(state) = job_state(c, id)? {
        return Ok(Enqueued {
            id: job.id,
            duplicate: true,
            state,
        });
    }
    if let Some(unique) = &job.unique {
        if let Some(dup) = duplicate(c, job, unique, p)? {
            return Ok(dup);
        }
    }
    Err(Error::internal(
        "job_enqueue_many",
        format!("job {id} was neither inserted nor found: expected one or the other"),
    )
    .into())
}
