//! `job_enqueue_many`: one transaction for the batch; one INSERT per job (`ON CONFLICT DO
//! NOTHING`: the partial unique index `jobs_unique_live` refuses a second live job with a key),
//! plus unique-key lookups only for jobs that have a key. A duplicate within the batch resolves
//! to the first job, already inserted when the second is looked up.

use std::collections::HashSet;

use anp_core::job::{ts_sub, Enqueued};
use anp_core::store::JobEnqueueManyParams;
use anp_core::{Error, JobId, JobState, NewJob, Result, Unique};
use async_trait::async_trait;

use crate::conn::{Conn, OpResult};
use crate::ops::notify;
use crate::row::{self, i32_param, micros};
use crate::store::in_tx;
use crate::PostgresStore;

const OP: &str = "job_enqueue_many";

/// Enqueues the batch in one transaction.
pub(crate) async fn run(s: &PostgresStore, p: JobEnqueueManyParams) -> Result<Vec<Enqueued>> {
    if p.jobs.is_empty() {
        return Ok(Vec::new());
    }
    let out = in_tx!(s, OP, |tx| sql(tx, &p));
    s.made_available();
    if let Ok(enqueued) = &out {
        crate::vacuum::inserted(s, enqueued.len() as u64);
    }
    out
}

/// Enqueues the batch inside the caller's transaction `c` (the store's, a schedule claim's, or
/// the application's through [`crate::enqueue_in_tx`]); announces available jobs at commit.
pub(crate) async fn sql(c: &dyn Conn, p: &JobEnqueueManyParams) -> OpResult<Vec<Enqueued>> {
    enqueue(&mut Pg(c), p).await
}

/// The statements an enqueue runs, on tokio-postgres ([`Pg`]) or sqlx (`tx.rs`): the same
/// `sql/job_enqueue_many*.sql` files either way.
#[async_trait]
pub(crate) trait EnqueueDb: Send {
    /// `job_enqueue_many.sql`: rows inserted (0 or 1).
    async fn insert(&mut self, row: &Insert<'_>) -> OpResult<u64>;
    /// Jobs without a unique key, all at once; the ids inserted. By default one
    /// [`EnqueueDb::insert`] each; tokio-postgres runs `job_enqueue_many_plain.sql`.
    async fn insert_plain(&mut self, rows: &[Insert<'_>]) -> OpResult<HashSet<String>> {
        let mut inserted = HashSet::new();
        for r in rows {
            if self.insert(r).await? == 1 {
                inserted.insert(r.id.to_owned());
            }
        }
        Ok(inserted)
    }
    /// `job_enqueue_many_live.sql`: `(id, state)` of the live holder of a key.
    async fn live(&mut self, queue: &str, key: &str) -> OpResult<Option<(String, String)>>;
    /// `job_enqueue_many_recent.sql`: `(id, state)` of the newest job with a key since `since`.
    async fn recent(
        &mut self,
        queue: &str,
        key: &str,
        since: i64,
    ) -> OpResult<Option<(String, String)>>;
    /// `job_get_state.sql`.
    async fn state(&mut self, id: &str) -> OpResult<Option<String>>;
    /// `job_enqueue_many_stats.sql`.
    async fn count(&mut self, minute: i64, queue: &str, kind: &str, n: i64) -> OpResult<()>;
    /// `notify.sql`.
    async fn notify(&mut self) -> OpResult<()>;
}

/// One job's INSERT parameters, in `job_enqueue_many.sql` order.
pub(crate) struct Insert<'a> {
    pub(crate) id: &'a str,
    pub(crate) kind: &'a str,
    pub(crate) queue: &'a str,
    pub(crate) args: &'a str,
    pub(crate) state: &'a str,
    pub(crate) priority: i16,
    pub(crate) max_attempts: i32,
    pub(crate) run_at: i64,
    pub(crate) created_at: i64,
    pub(crate) unique_key: Option<&'a str>,
}

/// [`EnqueueDb`] on a [`Conn`].
pub(crate) struct Pg<'a>(pub(crate) &'a dyn Conn);

#[async_trait]
impl EnqueueDb for Pg<'_> {
    async fn insert_plain(&mut self, rows: &[Insert<'_>]) -> OpResult<HashSet<String>> {
        let Some(first) = rows.first() else {
            return Ok(HashSet::new());
        };
        let ids: Vec<&str> = rows.iter().map(|r| r.id).collect();
        let kinds: Vec<&str> = rows.iter().map(|r| r.kind).collect();
        let queues: Vec<&str> = rows.iter().map(|r| r.queue).collect();
        let args: Vec<&str> = rows.iter().map(|r| r.args).collect();
        let states: Vec<&str> = rows.iter().map(|r| r.state).collect();
        let priorities: Vec<i16> = rows.iter().map(|r| r.priority).collect();
        let max_attempts: Vec<i32> = rows.iter().map(|r| r.max_attempts).collect();
        let run_at: Vec<i64> = rows.iter().map(|r| r.run_at).collect();
        let out = self
            .0
            .query(
                include_str!("../../sql/job_enqueue_many_plain.sql"),
                &[
                    &ids,
                    &kinds,
                    &queues,
                    &args,
                    &states,
                    &priorities,
                    &max_attempts,
                    &run_at,
                    &first.created_at,
                ],
            )
            .await?;
        out.iter()
            .map(|r| row::text(r, 0).map(str::to_owned))
            .collect()
    }

    async fn insert(&mut self, r: &Insert<'_>) -> OpResult<u64> {
        self.0
            .execute(
                include_str!("../../sql/job_enqueue_many.sql"),
                &[
                    &r.id,
                    &r.kind,
                    &r.queue,
                    &r.args,
                    &r.state,
                    &r.priority,
                    &r.max_attempts,
                    &r.run_at,
                    &r.created_at,
                    &r.unique_key,
                ],
            )
            .await
    }

    async fn live(&mut self, queue: &str, key: &str) -> OpResult<Option<(String, String)>> {
        let r = self
            .0
            .query_opt(
                include_str!("../../sql/job_enqueue_many_live.sql"),
                &[&queue, &key],
            )
            .await?;
        r.map(|r| Ok((row::text(&r, 0)?.to_owned(), row::text(&r, 1)?.to_owned())))
            .transpose()
    }

    async fn recent(
        &mut self,
        queue: &str,
        key: &str,
        since: i64,
    ) -> OpResult<Option<(String, String)>> {
        let r = self
            .0
            .query_opt(
                include_str!("../../sql/job_enqueue_many_recent.sql"),
                &[&queue, &key, &since],
            )
            .await?;
        r.map(|r| Ok((row::text(&r, 0)?.to_owned(), row::text(&r, 1)?.to_owned())))
            .transpose()
    }

    async fn state(&mut self, id: &str) -> OpResult<Option<String>> {
        let r = self
            .0
            .query_opt(include_str!("../../sql/job_get_state.sql"), &[&id])
            .await?;
        r.map(|r| Ok(row::text(&r, 0)?.to_owned())).transpose()
    }

    async fn count(&mut self, minute: i64, queue: &str, kind: &str, n: i64) -> OpResult<()> {
        self.0
            .execute(
                include_str!("../../sql/job_enqueue_many_stats.sql"),
                &[&minute, &queue, &kind, &n],
            )
            .await?;
        Ok(())
    }

    async fn notify(&mut self) -> OpResult<()> {
        notify(self.0).await
    }
}

fn parse_found(found: Option<(String, String)>) -> OpResult<Option<(JobId, JobState)>> {
    found
        .map(|(id, state)| {
            Ok((
                JobId::parse(&id).map_err(|e| row::damaged("id", e.message()))?,
                JobState::parse(&state).map_err(|e| row::damaged("state", e.message()))?,
            ))
        })
        .transpose()
}

/// The batch, on any [`EnqueueDb`]: the jobs without a unique key in one statement, then the
/// others one by one in input order (a duplicate key within the batch resolves to the first).
pub(crate) async fn enqueue(
    db: &mut dyn EnqueueDb,
    p: &JobEnqueueManyParams,
) -> OpResult<Vec<Enqueued>> {
    let now = micros(p.now);
    for job in &p.jobs {
        job.validate()?;
    }
    let ids: Vec<String> = p.jobs.iter().map(|j| j.id.to_string()).collect();
    let states: Vec<JobState> = p
        .jobs
        .iter()
        .map(|j| {
            if j.run_at.unwrap_or(p.now) <= p.now {
                JobState::Available
            } else {
                JobState::Scheduled
            }
        })
        .collect();
    let row = |i: usize| {
        let job = &p.jobs[i];
        Insert {
            id: &ids[i],
            kind: job.kind.as_str(),
            queue: job.queue.as_str(),
            args: job.args.as_json(),
            state: states[i].as_str(),
            priority: i16::from(job.priority),
            max_attempts: i32_param(job.max_attempts),
            run_at: micros(job.run_at.unwrap_or(p.now)),
            created_at: now,
            unique_key: job.unique.as_ref().map(|u| u.key.as_str()),
        }
    };
    let plain: Vec<Insert<'_>> = (0..p.jobs.len())
        .filter(|&i| p.jobs[i].unique.is_none())
        .map(row)
        .collect();
    let mut plain_inserted = db.insert_plain(&plain).await?;
    let mut out = Vec::with_capacity(p.jobs.len());
    let mut any_available = false;
    let mut counted: Vec<(&str, &str, i64)> = Vec::new();
    for (i, job) in p.jobs.iter().enumerate() {
        let inserted = match &job.unique {
            // Taken out once: the same id later in the batch is a duplicate of this one.
            None => plain_inserted.remove(&ids[i]),
            Some(unique) => {
                if let Some(dup) = duplicate(db, job, unique, p).await? {
                    out.push(dup);
                    continue;
                }
                db.insert(&row(i)).await? == 1
            }
        };
        if inserted {
            match counted.last_mut() {
                Some((q, k, n)) if *q == job.queue.as_str() && *k == job.kind.as_str() => *n += 1,
                _ => counted.push((job.queue.as_str(), job.kind.as_str(), 1)),
            }
            any_available |= states[i] == JobState::Available;
            out.push(Enqueued {
                id: job.id,
                duplicate: false,
                state: states[i],
            });
        } else {
            out.push(existing(db, job, &ids[i], p).await?);
        }
    }
    if !counted.is_empty() {
        let minute = micros(anp_core::monitor::minute_of(p.now));
        for (queue, kind, n) in counted {
            db.count(minute, queue, kind, n).await?;
        }
    }
    if any_available {
        db.notify().await?;
    }
    Ok(out)
}

/// The job a unique key points to: a live one, or (with a period) one created within it.
async fn duplicate(
    db: &mut dyn EnqueueDb,
    job: &NewJob,
    unique: &Unique,
    p: &JobEnqueueManyParams,
) -> OpResult<Option<Enqueued>> {
    let live = db.live(job.queue.as_str(), unique.key.as_str()).await?;
    let found = match (live, unique.period) {
        (Some(r), _) => Some(r),
        (None, Some(period)) => {
            let since = micros(ts_sub(p.now, period));
            db.recent(job.queue.as_str(), unique.key.as_str(), since)
                .await?
        }
        (None, None) => None,
    };
    Ok(parse_found(found)?.map(|(id, state)| Enqueued {
        id,
        duplicate: true,
        state,
    }))
}

/// The INSERT matched an existing row: the same id again (a client retrying a batch whose
/// reply it lost) is a duplicate of itself; else the live holder of the unique key.
async fn existing(
    db: &mut dyn EnqueueDb,
    job: &NewJob,
    id: &str,
    p: &JobEnqueueManyParams,
) -> OpResult<Enqueued> {
    if let Some(state) = db.state(id).await? {
        return Ok(Enqueued {
            id: job.id,
            duplicate: true,
            state: JobState::parse(&state).map_err(|e| row::damaged("state", e.message()))?,
        });
    }
    if let Some(unique) = &job.unique {
        if let Some(dup) = duplicate(db, job, unique, p).await? {
            return Ok(dup);
        }
    }
    Err(Error::unavailable(
        OP,
        format!("job {id} was neither inserted nor found (the job holding its unique key finished meanwhile): expected one or the other"),
    )
    .into())
}
