//! `anp bench`: the standard workload (`bench/WORKLOAD.md` in the shared folder) against a store.
//!
//! - **A** enqueues `--jobs` jobs `{"i": n}` of kind `noop` in bulk calls of `--batch`.
//! - **A1** enqueues `--single-jobs` jobs one call at a time from one client.
//! - **B** starts the real worker, `anp work`, as a separate process (concurrency
//!   `--concurrency`, the builtin `noop` kind) on the jobs of A; the clock runs from spawning it
//!   until the store counts every job completed. The worker's peak RSS is its `VmHWM`.
//! - **C** starts the worker, lets it go idle, then enqueues `--latency-jobs` jobs one at a time
//!   at a steady `--rate`; latency is `attempted_at − created_at` of each job as stored.
//!
//! Every run of a phase uses a fresh queue `anp-bench-<random>` and deletes its jobs afterwards
//! (`queue_purge` of that queue only, so nothing else in the store is touched). Medians over
//! `--runs` are reported.
//!
//! Scaling options (the defaults are the standard workload, unchanged):
//! - `--queues N` spreads every phase's jobs round-robin over `anp-bench-<random>-<i>`,
//!   `i` in `0..N` (one set per invocation, emptied after each phase and reused), and each
//!   worker serves all N queues with `--concurrency` slots in total.
//! - `--workers N` runs N `anp work` processes in B and C, each with `--concurrency`.
//! - `--payload-bytes N` pads each job's args to exactly N bytes of JSON.

use std::collections::HashMap;
use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alphanode::{Args, Client, EnqueueOptions, JobId, JobState, Kind, NewJob, QueueName};
use anp_core::store::JobListParams;
use anp_core::{Error, Store};
use clap::Args as ClapArgs;
use hdrhistogram::Histogram;
use indicatif::ProgressBar;
use serde::Serialize;

use super::Ctx;
use crate::config::parse_duration;
use crate::output;

/// Jobs per bulk call in phase A: the fastest of 500–10,000 on SQLite (5,000: +4 % over
/// 1,000); on Redis 1,000–10,000 measure the same (BENCHMARKS.md).
const DEFAULT_BATCH: u64 = 5_000;
/// How often the store is asked for counts near the end of a phase.
const POLL: Duration = Duration::from_millis(20);
/// Longest pause between two count polls (keeps the progress bar moving).
const POLL_MAX: Duration = Duration::from_millis(250);
/// Jobs per `job_list` page when reading results and cleaning up.
const PAGE: u32 = 10_000;
/// Pause between enqueueing and starting the worker in B, and between the worker's warm-up job
/// and the first timed job in C (the peers harness does the same).
const SETTLE: Duration = Duration::from_secs(1);
/// With `--payload-bytes`, bulk enqueue calls and `job_list` pages are shortened so that one
/// call carries at most about this many bytes of args (5,000 jobs of 1 MiB would be 5 GiB).
const MAX_CALL_BYTES: u64 = 64 << 20;
/// Largest `--payload-bytes` (1 MiB).
const MAX_PAYLOAD: u64 = 1 << 20;
/// Smallest `--payload-bytes`: `{"i":<n>,"pad":""}` is at most 23 bytes, so any size from here
/// on is met exactly.
const MIN_PAYLOAD: u64 = 32;

const AFTER_HELP: &str = "\
Safe on a staging store: every run uses its own queue anp-bench-<random> (with --queues N: its \
own N queues), serves only those (the workers run with --no-maintenance and --no-scheduler, so \
they prune and rescue nothing of other queues) and deletes exactly the jobs it created when the \
run ends, also on Ctrl-C. It does add load while it runs. What the store keeps about those \
queues on its own (per-minute stats rows, which the pruner drops after 7 days; Redis: per \
queue its entry in the set of queues and a lease counter; the wake-up key expires) has no \
delete operation and stays: with --queues N, N times as much per phase and run.

The worker of phases B and C is this binary's `anp work`, started as a separate process with \
the store URL in ANP_STORE and ANP_LOG=warn.

Latency (C) is attempted_at - created_at of each job as stored: created_at is the enqueuing \
client's clock just before the enqueue call, attempted_at the worker's clock as it sent the \
fetch that leased the job (same machine, same clock). The handler starts one fetch round trip \
later, so this is a lower bound; the JSON's runs.each[] also has finalized_at - created_at \
(latency_upper_*), an upper bound that includes the run and the wait for the batched ack.

Scaling (the defaults are the standard workload of WORKLOAD.md):
  --queues N         every phase's jobs go round-robin to N queues anp-bench-<random>-<i>
                     (i = 0..N-1; one set per invocation, emptied after each phase and reused
                     by the next); each worker serves all N with --concurrency slots in total
                     (worker.max_concurrency = C, every queue concurrency = C, equal weights:
                     each free slot is offered to the queues in a fresh random order). The
                     jobs of all N are deleted after each phase (queue_purge, per queue).
                     On Redis, queue_list costs work per queue the store has ever seen
                     (including earlier runs' bench queues), so it is slow for large N:
                     measure on a fresh private redis-server per invocation. With N > 1 the
                     bench's own completion poll (queue_list) backs off to about 5 % of the
                     time.
  --workers N        phases B and C start N `anp work` processes on the same store, each with
                     --concurrency slots (concurrency is per process: N x C jobs at once).
                     B's rate is all jobs / wall time from the first spawn until the store
                     counts every job completed; peak RSS is the largest process's VmHWM
                     (peak_rss_mib) and the sum of every process's VmHWM (peak_rss_sum_mib).
  --payload-bytes N  each job's args are {\"i\":<n>,\"pad\":\"xxx...\"} padded to exactly
                     N bytes of JSON (32 B to 1 MiB); without it args are {\"i\":<n>}
                     (7-11 B for 100,000 jobs). The JSON's runs.args_bytes gives the sizes
                     actually sent. Bulk calls and list pages are shortened to about 64 MiB
                     of args each (runs.batch_effective).

Examples:
  anp bench --store sqlite:///tmp/bench/bench.db
  anp bench --store redis://127.0.0.1:6390 --json
  anp bench --store sqlite:///tmp/b.db --phase B --jobs 1000000 --runs 1
  anp bench --store sqlite:///tmp/b.db --json --phase A,B,C --queues 100
  anp bench --store redis://127.0.0.1:6390 --json --phase B,C --workers 4
  anp bench --store redis://127.0.0.1:6390 --json --payload-bytes 10240";

/// Options of `anp bench`.
#[derive(ClapArgs, Debug)]
#[command(after_long_help = AFTER_HELP)]
pub struct BenchArgs {
    /// Jobs enqueued in phase A and processed in phase B.
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    pub jobs: u64,
    /// Worker concurrency in phases B and C, per worker process (see --workers), shared by
    /// all its queues (see --queues).
    #[arg(long, default_value_t = 50, value_name = "C")]
    pub concurrency: u64,
    /// Queues the jobs of every phase are spread over, round-robin (1-1000); every worker
    /// serves all of them.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub queues: u64,
    /// Worker processes in phases B and C (1-16), each with --concurrency.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub workers: u64,
    /// Pad each job's args to exactly this many bytes of JSON (32 to 1048576); default: the
    /// workload's {"i": n}.
    #[arg(long, value_name = "BYTES")]
    pub payload_bytes: Option<u64>,
    /// Runs of each phase; medians and the spread (min–max) are reported.
    #[arg(long, default_value_t = 3, value_name = "R")]
    pub runs: u64,
    /// Phases, comma separated: A (bulk enqueue), A1 (single enqueue), B (process), C (latency).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "A,A1,B,C",
        value_name = "PHASES"
    )]
    pub phase: Vec<String>,
    /// Jobs enqueued one call at a time in phase A1.
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    pub single_jobs: u64,
    /// Jobs enqueued in phase C.
    #[arg(long, default_value_t = 2_000, value_name = "N")]
    pub latency_jobs: u64,
    /// Steady enqueue rate in phase C, jobs per second.
    #[arg(long, default_value_t = 500, value_name = "PER_S")]
    pub rate: u64,
    /// Jobs per bulk enqueue call in phase A.
    #[arg(long, default_value_t = DEFAULT_BATCH, value_name = "N")]
    pub batch: u64,
    /// Give up when the worker has not finished a phase within this long.
    #[arg(long, default_value = "10m", value_name = "DURATION")]
    pub timeout: String,
}

/// One phase of the workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    A,
    A1,
    B,
    C,
}

impl Phase {
    fn parse(s: &str) -> Result<Phase, Error> {
        match s.trim().to_ascii_uppercase().as_str() {
            "A" => Ok(Phase::A),
            "A1" => Ok(Phase::A1),
            "B" => Ok(Phase::B),
            "C" => Ok(Phase::C),
            _ => Err(Error::invalid(
                "--phase",
                format!("{s:?} is not a phase: expected a comma-separated list of A, A1, B, C"),
            )),
        }
    }
}

/// The checked options.
#[derive(Debug, Clone)]
struct Plan {
    phases: Vec<Phase>,
    jobs: u64,
    single_jobs: u64,
    latency_jobs: u64,
    rate: u64,
    concurrency: u64,
    runs: u64,
    batch: u64,
    timeout: Duration,
    /// Queues per phase (1 = the standard single queue `anp-bench-<random>`).
    queues: u64,
    /// Worker processes in B and C.
    workers: u64,
    /// Exact args size in bytes, or `None` for the workload's `{"i": n}`.
    payload_bytes: Option<u64>,
}

fn in_range(what: &str, v: u64, lo: u64, hi: u64) -> Result<u64, Error> {
    if (lo..=hi).contains(&v) {
        Ok(v)
    } else {
        Err(Error::invalid(
            what.to_owned(),
            format!("{v} is out of range: expected {lo}-{hi}"),
        ))
    }
}

impl Plan {
    fn from_args(a: &BenchArgs) -> Result<Plan, Error> {
        let mut phases = a
            .phase
            .iter()
            .map(|p| Phase::parse(p))
            .collect::<Result<Vec<_>, _>>()?;
        phases.sort();
        phases.dedup();
        if phases.is_empty() {
            return Err(Error::invalid(
                "--phase",
                "no phase given: expected a comma-separated list of A, A1, B, C",
            ));
        }
        let timeout = parse_duration("--timeout", &a.timeout)?;
        if timeout.is_zero() {
            return Err(Error::invalid(
                "--timeout",
                "0 is too short: expected a positive duration such as 10m",
            ));
        }
        Ok(Plan {
            phases,
            jobs: in_range("--jobs", a.jobs, 1, 100_000_000)?,
            single_jobs: in_range("--single-jobs", a.single_jobs, 1, 10_000_000)?,
            latency_jobs: in_range("--latency-jobs", a.latency_jobs, 1, 10_000_000)?,
            rate: in_range("--rate", a.rate, 1, 1_000_000)?,
            concurrency: in_range("--concurrency", a.concurrency, 1, 10_000)?,
            runs: in_range("--runs", a.runs, 1, 1_000)?,
            batch: in_range("--batch", a.batch, 1, 50_000)?,
            timeout,
            queues: in_range("--queues", a.queues, 1, 1_000)?,
            workers: in_range("--workers", a.workers, 1, 16)?,
            payload_bytes: a
                .payload_bytes
                .map(|b| in_range("--payload-bytes", b, MIN_PAYLOAD, MAX_PAYLOAD))
                .transpose()?,
        })
    }

    /// Jobs per bulk call in A: `--batch`, shortened for big payloads (see [`MAX_CALL_BYTES`]).
    fn batch_effective(&self) -> u64 {
        match self.payload_bytes {
            None => self.batch,
            Some(b) => self.batch.min((MAX_CALL_BYTES / b).max(1)),
        }
    }

    /// Jobs per `job_list` page: [`PAGE`], shortened for big payloads.
    fn page(&self) -> u32 {
        match self.payload_bytes {
            None => PAGE,
            Some(b) => {
                u32::try_from((MAX_CALL_BYTES / b).clamp(1, u64::from(PAGE))).unwrap_or(PAGE)
            }
        }
    }

    fn has(&self, p: Phase) -> bool {
        self.phases.contains(&p)
    }
}

/// The figures of one run (a phase not run leaves its figures empty).
#[derive(Debug, Default, Clone, Serialize)]
struct RunResult {
    run: u64,
    /// A: jobs/s.
    enqueue_per_s: Option<f64>,
    /// A1: jobs/s.
    enqueue_single_per_s: Option<f64>,
    /// B: jobs/s, and the seconds it took.
    process_per_s: Option<f64>,
    process_seconds: Option<f64>,
    /// B: the worker's peak resident memory (with `--workers`: the largest process's).
    peak_rss_mib: Option<f64>,
    /// B: the sum of every worker process's peak resident memory.
    peak_rss_sum_mib: Option<f64>,
    /// B: each worker process's peak resident memory, in spawn order.
    peak_rss_each_mib: Option<Vec<f64>>,
    /// C: attempted_at − created_at (attempted_at: the worker's clock as it sent the fetch).
    latency_p50_ms: Option<f64>,
    latency_p99_ms: Option<f64>,
    latency_max_ms: Option<f64>,
    /// C: attempted_at − the moment the enqueue call returned (excludes the enqueue call).
    latency_from_return_p50_ms: Option<f64>,
    latency_from_return_p99_ms: Option<f64>,
    /// C: finalized_at − created_at, an upper bound (includes the batched acknowledgement).
    latency_upper_p50_ms: Option<f64>,
    latency_upper_p99_ms: Option<f64>,
    /// C: enqueue calls that started more than one interval (1/rate) behind their schedule,
    /// and the largest delay.
    late_sends: Option<u64>,
    max_send_delay_ms: Option<f64>,
    /// C: the achieved enqueue rate.
    sent_per_s: Option<f64>,
}

/// The figures reported, in report order: (JSON key, label, unit).
const FIGURES: [(&str, &str, &str); 7] = [
    ("enqueue_per_s", "A. enqueue (bulk)", "jobs/s"),
    (
        "enqueue_single_per_s",
        "A1. enqueue (one call each)",
        "jobs/s",
    ),
    ("process_per_s", "B. process", "jobs/s"),
    ("peak_rss_mib", "B. worker peak RSS", "MiB"),
    ("peak_rss_sum_mib", "B. peak RSS, all workers", "MiB"),
    ("latency_p50_ms", "C. latency p50", "ms"),
    ("latency_p99_ms", "C. latency p99", "ms"),
];

fn figure(r: &RunResult, key: &str) -> Option<f64> {
    match key {
        "enqueue_per_s" => r.enqueue_per_s,
        "enqueue_single_per_s" => r.enqueue_single_per_s,
        "process_per_s" => r.process_per_s,
        "latency_p50_ms" => r.latency_p50_ms,
        "latency_p99_ms" => r.latency_p99_ms,
        "peak_rss_mib" => r.peak_rss_mib,
        "peak_rss_sum_mib" => r.peak_rss_sum_mib,
        _ => None,
    }
}

/// Median (mean of the middle two for an even count).
fn median(v: &[f64]) -> Option<f64> {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(s[n / 2]),
        _ => Some((s[n / 2 - 1] + s[n / 2]) / 2.0),
    }
}

fn round(v: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (v * f).round() / f
}

/// Runs `anp bench`.
pub async fn run(ctx: &Ctx, a: BenchArgs) -> anyhow::Result<()> {
    let plan = Plan::from_args(&a)?;
    let url = ctx.store_url.clone().ok_or_else(|| {
        Error::invalid(
            "bench",
            "no store given: expected --store URL (or ANP_STORE) naming the store to measure, \
             e.g. --store sqlite:///tmp/bench/bench.db",
        )
    })?;
    let store = alphanode::connect(&url).await?.store().clone();
    let info = store.store_ping().await?;
    let exe = std::env::current_exe().map_err(|e| {
        Error::internal(
            "bench",
            format!("cannot find the anp binary to start the worker: {e}"),
        )
    })?;
    if cfg!(debug_assertions) {
        eprintln!("anp bench: warning: this is a debug build; measure a release build (cargo build --release -p anp)");
    }
    let dir = TempDir::new()?;
    let bench = Arc::new(Bench {
        client: Client::new(store.clone()),
        store,
        url,
        exe,
        dir: dir.path.clone(),
        kind: Kind::parse("noop")?,
        plan: plan.clone(),
        json: ctx.json,
        created: Arc::new(Mutex::new(Vec::new())),
        reusable: Mutex::new(None),
        args_min: AtomicU64::new(u64::MAX),
        args_max: AtomicU64::new(0),
    });

    // The phases run in a spawned task, on the runtime's worker threads like a request handler
    // of a web service (not on the thread blocked in `block_on`, which would add a thread
    // hand-off to every store call).
    let mut task = tokio::spawn({
        let bench = bench.clone();
        async move { bench.all_runs().await }
    });
    let outcome = tokio::select! {
        r = &mut task => r.unwrap_or_else(|e| Err(anyhow::anyhow!("bench: the run task failed: {e}"))),
        _ = tokio::signal::ctrl_c() => {
            // Dropping the run stops its worker process (see `WorkerProc`'s Drop).
            task.abort();
            let _ = task.await;
            Err(anyhow::anyhow!("bench: interrupted; the bench jobs were deleted"))
        }
    };
    // Whatever a failed or interrupted run left behind (a finished run cleans up itself).
    let leftovers: Vec<QueueName> = lock(&bench.created).drain(..).collect();
    for q in leftovers {
        if let Err(e) = bench.cleanup(&q).await {
            eprintln!("anp bench: warning: could not delete the jobs of queue {q}: {e}");
        }
    }
    let runs = outcome?;
    report(ctx, &bench, &info, &runs)
}

/// The queue of job `i`: round-robin over the phase's queues (never empty).
fn queue_of(qs: &[QueueName], i: i64) -> &QueueName {
    let n = qs.len().max(1) as i64;
    let k = usize::try_from(i.rem_euclid(n)).unwrap_or(0);
    &qs[k.min(qs.len().saturating_sub(1))]
}

/// The args of job `i`: the workload's `{"i":<i>}`, or with `--payload-bytes N` exactly N bytes
/// `{"i":<i>,"pad":"xx…"}`.
fn args_text(i: i64, payload_bytes: Option<u64>) -> Result<String, Error> {
    let Some(size) = payload_bytes else {
        return Ok(format!("{{\"i\":{i}}}"));
    };
    let mut t = format!("{{\"i\":{i},\"pad\":\"");
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    let pad = size.checked_sub(t.len() + 2).ok_or_else(|| {
        Error::invalid(
            "--payload-bytes",
            format!(
                "{size} is too small for job {i}: expected at least {}",
                t.len() + 2
            ),
        )
    })?;
    t.reserve(pad + 2);
    t.push_str(&"x".repeat(pad));
    t.push_str("\"}");
    Ok(t)
}

/// The worker config: the builtin noop kind and the queues. One queue: that queue with
/// `--concurrency` (the standard workload). Several: each queue may use all `--concurrency`
/// slots and `worker.max_concurrency` caps the total at `--concurrency`; equal weights, so
/// free slots are offered to the queues in a fresh random order each round.
fn worker_config(qs: &[QueueName], c: u64) -> String {
    if let [q] = qs {
        return format!(
            "# anp bench: one queue, the builtin noop kind.\n\
             [[queue]]\nname = \"{q}\"\nconcurrency = {c}\n\n\
             [[job]]\nkind = \"noop\"\nbuiltin = \"noop\"\n"
        );
    }
    let mut text = format!(
        "# anp bench: {} queues sharing {c} slots, the builtin noop kind.\n\
         [worker]\nmax_concurrency = {c}\n\n",
        qs.len()
    );
    for q in qs {
        text.push_str(&format!("[[queue]]\nname = \"{q}\"\nconcurrency = {c}\n\n"));
    }
    text.push_str("[[job]]\nkind = \"noop\"\nbuiltin = \"noop\"\n");
    text
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A private temporary directory for the worker's config and log, removed on drop.
struct TempDir {
    path: PathBuf,
}

impl TempDir {
    fn new() -> Result<TempDir, Error> {
        let path = std::env::temp_dir().join(format!("anp-bench-{}", random_suffix()));
        std::fs::create_dir(&path).map_err(|e| {
            Error::read_only(
                "bench",
                format!(
                    "cannot create {}: {e}: expected a writable temp directory",
                    path.display()
                ),
            )
        })?;
        Ok(TempDir { path })
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// 12 random hex digits (the random tail of a UUIDv7).
fn random_suffix() -> String {
    let id = JobId::new().to_string();
    id[id.len() - 12..].to_owned()
}

struct Bench {
    store: Arc<dyn Store>,
    client: Client,
    /// The URL as given (with any password): passed to the worker in its environment only.
    url: String,
    exe: PathBuf,
    dir: PathBuf,
    kind: Kind,
    plan: Plan,
    json: bool,
    /// Queues whose jobs are not deleted yet.
    created: Arc<Mutex<Vec<QueueName>>>,
    /// With `--queues N` (N > 1): the queue set the next phase may reuse.
    reusable: Mutex<Option<Vec<QueueName>>>,
    /// Smallest and largest args sent, in bytes of JSON.
    args_min: AtomicU64,
    args_max: AtomicU64,
}

impl Bench {
    async fn all_runs(&self) -> anyhow::Result<Vec<RunResult>> {
        let p = &self.plan;
        let mut out = Vec::new();
        for run in 1..=p.runs {
            let mut r = RunResult {
                run,
                ..RunResult::default()
            };
            let tag = format!("run {run}/{}", p.runs);
            if p.has(Phase::A) || p.has(Phase::B) {
                let qs = self.new_queues().await?;
                let secs = self.enqueue_bulk(&qs, &tag).await?;
                if p.has(Phase::A) {
                    r.enqueue_per_s = Some(p.jobs as f64 / secs);
                }
                if p.has(Phase::B) {
                    tokio::time::sleep(SETTLE).await;
                    let (secs, rss) = self.process(&qs, &tag).await?;
                    r.process_per_s = Some(p.jobs as f64 / secs);
                    r.process_seconds = Some(secs);
                    if !rss.is_empty() {
                        r.peak_rss_mib = rss.iter().copied().reduce(f64::max);
                        r.peak_rss_sum_mib = Some(round(rss.iter().sum(), 2));
                        r.peak_rss_each_mib = Some(rss);
                    }
                }
                self.finish_queues(&qs).await?;
            }
            if p.has(Phase::A1) {
                let qs = self.new_queues().await?;
                let secs = self.enqueue_single(&qs, &tag).await?;
                r.enqueue_single_per_s = Some(p.single_jobs as f64 / secs);
                self.finish_queues(&qs).await?;
            }
            if p.has(Phase::C) {
                let qs = self.new_queues().await?;
                self.latency(&qs, &tag, &mut r).await?;
                self.finish_queues(&qs).await?;
            }
            out.push(r);
        }
        Ok(out)
    }

    /// The queues of one phase: a fresh `anp-bench-<random>`, or with `--queues N` (N > 1)
    /// `anp-bench-<random>-<i>` for i in 0..N, made once and reused by every phase and run
    /// while the previous phase left them empty (so a run leaves N queue names behind in the
    /// store, not 3·N per run: on Redis every known queue costs every `queue_list` and every
    /// lookup by id). Registered for cleanup before use.
    async fn new_queues(&self) -> Result<Vec<QueueName>, Error> {
        if self.plan.queues > 1 {
            let reuse = lock(&self.reusable).clone();
            if let Some(qs) = reuse {
                if self.counts(&qs).await?.values().all(|&n| n == 0) {
                    lock(&self.created).extend(qs.iter().cloned());
                    return Ok(qs);
                }
            }
        }
        let base = format!("anp-bench-{}", random_suffix());
        let qs = if self.plan.queues == 1 {
            vec![QueueName::parse(&base)?]
        } else {
            (0..self.plan.queues)
                .map(|i| QueueName::parse(&format!("{base}-{i}")))
                .collect::<Result<Vec<_>, _>>()?
        };
        lock(&self.created).extend(qs.iter().cloned());
        if self.plan.queues > 1 {
            *lock(&self.reusable) = Some(qs.clone());
        }
        Ok(qs)
    }

    /// Deletes the queues' jobs and forgets them.
    async fn finish_queues(&self, qs: &[QueueName]) -> Result<(), Error> {
        for q in qs {
            self.cleanup(q).await?;
            lock(&self.created).retain(|c| c != q);
        }
        Ok(())
    }

    /// The args of job `i` (see [`args_text`]). Records the size sent.
    fn args(&self, i: i64) -> Result<Args, Error> {
        let text = args_text(i, self.plan.payload_bytes)?;
        let len = text.len() as u64;
        self.args_min.fetch_min(len, Ordering::Relaxed);
        self.args_max.fetch_max(len, Ordering::Relaxed);
        Args::from_json(&text)
    }

    fn job(&self, qs: &[QueueName], i: i64) -> Result<NewJob, Error> {
        let mut job = NewJob::new(self.kind.clone(), self.args(i)?);
        job.queue = queue_of(qs, i).clone();
        Ok(job)
    }

    /// Enqueue options putting job `i` in its queue.
    fn opts(qs: &[QueueName], i: i64) -> EnqueueOptions {
        EnqueueOptions {
            queue: Some(queue_of(qs, i).clone()),
            ..EnqueueOptions::default()
        }
    }

    fn progress(&self, len: u64, what: String) -> ProgressBar {
        output::progress(len, self.json, &what)
    }

    /// Phase A (and B's backlog): `--jobs` jobs in bulk calls; returns the seconds taken.
    async fn enqueue_bulk(&self, qs: &[QueueName], tag: &str) -> Result<f64, Error> {
        let (n, batch) = (self.plan.jobs, self.plan.batch_effective());
        let pb = self.progress(n, format!("{tag} A. enqueue"));
        let started = Instant::now();
        let mut i = 0;
        while i < n {
            let end = (i + batch).min(n);
            let jobs = (i..end)
                .map(|k| self.job(qs, k as i64))
                .collect::<Result<Vec<_>, _>>()?;
            self.client.insert_many(jobs).await?;
            pb.inc(end - i);
            i = end;
        }
        let secs = started.elapsed().as_secs_f64();
        pb.finish_and_clear();
        Ok(secs)
    }

    /// Phase A1: one enqueue call per job.
    async fn enqueue_single(&self, qs: &[QueueName], tag: &str) -> Result<f64, Error> {
        let n = self.plan.single_jobs;
        let pb = self.progress(n, format!("{tag} A1. enqueue one by one"));
        let started = Instant::now();
        for i in 0..n {
            let i = i as i64;
            let args = self.args(i)?;
            self.client
                .enqueue_raw(self.kind.clone(), args, Self::opts(qs, i))
                .await?;
            pb.inc(1);
        }
        let secs = started.elapsed().as_secs_f64();
        pb.finish_and_clear();
        Ok(secs)
    }

    /// Phase B: the worker processes drain the queues; returns the seconds and each worker's
    /// peak RSS (MiB; empty where /proc is not readable).
    async fn process(&self, qs: &[QueueName], tag: &str) -> anyhow::Result<(f64, Vec<f64>)> {
        let n = self.plan.jobs;
        let pb = self.progress(n, format!("{tag} B. process"));
        let started = Instant::now();
        let mut workers = self.spawn_workers(qs)?;
        let done = self
            .wait_completed(qs, n, &mut workers, &pb, started)
            .await?;
        let secs = done.duration_since(started).as_secs_f64();
        let rss = workers.peak_rss_mib();
        workers.stop().await?;
        pb.finish_and_clear();
        Ok((secs, rss))
    }

    /// Phase C: a steady stream of single enqueues into idle workers.
    async fn latency(&self, qs: &[QueueName], tag: &str, r: &mut RunResult) -> anyhow::Result<()> {
        let n = self.plan.latency_jobs;
        let mut workers = self.spawn_workers(qs)?;
        // Warm-up: one job per worker process proves the workers are up and fetching (with
        // several, not each one individually: any of them may take any warm-up job); then let
        // them idle.
        let mut warmups = Vec::new();
        for k in 0..self.plan.workers {
            let i = -1 - k as i64;
            let e = self
                .client
                .enqueue_raw(self.kind.clone(), self.args(i)?, Self::opts(qs, i))
                .await?;
            warmups.push(e.id);
        }
        let hidden = ProgressBar::hidden();
        self.wait_completed(qs, self.plan.workers, &mut workers, &hidden, Instant::now())
            .await?;
        tokio::time::sleep(SETTLE).await;

        let pb = self.progress(n, format!("{tag} C. latency"));
        let period = Duration::from_secs_f64(1.0 / self.plan.rate as f64);
        let mut returned: HashMap<JobId, jiff::Timestamp> = HashMap::with_capacity(n as usize);
        let (mut late, mut max_delay) = (0u64, Duration::ZERO);
        let start = tokio::time::Instant::now();
        for i in 0..n {
            let due = start + period.mul_f64(i as f64);
            tokio::time::sleep_until(due).await;
            let delay = tokio::time::Instant::now().duration_since(due);
            max_delay = max_delay.max(delay);
            if delay > period {
                late += 1;
            }
            let i = i as i64;
            let args = self.args(i)?;
            let e = self
                .client
                .enqueue_raw(self.kind.clone(), args, Self::opts(qs, i))
                .await?;
            returned.insert(e.id, jiff::Timestamp::now());
            if i % 64 == 0 {
                workers.check_alive()?;
            }
            pb.inc(1);
        }
        let sent_secs = start.elapsed().as_secs_f64();
        pb.finish_and_clear();
        self.wait_completed(
            qs,
            n + self.plan.workers,
            &mut workers,
            &ProgressBar::hidden(),
            Instant::now(),
        )
        .await?;
        workers.stop().await?;

        let mut from_created = new_histogram()?;
        let mut from_return = new_histogram()?;
        let mut upper = new_histogram()?;
        let mut seen = 0u64;
        for q in qs {
            let mut before = None;
            loop {
                let page = self
                    .store
                    .job_list(JobListParams {
                        queue: Some(q.clone()),
                        before,
                        limit: self.plan.page(),
                        ..JobListParams::default()
                    })
                    .await?;
                let Some(last) = page.last() else { break };
                before = Some(last.id);
                for job in &page {
                    if warmups.contains(&job.id) {
                        continue;
                    }
                    let (Some(ret), Some(att)) = (returned.get(&job.id), job.attempted_at) else {
                        continue;
                    };
                    seen += 1;
                    record(&mut from_created, micros_between(job.created_at, att));
                    record(&mut from_return, micros_between(*ret, att));
                    if let Some(fin) = job.finalized_at {
                        record(&mut upper, micros_between(job.created_at, fin));
                    }
                }
            }
        }
        if seen != n {
            return Err(Error::internal(
                "bench",
                format!("phase C read back {seen} of {n} jobs with an attempt time: expected all"),
            )
            .into());
        }
        let ms = |h: &Histogram<u64>, q: f64| round(h.value_at_quantile(q) as f64 / 1000.0, 3);
        r.latency_p50_ms = Some(ms(&from_created, 0.5));
        r.latency_p99_ms = Some(ms(&from_created, 0.99));
        r.latency_max_ms = Some(round(from_created.max() as f64 / 1000.0, 3));
        r.latency_from_return_p50_ms = Some(ms(&from_return, 0.5));
        r.latency_from_return_p99_ms = Some(ms(&from_return, 0.99));
        r.latency_upper_p50_ms = Some(ms(&upper, 0.5));
        r.latency_upper_p99_ms = Some(ms(&upper, 0.99));
        r.late_sends = Some(late);
        r.max_send_delay_ms = Some(round(max_delay.as_secs_f64() * 1000.0, 3));
        r.sent_per_s = Some(round(n as f64 / sent_secs, 1));
        Ok(())
    }

    /// Starts `--workers` processes of `anp work` serving the queues.
    fn spawn_workers(&self, qs: &[QueueName]) -> Result<Workers, Error> {
        let first = qs
            .first()
            .ok_or_else(|| Error::internal("bench", "no queue to serve: expected at least one"))?;
        let config = self.dir.join(format!("{first}.toml"));
        let io =
            |what: &str, e: std::io::Error| Error::internal("bench", format!("cannot {what}: {e}"));
        std::fs::write(&config, worker_config(qs, self.plan.concurrency))
            .map_err(|e| io("write the worker config", e))?;
        let count = self.plan.workers;
        let mut procs = Vec::new();
        for k in 1..=count {
            let (log_path, label) = if count == 1 {
                (
                    self.dir.join(format!("{first}.log")),
                    "the worker".to_owned(),
                )
            } else {
                (
                    self.dir.join(format!("{first}-w{k}.log")),
                    format!("worker {k} of {count}"),
                )
            };
            let log = File::create(&log_path).map_err(|e| io("create the worker log", e))?;
            let child = Command::new(&self.exe)
                .arg("work")
                .arg("--config")
                .arg(&config)
                .arg("--no-maintenance")
                .arg("--no-scheduler")
                .env("ANP_STORE", &self.url)
                .env("ANP_LOG", "warn")
                .env_remove("ANP_CONFIG")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .map_err(|e| io(&format!("start the worker {}", self.exe.display()), e))?;
            procs.push(WorkerProc {
                child,
                log: log_path,
                label,
            });
        }
        Ok(Workers { procs })
    }

    /// Waits until the store counts `n` completed jobs in the queues; returns when it saw them.
    /// Polls `queue_list`: every 20 ms near the end, less often while far from it.
    async fn wait_completed(
        &self,
        qs: &[QueueName],
        n: u64,
        workers: &mut Workers,
        pb: &ProgressBar,
        started: Instant,
    ) -> anyhow::Result<Instant> {
        let deadline = Instant::now() + self.plan.timeout;
        let what = match qs {
            [q] => format!("queue {q}"),
            [q, ..] => format!("the {} queues {q}..", qs.len()),
            [] => "no queue".to_owned(),
        };
        loop {
            let asked = Instant::now();
            let counts = self.counts(qs).await?;
            let now = Instant::now();
            let poll_cost = now.duration_since(asked);
            let get = |s: JobState| counts.get(&s).copied().unwrap_or(0);
            let done = get(JobState::Completed);
            pb.set_position(done);
            if done >= n {
                return Ok(now);
            }
            let failed = get(JobState::Dead) + get(JobState::Retryable) + get(JobState::Cancelled);
            if failed > 0 {
                return Err(Error::internal(
                    "bench",
                    format!(
                        "{failed} noop jobs of {what} failed or were cancelled: expected every job completed; worker log: {}",
                        workers.log_tail()
                    ),
                )
                .into());
            }
            workers.check_alive()?;
            if now > deadline {
                let who = if workers.procs.len() == 1 {
                    "the worker".to_owned()
                } else {
                    format!("the {} workers", workers.procs.len())
                };
                return Err(Error::unavailable(
                    "bench",
                    format!(
                        "{who} completed {done} of {n} jobs within {:?}: expected all (raise --timeout for a slow store)",
                        self.plan.timeout
                    ),
                )
                .into());
            }
            // Sleep about half the expected remaining time, within [POLL, POLL_MAX].
            let elapsed = now.duration_since(started).as_secs_f64();
            let pause = if done > 0 && elapsed > 0.0 {
                let remaining = (n - done) as f64 / (done as f64 / elapsed);
                Duration::from_secs_f64((remaining / 2.0).clamp(0.0, POLL_MAX.as_secs_f64()))
            } else {
                POLL
            };
            let mut pause = pause.max(POLL);
            if qs.len() > 1 {
                // `queue_list` costs the store work per known queue: keep this poll's own
                // load on the store to about 5 % of the time.
                pause = pause.max(poll_cost * 20);
            }
            tokio::time::sleep(pause).await;
        }
    }

    /// Job counts by state, summed over the queues (one `queue_list` call).
    async fn counts(
        &self,
        qs: &[QueueName],
    ) -> Result<std::collections::BTreeMap<JobState, u64>, Error> {
        let wanted: std::collections::HashSet<&QueueName> = qs.iter().collect();
        let mut sum = std::collections::BTreeMap::new();
        for info in self.store.queue_list().await? {
            if !wanted.contains(&info.queue) {
                continue;
            }
            for (state, n) in info.counts {
                *sum.entry(state).or_insert(0) += n;
            }
        }
        Ok(sum)
    }

    /// Deletes every job of the queue that is not running (`queue_purge`, batches of
    /// `PURGE_BATCH`, until a short batch; cleanup, not measured), then warns about running jobs left behind.
    /// Only this queue is touched: the purge names it.
    async fn cleanup(&self, q: &QueueName) -> Result<(), Error> {
        alphanode::Admin::new(self.store.clone())
            .queue_purge(q, &[], |_| {})
            .await?;
        let mut kept = 0u64;
        let mut before = None;
        loop {
            let page = self
                .store
                .job_list(JobListParams {
                    queue: Some(q.clone()),
                    states: vec![JobState::Running],
                    before,
                    limit: self.plan.page(),
                    ..JobListParams::default()
                })
                .await?;
            let Some(last) = page.last() else { break };
            before = Some(last.id);
            kept += page.len() as u64;
        }
        if kept > 0 {
            eprintln!("anp bench: warning: {kept} jobs of queue {q} are still running and were not deleted");
        }
        Ok(())
    }
}

fn new_histogram() -> Result<Histogram<u64>, Error> {
    // Microseconds, 1 µs to 1 hour, 3 significant digits.
    Histogram::new_with_bounds(1, 3_600_000_000, 3)
        .map_err(|e| Error::internal("bench", format!("cannot create a histogram: {e}")))
}

fn record(h: &mut Histogram<u64>, micros: i64) {
    // The clamp keeps a sub-microsecond (or clock-skewed negative) value in range.
    h.saturating_record(u64::try_from(micros.max(1)).unwrap_or(1));
}

fn micros_between(from: jiff::Timestamp, to: jiff::Timestamp) -> i64 {
    to.as_microsecond() - from.as_microsecond()
}

/// The worker child process. Dropping it stops the process (SIGTERM, then SIGKILL).
struct WorkerProc {
    child: Child,
    log: PathBuf,
    /// `the worker`, or `worker <k> of <n>`: how messages name it.
    label: String,
}

impl WorkerProc {
    fn signal(&self, sig: nix::sys::signal::Signal) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig);
        }
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read(&self.log).unwrap_or_default();
        let tail = crate::runners::tail(&text, 2048);
        if tail.is_empty() {
            "(empty)".to_owned()
        } else {
            tail
        }
    }

    /// An error if the worker has exited.
    fn check_alive(&mut self) -> Result<(), Error> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(Error::internal(
                "bench",
                format!(
                    "{} exited early ({status}): expected it to run until stopped; its log: {}",
                    self.label,
                    self.log_tail()
                ),
            )),
            Err(e) => Err(Error::internal(
                "bench",
                format!("cannot check the process of {}: {e}", self.label),
            )),
        }
    }

    /// Peak resident memory so far (`VmHWM`), in MiB.
    fn peak_rss_mib(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kib: f64 = line
            .trim_start_matches("VmHWM:")
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(round(kib / 1024.0, 2))
    }

    /// Waits for the exit after SIGTERM; an error if it does not exit cleanly by `deadline`.
    async fn wait_stopped(&mut self, deadline: Instant) -> Result<(), Error> {
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) if status.success() => return Ok(()),
                Ok(Some(status)) => {
                    return Err(Error::internal(
                        "bench",
                        format!(
                            "{} exited with {status} on SIGTERM: expected exit 0; its log: {}",
                            self.label,
                            self.log_tail()
                        ),
                    ))
                }
                Ok(None) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Ok(None) => {
                    return Err(Error::internal(
                        "bench",
                        format!(
                            "{} did not exit within 30 s of SIGTERM: expected a graceful stop",
                            self.label
                        ),
                    ))
                }
                Err(e) => {
                    return Err(Error::internal(
                        "bench",
                        format!("cannot wait for {}: {e}", self.label),
                    ))
                }
            }
        }
    }
}

/// The worker processes of one phase (`--workers`), in spawn order.
struct Workers {
    procs: Vec<WorkerProc>,
}

impl Workers {
    /// An error if any worker has exited.
    fn check_alive(&mut self) -> Result<(), Error> {
        self.procs.iter_mut().try_for_each(WorkerProc::check_alive)
    }

    /// The end of every worker's log, each named when there are several.
    fn log_tail(&self) -> String {
        if let [one] = self.procs.as_slice() {
            return one.log_tail();
        }
        self.procs
            .iter()
            .map(|p| format!("[{}] {}", p.label, p.log_tail()))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Each worker's peak RSS in MiB, or empty when any of them cannot be read.
    fn peak_rss_mib(&self) -> Vec<f64> {
        self.procs
            .iter()
            .map(WorkerProc::peak_rss_mib)
            .collect::<Option<Vec<_>>>()
            .unwrap_or_default()
    }

    /// Graceful stop of all (SIGTERM to each, then wait); an error if one does not exit
    /// cleanly within 30 s. Workers not waited for are stopped by their Drop.
    async fn stop(mut self) -> Result<(), Error> {
        for p in &self.procs {
            p.signal(nix::sys::signal::Signal::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        for p in &mut self.procs {
            p.wait_stopped(deadline).await?;
        }
        Ok(())
    }
}

impl Drop for WorkerProc {
    fn drop(&mut self) {
        if !matches!(self.child.try_wait(), Ok(None)) {
            return;
        }
        // Graceful first, so its running jobs are handed back rather than left leased.
        self.signal(nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn report(
    ctx: &Ctx,
    bench: &Bench,
    info: &anp_core::store::StoreInfo,
    runs: &[RunResult],
) -> anyhow::Result<()> {
    let p = &bench.plan;
    let store = bench.store.redacted_url();
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    let values = |key: &str| -> Vec<f64> { runs.iter().filter_map(|r| figure(r, key)).collect() };
    // The args actually sent (none when no phase enqueued anything).
    let args_bytes = match (
        bench.args_min.load(Ordering::Relaxed),
        bench.args_max.load(Ordering::Relaxed),
    ) {
        (lo, hi) if lo <= hi => Some((lo, hi)),
        _ => None,
    };
    if ctx.json {
        let mut obj = serde_json::Map::new();
        obj.insert("store".into(), serde_json::json!(store));
        let mut spread = serde_json::Map::new();
        for (key, _, unit) in FIGURES {
            let v = values(key);
            let digits = if unit == "jobs/s" { 1 } else { 3 };
            obj.insert(
                key.into(),
                serde_json::json!(median(&v).map(|m| round(m, digits))),
            );
            let min = v.iter().copied().reduce(f64::min);
            let max = v.iter().copied().reduce(f64::max);
            spread.insert(
                key.into(),
                match (min, max) {
                    (Some(lo), Some(hi)) => {
                        serde_json::json!({"min": round(lo, digits), "max": round(hi, digits)})
                    }
                    _ => serde_json::Value::Null,
                },
            );
        }
        obj.insert(
            "runs".into(),
            serde_json::json!({
                "count": p.runs,
                "phases": p.phases.iter().map(|ph| format!("{ph:?}")).collect::<Vec<_>>(),
                "jobs": p.jobs,
                "single_jobs": p.single_jobs,
                "latency_jobs": p.latency_jobs,
                "rate_per_s": p.rate,
                "concurrency": p.concurrency,
                "queues": p.queues,
                "workers": p.workers,
                "total_concurrency": p.concurrency * p.workers,
                "payload_bytes": p.payload_bytes,
                "args_bytes": args_bytes.map(|(lo, hi)| serde_json::json!({"min": lo, "max": hi})),
                "batch": p.batch,
                "batch_effective": p.batch_effective(),
                "backend": info.backend,
                "server_version": info.server_version,
                "profile": profile,
                "each": runs,
            }),
        );
        obj.insert("spread".into(), serde_json::Value::Object(spread));
        return output::json(&serde_json::Value::Object(obj));
    }
    println!(
        "anp bench: {store} ({} {}), {profile} build, {} run(s); A/B {} jobs (batch {}), A1 {} jobs, \
         C {} jobs at {}/s, concurrency {}",
        info.backend,
        info.server_version,
        p.runs,
        p.jobs,
        p.batch,
        p.single_jobs,
        p.latency_jobs,
        p.rate,
        p.concurrency
    );
    // Only what differs from the standard workload, so its header stays as it was.
    if p.queues > 1 || p.workers > 1 || p.payload_bytes.is_some() {
        let mut extra = Vec::new();
        if p.queues > 1 {
            extra.push(format!(
                "{} queues per phase (round-robin; each worker serves all)",
                p.queues
            ));
        }
        if p.workers > 1 {
            extra.push(format!(
                "{} worker processes with concurrency {} each ({} in total)",
                p.workers,
                p.concurrency,
                p.concurrency * p.workers
            ));
        }
        if let Some(b) = p.payload_bytes {
            let sent = match args_bytes {
                Some((lo, hi)) if lo == hi => format!("{lo} B"),
                Some((lo, hi)) => format!("{lo}-{hi} B"),
                None => "nothing".to_owned(),
            };
            extra.push(format!(
                "--payload-bytes {b}: args sent {sent} of JSON each, bulk calls of {} jobs",
                p.batch_effective()
            ));
        }
        println!("  {}", extra.join("; "));
    }
    let mut t = output::table(&["figure", "median", "min – max", "runs", "unit"]);
    for (key, label, unit) in FIGURES {
        if key == "peak_rss_sum_mib" && p.workers == 1 {
            // The same as the one worker's peak.
            continue;
        }
        let label = if key == "peak_rss_mib" && p.workers > 1 {
            "B. worker peak RSS (largest)"
        } else {
            label
        };
        let v = values(key);
        let Some(m) = median(&v) else { continue };
        let fmt = |x: f64| {
            if unit == "jobs/s" {
                thousands(x)
            } else if unit == "MiB" {
                format!("{x:.1}")
            } else {
                format!("{x:.2}")
            }
        };
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        t.add_row(vec![
            label.to_owned(),
            fmt(m),
            format!("{} – {}", fmt(lo), fmt(hi)),
            v.iter().map(|x| fmt(*x)).collect::<Vec<_>>().join(" / "),
            unit.to_owned(),
        ]);
    }
    println!("{t}");
    Ok(())
}

/// `12345.6` → `12,346`.
fn thousands(x: f64) -> String {
    let s = format!("{:.0}", x.max(0.0));
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use anp_core::ErrorKind;

    #[test]
    fn medians_and_thousands() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        assert_eq!(thousands(1234567.4), "1,234,567");
        assert_eq!(thousands(999.0), "999");
    }

    fn queues(n: usize) -> Vec<QueueName> {
        (0..n)
            .map(|i| QueueName::parse(&format!("anp-bench-0123456789ab-{i}")))
            .collect::<Result<Vec<_>, _>>()
            .unwrap_or_else(|e| panic!("queue name: {e}"))
    }

    #[test]
    fn jobs_go_round_robin() {
        let qs = queues(3);
        let picked: Vec<&str> = (0..5).map(|i| queue_of(&qs, i).as_str()).collect();
        assert_eq!(
            picked,
            [0, 1, 2, 0, 1].map(|k| qs[k].as_str()).to_vec(),
            "job i goes to queue i mod 3"
        );
        assert_eq!(queue_of(&qs, -1), &qs[2], "warm-up jobs too");
        assert_eq!(queue_of(&qs[..1], 7), &qs[0]);
    }

    #[test]
    fn args_are_the_workload_or_padded_exactly() {
        let text = |i, p| args_text(i, p).unwrap_or_else(|e| panic!("args_text: {e}"));
        assert_eq!(text(42, None), r#"{"i":42}"#);
        for (i, size) in [
            (0, 32),
            (-1, 100),
            (99_999_999, 32),
            (7, 10_240),
            (3, MAX_PAYLOAD),
        ] {
            let t = text(i, Some(size));
            assert_eq!(t.len() as u64, size, "job {i}");
            let v: serde_json::Value =
                serde_json::from_str(&t).unwrap_or_else(|e| panic!("not JSON ({e}): {t}"));
            assert_eq!(v["i"], i);
        }
        let e = args_text(1, Some(10)).err().map(|e| e.kind());
        assert_eq!(e, Some(ErrorKind::InvalidInput));
    }

    #[test]
    fn one_queue_config_is_the_standard_one() {
        let qs = queues(1);
        assert_eq!(
            worker_config(&qs, 50),
            "# anp bench: one queue, the builtin noop kind.\n\
             [[queue]]\nname = \"anp-bench-0123456789ab-0\"\nconcurrency = 50\n\n\
             [[job]]\nkind = \"noop\"\nbuiltin = \"noop\"\n"
        );
    }

    #[test]
    fn many_queues_share_the_concurrency() {
        let text = worker_config(&queues(3), 50);
        assert!(text.contains("[worker]\nmax_concurrency = 50\n"), "{text}");
        assert_eq!(text.matches("[[queue]]").count(), 3, "{text}");
        assert_eq!(text.matches("concurrency = 50\n").count(), 4, "{text}");
        assert!(
            text.contains("name = \"anp-bench-0123456789ab-2\""),
            "{text}"
        );
    }

    #[test]
    fn big_payloads_shorten_calls() {
        let plan = |payload_bytes| {
            Plan::from_args(&BenchArgs {
                jobs: 10,
                concurrency: 50,
                runs: 1,
                phase: vec!["A".into()],
                single_jobs: 1,
                latency_jobs: 1,
                rate: 1,
                batch: DEFAULT_BATCH,
                timeout: "1m".into(),
                queues: 1,
                workers: 1,
                payload_bytes,
            })
            .unwrap_or_else(|e| panic!("plan: {e}"))
        };
        assert_eq!(plan(None).batch_effective(), DEFAULT_BATCH);
        assert_eq!(plan(None).page(), PAGE);
        assert_eq!(plan(Some(10_240)).batch_effective(), DEFAULT_BATCH);
        assert_eq!(plan(Some(MAX_PAYLOAD)).batch_effective(), 64);
        assert_eq!(plan(Some(MAX_PAYLOAD)).page(), 64);
    }

    #[test]
    fn phases_parse_and_reject() {
        assert_eq!(Phase::parse("a1").ok(), Some(Phase::A1));
        let e = Phase::parse("D").err().map(|e| e.kind());
        assert_eq!(e, Some(ErrorKind::InvalidInput));
    }
}
