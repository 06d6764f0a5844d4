//! The internal storage seam.
//!
//! **Not for external implementation.** This trait changes without notice as backends and
//! features are added; the stable API is the `alphanode` facade. Every backend (SQLite now,
//! Redis, PostgreSQL later) implements it and must pass the `anp-conformance` suite unchanged.
//!
//! Conventions, so every backend reads the same:
//! - Methods are named noun first (`job_fetch`, `queue_pause`) and take one `…Params` value.
//!   The method name is also the name of its SQL file / Lua script, its tracing span
//!   (`anp.store.<name>`) and its metrics label (`op="<name>"`).
//! - Time is an input: callers pass `now` from their [`Clock`](crate::Clock); a store never
//!   reads the wall clock to decide a transition, so tests control time.
//! - Each call is atomic: one transaction (SQLite, PostgreSQL) or one script per queue (Redis).
//!   Batch methods apply the whole batch in one round trip where the backend can.
//! - Errors use [`Error`]; a store that cannot be reached returns
//!   [`ErrorKind::Unavailable`](crate::ErrorKind::Unavailable) (retry-safe, nothing changed).

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::id::JobId;
use crate::job::{AttemptError, Enqueued, Job, JobState, NewJob};
use crate::monitor::{
    DeployMarker, ProcessInfo, ProcessListParams, StatCounts, StatKey, StatsQueryParams,
    StatsRecordParams,
};
use crate::names::{Kind, QueueName};
use crate::schedule::{
    FireLogEntry, ScheduleInfo, ScheduleName, ScheduleSyncParams, ScheduleTriggerParams, TickClaim,
    TickClaimParams,
};

/// A running job's lease, presented with every heartbeat and acknowledgement. The `token`
/// fences: after a job was rescued and fetched again it carries a new token, and writes with
/// the old one are rejected ([`AckResult::LeaseLost`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Lease {
    /// The job.
    pub id: JobId,
    /// Its queue (backends that shard by queue need it to find the job).
    pub queue: QueueName,
    /// Fencing token issued by `job_fetch`.
    pub token: i64,
}

/// Parameters of [`Store::job_enqueue_many`].
#[derive(Clone, Debug)]
pub struct JobEnqueueManyParams {
    /// Jobs to add, already validated.
    pub jobs: Vec<NewJob>,
    /// Now; jobs without `run_at`, or with `run_at <= now`, are `available`, others `scheduled`.
    pub now: Timestamp,
}

/// Parameters of [`Store::job_fetch`].
#[derive(Clone, Debug)]
pub struct JobFetchParams {
    /// Queue to fetch from. A paused queue yields nothing.
    pub queue: QueueName,
    /// At most this many jobs.
    pub limit: u32,
    /// Worker id recorded as lease owner.
    pub worker: String,
    /// Now; becomes `attempted_at`.
    pub now: Timestamp,
    /// Lease expiry given to every fetched job.
    pub lease_until: Timestamp,
}

/// One queue of a [`Store::job_fetch_queues`] call, with its own limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueFetch {
    /// Queue to fetch from. A paused queue yields nothing.
    pub queue: QueueName,
    /// At most this many jobs from this queue (the worker's free slots for it).
    pub limit: u32,
}

/// Parameters of [`Store::job_fetch_queues`]: one fetch over several queues, in order.
#[derive(Clone, Debug)]
pub struct JobFetchQueuesParams {
    /// The queues, in the order their free slots are offered (the worker's fetch order); each
    /// queue at most once.
    pub queues: Vec<QueueFetch>,
    /// At most this many jobs in all (the worker's free slots across queues): queue `i` gets
    /// up to `min(its limit, total limit − jobs leased from queues 0..i)`.
    pub limit: u32,
    /// Worker id recorded as lease owner.
    pub worker: String,
    /// Now; becomes `attempted_at`.
    pub now: Timestamp,
    /// Lease expiry given to every fetched job.
    pub lease_until: Timestamp,
}

impl JobFetchQueuesParams {
    /// The single-queue fetch for queue `q` when `taken` jobs were already leased from the
    /// queues before it, or `None` when nothing is left to ask for (its limit or the total is
    /// used up). Every backend sizes each queue's share with this, so all split alike.
    pub fn queue_params(&self, q: &QueueFetch, taken: usize) -> Option<JobFetchParams> {
        let left = u64::from(self.limit).saturating_sub(taken as u64);
        let limit = u32::try_from(left.min(u64::from(q.limit))).unwrap_or(u32::MAX);
        (limit > 0).then(|| JobFetchParams {
            queue: q.queue.clone(),
            limit,
            worker: self.worker.clone(),
            now: self.now,
            lease_until: self.lease_until,
        })
    }
}

/// How one attempt ended, as the worker reports it to the store.
#[derive(Clone, Debug)]
pub enum AckOutcome {
    /// → `completed`.
    Complete,
    /// → `retryable`, runs again at `at`; the failure is appended to the history.
    Retry {
        /// When to run again.
        at: Timestamp,
        /// The failed attempt.
        error: AttemptError,
    },
    /// → `dead` (attempts exhausted or not retry-safe).
    Dead {
        /// The failed attempt.
        error: AttemptError,
    },
    /// → `scheduled` at `at`; the attempt is given back (not counted).
    Snooze {
        /// When to run again.
        at: Timestamp,
    },
    /// → `cancelled`, with the reason in the history.
    Cancel {
        /// Why.
        error: AttemptError,
    },
    /// → `available` at once; the attempt is given back (graceful shutdown).
    HandBack,
}

/// One acknowledgement.
#[derive(Clone, Debug)]
pub struct JobAck {
    /// The lease the attempt ran under.
    pub lease: Lease,
    /// How it ended.
    pub outcome: AckOutcome,
    /// Timings for the per-minute stats, added (in the same store call) only if the ack
    /// applies. `None` for hand-backs.
    pub stats: Option<AckStats>,
}

/// What the stats need to know about one finished attempt.
#[derive(Clone, Debug)]
pub struct AckStats {
    /// The job's kind.
    pub kind: Kind,
    /// From due (`run_at`) to fetched.
    pub wait: Duration,
    /// From fetched to finished.
    pub run: Duration,
}

impl AckOutcome {
    /// Adds this outcome to a stats bucket.
    pub fn count(&self, stats: &AckStats, into: &mut crate::monitor::StatCounts) {
        match self {
            AckOutcome::Complete => into.completed += 1,
            AckOutcome::Retry { .. } => into.failed += 1,
            AckOutcome::Dead { .. } => {
                into.failed += 1;
                into.dead += 1;
            }
            AckOutcome::Snooze { .. } | AckOutcome::Cancel { .. } | AckOutcome::HandBack => return,
        }
        into.run.record(stats.run);
        into.wait.record(stats.wait);
    }
}

/// Parameters of [`Store::job_ack_many`].
#[derive(Clone, Debug)]
pub struct JobAckManyParams {
    /// Acknowledgements, applied in order.
    pub acks: Vec<JobAck>,
    /// Now; becomes `finalized_at` for final states.
    pub now: Timestamp,
}

/// What happened to one acknowledgement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AckResult {
    /// Recorded.
    Applied,
    /// Rejected: the job is no longer running under this lease (rescued, cancelled, deleted).
    LeaseLost,
}

/// Parameters of [`Store::job_heartbeat_many`].
#[derive(Clone, Debug)]
pub struct JobHeartbeatManyParams {
    /// Leases to extend.
    pub leases: Vec<Lease>,
    /// New expiry.
    pub lease_until: Timestamp,
}

/// Parameters of [`Store::job_wait`].
#[derive(Clone, Debug)]
pub struct JobWaitParams {
    /// Queues of interest.
    pub queues: Vec<QueueName>,
    /// Give up after this long (returning `Ok`).
    pub timeout: Duration,
}

/// Parameters of [`Store::job_rescue_expired`].
#[derive(Clone, Debug)]
pub struct JobRescueParams {
    /// Leases that expired before this instant are rescued.
    pub now: Timestamp,
    /// At most this many per call.
    pub limit: u32,
}

/// A job whose lease expired and was taken back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rescued {
    /// The job.
    pub id: JobId,
    /// Its queue.
    pub queue: QueueName,
    /// Its kind.
    pub kind: Kind,
    /// The attempt that was lost.
    pub attempt: u32,
    /// `available` (attempts remain) or `dead`.
    pub state: JobState,
}

/// Parameters of [`Store::job_promote_due`].
#[derive(Clone, Debug)]
pub struct JobPromoteParams {
    /// Scheduled and retryable jobs with `run_at <= now` become available.
    pub now: Timestamp,
    /// At most this many per call.
    pub limit: u32,
}

/// Parameters of [`Store::job_prune`]: retention of finished jobs.
#[derive(Clone, Debug)]
pub struct JobPruneParams {
    /// Now.
    pub now: Timestamp,
    /// Completed and cancelled jobs older than this are deleted…
    pub finished_max_age: Duration,
    /// …and beyond the newest this many per queue.
    pub finished_max_count: u64,
    /// Dead jobs older than this are deleted…
    pub dead_max_age: Duration,
    /// …and beyond the newest this many per queue.
    pub dead_max_count: u64,
    /// At most this many deletions per call (keeps each transaction short).
    pub limit: u32,
}

/// Parameters of [`Store::queue_purge`]: deletes one queue's jobs in bulk (Sidekiq's "clear",
/// BullMQ's "drain"). Call it until it returns 0; each call is one short transaction (SQLite)
/// or script (Redis), like [`JobPruneParams::limit`].
#[derive(Clone, Debug)]
pub struct QueuePurgeParams {
    /// The queue whose jobs are deleted. A queue that holds no jobs (or was never seen)
    /// deletes nothing.
    pub queue: QueueName,
    /// Only jobs in these states; empty: every state except `running`. Running jobs are never
    /// deleted: naming [`JobState::Running`] is `InvalidInput` (cancel them first).
    pub states: Vec<JobState>,
    /// At most this many deletions per call; 0 is `InvalidInput`.
    pub limit: u32,
}

impl QueuePurgeParams {
    /// The operation name in errors, spans and scripts.
    pub const OP: &'static str = "queue_purge";

    /// The states to delete (sorted, each once; every state but `running` when `states` is
    /// empty), or `InvalidInput` when `states` names `running` or `limit` is 0. Every backend
    /// checks its input with this before touching the store, so all refuse alike.
    pub fn checked_states(&self) -> Result<Vec<JobState>> {
        if self.limit == 0 {
            return Err(Error::invalid(
                Self::OP,
                format!(
                    "limit 0 for queue {}: expected at least 1 deletion per call",
                    self.queue
                ),
            ));
        }
        if self.states.contains(&JobState::Running) {
            return Err(Error::invalid(
                Self::OP,
                format!(
                    "states for queue {} include running: expected only states that are not \
                     running (scheduled, available, completed, retryable, dead, cancelled); \
                     running jobs are never purged, they must be cancelled first",
                    self.queue
                ),
            ));
        }
        let mut states = if self.states.is_empty() {
            JobState::ALL
                .into_iter()
                .filter(|s| *s != JobState::Running)
                .collect()
        } else {
            self.states.clone()
        };
        states.sort_unstable();
        states.dedup();
        Ok(states)
    }
}

/// Parameters of [`Store::job_list`]. Newest first.
#[derive(Clone, Debug, Default)]
pub struct JobListParams {
    /// Only these states (empty: all).
    pub states: Vec<JobState>,
    /// Only this queue.
    pub queue: Option<QueueName>,
    /// Only this kind.
    pub kind: Option<Kind>,
    /// Only ids strictly less than this (paging).
    pub before: Option<JobId>,
    /// At most this many.
    pub limit: u32,
}

/// Parameters of [`Store::job_export`].
#[derive(Clone, Copy, Debug)]
pub struct JobExportParams {
    /// Jobs read per step (and at most per page handed to the sink). Each step holds the store
    /// for about as long as reading this many jobs takes.
    pub page: u32,
}

impl Default for JobExportParams {
    fn default() -> Self {
        JobExportParams { page: 1000 }
    }
}

/// Receives the pages of [`Store::job_export`]; an error stops the export and is returned.
pub type ExportSink<'a> = dyn FnMut(Vec<Job>) -> Result<()> + Send + 'a;

/// Parameters of [`Store::job_retry_dead`].
#[derive(Clone, Debug)]
pub struct JobRetryDeadParams {
    /// Only this queue.
    pub queue: Option<QueueName>,
    /// Only this kind.
    pub kind: Option<Kind>,
    /// Now; becomes `run_at`.
    pub now: Timestamp,
    /// At most this many per call.
    pub limit: u32,
}

/// Counts and age for one queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueInfo {
    /// The queue.
    pub queue: QueueName,
    /// Whether fetching is paused.
    pub paused: bool,
    /// Jobs per state (every state present, zeros included).
    pub counts: BTreeMap<JobState, u64>,
    /// `run_at` of the oldest available job.
    pub oldest_available_at: Option<Timestamp>,
}

/// What a store says about itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreInfo {
    /// `sqlite`, `redis`.
    pub backend: String,
    /// The schema / key-layout version the store holds.
    pub schema_version: u32,
    /// The server or library version.
    pub server_version: String,
}

/// One finding of a backend's own checks ([`Store::store_checks`]), shown by `anp doctor`:
/// settings of this store that can lose jobs or expose them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreCheck {
    /// What was checked, short (`durability`, `redis settings`, `file permissions`).
    pub check: String,
    /// Whether it is fine as it is.
    pub ok: bool,
    /// What was found, one sentence (never a password).
    pub detail: String,
    /// What to do about it, when not ok.
    pub fix: Option<String>,
}

impl StoreCheck {
    /// A check that passed.
    pub fn pass(check: impl Into<String>, detail: impl Into<String>) -> StoreCheck {
        StoreCheck {
            check: check.into(),
            ok: true,
            detail: detail.into(),
            fix: None,
        }
    }

    /// A check that needs attention, with what to do about it.
    pub fn fail(
        check: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> StoreCheck {
        StoreCheck {
            check: check.into(),
            ok: false,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
}

/// The storage seam. See the module docs: internal, noun-first, one params value, atomic.
#[async_trait]
pub trait Store: Send + Sync + Debug + 'static {
    /// Backend name: `sqlite`, `redis`.
    fn backend(&self) -> &'static str;

    /// The store's URL with any password replaced by `***`, for logs and output.
    fn redacted_url(&self) -> String;

    /// The same store's cache half (entries, tags, leases, generations, the invalidation
    /// feed): [`CacheStore`](crate::cache::CacheStore).
    fn cache(&self) -> Arc<dyn crate::cache::CacheStore>;

    /// Into how many fetches a worker splits its free slots, with one fetch out at a time
    /// and the next sent as soon as the last comes back, before its jobs run: with 2, the store
    /// serves one half's fetch (and the acknowledgements before it) while the worker decodes,
    /// runs and acknowledges the other half's jobs. Worth it where the store works in another
    /// process, on its own CPU (Redis: 2, B +30 %, BENCHMARKS.md "Overlapped fetches"); the
    /// default 1 (one fetch for every free slot) where it does not pay: on SQLite the fetch is
    /// a write transaction in this process and two of half the size cost more than one.
    fn fetch_split(&self) -> usize {
        1
    }

    /// Round trip to the store; reports schema and server versions.
    async fn store_ping(&self) -> Result<StoreInfo>;

    /// The schema (SQLite) or key-layout (Redis) version this build reads and writes. A store
    /// whose [`StoreInfo::schema_version`] differs is not healthy for this build (`/healthz`,
    /// `anp doctor`).
    fn store_schema_version(&self) -> u32;

    /// The backend's own checks of settings that can lose or expose jobs (SQLite: durability
    /// and file permissions; Redis: eviction policy and persistence). Never fails: a setting
    /// that cannot be read is left out.
    async fn store_checks(&self) -> Vec<StoreCheck>;

    /// The store server's clock, to measure this host's skew against it (leases and schedule
    /// ticks compare clocks of several hosts through the store); `None` for an embedded store,
    /// whose only clock is this host's.
    async fn store_time(&self) -> Result<Option<Timestamp>>;

    /// A point-in-time copy of this store, written under `dir` and opened, to export a backup
    /// that is consistent across jobs, schedules and deploy markers while workers keep running.
    /// `None` when the backend has no such copy and [`Store::job_export`] is the consistency it
    /// offers (Redis: per queue).
    async fn store_snapshot(&self, dir: &Path) -> Result<Option<Arc<dyn Store>>>;

    /// Adds jobs in one atomic batch; for a unique key that matches a live job, returns that
    /// job's id marked duplicate and adds nothing. Results are in input order.
    async fn job_enqueue_many(&self, p: JobEnqueueManyParams) -> Result<Vec<Enqueued>>;

    /// Moves up to `limit` available jobs of the queue to `running` under fresh leases, highest
    /// priority first (lowest number), FIFO (`run_at`, then id) within a priority; increments
    /// each job's `attempt`. No job is ever held by two live leases.
    async fn job_fetch(&self, p: JobFetchParams) -> Result<Vec<Job>>;

    /// Leases jobs from several queues in one call, as [`Store::job_fetch`] would from each
    /// queue in turn: queue by queue in the given order, each up to its own limit and what is
    /// left of the total (see [`JobFetchQueuesParams::queue_params`]), paused queues skipped
    /// (they use none of the total). The result holds each queue's jobs together, queues in the
    /// given order, each queue's jobs in `job_fetch`'s order.
    ///
    /// The default calls `job_fetch` once per queue (each its own transaction or script); a
    /// backend overrides it where one transaction for all queues is cheaper (SQLite). Unlike
    /// the methods in [`forward_store_ops!`](crate::forward_store_ops), this one has a default
    /// because that default is correct on every backend: an override is only an optimization.
    /// When a later queue's fetch fails after earlier queues leased jobs, the default returns
    /// the jobs leased so far (the failed queue looks drained, and the caller's next fetch
    /// retries it), so no lease is left without a worker, and logs the error with the queue
    /// (warning); the error is returned only when nothing was leased.
    async fn job_fetch_queues(&self, p: JobFetchQueuesParams) -> Result<Vec<Job>> {
        let mut jobs = Vec::new();
        for q in &p.queues {
            if let Some(one) = p.queue_params(q, jobs.len()) {
                match self.job_fetch(one).await {
                    Ok(batch) => jobs.extend(batch),
                    Err(e) if jobs.is_empty() => return Err(e),
                    Err(e) => {
                        tracing::warn!(
                            queue = %q.queue,
                            error = %e,
                            leased = jobs.len(),
                            "fetch failed after other queues leased jobs; those are kept, this queue is retried next round"
                        );
                        return Ok(jobs);
                    }
                }
            }
        }
        Ok(jobs)
    }

    /// Applies acknowledgements in one batch. Each is applied only if the job is still running
    /// under that lease; otherwise its result is [`AckResult::LeaseLost`] and nothing changes.
    async fn job_ack_many(&self, p: JobAckManyParams) -> Result<Vec<AckResult>>;

    /// Extends leases; returns, per lease, whether it is still held.
    async fn job_heartbeat_many(&self, p: JobHeartbeatManyParams) -> Result<Vec<bool>>;

    /// Waits until jobs may have become available in one of the queues (something was
    /// enqueued or promoted), or the timeout passes. May return early spuriously; must not
    /// busy-poll the store.
    async fn job_wait(&self, p: JobWaitParams) -> Result<()>;

    /// Takes back running jobs whose lease expired: the lost attempt is appended to the error
    /// history (retry-safe); the job becomes available, or dead when it had no attempts left.
    async fn job_rescue_expired(&self, p: JobRescueParams) -> Result<Vec<Rescued>>;

    /// Makes due scheduled and retryable jobs available; returns how many.
    async fn job_promote_due(&self, p: JobPromoteParams) -> Result<u64>;

    /// Deletes finished jobs beyond the retention; returns how many.
    async fn job_prune(&self, p: JobPruneParams) -> Result<u64>;

    /// One job with its history; [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) if absent.
    async fn job_get(&self, id: JobId) -> Result<Job>;

    /// Jobs matching the filters, newest first.
    async fn job_list(&self, p: JobListParams) -> Result<Vec<Job>>;

    /// Makes a dead, cancelled, completed, retryable or scheduled job available now. If it had
    /// used all its attempts it gets one more. Running jobs are a conflict.
    async fn job_retry(&self, id: JobId, now: Timestamp) -> Result<Job>;

    /// Makes dead jobs available again (as [`Store::job_retry`]); returns how many.
    async fn job_retry_dead(&self, p: JobRetryDeadParams) -> Result<u64>;

    /// Cancels a job that is not final. A running job's lease is voided: its worker's
    /// acknowledgement will be rejected.
    async fn job_cancel(&self, id: JobId, now: Timestamp) -> Result<Job>;

    /// Deletes a job that is not running.
    async fn job_delete(&self, id: JobId) -> Result<()>;

    /// Deletes up to `limit` jobs of one queue whose state is in `states` (empty: every state
    /// but `running`) and returns how many; call again until it returns 0. Each job goes as
    /// [`Store::job_delete`] would delete it (its unique key released if it points to it).
    /// Running jobs are never deleted; asking for them, or a `limit` of 0, is `InvalidInput`
    /// (see [`QueuePurgeParams::checked_states`]).
    async fn queue_purge(&self, p: QueuePurgeParams) -> Result<u64>;

    /// Every queue that holds jobs or was paused, with counts per state.
    async fn queue_list(&self) -> Result<Vec<QueueInfo>>;

    /// Pauses (`paused = true`) or resumes fetching from a queue, effective for every worker.
    async fn queue_set_paused(&self, queue: QueueName, paused: bool, now: Timestamp) -> Result<()>;

    /// Registers schedule definitions, or updates changed ones (keeping their state). A new
    /// schedule starts with `last_tick = now`: nothing before its registration fires.
    async fn schedule_sync(&self, p: ScheduleSyncParams) -> Result<()>;

    /// Every schedule with its state, by name.
    async fn schedule_list(&self) -> Result<Vec<ScheduleInfo>>;

    /// One schedule and its newest `log_limit` fire-log entries (newest first);
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) if absent.
    async fn schedule_get(
        &self,
        name: ScheduleName,
        log_limit: u32,
    ) -> Result<(ScheduleInfo, Vec<FireLogEntry>)>;

    /// Pauses or resumes a schedule (paused ticks are recorded as skipped).
    async fn schedule_set_paused(
        &self,
        name: ScheduleName,
        paused: bool,
        now: Timestamp,
    ) -> Result<()>;

    /// The exactly-once step: if `tick` is later than the schedule's `last_tick`, sets
    /// `last_tick = tick`, enqueues the job (unless skipping, or the schedule skips overlaps and
    /// its previous job is unfinished) and appends to the fire log — all atomically. Otherwise
    /// changes nothing and answers [`TickClaim::AlreadyClaimed`].
    async fn schedule_claim_tick(&self, p: TickClaimParams) -> Result<TickClaim>;

    /// Enqueues the schedule's job now and logs it as triggered; `last_tick` is unchanged.
    async fn schedule_trigger(&self, p: ScheduleTriggerParams) -> Result<Enqueued>;

    /// Deletes a schedule and its fire log.
    async fn schedule_delete(&self, name: ScheduleName) -> Result<()>;

    /// Registers a worker or scheduler process, or refreshes its heartbeat (upsert by id).
    async fn process_heartbeat(&self, p: ProcessInfo) -> Result<()>;

    /// Removes a process that stopped cleanly.
    async fn process_remove(&self, id: String) -> Result<()>;

    /// Live processes (seen within `stale_after`); stale ones are deleted.
    async fn process_list(&self, p: ProcessListParams) -> Result<Vec<ProcessInfo>>;

    /// Adds per-minute stats deltas (one call per acknowledged batch) and applies retention.
    async fn stats_record(&self, p: StatsRecordParams) -> Result<()>;

    /// Per-minute stats in `[from, until)`, by minute, queue and kind.
    async fn stats_query(&self, p: StatsQueryParams) -> Result<Vec<(StatKey, StatCounts)>>;

    /// Records a deploy marker.
    async fn deploy_mark(&self, m: DeployMarker) -> Result<()>;

    /// The newest `limit` deploy markers, newest first.
    async fn deploy_list(&self, limit: u32) -> Result<Vec<DeployMarker>>;

    /// Appends an operator action to the audit log (the newest
    /// [`AUDIT_KEEP`](crate::monitor::AUDIT_KEEP) are kept).
    async fn audit_record(&self, e: crate::monitor::AuditEntry) -> Result<()>;

    /// The newest `limit` audit entries, newest first.
    async fn audit_list(&self, limit: u32) -> Result<Vec<crate::monitor::AuditEntry>>;

    /// Restores jobs exactly as given (state, attempts, history, timestamps, lease), in one
    /// batch; a job whose id already exists is left alone. Returns how many were added.
    async fn job_import_many(&self, jobs: Vec<Job>) -> Result<u64>;

    /// Hands every job to `sink`, in pages, as it was at one instant while workers keep
    /// changing the store: SQLite reads the whole store in one read transaction (WAL: writers
    /// go on); Redis reads each queue as of the moment its export began (copy-on-write, see
    /// docs/redis-keys.md), so the export is consistent per queue. No step holds the store for
    /// longer than reading one page. Jobs come in no particular order; each job once. Returns
    /// how many jobs were exported. A second export of a Redis queue while one runs is
    /// `Conflict` (retry once it ends).
    async fn job_export(&self, p: JobExportParams, sink: &mut ExportSink<'_>) -> Result<u64>;
}

/// Every [`Store`] method a backend writes as "run `ops/<method>.rs`", listed once for all
/// backends: `forward_store_ops!(impl_store! { …hand-written methods… })` calls the backend's
/// own `impl_store!` with `as_written { … }` and `ops { method(arg: Type, …) -> Output; … }`.
/// A method added to the trait is added here, and every backend then fails to compile until
/// it has the op file — never a silent default.
#[macro_export]
macro_rules! forward_store_ops {
    ($callback:ident ! { $($written:tt)* }) => {
        $callback! {
            as_written { $($written)* }
            ops {
                job_enqueue_many(p: $crate::store::JobEnqueueManyParams) -> Vec<$crate::job::Enqueued>;
                job_fetch(p: $crate::store::JobFetchParams) -> Vec<$crate::Job>;
                job_ack_many(p: $crate::store::JobAckManyParams) -> Vec<$crate::store::AckResult>;
                job_heartbeat_many(p: $crate::store::JobHeartbeatManyParams) -> Vec<bool>;
                job_wait(p: $crate::store::JobWaitParams) -> ();
                job_rescue_expired(p: $crate::store::JobRescueParams) -> Vec<$crate::store::Rescued>;
                job_promote_due(p: $crate::store::JobPromoteParams) -> u64;
                job_prune(p: $crate::store::JobPruneParams) -> u64;
                job_get(id: $crate::JobId) -> $crate::Job;
                job_list(p: $crate::store::JobListParams) -> Vec<$crate::Job>;
                job_export(p: $crate::store::JobExportParams, sink: &mut $crate::store::ExportSink<'_>) -> u64;
                job_import_many(jobs: Vec<$crate::Job>) -> u64;
                job_retry(id: $crate::JobId, now: ::jiff::Timestamp) -> $crate::Job;
                job_retry_dead(p: $crate::store::JobRetryDeadParams) -> u64;
                job_cancel(id: $crate::JobId, now: ::jiff::Timestamp) -> $crate::Job;
                job_delete(id: $crate::JobId) -> ();
                queue_purge(p: $crate::store::QueuePurgeParams) -> u64;
                queue_list() -> Vec<$crate::store::QueueInfo>;
                queue_set_paused(queue: $crate::QueueName, paused: bool, now: ::jiff::Timestamp) -> ();
                schedule_sync(p: $crate::schedule::ScheduleSyncParams) -> ();
                schedule_list() -> Vec<$crate::schedule::ScheduleInfo>;
                schedule_get(name: $crate::schedule::ScheduleName, log_limit: u32) -> ($crate::schedule::ScheduleInfo, Vec<$crate::schedule::FireLogEntry>);
                schedule_set_paused(name: $crate::schedule::ScheduleName, paused: bool, now: ::jiff::Timestamp) -> ();
                schedule_claim_tick(p: $crate::schedule::TickClaimParams) -> $crate::schedule::TickClaim;
                schedule_trigger(p: $crate::schedule::ScheduleTriggerParams) -> $crate::job::Enqueued;
                schedule_delete(name: $crate::schedule::ScheduleName) -> ();
                process_heartbeat(p: $crate::monitor::ProcessInfo) -> ();
                process_remove(id: String) -> ();
                process_list(p: $crate::monitor::ProcessListParams) -> Vec<$crate::monitor::ProcessInfo>;
                stats_record(p: $crate::monitor::StatsRecordParams) -> ();
                stats_query(p: $crate::monitor::StatsQueryParams) -> Vec<($crate::monitor::StatKey, $crate::monitor::StatCounts)>;
                deploy_mark(m: $crate::monitor::DeployMarker) -> ();
                deploy_list(limit: u32) -> Vec<$crate::monitor::DeployMarker>;
                audit_record(e: $crate::monitor::AuditEntry) -> ();
                audit_list(limit: u32) -> Vec<$crate::monitor::AuditEntry>;
            }
        }
    };
}
