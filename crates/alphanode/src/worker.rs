//! The worker runtime.
//!
//! One worker serves several queues. Its tasks, all joined on shutdown:
//! - the **dispatcher** fetches jobs in batches (as many as there are free slots), spawns one
//!   task per job and, when a queue comes up short, waits on the store ([`Store::job_wait`])
//!   instead of polling;
//! - the **completer** collects acknowledgements and writes them in batches (one store call per
//!   batch), retrying while the store is unavailable;
//! - the **heartbeat** extends the leases of running jobs every `lease / 3`;
//! - the **maintenance** services (rescuer, promoter, pruner), unless disabled.
//!
//! Shutdown (SIGTERM/SIGINT with [`Worker::run_until_signal`], or [`Worker::shutdown_token`]):
//! stop fetching, let running jobs finish within the grace period, then hand the rest back to
//! the queue without spending their attempt.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anp_core::job::ts_add;
use anp_core::monitor::ProcessInfo;
use anp_core::store::{
    AckOutcome, AckResult, AckStats, JobAck, JobAckManyParams, JobFetchParams,
    JobHeartbeatManyParams, JobWaitParams, Lease,
};
use anp_core::{
    AttemptError, Clock, Error, Job, JobId, Kind, Outcome, QueueName, Result, Store, SystemClock,
};
use futures_util::FutureExt;
use rand::Rng;
use serde::de::DeserializeOwned;
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::handler::{JobArgs, JobContext, RawHandler, TypedHandler};
use crate::maintenance::{self, MaintenanceOptions};

/// One queue a worker serves.
#[derive(Clone, Debug)]
pub struct QueueOptions {
    /// The queue.
    pub name: QueueName,
    /// Jobs of this queue running at once in this worker.
    pub concurrency: usize,
    /// Share of free worker-wide slots when [`WorkerOptions::max_concurrency`] is the limit
    /// (weighted order); ignored with strict order.
    pub weight: u32,
}

/// Worker-wide settings. `Default` gives the documented defaults.
#[derive(Clone, Debug)]
pub struct WorkerOptions {
    /// This worker's id, recorded as lease owner. Default `<host>-<pid>-<random>`.
    pub id: String,
    /// Lease length; a job whose worker stops heartbeating is rescued after this. Default 30 s.
    pub lease: Duration,
    /// How long running jobs may finish after shutdown starts. Default 25 s.
    pub grace: Duration,
    /// Longest wait on the store before fetching again. Default 1 s.
    pub poll_interval: Duration,
    /// Worker-wide limit on running jobs across queues. Default: none (each queue's own).
    pub max_concurrency: Option<usize>,
    /// With a worker-wide limit: serve queues in the order given (`true`) or by weight.
    pub strict_order: bool,
    /// Maintenance services, or `None` to run none in this process.
    pub maintenance: Option<MaintenanceOptions>,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            id: process_id(),
            lease: Duration::from_secs(30),
            grace: Duration::from_secs(25),
            poll_interval: Duration::from_secs(1),
            max_concurrency: None,
            strict_order: false,
            maintenance: Some(MaintenanceOptions::default()),
        }
    }
}

/// This machine's host name (`HOSTNAME`, else /etc/hostname, else `host`).
pub fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
        })
        .unwrap_or_else(|| "host".to_owned())
}

/// A process id for registration and leases: `<host>-<pid>-<random>`.
pub fn process_id() -> String {
    let suffix: u32 = rand::rng().random();
    format!("{}-{}-{suffix:08x}", hostname(), std::process::id())
}

/// The registration record of this process.
pub(crate) fn process_info(
    id: &str,
    role: &str,
    queues: Vec<QueueName>,
    started_at: jiff::Timestamp,
    now: jiff::Timestamp,
) -> ProcessInfo {
    ProcessInfo {
        id: id.to_owned(),
        role: role.to_owned(),
        host: hostname(),
        pid: std::process::id(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        queues,
        started_at,
        last_seen: now,
    }
}

/// What happened inside a worker, for tests and embedding applications to wait on (instead of
/// sleeping). Subscribe with [`Worker::subscribe`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WorkerEvent {
    /// A batch was fetched from a queue.
    Fetched {
        /// The queue.
        queue: QueueName,
        /// How many jobs.
        count: usize,
    },
    /// A handler started.
    Started {
        /// The job.
        id: JobId,
        /// Its attempt.
        attempt: u32,
    },
    /// An acknowledgement was written to the store.
    Acked {
        /// The job.
        id: JobId,
        /// `completed`, `retryable`, `dead`, `scheduled`, `cancelled` or `available`.
        state: &'static str,
    },
    /// A write was rejected because the lease was lost (rescued or cancelled meanwhile).
    LeaseLost {
        /// The job.
        id: JobId,
    },
    /// Shutdown started: no more fetching.
    ShuttingDown,
    /// Jobs still running after the grace period were handed back.
    HandedBack {
        /// How many.
        count: usize,
    },
}

/// Builds a [`Worker`].
pub struct WorkerBuilder {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    options: WorkerOptions,
    queues: Vec<QueueOptions>,
    handlers: HashMap<Kind, Arc<dyn RawHandler>>,
    error: Option<Error>,
}

impl fmt::Debug for WorkerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkerBuilder")
            .field("options", &self.options)
            .field("queues", &self.queues)
            .field("kinds", &self.handlers.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl WorkerBuilder {
    /// Serves `queue` with `concurrency` slots (weight 1). Invalid names fail at
    /// [`WorkerBuilder::build`].
    pub fn queue(self, queue: &str, concurrency: usize) -> WorkerBuilder {
        match QueueName::parse(queue) {
            Ok(name) => self.queue_with(QueueOptions {
                name,
                concurrency,
                weight: 1,
            }),
            Err(e) => self.fail(e),
        }
    }

    /// Serves a queue with full options.
    pub fn queue_with(mut self, q: QueueOptions) -> WorkerBuilder {
        self.queues.push(q);
        self
    }

    /// Registers a typed handler for `J::KIND`.
    pub fn register<J, F, Fut, E>(self, f: F) -> WorkerBuilder
    where
        J: JobArgs + DeserializeOwned,
        F: Fn(JobContext, J) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = std::result::Result<Outcome, E>> + Send + 'static,
        E: fmt::Display + Send + 'static,
    {
        match Kind::parse(J::KIND) {
            Ok(kind) => self.register_raw(kind, Arc::new(TypedHandler::<J, F>::new(f))),
            Err(e) => self.fail(e),
        }
    }

    /// Registers a JSON handler for a kind.
    pub fn register_raw(mut self, kind: Kind, handler: Arc<dyn RawHandler>) -> WorkerBuilder {
        self.handlers.insert(kind, handler);
        self
    }

    /// Replaces the worker-wide options.
    pub fn options(mut self, options: WorkerOptions) -> WorkerBuilder {
        self.options = options;
        self
    }

    /// Injects a clock (tests).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> WorkerBuilder {
        self.clock = clock;
        self
    }

    fn fail(mut self, e: Error) -> WorkerBuilder {
        self.error.get_or_insert(e);
        self
    }

    /// Checks the configuration and builds the worker.
    pub fn build(self) -> Result<Worker> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if self.queues.is_empty() {
            return Err(Error::invalid(
                "worker",
                "no queues: expected at least one queue to serve",
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for q in &self.queues {
            if !seen.insert(q.name.clone()) {
                return Err(Error::invalid(
                    "worker",
                    format!("queue {} is listed twice: expected each queue once", q.name),
                ));
            }
            if q.concurrency == 0 || q.concurrency > 10_000 {
                return Err(Error::invalid(
                    "worker",
                    format!(
                        "queue {} concurrency {} is out of range: expected 1-10000",
                        q.name, q.concurrency
                    ),
                ));
            }
        }
        if self.options.lease < Duration::from_secs(1) {
            return Err(Error::invalid(
                "worker",
                format!(
                    "lease {:?} is too short: expected at least 1s",
                    self.options.lease
                ),
            ));
        }
        let (events, _) = broadcast::channel(1024);
        Ok(Worker {
            inner: Arc::new(Inner {
                store: self.store,
                clock: self.clock,
                options: self.options,
                queues: self.queues,
                handlers: self.handlers,
                running: Mutex::new(HashMap::new()),
                events,
                shutdown: CancellationToken::new(),
            }),
        })
    }
}

/// A running job as the worker tracks it.
struct RunningJob {
    lease: Lease,
    kind: Kind,
    attempt: u32,
    cancel: CancellationToken,
}

struct Inner {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    options: WorkerOptions,
    queues: Vec<QueueOptions>,
    handlers: HashMap<Kind, Arc<dyn RawHandler>>,
    /// Jobs whose attempt is in progress. Whoever removes an entry sends its acknowledgement
    /// (the job task when the handler returns, shutdown when it hands the job back, the
    /// heartbeat when the lease was lost — which sends none), so each attempt is acked at most
    /// once. A std Mutex: it is never held across an await.
    running: Mutex<HashMap<JobId, RunningJob>>,
    events: broadcast::Sender<WorkerEvent>,
    shutdown: CancellationToken,
}

/// Runs jobs. Build with [`Worker::builder`], run with [`Worker::run`] or
/// [`Worker::run_until_signal`].
#[derive(Clone)]
pub struct Worker {
    inner: Arc<Inner>,
}

impl fmt::Debug for Worker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Worker")
            .field("id", &self.inner.options.id)
            .field("queues", &self.inner.queues)
            .finish()
    }
}

impl Worker {
    /// Starts building a worker on `backend` (from [`connect`](crate::connect)).
    pub fn builder(backend: impl Into<crate::Backend>) -> WorkerBuilder {
        WorkerBuilder {
            store: backend.into().store().clone(),
            clock: Arc::new(SystemClock),
            options: WorkerOptions::default(),
            queues: Vec::new(),
            handlers: HashMap::new(),
            error: None,
        }
    }

    /// This worker's id.
    pub fn id(&self) -> &str {
        &self.inner.options.id
    }

    /// Events for tests and embedders. Subscribe before [`Worker::run`] to miss nothing.
    pub fn subscribe(&self) -> broadcast::Receiver<WorkerEvent> {
        self.inner.events.subscribe()
    }

    /// Cancel this token to start a graceful shutdown.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.inner.shutdown.clone()
    }

    /// Runs until SIGTERM or SIGINT (Ctrl-C), then shuts down gracefully.
    pub async fn run_until_signal(self) -> Result<()> {
        let token = self.shutdown_token();
        let signals = async move {
            wait_for_signal().await;
            tracing::info!("signal received: stopping fetch, letting running jobs finish");
            token.cancel();
        };
        let handle = tokio::spawn(signals);
        let r = self.run().await;
        handle.abort();
        r
    }

    /// Runs until [`Worker::shutdown_token`] is cancelled, then shuts down gracefully. Returns
    /// once every task the worker started has ended.
    pub async fn run(self) -> Result<()> {
        let inner = self.inner;
        let ping = inner.store.store_ping().await?;
        tracing::info!(
            worker = %inner.options.id,
            store = %inner.store.redacted_url(),
            backend = %ping.backend,
            queues = ?inner.queues.iter().map(|q| q.name.as_str()).collect::<Vec<_>>(),
            "worker started"
        );
        let started_at = inner.clock.now();
        inner
            .store
            .process_heartbeat(inner.registration(started_at))
            .await?;
        let (ack_tx, ack_rx) = mpsc::unbounded_channel();
        let mut services = JoinSet::new();
        let stop_services = CancellationToken::new();
        services.spawn(completer(inner.clone(), ack_rx));
        services.spawn(heartbeat(inner.clone(), stop_services.clone(), started_at));
        if let Some(m) = inner.options.maintenance.clone() {
            maintenance::spawn_all(
                &mut services,
                inner.store.clone(),
                inner.clock.clone(),
                m,
                stop_services.clone(),
            );
        }

        let mut jobs = JoinSet::new();
        dispatcher(&inner, &mut jobs, &ack_tx).await;
        let _ = inner.events.send(WorkerEvent::ShuttingDown);

        // Let running jobs finish within the grace period.
        let drained = tokio::time::timeout(inner.options.grace, async {
            while jobs.join_next().await.is_some() {}
        })
        .await
        .is_ok();
        if !drained {
            let leftovers: Vec<(JobId, RunningJob)> = {
                let mut running = lock(&inner.running);
                running.drain().collect()
            };
            for (id, job) in &leftovers {
                job.cancel.cancel();
                tracing::warn!(
                    job.id = %id, job.kind = %job.kind, job.queue = %job.lease.queue,
                    job.attempt = job.attempt,
                    "grace period over: handing the job back without spending its attempt"
                );
                let _ = ack_tx.send(JobAck {
                    lease: job.lease.clone(),
                    outcome: AckOutcome::HandBack,
                    stats: None,
                });
            }
            jobs.abort_all();
            while jobs.join_next().await.is_some() {}
            let _ = inner.events.send(WorkerEvent::HandedBack {
                count: leftovers.len(),
            });
        }
        // Every sender is gone once the job tasks are: the completer drains and ends.
        drop(ack_tx);
        stop_services.cancel();
        while let Some(r) = services.join_next().await {
            if let Err(e) = r {
                tracing::error!(error = %e, "a worker service ended abnormally");
            }
        }
        if let Err(e) = inner.store.process_remove(inner.options.id.clone()).await {
            tracing::warn!(error = %e, "could not deregister; the entry goes stale on its own");
        }
        tracing::info!(worker = %inner.options.id, "worker stopped");
        Ok(())
    }
}

impl Inner {
    fn registration(&self, started_at: jiff::Timestamp) -> ProcessInfo {
        process_info(
            &self.options.id,
            "worker",
            self.queues.iter().map(|q| q.name.clone()).collect(),
            started_at,
            self.clock.now(),
        )
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
#[cfg(unix)]
pub async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Resolves on Ctrl-C.
#[cfg(not(unix))]
pub async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

/// Per-queue state owned by the dispatcher.
struct Slot {
    running: usize,
    /// The last fetch came back short: don't fetch again until the store signals a change or
    /// the poll interval passes (otherwise every finished job would cost an empty fetch).
    drained: bool,
}

async fn dispatcher(
    inner: &Arc<Inner>,
    jobs: &mut JoinSet<usize>,
    ack_tx: &mpsc::UnboundedSender<JobAck>,
) {
    let queues = &inner.queues;
    let mut slots: Vec<Slot> = queues
        .iter()
        .map(|_| Slot {
            running: 0,
            drained: false,
        })
        .collect();
    let mut error_backoff = Duration::from_millis(100);
    loop {
        if inner.shutdown.is_cancelled() {
            return;
        }
        let mut store_failed = false;
        for qi in fetch_order(inner) {
            let total: usize = slots.iter().map(|s| s.running).sum();
            let global_free = inner
                .options
                .max_concurrency
                .map_or(usize::MAX, |m| m.saturating_sub(total));
            let slot = &mut slots[qi];
            let want = (queues[qi].concurrency - slot.running).min(global_free);
            if want == 0 || slot.drained {
                continue;
            }
            let now = inner.clock.now();
            let fetched = inner
                .store
                .job_fetch(JobFetchParams {
                    queue: queues[qi].name.clone(),
                    limit: u32::try_from(want).unwrap_or(u32::MAX),
                    worker: inner.options.id.clone(),
                    now,
                    lease_until: ts_add(now, inner.options.lease),
                })
                .await;
            match fetched {
                Ok(batch) => {
                    error_backoff = Duration::from_millis(100);
                    slot.drained = batch.len() < want;
                    if !batch.is_empty() {
                        let _ = inner.events.send(WorkerEvent::Fetched {
                            queue: queues[qi].name.clone(),
                            count: batch.len(),
                        });
                    }
                    slot.running += batch.len();
                    for job in batch {
                        spawn_job(inner, jobs, ack_tx, qi, job);
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, queue = %queues[qi].name, "fetch failed; retrying with backoff");
                    store_failed = true;
                }
            }
        }
        if store_failed {
            tokio::select! {
                _ = inner.shutdown.cancelled() => return,
                _ = tokio::time::sleep(error_backoff) => {}
            }
            error_backoff = (error_backoff * 2).min(Duration::from_secs(5));
            continue;
        }

        // Wait for a slot to free up, the store to signal new work, or the poll interval.
        let waiting: Vec<QueueName> = queues
            .iter()
            .zip(&slots)
            .filter(|(q, s)| s.drained && s.running < q.concurrency)
            .map(|(q, _)| q.name.clone())
            .collect();
        let all_full = queues
            .iter()
            .zip(&slots)
            .all(|(q, s)| s.running >= q.concurrency);
        let store_wait = async {
            if waiting.is_empty() {
                // Every queue is busy or has work: only a finished job matters.
                std::future::pending::<()>().await;
            } else if let Err(e) = inner
                .store
                .job_wait(JobWaitParams {
                    queues: waiting.clone(),
                    timeout: inner.options.poll_interval,
                })
                .await
            {
                tracing::warn!(error = %e, "waiting on the store failed");
                tokio::time::sleep(inner.options.poll_interval).await;
            }
        };
        let idle = async {
            if all_full || !waiting.is_empty() {
                std::future::pending::<()>().await;
            }
            // Some queue has room and was not drained yet: loop right away.
        };
        tokio::select! {
            _ = inner.shutdown.cancelled() => return,
            Some(done) = jobs.join_next() => {
                free_slot(&mut slots, done);
                // Collect every other finished job too, so the next fetch is one batch.
                while let Some(done) = jobs.try_join_next() {
                    free_slot(&mut slots, done);
                }
            }
            _ = store_wait => {
                for s in &mut slots {
                    s.drained = false;
                }
            }
            _ = idle => {}
        }
    }
}

fn free_slot(slots: &mut [Slot], done: std::result::Result<usize, tokio::task::JoinError>) {
    match done {
        Ok(qi) => slots[qi].running = slots[qi].running.saturating_sub(1),
        // Job tasks catch handler panics themselves; a JoinError here is a bug.
        Err(e) => tracing::error!(error = %e, "job task ended abnormally"),
    }
}

/// Queue indexes in the order to offer free slots: as configured (strict), or a weighted
/// random permutation.
fn fetch_order(inner: &Inner) -> Vec<usize> {
    let n = inner.queues.len();
    if n == 1 || inner.options.strict_order || inner.options.max_concurrency.is_none() {
        return (0..n).collect();
    }
    let mut rng = rand::rng();
    let mut keyed: Vec<(f64, usize)> = inner
        .queues
        .iter()
        .enumerate()
        .map(|(i, q)| {
            // Efraimidis–Spirakis: key = u^(1/w), sort descending.
            let u: f64 = rng.random_range(f64::EPSILON..1.0);
            (u.powf(1.0 / f64::from(q.weight.max(1))), i)
        })
        .collect();
    keyed.sort_by(|a, b| b.0.total_cmp(&a.0));
    keyed.into_iter().map(|(_, i)| i).collect()
}

fn spawn_job(
    inner: &Arc<Inner>,
    jobs: &mut JoinSet<usize>,
    ack_tx: &mpsc::UnboundedSender<JobAck>,
    qi: usize,
    job: Job,
) {
    let Some(lease) = job.lease() else {
        tracing::error!(job.id = %job.id, "store returned a fetched job without a lease token");
        return;
    };
    // Not a child of the shutdown token: on shutdown, running jobs get the grace period first.
    let cancel = CancellationToken::new();
    lock(&inner.running).insert(
        job.id,
        RunningJob {
            lease: lease.clone(),
            kind: job.kind.clone(),
            attempt: job.attempt,
            cancel: cancel.clone(),
        },
    );
    let inner = inner.clone();
    let ack_tx = ack_tx.clone();
    jobs.spawn(async move {
        let ack = run_attempt(&inner, job, lease, cancel).await;
        // Only the remover of the running entry acks (see `Inner::running`).
        if lock(&inner.running).remove(&ack.lease.id).is_some() {
            let _ = ack_tx.send(ack);
        }
        qi
    });
}

/// Runs one attempt and turns its result into an acknowledgement.
async fn run_attempt(inner: &Inner, job: Job, lease: Lease, cancel: CancellationToken) -> JobAck {
    let job = Arc::new(job);
    let id = job.id;
    let span = tracing::info_span!(
        "job", job.id = %job.id, job.kind = %job.kind, job.queue = %job.queue, job.attempt = job.attempt
    );
    let _ = inner.events.send(WorkerEvent::Started {
        id,
        attempt: job.attempt,
    });
    let handler = inner.handlers.get(&job.kind).cloned();
    let policy = handler
        .as_ref()
        .map(|h| h.retry_policy())
        .unwrap_or_default();
    let result: std::result::Result<Outcome, String> = match handler {
        None => Err(format!(
            "no handler for kind {} in worker {}: expected one of [{}]",
            job.kind,
            inner.options.id,
            inner
                .handlers
                .keys()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
        Some(h) => {
            let ctx = JobContext::new(job.clone(), cancel);
            match AssertUnwindSafe(h.call(ctx)).catch_unwind().await {
                Ok(r) => r,
                Err(panic) => Err(format!("handler panicked: {}", panic_message(&*panic))),
            }
        }
    };
    let now = inner.clock.now();
    let failed = |message: String, retry_safe: bool| AttemptError {
        attempt: job.attempt,
        at: now,
        message,
        retry_safe,
    };
    // The job's own limit, capped by its kind's policy (a config can lower the attempts of
    // jobs enqueued elsewhere with the default).
    let max_attempts = job.max_attempts.min(policy.max_attempts.max(1));
    let retry = |after: Option<Duration>, message: String| {
        if job.attempt >= max_attempts {
            AckOutcome::Dead {
                error: failed(
                    format!(
                        "{message} (attempt {} of {max_attempts}: no attempts left)",
                        job.attempt
                    ),
                    true,
                ),
            }
        } else {
            let delay = after.unwrap_or_else(|| policy.delay(job.attempt));
            AckOutcome::Retry {
                at: ts_add(now, delay),
                error: failed(message, true),
            }
        }
    };
    let outcome = match result {
        Ok(Outcome::Complete) => AckOutcome::Complete,
        Ok(Outcome::Retry { after, reason }) => retry(after, reason),
        Ok(Outcome::Fail { reason }) => AckOutcome::Dead {
            error: failed(reason, false),
        },
        Ok(Outcome::Snooze(d)) => AckOutcome::Snooze { at: ts_add(now, d) },
        Ok(Outcome::Cancel { reason }) => AckOutcome::Cancel {
            error: failed(reason, false),
        },
        Err(message) => retry(None, message),
    };
    span.in_scope(|| match &outcome {
        AckOutcome::Complete => tracing::info!("job completed"),
        AckOutcome::Retry { at, error } => {
            tracing::warn!(error = %error.message, retry_at = %at, "job failed; will retry")
        }
        AckOutcome::Dead { error } => tracing::error!(error = %error.message, "job is dead"),
        AckOutcome::Snooze { at } => tracing::debug!(until = %at, "job snoozed"),
        AckOutcome::Cancel { error } => tracing::info!(reason = %error.message, "job cancelled"),
        AckOutcome::HandBack => {}
    });
    let fetched = job.attempted_at.unwrap_or(now);
    let stats = AckStats {
        kind: job.kind.clone(),
        wait: Duration::try_from(fetched.duration_since(job.run_at)).unwrap_or(Duration::ZERO),
        run: Duration::try_from(now.duration_since(fetched)).unwrap_or(Duration::ZERO),
    };
    JobAck {
        lease,
        outcome,
        stats: Some(stats),
    }
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

fn ack_state(o: &AckOutcome) -> &'static str {
    match o {
        AckOutcome::Complete => "completed",
        AckOutcome::Retry { .. } => "retryable",
        AckOutcome::Dead { .. } => "dead",
        AckOutcome::Snooze { .. } => "scheduled",
        AckOutcome::Cancel { .. } => "cancelled",
        AckOutcome::HandBack => "available",
    }
}

/// Writes acknowledgements in batches: takes one, then everything else already queued, and
/// writes them in one store call. A batch that fails (store unavailable) is retried with
/// backoff, never dropped; ends when every sender is gone and the queue is empty.
async fn completer(inner: Arc<Inner>, mut rx: mpsc::UnboundedReceiver<JobAck>) {
    const MAX_BATCH: usize = 1000;
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(a) => batch.push(a),
                Err(_) => break,
            }
        }
        let mut backoff = Duration::from_millis(50);
        let mut tries = 0u32;
        loop {
            let now = inner.clock.now();
            match inner
                .store
                .job_ack_many(JobAckManyParams {
                    acks: batch.clone(),
                    now,
                })
                .await
            {
                Ok(results) => {
                    for (ack, r) in batch.iter().zip(results) {
                        match r {
                            AckResult::Applied => {
                                let _ = inner.events.send(WorkerEvent::Acked {
                                    id: ack.lease.id,
                                    state: ack_state(&ack.outcome),
                                });
                            }
                            AckResult::LeaseLost => {
                                tracing::warn!(
                                    job.id = %ack.lease.id, job.queue = %ack.lease.queue,
                                    "result rejected: the lease was lost (job rescued or cancelled meanwhile); the newer attempt wins"
                                );
                                let _ = inner
                                    .events
                                    .send(WorkerEvent::LeaseLost { id: ack.lease.id });
                            }
                        }
                    }
                    break;
                }
                Err(e) => {
                    tries += 1;
                    // During shutdown give up after ~1 minute: the leases expire and the jobs
                    // are rescued, so nothing is lost (at-least-once).
                    if inner.shutdown.is_cancelled() && tries > 12 {
                        tracing::error!(error = %e, jobs = batch.len(), "could not record results before exit; the jobs will be rescued when their leases expire");
                        break;
                    }
                    tracing::warn!(error = %e, jobs = batch.len(), "recording results failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
        batch.clear();
    }
}

/// Extends the leases of running jobs every `lease / 3`. A lease the store no longer
/// recognises (the job was rescued or cancelled) cancels its handler's context and drops its
/// entry, so no stale result is sent.
async fn heartbeat(inner: Arc<Inner>, stop: CancellationToken, started_at: jiff::Timestamp) {
    let period = inner.options.lease / 3;
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        if let Err(e) = inner
            .store
            .process_heartbeat(inner.registration(started_at))
            .await
        {
            tracing::warn!(error = %e, "worker heartbeat failed");
        }
        let leases: Vec<Lease> = lock(&inner.running)
            .values()
            .map(|r| r.lease.clone())
            .collect();
        if leases.is_empty() {
            continue;
        }
        let lease_until = ts_add(inner.clock.now(), inner.options.lease);
        match inner
            .store
            .job_heartbeat_many(JobHeartbeatManyParams {
                leases: leases.clone(),
                lease_until,
            })
            .await
        {
            Ok(held) => {
                for (lease, ok) in leases.iter().zip(held) {
                    if ok {
                        continue;
                    }
                    if let Some(job) = lock(&inner.running).remove(&lease.id) {
                        job.cancel.cancel();
                        tracing::warn!(
                            job.id = %lease.id, job.kind = %job.kind, job.queue = %lease.queue,
                            job.attempt = job.attempt,
                            "lease lost (job cancelled or rescued elsewhere): stopping this attempt"
                        );
                        let _ = inner.events.send(WorkerEvent::LeaseLost { id: lease.id });
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "heartbeat failed; leases may expire if the store stays unavailable")
            }
        }
    }
}
