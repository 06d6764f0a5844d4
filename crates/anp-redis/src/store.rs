//! [`RedisStore`]: the handle, and the [`Store`] implementation that hands each method to its
//! `ops/<method>.rs`.

use std::path::Path;
use std::sync::Arc;

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
use anp_core::{Job, JobId, QueueName, Result, Store};
use async_trait::async_trait;
use jiff::Timestamp;
use tracing::Instrument;

use crate::conn::Redis;
use crate::ops;
use crate::url::RedisUrl;

/// A Redis / Valkey store. Cheap to clone (an `Arc` inside); one shared multiplexed connection
/// (per node in Cluster) serves every call, plus dedicated connections for `job_wait`.
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

struct Inner {
    redis: Redis,
    server_version: String,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("url", &self.inner.redis.target())
            .field("server_version", &self.inner.server_version)
            .finish()
    }
}

impl RedisStore {
    /// Connects to the store at `url`:
    /// `redis://[user:pass@]host:port[/db]`, `rediss://…[?ca=/path/ca.pem]` (TLS),
    /// `redis+cluster://host:port,host:port` (Cluster) or `rediss+cluster://…`.
    ///
    /// Checks that the server is Redis 6.2+ (or Valkey) and that its `anp:*` keys use a layout
    /// this build understands, loads the scripts, and warns (tracing) when `maxmemory-policy`
    /// would evict jobs. A bad URL is `InvalidInput`; an unreachable server `Unavailable`.
    pub async fn open(url: &str) -> Result<RedisStore> {
        let url = RedisUrl::parse(url)?;
        let opened = crate::open::open(&url)
            .instrument(tracing::debug_span!("anp.store.open", store = %url.redacted()))
            .await?;
        Ok(RedisStore {
            inner: Arc::new(Inner {
                redis: opened.redis,
                server_version: opened.server_version,
            }),
        })
    }

    /// Server settings that can lose jobs (an evicting `maxmemory-policy`, persistence off),
    /// one sentence each; empty when all is well or the settings cannot be read.
    pub async fn server_warnings(&self) -> Vec<String> {
        crate::open::server_warnings(&self.inner.redis).await
    }

    /// The server's clock (Redis `TIME`), for measuring this host's clock skew against it.
    /// A Cluster answers from one of its nodes.
    pub async fn server_time(&self) -> Result<jiff::Timestamp> {
        crate::open::server_time(&self.inner.redis).await
    }

    fn r(&self) -> &Redis {
        &self.inner.redis
    }
}

macro_rules! span {
    ($name:literal) => {
        tracing::debug_span!(concat!("anp.store.", $name))
    };
}

#[async_trait]
impl Store for RedisStore {
    fn backend(&self) -> &'static str {
        "redis"
    }

    fn redacted_url(&self) -> String {
        self.r().target().to_owned()
    }

    async fn store_ping(&self) -> Result<StoreInfo> {
        ops::store_ping::run(self.r(), &self.inner.server_version)
            .instrument(span!("store_ping"))
            .await
    }

    fn store_schema_version(&self) -> u32 {
        crate::SCHEMA_VERSION
    }

    async fn store_checks(&self) -> Vec<StoreCheck> {
        let warnings = self
            .server_warnings()
            .instrument(span!("store_checks"))
            .await;
        if warnings.is_empty() {
            return vec![StoreCheck::pass(
                "redis settings",
                "maxmemory-policy noeviction and persistence on (or not readable with this ACL)",
            )];
        }
        warnings
            .into_iter()
            .map(|w| {
                StoreCheck::fail(
                    "redis settings",
                    w,
                    "CONFIG SET maxmemory-policy noeviction; enable AOF (appendonly yes, \
                     appendfsync everysec) — see README \"Redis\"",
                )
            })
            .collect()
    }

    async fn store_time(&self) -> Result<Option<Timestamp>> {
        self.server_time()
            .instrument(span!("store_time"))
            .await
            .map(Some)
    }

    async fn store_snapshot(&self, _dir: &Path) -> Result<Option<Arc<dyn Store>>> {
        // No copy of a Redis keyspace can be taken from a client without stopping writers;
        // job_export's per-queue copy-on-write is the consistency Redis offers.
        Ok(None)
    }

    async fn job_enqueue_many(&self, p: JobEnqueueManyParams) -> Result<Vec<Enqueued>> {
        ops::job_enqueue_many::run(self.r(), p)
            .instrument(span!("job_enqueue_many"))
            .await
    }

    async fn job_export(&self, p: JobExportParams, sink: &mut ExportSink<'_>) -> Result<u64> {
        ops::job_export::run(self.r(), p, sink)
            .instrument(span!("job_export"))
            .await
    }

    async fn job_fetch(&self, p: JobFetchParams) -> Result<Vec<Job>> {
        ops::job_fetch::run(self.r(), p)
            .instrument(span!("job_fetch"))
            .await
    }

    async fn job_ack_many(&self, p: JobAckManyParams) -> Result<Vec<AckResult>> {
        ops::job_ack_many::run(self.r(), p)
            .instrument(span!("job_ack_many"))
            .await
    }

    async fn job_heartbeat_many(&self, p: JobHeartbeatManyParams) -> Result<Vec<bool>> {
        ops::job_heartbeat_many::run(self.r(), p)
            .instrument(span!("job_heartbeat_many"))
            .await
    }

    async fn job_wait(&self, p: JobWaitParams) -> Result<()> {
        self.r()
            .wait("job_wait", &p.queues, p.timeout)
            .instrument(span!("job_wait"))
            .await
    }

    async fn job_rescue_expired(&self, p: JobRescueParams) -> Result<Vec<Rescued>> {
        ops::job_rescue_expired::run(self.r(), p)
            .instrument(span!("job_rescue_expired"))
            .await
    }

    async fn job_promote_due(&self, p: JobPromoteParams) -> Result<u64> {
        ops::job_promote_due::run(self.r(), p)
            .instrument(span!("job_promote_due"))
            .await
    }

    async fn job_prune(&self, p: JobPruneParams) -> Result<u64> {
        ops::job_prune::run(self.r(), p)
            .instrument(span!("job_prune"))
            .await
    }

    async fn job_get(&self, id: JobId) -> Result<Job> {
        ops::job_get::run(self.r(), id)
            .instrument(span!("job_get"))
            .await
    }

    async fn job_list(&self, p: JobListParams) -> Result<Vec<Job>> {
        ops::job_list::run(self.r(), p)
            .instrument(span!("job_list"))
            .await
    }

    async fn job_retry(&self, id: JobId, now: Timestamp) -> Result<Job> {
        ops::job_retry::run(self.r(), id, now)
            .instrument(span!("job_retry"))
            .await
    }

    async fn job_retry_dead(&self, p: JobRetryDeadParams) -> Result<u64> {
        ops::job_retry_dead::run(self.r(), p)
            .instrument(span!("job_retry_dead"))
            .await
    }

    async fn job_cancel(&self, id: JobId, now: Timestamp) -> Result<Job> {
        ops::job_cancel::run(self.r(), id, now)
            .instrument(span!("job_cancel"))
            .await
    }

    async fn job_delete(&self, id: JobId) -> Result<()> {
        ops::job_delete::run(self.r(), id)
            .instrument(span!("job_delete"))
            .await
    }

    async fn queue_purge(&self, p: QueuePurgeParams) -> Result<u64> {
        ops::queue_purge::run(self.r(), p)
            .instrument(span!("queue_purge"))
            .await
    }

    async fn queue_list(&self) -> Result<Vec<QueueInfo>> {
        ops::queue_list::run(self.r())
            .instrument(span!("queue_list"))
            .await
    }

    async fn queue_set_paused(
        &self,
        queue: QueueName,
        paused: bool,
        _now: Timestamp,
    ) -> Result<()> {
        ops::queue_set_paused::run(self.r(), &queue, paused)
            .instrument(span!("queue_set_paused"))
            .await
    }

    async fn schedule_sync(&self, p: ScheduleSyncParams) -> Result<()> {
        ops::schedule::sync(self.r(), p)
            .instrument(span!("schedule_sync"))
            .await
    }

    async fn schedule_list(&self) -> Result<Vec<ScheduleInfo>> {
        ops::schedule::list(self.r())
            .instrument(span!("schedule_list"))
            .await
    }

    async fn schedule_get(
        &self,
        name: ScheduleName,
        log_limit: u32,
    ) -> Result<(ScheduleInfo, Vec<FireLogEntry>)> {
        ops::schedule::get(self.r(), name, log_limit)
            .instrument(span!("schedule_get"))
            .await
    }

    async fn schedule_set_paused(
        &self,
        name: ScheduleName,
        paused: bool,
        now: Timestamp,
    ) -> Result<()> {
        ops::schedule::set_paused(self.r(), name, paused, now)
            .instrument(span!("schedule_set_paused"))
            .await
    }

    async fn schedule_claim_tick(&self, p: TickClaimParams) -> Result<TickClaim> {
        ops::schedule::claim_tick(self.r(), p)
            .instrument(span!("schedule_claim_tick"))
            .await
    }

    async fn schedule_trigger(&self, p: ScheduleTriggerParams) -> Result<Enqueued> {
        ops::schedule::trigger(self.r(), p)
            .instrument(span!("schedule_trigger"))
            .await
    }

    async fn schedule_delete(&self, name: ScheduleName) -> Result<()> {
        ops::schedule::delete(self.r(), name)
            .instrument(span!("schedule_delete"))
            .await
    }

    async fn process_heartbeat(&self, p: ProcessInfo) -> Result<()> {
        ops::process::heartbeat(self.r(), p)
            .instrument(span!("process_heartbeat"))
            .await
    }

    async fn process_remove(&self, id: String) -> Result<()> {
        ops::process::remove(self.r(), id)
            .instrument(span!("process_remove"))
            .await
    }

    async fn process_list(&self, p: ProcessListParams) -> Result<Vec<ProcessInfo>> {
        ops::process::list(self.r(), p)
            .instrument(span!("process_list"))
            .await
    }

    async fn stats_record(&self, p: StatsRecordParams) -> Result<()> {
        ops::stats::record(self.r(), p)
            .instrument(span!("stats_record"))
            .await
    }

    async fn stats_query(&self, p: StatsQueryParams) -> Result<Vec<(StatKey, StatCounts)>> {
        ops::stats::query(self.r(), p)
            .instrument(span!("stats_query"))
            .await
    }

    async fn deploy_mark(&self, m: DeployMarker) -> Result<()> {
        ops::deploy::mark(self.r(), m)
            .instrument(span!("deploy_mark"))
            .await
    }

    async fn deploy_list(&self, limit: u32) -> Result<Vec<DeployMarker>> {
        ops::deploy::list(self.r(), limit)
            .instrument(span!("deploy_list"))
            .await
    }

    async fn job_import_many(&self, jobs: Vec<Job>) -> Result<u64> {
        ops::job_import_many::run(self.r(), jobs)
            .instrument(span!("job_import_many"))
            .await
    }
}
