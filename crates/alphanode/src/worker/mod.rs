//! The worker runtime.
//!
//! One worker serves several queues. Its tasks, all joined on shutdown:
//! - the **dispatcher** fetches jobs in batches (the free slots, or their share of them per
//!   [`Store::fetch_split`]: half on Redis), one fetch out at a time and the next sent before
//!   the last one's jobs run, spawns one task per job and, when a queue comes up short, waits
//!   on the store ([`Store::job_wait`]) instead of polling;
//! - the **completer** collects acknowledgements and writes them in batches (one store call per
//!   batch), retrying while the store is unavailable;
//! - the **heartbeat** extends the leases of running jobs every `lease / 3`;
//! - the **maintenance** services (rescuer, promoter, pruner), unless disabled.
//!
//! Shutdown (SIGTERM/SIGINT with [`Worker::run_until_signal`], or [`Worker::shutdown_token`]):
//! stop fetching (the jobs of a fetch still out are handed back unstarted), let running jobs
//! finish within the grace period, then hand the rest back to the queue without spending their
//! attempt.
//!
//! # Layout
//!
//! - `mod.rs`: [`Worker`] (run and shutdown), [`WorkerEvent`], and the state the tasks share,
//!   including the `running` map and the rule of who acknowledges an attempt;
//! - `builder.rs`: [`WorkerBuilder`], [`QueueOptions`], [`WorkerOptions`] and their validation;
//! - `dispatch.rs`: the dispatcher (batch fetch per free slots, job tasks, waiting on the store);
//! - `attempt.rs`: one attempt (handler call, panic catching, outcome to acknowledgement, retry
//!   policy);
//! - `unhandled.rs`: a fetched job of a kind this worker has no handler for (snoozed while
//!   another live worker serves the kind, else a failed attempt that says how to fix it);
//! - `completion.rs`: the completer (batched acknowledgements);
//! - `heartbeat.rs`: the heartbeat (registration, lease extension, lost leases).

mod attempt;
mod builder;
mod completion;
mod dispatch;
mod heartbeat;
mod unhandled;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use anp_core::monitor::ProcessInfo;
use anp_core::store::{AckOutcome, JobAck, Lease};
use anp_core::{Clock, JobId, Kind, QueueName, Result, Store};
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::handler::RawHandler;
use crate::maintenance;
use crate::process::{process_info, wait_for_signal};

pub use builder::{QueueOptions, WorkerBuilder, WorkerOptions};

use completion::completer;
use dispatch::dispatcher;
use heartbeat::heartbeat;

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
    /// The kinds of `handlers`, sorted: registered with the process, named in messages.
    kinds: Vec<Kind>,
    /// The live processes as last read for a job of a kind without a handler here, and when
    /// (reused for a moment, so a batch of such jobs costs one read).
    live: Mutex<Option<(std::time::Instant, Vec<ProcessInfo>)>>,
    /// Jobs whose attempt is in progress. Whoever removes an entry sends its acknowledgement
    /// (the job task when the handler returns, shutdown when it hands the job back, the
    /// heartbeat when the lease was lost — which sends none), so each attempt is acked at most
    /// once. A std Mutex: it is never held across an await.
    running: Mutex<HashMap<JobId, RunningJob, foldhash::fast::RandomState>>,
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
        WorkerBuilder::new(backend.into().store().clone())
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
            kinds = ?inner.kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
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
            self.kinds.clone(),
            started_at,
            self.clock.now(),
        )
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
