//! [`Admin`]: the operator API — everything `anp` and `anp serve` do to a store, for Rust code.
//!
//! Sidekiq's API, River's client methods: list and inspect jobs, retry, cancel and delete them,
//! pause and purge queues, trigger and pause schedules, see live processes, mark deploys, back
//! up and restore, and answer the four on-call questions ([`Admin::status`]). Inputs are checked
//! types ([`JobId`](crate::JobId), [`QueueName`](crate::QueueName), …); outputs are the typed
//! records below, all `Serialize` for JSON APIs.
//!
//! ```no_run
//! # async fn run() -> alphanode::Result<()> {
//! use alphanode::admin::JobFilter;
//! use alphanode::{Admin, JobState};
//!
//! let admin = Admin::new(alphanode::connect("sqlite://anp.db").await?);
//! let dead = admin.job_list(JobFilter { states: vec![JobState::Dead], limit: 20, ..Default::default() }).await?;
//! for job in &dead {
//!     println!("{} {} {:?}", job.id, job.kind, job.errors.last().map(|e| &e.message));
//! }
//! let retried = admin.job_retry_dead(Default::default(), |_| {}).await?;
//! println!("{retried} dead jobs run again; up: {}", admin.status().await?.ok);
//! # Ok(()) }
//! ```
//!
//! # Layout
//! - `jobs.rs`: [`JobFilter`], [`DeadFilter`]; get, list, search by text ([`JobSearchPage`]),
//!   retry, retry dead, cancel, delete.
//! - `queues.rs`: list, pause, resume, purge (in short batches, with progress).
//! - `schedules.rs`: list, show with the fire log, trigger, pause, resume, delete.
//! - `monitor.rs`: live processes, deploy markers ([`DeployMark`]), per-minute stats.
//! - `cache.rs`: cache namespaces, their stats summed over processes, and the generation
//!   moves of [`Admin::deploy_mark`] and [`Admin::deploy_rollback`].
//! - `health.rs`: [`Health`] (`/healthz`: reachable, layout current) and [`Admin::checks`]
//!   (`anp doctor`: the backend's own checks and the clock skew against the store's server).
//! - `backup.rs`: [`BackupFile`]: the store-independent backup file, written and restored.
//! - `status.rs`: [`Status`]: is it up, is it slow, are jobs failing, did the last deploy change
//!   anything.

mod backup;
mod cache;
mod health;
mod jobs;
mod monitor;
mod queues;
mod schedules;
mod status;

use std::sync::Arc;

use anp_core::{Clock, Store, SystemClock};

use crate::backend::Backend;

pub use backup::{BackupCounts, BackupFile};
pub use cache::{CacheNamespaceStats, GenerationMoved};
pub use health::{Health, MAX_CLOCK_SKEW};
pub use jobs::{DeadFilter, JobFilter, JobSearchPage, SEARCH_SCAN_MAX};
pub use monitor::{
    DeployMark, DeployMarked, DeployRollback, DeployRolledBack, ROLLBACK_PREFIX, STALE_AFTER,
};
pub use queues::PURGE_BATCH;
pub use schedules::ScheduleDetail;
pub use status::{
    CacheStatus, DeployVerdict, DeployWindow, Failing, HttpCacheStatus, HttpRuleStatus, LastDeploy,
    ProcessSeen, ScheduleProblem, Slow, Status, StatusDetail, TopError, Up, Window,
};

/// Operator actions and questions on one store. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Admin {
    backend: Backend,
    clock: Arc<dyn Clock>,
}

impl Admin {
    /// An operator handle on `backend`, using the system clock.
    pub fn new(backend: impl Into<Backend>) -> Admin {
        Admin::with_clock(backend, Arc::new(SystemClock))
    }

    /// The same with an injected clock (tests).
    pub fn with_clock(backend: impl Into<Backend>, clock: Arc<dyn Clock>) -> Admin {
        Admin {
            backend: backend.into(),
            clock,
        }
    }

    /// The backend this handle works on.
    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    fn store(&self) -> &dyn Store {
        &**self.backend.store()
    }

    fn now(&self) -> jiff::Timestamp {
        self.clock.now()
    }
}
