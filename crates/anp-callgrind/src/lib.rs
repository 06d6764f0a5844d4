//! # anp-callgrind
//!
//! Instruction-count benchmarks of alphanode's hot paths, run under Valgrind's Callgrind with
//! [gungraun](https://docs.rs/gungraun). Instruction counts do not depend on the machine's load,
//! so a change of a few percent shows up in review even on a noisy shared machine, where wall-clock
//! benchmarks cannot see it.
//!
//! The benchmarks live in `benches/hot_paths.rs`; this library holds their setup, so the
//! benchmark file shows only what is measured. Run them with `scripts/callgrind` (it installs the
//! matching `gungraun-runner` and turns on the `client-requests` feature); `docs/callgrind.md`
//! explains the output and baselines.
//!
//! # What is counted
//!
//! Only the closure given to [`measure`] (or the future made by [`measure_async`]): it switches
//! Callgrind's instrumentation on before and off after (client requests `START_INSTRUMENTATION`
//! / `STOP_INSTRUMENTATION`; the benchmarks run with `--instr-atstart=no`). Instrumentation is
//! process-wide, so the SQLite work that [`SqliteStore`](anp_sqlite::SqliteStore) runs on Tokio's
//! blocking pool thread is counted too, while opening the store, migrations, seeding and warm-up
//! calls (all in setup), entering the runtime, and dropping results are not.
//!
//! # Determinism
//!
//! Ids and timestamps are fixed (no clock, no random ids); the runtime is a current-thread Tokio
//! runtime with one blocking thread that lives for the whole benchmark, created during warm-up.
//! What remains is the hand-off between the runtime thread and the blocking thread, whose
//! interleaving Valgrind's scheduler does not fully fix: see `docs/callgrind.md` for the measured
//! run-to-run spread.

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use alphanode::cache::{Cache, CacheClient, CacheOptions, NamespaceOptions, Policy};
use anp_core::job::{ts_add, Enqueued};
use anp_core::store::{
    AckOutcome, AckResult, AckStats, JobAck, JobAckManyParams, JobEnqueueManyParams, JobFetchParams,
};
use anp_core::{Args, Job, JobId, Kind, NewJob, QueueName, Store};
use anp_cron::{CronExpr, Tz};
use anp_sqlite::{SqliteOptions, SqliteStore};
use jiff::Timestamp;
use tempfile::TempDir;
use tokio::runtime::Runtime;

/// Whether this build sends Callgrind client requests (feature `client-requests`). Without them
/// [`measure`] counts nothing under the benchmarks' `--instr-atstart=no`, so the benchmark setups
/// refuse to run (see [`require_client_requests`]).
pub const CLIENT_REQUESTS: bool = cfg!(feature = "client-requests");

/// Runs `f` with Callgrind's instrumentation switched on, and only `f`: everything before and
/// after (setup, dropping the fixture, the harness) runs uninstrumented. Outside Valgrind, or
/// without the `client-requests` feature, it just runs `f`.
///
/// Return whatever `f` produced instead of dropping it inside: freeing the results is not part of
/// the operation being measured.
#[inline(never)]
pub fn measure<T>(f: impl FnOnce() -> T) -> T {
    instrumentation_on();
    let out = f();
    instrumentation_off();
    out
}

/// [`measure`] for async operations: counts creating the future with `make` and awaiting it, on
/// every thread, but not entering and leaving the runtime around it. Run it with
/// [`SqliteFixture::block_on`].
pub async fn measure_async<F, Fut>(make: F) -> Fut::Output
where
    F: FnOnce() -> Fut,
    Fut: Future,
{
    instrumentation_on();
    let out = make().await;
    instrumentation_off();
    out
}

/// Callgrind client request `START_INSTRUMENTATION` (process-wide).
#[inline(always)]
fn instrumentation_on() {
    #[cfg(feature = "client-requests")]
    valgrind_requests::callgrind::start_instrumentation();
}

/// Callgrind client request `STOP_INSTRUMENTATION` (process-wide).
#[inline(always)]
fn instrumentation_off() {
    #[cfg(feature = "client-requests")]
    valgrind_requests::callgrind::stop_instrumentation();
}

/// Panics, with the way out, when the benchmarks were built without the `client-requests`
/// feature: they would report 0 instructions. Called first by every benchmark setup.
pub fn require_client_requests() {
    if !CLIENT_REQUESTS {
        panic!(
            "anp-callgrind was built without the `client-requests` feature, so nothing would be \
             measured: run scripts/callgrind (or cargo bench -p anp-callgrind --features client-requests)"
        );
    }
}

/// The instant every benchmark calls "now": fixed, so runs see the same data.
pub fn bench_now() -> Timestamp {
    Timestamp::from_second(1_735_689_600).unwrap_or(Timestamp::UNIX_EPOCH) // 2025-01-01T00:00:00Z
}

/// A SQLite store in a fresh temporary directory, with the runtime that drives it.
///
/// The runtime is a current-thread Tokio runtime limited to one blocking thread, kept alive for an
/// hour: the store's SQLite work always runs on that same thread, created by the first call (in
/// setup), never during a measured call.
#[derive(Debug)]
pub struct SqliteFixture {
    /// The store under test (a real file, `bench.db`, WAL mode, `synchronous=NORMAL`).
    pub store: SqliteStore,
    /// Drives the store's futures; use [`SqliteFixture::block_on`].
    pub runtime: Runtime,
    /// Jobs made so far by [`SqliteFixture::new_jobs`]: the next id's number.
    next_job: u64,
    /// Deleted on drop, after the store.
    _dir: TempDir,
}

impl SqliteFixture {
    /// The queue every job goes to.
    pub const QUEUE: &'static str = "bench";
    /// The kind of every job.
    pub const KIND: &'static str = "bench.job";
    /// The worker id used by fetches.
    pub const WORKER: &'static str = "bench-worker";

    /// Creates the directory, the runtime, and opens (creates and migrates) the store.
    ///
    /// # Panics
    ///
    /// When any of that fails: this is benchmark setup.
    pub fn open() -> SqliteFixture {
        let dir = tempfile::tempdir().expect("creating a temporary directory");
        let runtime = bench_runtime(false);
        let store = runtime
            .block_on(SqliteStore::open(SqliteOptions::new(
                dir.path().join("bench.db"),
            )))
            .expect("opening the SQLite store");
        SqliteFixture {
            store,
            runtime,
            next_job: 0,
            _dir: dir,
        }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        self.store.path()
    }

    /// Runs a future to completion on the fixture's runtime.
    pub fn block_on<F: std::future::Future>(&self, fut: F) -> F::Output {
        self.runtime.block_on(fut)
    }

    /// `n` new jobs with increasing, deterministic ids, `{"n": <number>}` as args, default
    /// priority and attempts, due now, no unique key.
    pub fn new_jobs(&mut self, n: usize) -> Vec<NewJob> {
        let kind = Kind::parse(Self::KIND).expect("a valid kind");
        let queue = QueueName::parse(Self::QUEUE).expect("a valid queue name");
        (0..n)
            .map(|_| {
                self.next_job += 1;
                let n = self.next_job;
                NewJob {
                    id: JobId::parse(&format!("01942c00-0000-7000-8000-{n:012x}"))
                        .expect("a valid job id"),
                    kind: kind.clone(),
                    queue: queue.clone(),
                    args: Args::from_json(&format!("{{\"n\":{n}}}")).expect("valid JSON"),
                    priority: NewJob::DEFAULT_PRIORITY,
                    max_attempts: NewJob::DEFAULT_MAX_ATTEMPTS,
                    run_at: None,
                    unique: None,
                }
            })
            .collect()
    }

    /// Parameters enqueueing `n` new jobs (see [`SqliteFixture::new_jobs`]) at [`bench_now`].
    pub fn enqueue_params(&mut self, n: usize) -> JobEnqueueManyParams {
        JobEnqueueManyParams {
            jobs: self.new_jobs(n),
            now: bench_now(),
        }
    }

    /// Enqueues `n` new jobs in batches of at most 100 (setup and warm-up).
    ///
    /// # Panics
    ///
    /// When the store fails or does not add every job.
    pub fn seed(&mut self, n: usize) {
        let mut left = n;
        while left > 0 {
            let batch = left.min(100);
            let p = self.enqueue_params(batch);
            let out: Vec<Enqueued> = self
                .block_on(self.store.job_enqueue_many(p))
                .expect("seeding jobs");
            assert!(
                out.len() == batch && out.iter().all(|e| !e.duplicate),
                "seeding added {out:?}"
            );
            left -= batch;
        }
    }

    /// Parameters fetching up to `limit` jobs of [`SqliteFixture::QUEUE`] at [`bench_now`], with
    /// a five-minute lease.
    pub fn fetch_params(&self, limit: u32) -> JobFetchParams {
        let now = bench_now();
        JobFetchParams {
            queue: QueueName::parse(Self::QUEUE).expect("a valid queue name"),
            limit,
            worker: Self::WORKER.to_owned(),
            now,
            lease_until: ts_add(now, Duration::from_secs(300)),
        }
    }

    /// Parameters completing every fetched job, with stats as a worker reports them (waited
    /// 1 ms, ran 2 ms), one second after [`bench_now`].
    ///
    /// # Panics
    ///
    /// When a job has no lease (it was not fetched).
    pub fn complete_params(jobs: &[Job]) -> JobAckManyParams {
        JobAckManyParams {
            acks: jobs
                .iter()
                .map(|job| JobAck {
                    lease: job.lease().expect("a fetched job has a lease"),
                    outcome: AckOutcome::Complete,
                    stats: Some(AckStats {
                        kind: job.kind.clone(),
                        wait: Duration::from_millis(1),
                        run: Duration::from_millis(2),
                    }),
                })
                .collect(),
            now: ts_add(bench_now(), Duration::from_secs(1)),
        }
    }

    /// Fetches up to `limit` jobs and completes them: the worker's steady-state round trip.
    /// Returns the fetched jobs and the ack results (for the caller to check, and to drop).
    ///
    /// # Panics
    ///
    /// When the store fails.
    pub async fn fetch_and_complete(&self, limit: u32) -> (Vec<Job>, Vec<AckResult>) {
        let jobs = self
            .store
            .job_fetch(self.fetch_params(limit))
            .await
            .expect("job_fetch");
        let acked = self
            .store
            .job_ack_many(Self::complete_params(&jobs))
            .await
            .expect("job_ack_many");
        (jobs, acked)
    }
}

/// A current-thread Tokio runtime limited to one blocking thread, kept alive for an hour, so the
/// store's SQLite work always runs on the same thread, created during setup. `timers` turns on
/// Tokio's time driver (the cache's background tasks sleep; the job store needs none).
fn bench_runtime(timers: bool) -> Runtime {
    let mut b = tokio::runtime::Builder::new_current_thread();
    if timers {
        b.enable_time();
    }
    b.max_blocking_threads(1)
        .thread_keep_alive(Duration::from_secs(3600))
        .build()
        .expect("building the Tokio runtime")
}

/// The application cache on a SQLite store with L1 on, and one key written and read before
/// (warm): what a web process serving a hot fragment has.
///
/// The client is opened with `alphanode::connect("sqlite://…/cache.db")` (WAL,
/// `synchronous=NORMAL`) and [`CacheOptions`] defaults except `l1_ttl` (1 hour, so the key
/// cannot leave L1 while Valgrind runs slowly) and `stats_interval` (1 hour). The clock is the
/// system clock, as in production: the key was written fresh for 5 minutes. The runtime only
/// runs while [`CacheFixture::block_on`] drives it, so the cache's background tasks (the
/// invalidation feed polled every 50 ms, stats, pruning) do not run between calls; an L1 hit
/// completes on the first poll of its future, so they do not run inside one either.
#[derive(Debug)]
pub struct CacheFixture {
    /// The `pages` namespace.
    pub cache: Cache,
    /// The process's cache client (the namespace holds a clone; kept for clarity).
    pub client: CacheClient,
    /// Drives the cache's futures.
    pub runtime: Runtime,
    /// Deleted on drop, after the store.
    _dir: TempDir,
}

impl CacheFixture {
    /// The warm key.
    pub const KEY: &'static str = "post:42:html";
    /// Size of its value as JSON (a string of `VALUE_BYTES - 2` characters), as in
    /// `anp bench --cache`.
    pub const VALUE_BYTES: usize = 1024;
    /// `get`s of the key in setup, after the `set`: the first parses the value and remembers
    /// it typed; the rest bring moka's read log to a steady state.
    pub const WARM_READS: usize = 1000;

    /// Opens the store and the cache, writes [`CacheFixture::KEY`] and reads it
    /// [`CacheFixture::WARM_READS`] times.
    ///
    /// # Panics
    ///
    /// When any of that fails or a warm-up read misses: this is benchmark setup.
    pub fn open() -> CacheFixture {
        let dir = tempfile::tempdir().expect("creating a temporary directory");
        let runtime = bench_runtime(true);
        let url = format!("sqlite://{}", dir.path().join("cache.db").display());
        let (client, cache) = runtime.block_on(async {
            let backend = alphanode::connect(&url)
                .await
                .expect("opening the SQLite store");
            let client = CacheClient::new(
                backend,
                CacheOptions {
                    l1_ttl: Duration::from_secs(3600),
                    stats_interval: Duration::from_secs(3600),
                    ..CacheOptions::default()
                },
            )
            .await
            .expect("opening the cache");
            let cache = client
                .namespace("pages", NamespaceOptions::default())
                .await
                .expect("opening the namespace");
            let value = "x".repeat(Self::VALUE_BYTES - 2);
            cache
                .set(Self::KEY, &value, &Policy::fresh(Duration::from_secs(300)))
                .await
                .expect("writing the key");
            (client, cache)
        });
        let f = CacheFixture {
            cache,
            client,
            runtime,
            _dir: dir,
        };
        for _ in 0..Self::WARM_READS {
            let v = f.block_on(f.get());
            assert_eq!(
                v.map(|v| v.len()),
                Some(Self::VALUE_BYTES - 2),
                "warm-up read"
            );
        }
        f
    }

    /// Runs a future to completion on the fixture's runtime.
    pub fn block_on<F: std::future::Future>(&self, fut: F) -> F::Output {
        self.runtime.block_on(fut)
    }

    /// `Cache::get::<String>` of [`CacheFixture::KEY`]: the measured call.
    ///
    /// # Panics
    ///
    /// When the cache returns an error.
    pub async fn get(&self) -> Option<String> {
        self.cache
            .get::<String>(Self::KEY)
            .await
            .expect("Cache::get")
    }
}

/// One cron case: an expression parsed, its zone looked up, and the instant to search from.
#[derive(Debug, Clone)]
pub struct CronCase {
    /// The parsed expression.
    pub expr: CronExpr,
    /// Its time zone.
    pub tz: Tz,
    /// Search for the first fire strictly after this.
    pub after: Timestamp,
}

impl CronCase {
    /// Parses `expr`, looks up `tz`, parses `after` (RFC 3339), and computes the next fire once
    /// (warm-up: the zone's first lookups are not part of the measurement).
    ///
    /// # Panics
    ///
    /// When any of them is invalid, or the expression never fires after `after`.
    pub fn new(expr: &str, tz: &str, after: &str) -> CronCase {
        let case = CronCase {
            expr: CronExpr::parse(expr).expect("a valid cron expression"),
            tz: Tz::parse(tz).expect("a known time zone"),
            after: after.parse().expect("an RFC 3339 instant"),
        };
        assert!(case.next().is_some(), "{expr} never fires after {after}");
        case
    }

    /// The first fire strictly after [`CronCase::after`]: the measured computation.
    pub fn next(&self) -> Option<Timestamp> {
        self.expr.next_timestamp_after(&self.tz, self.after)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use anp_core::JobState;

    use super::*;

    #[test]
    fn enqueue_one_adds_an_available_job() {
        let mut f = SqliteFixture::open();
        assert!(f.path().exists());
        f.seed(3);
        let p = f.enqueue_params(1);
        let out = f
            .block_on(measure_async(|| f.store.job_enqueue_many(p)))
            .unwrap();
        assert_eq!(out.len(), 1);
        assert!(!out[0].duplicate);
        assert_eq!(out[0].state, JobState::Available);
    }

    #[test]
    fn fetch_and_complete_takes_the_oldest_jobs_and_applies_every_ack() {
        let mut f = SqliteFixture::open();
        f.seed(120);
        let (jobs, acked) = f.block_on(measure_async(|| f.fetch_and_complete(50)));
        assert_eq!(jobs.len(), 50);
        assert!(acked.iter().all(|r| *r == AckResult::Applied));
        let (jobs, acked) = f.block_on(f.fetch_and_complete(50));
        assert_eq!(acked.len(), 50);
        assert!(jobs.windows(2).all(|w| w[0].id < w[1].id));
        assert_eq!(f.block_on(f.fetch_and_complete(50)).0.len(), 20);
    }

    #[test]
    fn cache_fixture_serves_the_warm_key() {
        let f = CacheFixture::open();
        let v = f.block_on(measure_async(|| f.get())).unwrap();
        assert_eq!(v.len(), CacheFixture::VALUE_BYTES - 2);
    }

    #[test]
    fn cron_cases_give_the_documented_fires() {
        let fire = |expr, tz, after| {
            let case = CronCase::new(expr, tz, after);
            measure(|| case.next()).unwrap().to_string()
        };
        assert_eq!(
            fire("*/5 * * * *", "UTC", "2025-03-29T12:02:00Z"),
            "2025-03-29T12:05:00Z"
        );
        // Clocks skip 02:00-03:00: the 02:30 job runs at 03:00 CEST (01:00 UTC).
        assert_eq!(
            fire("30 2 * * *", "Europe/Berlin", "2025-03-29T12:00:00Z"),
            "2025-03-30T01:00:00Z"
        );
        // 02:00-03:00 repeats: a fixed-time job runs on the first pass only (CEST, 00:30 UTC).
        assert_eq!(
            fire("30 2 * * *", "Europe/Berlin", "2025-10-25T12:00:00Z"),
            "2025-10-26T00:30:00Z"
        );
        // Last weekday of March 2025 is Monday the 31st.
        assert_eq!(
            fire("0 9 LW * *", "America/New_York", "2025-03-01T00:00:00Z"),
            "2025-03-31T13:00:00Z"
        );
        // Third Friday of April 2025 is the 18th.
        assert_eq!(
            fire("30 18 * * 5#3", "Europe/Berlin", "2025-03-29T12:00:00Z"),
            "2025-04-18T16:30:00Z"
        );
        assert_eq!(bench_now().to_string(), "2025-01-01T00:00:00Z");
    }
}
