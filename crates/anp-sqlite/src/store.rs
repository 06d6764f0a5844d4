//! [`SqliteStore`]: the handle, how it runs SQL off the async runtime, and the [`Store`] impl.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anp_core::job::Enqueued;
use anp_core::monitor::{
    DeployMarker, ProcessInfo, ProcessListParams, StatCounts, StatKey, StatsQueryParams,
    StatsRecordParams,
};
use anp_core::schedule::{
    FireLogEntry, ScheduleInfo, ScheduleName, ScheduleSyncParams, ScheduleTriggerParams, TickClaim,
    TickClaimParams,
};
use anp_core::store::{
    AckResult, ExportSink, JobAckManyParams, JobEnqueueManyParams, JobExportParams, JobFetchParams,
    JobHeartbeatManyParams, JobListParams, JobPromoteParams, JobPruneParams, JobRescueParams,
    JobRetryDeadParams, JobWaitParams, QueueInfo, QueuePurgeParams, Rescued, StoreCheck, StoreInfo,
};
use anp_core::{Error, Job, JobId, QueueName, Result, Store};
use async_trait::async_trait;
use jiff::Timestamp;
use rusqlite::{Connection, TransactionBehavior};
use tracing::Instrument;

use crate::conn::OpResult;
use crate::options::{self, SqliteOptions};
use crate::wake::{Wake, POLL_FALLBACK};
use crate::{open, ops};

/// The SQLite store: one database file shared by any number of processes.
///
/// A cheap, cloneable handle (an `Arc` inside); clones share the connections and wake-ups. Writes
/// go through one connection (`BEGIN IMMEDIATE`, so processes queue on SQLite's lock instead of
/// deadlocking), reads for operators (`job_get`, `job_list`, `queue_list`, `store_ping`) through
/// another so they do not wait behind writes. All SQLite work runs on Tokio's blocking pool.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    url: String,
    busy_timeout: Duration,
    synchronous: options::Synchronous,
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
    wake: Wake,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens the database at `opts.path`: creates it (mode 0600) if missing and allowed, refuses
    /// anything that is not an empty file or an alphanode database without changing a byte of
    /// it, then switches to WAL and applies pending migrations.
    ///
    /// Errors: `InvalidInput` (missing directory, path is a directory), `NotFound` (missing file
    /// with `create: false`), `ReadOnly` (read-only file or directory), `Incompatible` (not
    /// SQLite, not alphanode, or a newer schema), `Unavailable` (locked beyond the busy timeout).
    pub async fn open(opts: SqliteOptions) -> Result<SqliteStore> {
        let path = opts.path.clone();
        let busy_timeout = opts.busy_timeout;
        let synchronous = opts.synchronous;
        let opened = tokio::task::spawn_blocking(move || open::open(&opts))
            .await
            .map_err(|e| Error::internal("sqlite open", format!("the open task failed: {e}")))??;
        let url = format!("sqlite://{}", path.display());
        tracing::debug!(%url, "opened SQLite store");
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                wake: Wake::new(&path),
                path,
                url,
                busy_timeout,
                synchronous,
                writer: Mutex::new(opened.writer),
                reader: Mutex::new(opened.reader),
            }),
        })
    }

    /// Parses `sqlite://<path>[?synchronous=normal|full&busy_timeout_ms=<n>&create=true|false]`:
    /// `sqlite://anp.db` (relative), `sqlite:///var/lib/anp/anp.db` (absolute). Anything else is
    /// `InvalidInput`, with a message naming the expected form.
    pub fn parse_url(url: &str) -> Result<SqliteOptions> {
        options::parse_url(url)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Copies the database to `dest` (created 0600, must not exist) with SQLite's online backup
    /// API: a consistent snapshot copied 256 pages per step with a short pause between steps, so
    /// writers (workers) wait at most one step, never for the whole copy. Then runs
    /// `PRAGMA integrity_check` on the copy.
    pub async fn snapshot_to(&self, dest: &Path) -> Result<()> {
        const OP: &str = "backup";
        let inner = Arc::clone(&self.inner);
        let dest = dest.to_owned();
        let task = tokio::task::spawn_blocking(move || -> Result<()> {
            {
                use std::os::unix::fs::OpenOptionsExt;
                std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&dest)
                    .map_err(|e| Error::invalid(OP, format!("cannot create {}: {e}: expected a new file in a writable directory", dest.display())))?;
            }
            let mut out = Connection::open(&dest)
                .map_err(|e| Error::invalid(OP, format!("cannot open {}: {e}", dest.display())))?;
            let reader = inner.reader.lock().unwrap_or_else(PoisonError::into_inner);
            let backup = rusqlite::backup::Backup::new(&reader, &mut out).map_err(|e| {
                Error::unavailable(OP, format!("cannot start the backup of {}: {e}", inner.url))
            })?;
            backup
                .run_to_completion(256, Duration::from_millis(2), None)
                .map_err(|e| {
                    Error::unavailable(
                        OP,
                        format!(
                            "backup of {} failed: {e}: expected to finish; retry",
                            inner.url
                        ),
                    )
                })?;
            drop(backup);
            drop(reader);
            let check: String = out
                .query_row("PRAGMA integrity_check", [], |r| r.get(0))
                .map_err(|e| {
                    Error::internal(
                        OP,
                        format!("integrity check of {} failed: {e}", dest.display()),
                    )
                })?;
            if check != "ok" {
                return Err(Error::internal(
                    OP,
                    format!(
                        "integrity check of {} says {check:?}: expected ok",
                        dest.display()
                    ),
                ));
            }
            Ok(())
        });
        task.await
            .map_err(|e| Error::internal(OP, format!("the backup task failed: {e}")))?
    }

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction on the writer connection, off the runtime.
    async fn write<T, F>(&self, op: &'static str, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> OpResult<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        let task = tokio::task::spawn_blocking(move || {
            let mut conn = inner.writer.lock().unwrap_or_else(PoisonError::into_inner);
            let run = || -> OpResult<T> {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let out = f(&tx)?;
                tx.commit()?;
                Ok(out)
            };
            run().map_err(|e| e.into_error(op, &inner.url, inner.busy_timeout))
        });
        task.await
            .map_err(|e| Error::internal(op, format!("the SQLite task failed: {e}")))?
    }

    /// Runs `f` on the reader connection (autocommit; `f` may open a read transaction).
    async fn read<T, F>(&self, op: &'static str, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> OpResult<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        let task = tokio::task::spawn_blocking(move || {
            let mut conn = inner.reader.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut conn).map_err(|e| e.into_error(op, &inner.url, inner.busy_timeout))
        });
        task.await
            .map_err(|e| Error::internal(op, format!("the SQLite task failed: {e}")))?
    }

    fn wake_local(&self) {
        self.inner.wake.wake_local();
    }

    async fn wait(&self, p: JobWaitParams) -> Result<()> {
        let deadline = tokio::time::Instant::now() + p.timeout;
        let watching = self.inner.wake.watching();
        let queues = Arc::new(p.queues);
        let mut seen_version = None;
        loop {
            let notified = self.inner.wake.notify().notified();
            tokio::pin!(notified);
            // Registered before the check: a commit after the check wakes us.
            notified.as_mut().enable();
            let qs = Arc::clone(&queues);
            if self
                .write("job_wait", move |c| ops::job_wait::any_available(c, &qs))
                .await?
            {
                return Ok(());
            }
            if !watching && seen_version.is_none() {
                seen_version = Some(self.data_version().await?);
            }
            loop {
                let wake_at = if watching {
                    deadline
                } else {
                    deadline.min(tokio::time::Instant::now() + POLL_FALLBACK)
                };
                tokio::select! {
                    _ = &mut notified => break,
                    _ = tokio::time::sleep_until(wake_at) => {
                        if tokio::time::Instant::now() >= deadline {
                            return Ok(());
                        }
                        let v = self.data_version().await?;
                        if seen_version != Some(v) {
                            seen_version = Some(v);
                            break;
                        }
                    }
                }
            }
        }
    }

    async fn data_version(&self) -> Result<i64> {
        self.read("job_wait", |c| ops::job_wait::data_version(c))
            .await
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn redacted_url(&self) -> String {
        self.inner.url.clone()
    }

    async fn store_ping(&self) -> Result<StoreInfo> {
        self.read("store_ping", |c| ops::store_ping::run(c))
            .instrument(tracing::debug_span!("anp.store.store_ping"))
            .await
    }

    fn store_schema_version(&self) -> u32 {
        crate::SCHEMA_VERSION
    }

    async fn store_checks(&self) -> Vec<StoreCheck> {
        ops::store_checks::run(&self.inner.path, self.inner.synchronous)
    }

    async fn store_time(&self) -> Result<Option<Timestamp>> {
        Ok(None)
    }

    async fn store_snapshot(&self, dir: &Path) -> Result<Option<Arc<dyn Store>>> {
        let snap = dir.join("snapshot.db");
        self.snapshot_to(&snap)
            .instrument(tracing::debug_span!("anp.store.store_snapshot"))
            .await?;
        let opts = SqliteOptions {
            path: snap,
            create: false,
            ..SqliteOptions::default()
        };
        Ok(Some(Arc::new(SqliteStore::open(opts).await?)))
    }

    async fn job_enqueue_many(&self, p: JobEnqueueManyParams) -> Result<Vec<Enqueued>> {
        if p.jobs.is_empty() {
            return Ok(Vec::new());
        }
        let (out, any_available) = self
            .write("job_enqueue_many", move |c| {
                ops::job_enqueue_many::run(c, &p)
            })
            .instrument(tracing::debug_span!("anp.store.job_enqueue_many"))
            .await?;
        if any_available {
            self.wake_local();
        }
        Ok(out)
    }

    async fn job_fetch(&self, p: JobFetchParams) -> Result<Vec<Job>> {
        if p.limit == 0 {
            return Ok(Vec::new());
        }
        self.write("job_fetch", move |c| ops::job_fetch::run(c, &p))
            .instrument(tracing::debug_span!("anp.store.job_fetch"))
            .await
    }

    async fn job_ack_many(&self, p: JobAckManyParams) -> Result<Vec<AckResult>> {
        if p.acks.is_empty() {
            return Ok(Vec::new());
        }
        let (out, handed_back) = self
            .write("job_ack_many", move |c| ops::job_ack_many::run(c, &p))
            .instrument(tracing::debug_span!("anp.store.job_ack_many"))
            .await?;
        if handed_back {
            self.wake_local();
        }
        Ok(out)
    }

    async fn job_heartbeat_many(&self, p: JobHeartbeatManyParams) -> Result<Vec<bool>> {
        if p.leases.is_empty() {
            return Ok(Vec::new());
        }
        self.write("job_heartbeat_many", move |c| {
            ops::job_heartbeat_many::run(c, &p)
        })
        .instrument(tracing::debug_span!("anp.store.job_heartbeat_many"))
        .await
    }

    async fn job_wait(&self, p: JobWaitParams) -> Result<()> {
        self.wait(p)
            .instrument(tracing::debug_span!("anp.store.job_wait"))
            .await
    }

    async fn job_rescue_expired(&self, p: JobRescueParams) -> Result<Vec<Rescued>> {
        if p.limit == 0 {
            return Ok(Vec::new());
        }
        let (out, any_available) = self
            .write("job_rescue_expired", move |c| {
                ops::job_rescue_expired::run(c, &p)
            })
            .instrument(tracing::debug_span!("anp.store.job_rescue_expired"))
            .await?;
        if any_available {
            self.wake_local();
        }
        Ok(out)
    }

    async fn job_promote_due(&self, p: JobPromoteParams) -> Result<u64> {
        if p.limit == 0 {
            return Ok(0);
        }
        let n = self
            .write("job_promote_due", move |c| ops::job_promote_due::run(c, &p))
            .instrument(tracing::debug_span!("anp.store.job_promote_due"))
            .await?;
        if n > 0 {
            self.wake_local();
        }
        Ok(n)
    }

    async fn job_prune(&self, p: JobPruneParams) -> Result<u64> {
        self.write("job_prune", move |c| ops::job_prune::run(c, &p))
            .instrument(tracing::debug_span!("anp.store.job_prune"))
            .await
    }

    async fn job_get(&self, id: JobId) -> Result<Job> {
        self.read("job_get", move |c| ops::job_get::run(c, id))
            .instrument(tracing::debug_span!("anp.store.job_get"))
            .await
    }

    async fn job_list(&self, p: JobListParams) -> Result<Vec<Job>> {
        self.read("job_list", move |c| ops::job_list::run(c, &p))
            .instrument(tracing::debug_span!("anp.store.job_list"))
            .await
    }

    async fn job_export(&self, p: JobExportParams, sink: &mut ExportSink<'_>) -> Result<u64> {
        const OP: &str = "job_export";
        let page = p.page.max(1);
        // The read transaction runs on the blocking pool; pages come back through a short
        // channel so the sink runs here and a slow sink holds back the reader, not memory.
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<Job>>(2);
        let task = self.read(OP, move |c| {
            ops::job_export::run(c, page, |jobs| tx.blocking_send(jobs).is_ok())
        });
        let receive = async {
            let mut sink_result = Ok(());
            while let Some(jobs) = rx.recv().await {
                if sink_result.is_ok() {
                    sink_result = sink(jobs);
                }
                if sink_result.is_err() {
                    break;
                }
            }
            drop(rx);
            sink_result
        };
        let (n, sunk) = tokio::join!(
            task.instrument(tracing::debug_span!("anp.store.job_export")),
            receive
        );
        sunk?;
        n
    }

    async fn job_retry(&self, id: JobId, now: Timestamp) -> Result<Job> {
        let job = self
            .write("job_retry", move |c| ops::job_retry::run(c, id, now))
            .instrument(tracing::debug_span!("anp.store.job_retry"))
            .await?;
        self.wake_local();
        Ok(job)
    }

    async fn job_retry_dead(&self, p: JobRetryDeadParams) -> Result<u64> {
        if p.limit == 0 {
            return Ok(0);
        }
        let n = self
            .write("job_retry_dead", move |c| ops::job_retry_dead::run(c, &p))
            .instrument(tracing::debug_span!("anp.store.job_retry_dead"))
            .await?;
        if n > 0 {
            self.wake_local();
        }
        Ok(n)
    }

    async fn job_cancel(&self, id: JobId, now: Timestamp) -> Result<Job> {
        self.write("job_cancel", move |c| ops::job_cancel::run(c, id, now))
            .instrument(tracing::debug_span!("anp.store.job_cancel"))
            .await
    }

    async fn job_delete(&self, id: JobId) -> Result<()> {
        self.write("job_delete", move |c| ops::job_delete::run(c, id))
            .instrument(tracing::debug_span!("anp.store.job_delete"))
            .await
    }

    async fn queue_purge(&self, p: QueuePurgeParams) -> Result<u64> {
        let states = p.checked_states()?;
        self.write(QueuePurgeParams::OP, move |c| {
            ops::queue_purge::run(c, &p.queue, &states, p.limit)
        })
        .instrument(tracing::debug_span!("anp.store.queue_purge"))
        .await
    }

    async fn queue_list(&self) -> Result<Vec<QueueInfo>> {
        self.read("queue_list", ops::queue_list::run)
            .instrument(tracing::debug_span!("anp.store.queue_list"))
            .await
    }

    async fn queue_set_paused(&self, queue: QueueName, paused: bool, now: Timestamp) -> Result<()> {
        self.write("queue_set_paused", move |c| {
            ops::queue_set_paused::run(c, &queue, paused, now)
        })
        .instrument(tracing::debug_span!("anp.store.queue_set_paused"))
        .await?;
        if !paused {
            self.wake_local();
        }
        Ok(())
    }

    async fn schedule_sync(&self, p: ScheduleSyncParams) -> Result<()> {
        self.write("schedule_sync", move |c| ops::schedule::sync(c, &p))
            .instrument(tracing::debug_span!("anp.store.schedule_sync"))
            .await
    }

    async fn schedule_list(&self) -> Result<Vec<ScheduleInfo>> {
        self.read("schedule_list", |c| ops::schedule::list(c))
            .instrument(tracing::debug_span!("anp.store.schedule_list"))
            .await
    }

    async fn schedule_get(
        &self,
        name: ScheduleName,
        log_limit: u32,
    ) -> Result<(ScheduleInfo, Vec<FireLogEntry>)> {
        self.read("schedule_get", move |c| {
            ops::schedule::get(c, &name, log_limit)
        })
        .instrument(tracing::debug_span!("anp.store.schedule_get"))
        .await
    }

    async fn schedule_set_paused(
        &self,
        name: ScheduleName,
        paused: bool,
        now: Timestamp,
    ) -> Result<()> {
        self.write("schedule_set_paused", move |c| {
            ops::schedule::set_paused(c, &name, paused, now)
        })
        .instrument(tracing::debug_span!("anp.store.schedule_set_paused"))
        .await
    }

    async fn schedule_claim_tick(&self, p: TickClaimParams) -> Result<TickClaim> {
        let (claim, available) = self
            .write("schedule_claim_tick", move |c| {
                ops::schedule::claim_tick(c, p)
            })
            .instrument(tracing::debug_span!("anp.store.schedule_claim_tick"))
            .await?;
        if available {
            self.wake_local();
        }
        Ok(claim)
    }

    async fn schedule_trigger(&self, p: ScheduleTriggerParams) -> Result<Enqueued> {
        let (e, available) = self
            .write("schedule_trigger", move |c| ops::schedule::trigger(c, &p))
            .instrument(tracing::debug_span!("anp.store.schedule_trigger"))
            .await?;
        if available {
            self.wake_local();
        }
        Ok(e)
    }

    async fn schedule_delete(&self, name: ScheduleName) -> Result<()> {
        self.write("schedule_delete", move |c| ops::schedule::delete(c, &name))
            .instrument(tracing::debug_span!("anp.store.schedule_delete"))
            .await
    }

    async fn process_heartbeat(&self, p: ProcessInfo) -> Result<()> {
        self.write("process_heartbeat", move |c| {
            ops::operations::heartbeat(c, &p)
        })
        .instrument(tracing::debug_span!("anp.store.process_heartbeat"))
        .await
    }

    async fn process_remove(&self, id: String) -> Result<()> {
        self.write("process_remove", move |c| ops::operations::remove(c, &id))
            .instrument(tracing::debug_span!("anp.store.process_remove"))
            .await
    }

    async fn process_list(&self, p: ProcessListParams) -> Result<Vec<ProcessInfo>> {
        self.write("process_list", move |c| ops::operations::list(c, &p))
            .instrument(tracing::debug_span!("anp.store.process_list"))
            .await
    }

    async fn stats_record(&self, p: StatsRecordParams) -> Result<()> {
        self.write("stats_record", move |c| {
            ops::operations::stats_record(c, &p)
        })
        .instrument(tracing::debug_span!("anp.store.stats_record"))
        .await
    }

    async fn stats_query(&self, p: StatsQueryParams) -> Result<Vec<(StatKey, StatCounts)>> {
        self.read("stats_query", move |c| ops::operations::stats_query(c, &p))
            .instrument(tracing::debug_span!("anp.store.stats_query"))
            .await
    }

    async fn deploy_mark(&self, m: DeployMarker) -> Result<()> {
        self.write("deploy_mark", move |c| ops::operations::deploy_mark(c, &m))
            .instrument(tracing::debug_span!("anp.store.deploy_mark"))
            .await
    }

    async fn job_import_many(&self, jobs: Vec<Job>) -> Result<u64> {
        let (added, available) = self
            .write("job_import_many", move |c| {
                ops::job_import_many::run(c, &jobs)
            })
            .instrument(tracing::debug_span!("anp.store.job_import_many"))
            .await?;
        if available {
            self.wake_local();
        }
        Ok(added)
    }

    async fn deploy_list(&self, limit: u32) -> Result<Vec<DeployMarker>> {
        self.read("deploy_list", move |c| {
            ops::operations::deploy_list(c, limit)
        })
        .instrument(tracing::debug_span!("anp.store.deploy_list"))
        .await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Instant;

    use anp_core::{Args, Kind, NewJob};

    use super::*;

    /// When the WAL file cannot be watched, waiters still notice other stores' commits, by
    /// reading `PRAGMA data_version` every 50 ms.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn without_a_watcher_waiters_poll_data_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("anp.db");
        let mut a = SqliteStore::open(SqliteOptions::new(&path)).await.unwrap();
        Arc::get_mut(&mut a.inner).unwrap().wake = Wake::new(&dir.path().join("no/such.db"));
        assert!(!a.inner.wake.watching(), "the watcher cannot start");
        let b = SqliteStore::open(SqliteOptions::new(&path)).await.unwrap();
        let queue = QueueName::parse("q").unwrap();

        let waiter = {
            let a = a.clone();
            let queues = vec![queue.clone()];
            tokio::spawn(async move {
                a.job_wait(JobWaitParams {
                    queues,
                    timeout: Duration::from_secs(10),
                })
                .await
                .unwrap();
                Instant::now()
            })
        };
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!waiter.is_finished());
        let mut job = NewJob::new(Kind::parse("k").unwrap(), Args::empty_object());
        job.queue = queue;
        let enqueued = Instant::now();
        b.job_enqueue_many(JobEnqueueManyParams {
            jobs: vec![job],
            now: Timestamp::now(),
        })
        .await
        .unwrap();
        let woke = waiter.await.unwrap();
        let latency = woke.saturating_duration_since(enqueued);
        assert!(latency < Duration::from_secs(2), "{latency:?}");
    }
}
