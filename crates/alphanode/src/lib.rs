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
//! # async fn run() -> alphanode::Result<()> {
//! let store = alphanode::connect("sqlite://anp.db").await?; // or redis://…, redis+cluster://…
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
//! Operators get the same from Rust as from the `anp` command: [`Admin`] lists, retries,
//! cancels and deletes jobs, pauses and purges queues, triggers schedules, marks deploys, backs
//! up and restores, and answers "is it up, slow, failing, did the deploy change anything".
//!
//! # Layout
//!
//! - [`backend`]: [`connect`] opens a store from its URL and gives a [`Backend`]; the one place
//!   that knows which backends exist (cargo features `sqlite` and `redis`, both on by default).
//! - [`admin`]: [`Admin`], the operator API.
//! - [`cache`]: the application cache: [`cache::CacheClient`], [`cache::Cache`],
//!   [`cache::Policy`].
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
//! The job model comes from `anp-core` and is re-exported here. The storage seam
//! (`anp_core::Store`) is not part of this crate's API: it changes as backends are added.

pub mod admin;
pub mod backend;
pub mod cache;
pub mod client;
pub mod handler;
pub mod maintenance;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod process;
pub mod scheduler;
pub mod worker;

pub use admin::Admin;
pub use anp_core::job::Enqueued;
pub use anp_core::monitor::{
    AuditEntry, DeployMarker, Histogram, ProcessInfo, StatCounts, StatKey,
};
pub use anp_core::schedule::{
    CatchUp, FireDecision, FireLogEntry, ScheduleDef, ScheduleInfo, ScheduleName,
};
pub use anp_core::store::{QueueInfo, StoreCheck, StoreInfo};
pub use anp_core::{
    parse_duration, Args, AttemptError, Clock, Error, ErrorKind, Job, JobId, JobState, Kind,
    ManualClock, NewJob, Outcome, QueueName, Result, RetryPolicy, SystemClock, Unique,
};
pub use backend::{connect, connect_with, Backend, ConnectOptions};

/// The internal storage seam, for the conformance suite and the backend crates only.
///
/// Hidden because it is not a stable API: River's driver interface says "API is not stable. DO
/// NOT IMPLEMENT", and so does this one. Applications open stores with [`connect`] and work
/// through [`Client`], [`Worker`], [`scheduler::Scheduler`] and [`Admin`]; the seam changes
/// without notice as backends (PostgreSQL next) are added.
#[doc(hidden)]
pub use anp_core::Store;
pub use client::{Client, EnqueueOptions};
pub use handler::{JobArgs, JobContext, RawHandler};
pub use worker::{QueueOptions, Worker, WorkerBuilder, WorkerOptions};
