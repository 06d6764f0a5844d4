//! # alphanode
//!
//! Reliable background jobs for Rust services. Define a job as a serializable struct, enqueue
//! it with a [`Client`], and run it in a [`Worker`] — against the embedded SQLite file for one
//! machine, or Redis for many. Delivery is at-least-once: a running job holds a lease that the
//! worker extends by heartbeat; if the worker dies the lease expires, the job runs again and the
//! lost attempt is recorded in its error history.
//!
//! ```no_run
//! use alphanode::{Client, JobArgs, JobContext, Outcome, Worker};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize)]
//! struct SendEmail { to: String }
//!
//! impl JobArgs for SendEmail {
//!     const KIND: &'static str = "email.send";
//! }
//!
//! # async fn run(store: std::sync::Arc<dyn alphanode::Store>) -> alphanode::Result<()> {
//! let client = Client::new(store.clone());
//! client.enqueue(&SendEmail { to: "a@example.com".into() }, Default::default()).await?;
//!
//! let worker = Worker::builder(store)
//!     .queue("default", 10)
//!     .register(|ctx: JobContext, args: SendEmail| async move {
//!         println!("attempt {} to {}", ctx.attempt(), args.to);
//!         Ok::<_, std::io::Error>(Outcome::Complete)
//!     })
//!     .build()?;
//! worker.run_until_signal().await?;
//! # Ok(()) }
//! ```
//!
//! # Layout
//!
//! - [`client`]: [`Client`] and [`EnqueueOptions`]: single and bulk enqueue, typed or raw.
//! - [`handler`]: the [`JobArgs`] trait for typed jobs, [`JobContext`] given to handlers, and
//!   [`RawHandler`] for handlers that take JSON (the `anp` command and HTTP runners).
//! - [`worker`]: [`Worker`] and [`WorkerBuilder`]: per-queue concurrency, batch fetch and ack,
//!   heartbeats, graceful shutdown; one file per task (builder, dispatcher, attempt, completer,
//!   heartbeat), listed in its own "Layout".
//! - [`process`]: a process's identity and lifecycle: [`process::hostname`],
//!   [`process::process_id`] (the lease owner and registry id) and [`process::wait_for_signal`].
//! - [`scheduler`]: [`scheduler::Scheduler`] fires cron schedules, each tick exactly once
//!   however many schedulers run.
//! - [`maintenance`]: the services that keep a store healthy, one per file: the rescuer
//!   (expired leases), the promoter (due scheduled jobs) and the pruner (retention).
//!
//! The storage seam and the job model come from `anp-core` and are re-exported here.

pub mod client;
pub mod handler;
pub mod maintenance;
pub mod process;
pub mod scheduler;
pub mod worker;

pub use anp_core::store::{QueueInfo, StoreInfo};
pub use anp_core::{
    Args, AttemptError, Clock, Error, ErrorKind, Job, JobId, JobState, Kind, ManualClock, NewJob,
    Outcome, QueueName, Result, RetryPolicy, Store, SystemClock, Unique,
};
pub use client::{Client, EnqueueOptions};
pub use handler::{JobArgs, JobContext, RawHandler};
pub use worker::{QueueOptions, Worker, WorkerBuilder, WorkerOptions};
