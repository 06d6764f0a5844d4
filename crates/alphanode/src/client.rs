//! Enqueueing jobs.

use std::sync::Arc;
use std::time::Duration;

use anp_core::job::{ts_add, Enqueued};
use anp_core::store::JobEnqueueManyParams;
use anp_core::{Args, Clock, Error, Kind, NewJob, QueueName, Result, Store, SystemClock, Unique};
use jiff::Timestamp;

use crate::backend::Backend;
use crate::handler::JobArgs;

/// Options for one enqueue. `Default` gives: the kind's default queue, priority 5, the kind's
/// retry policy's `max_attempts`, run now, not unique.
#[derive(Clone, Debug, Default)]
pub struct EnqueueOptions {
    /// Queue; default: [`JobArgs::QUEUE`] for typed jobs, `default` for raw ones.
    pub queue: Option<QueueName>,
    /// 0 (first) to 9 (last); default 5.
    pub priority: Option<u8>,
    /// Attempts before dead; default from the kind's retry policy (25).
    pub max_attempts: Option<u32>,
    /// Run at this instant rather than now.
    pub run_at: Option<Timestamp>,
    /// Run after this delay rather than now (ignored when `run_at` is set).
    pub run_in: Option<Duration>,
    /// Unique key (see [`Unique`]).
    pub unique: Option<Unique>,
}

/// Enqueues jobs into a store. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Client {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

impl Client {
    /// A client on `backend` (from [`connect`](crate::connect)), using the system clock.
    pub fn new(backend: impl Into<Backend>) -> Client {
        Client::with_clock(backend, Arc::new(SystemClock))
    }

    /// A client with an injected clock (tests).
    pub fn with_clock(backend: impl Into<Backend>, clock: Arc<dyn Clock>) -> Client {
        Client {
            store: backend.into().store().clone(),
            clock,
        }
    }

    /// Builds a [`NewJob`] for a typed job, applying options over the kind's defaults.
    pub fn new_job<J: JobArgs>(&self, args: &J, opts: EnqueueOptions) -> Result<NewJob> {
        let kind = Kind::parse(J::KIND)?;
        let queue = match opts.queue.clone() {
            Some(q) => Some(q),
            None => Some(QueueName::parse(J::QUEUE)?),
        };
        let max_attempts = opts.max_attempts.or(Some(J::retry_policy().max_attempts));
        self.new_raw_job(
            kind,
            Args::from_serialize(args)?,
            EnqueueOptions {
                queue,
                max_attempts,
                ..opts
            },
        )
    }

    /// Builds a [`NewJob`] from a kind and JSON args.
    pub fn new_raw_job(&self, kind: Kind, args: Args, opts: EnqueueOptions) -> Result<NewJob> {
        let now = self.clock.now();
        let mut job = NewJob::new(kind, args);
        if let Some(q) = opts.queue {
            job.queue = q;
        }
        if let Some(p) = opts.priority {
            job.priority = p;
        }
        if let Some(m) = opts.max_attempts {
            job.max_attempts = m;
        }
        job.run_at = opts.run_at.or(opts.run_in.map(|d| ts_add(now, d)));
        job.unique = opts.unique;
        job.validate()?;
        Ok(job)
    }

    /// Enqueues one typed job.
    pub async fn enqueue<J: JobArgs>(&self, args: &J, opts: EnqueueOptions) -> Result<Enqueued> {
        let job = self.new_job(args, opts)?;
        self.insert_one(job).await
    }

    /// Enqueues one job given by kind name and JSON args.
    pub async fn enqueue_raw(
        &self,
        kind: Kind,
        args: Args,
        opts: EnqueueOptions,
    ) -> Result<Enqueued> {
        let job = self.new_raw_job(kind, args, opts)?;
        self.insert_one(job).await
    }

    /// Enqueues many typed jobs of one kind in one atomic batch.
    pub async fn enqueue_many<J: JobArgs>(
        &self,
        args: &[J],
        opts: EnqueueOptions,
    ) -> Result<Vec<Enqueued>> {
        let jobs = args
            .iter()
            .map(|a| self.new_job(a, opts.clone()))
            .collect::<Result<Vec<_>>>()?;
        self.insert_many(jobs).await
    }

    /// Inserts prepared jobs in one atomic batch; results are in input order.
    pub async fn insert_many(&self, jobs: Vec<NewJob>) -> Result<Vec<Enqueued>> {
        for j in &jobs {
            j.validate()?;
        }
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        self.store
            .job_enqueue_many(JobEnqueueManyParams {
                jobs,
                now: self.clock.now(),
            })
            .await
    }

    async fn insert_one(&self, job: NewJob) -> Result<Enqueued> {
        self.insert_many(vec![job]).await?.pop().ok_or_else(|| {
            Error::internal("job_enqueue_many", "store returned no result for one job")
        })
    }
}
