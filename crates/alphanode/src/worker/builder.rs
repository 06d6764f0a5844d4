//! Configuring a worker: [`QueueOptions`], [`WorkerOptions`] and [`WorkerBuilder`], whose
//! [`WorkerBuilder::build`] validates the configuration.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anp_core::{Clock, Error, Kind, Outcome, QueueName, Result, Store, SystemClock};
use serde::de::DeserializeOwned;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::{Inner, Worker};
use crate::handler::{JobArgs, JobContext, RawHandler, TypedHandler};
use crate::maintenance::MaintenanceOptions;
use crate::process::process_id;

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
    /// A builder with the defaults, as [`Worker::builder`] returns it.
    pub(super) fn new(store: Arc<dyn Store>) -> WorkerBuilder {
        WorkerBuilder {
            store,
            clock: Arc::new(SystemClock),
            options: WorkerOptions::default(),
            queues: Vec::new(),
            handlers: HashMap::new(),
            error: None,
        }
    }

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
        let mut kinds: Vec<Kind> = self.handlers.keys().cloned().collect();
        kinds.sort();
        Ok(Worker {
            inner: Arc::new(Inner {
                store: self.store,
                clock: self.clock,
                options: self.options,
                queues: self.queues,
                handlers: self.handlers,
                kinds,
                live: Mutex::new(None),
                running: Mutex::new(HashMap::default()),
                events,
                shutdown: CancellationToken::new(),
            }),
        })
    }
}
