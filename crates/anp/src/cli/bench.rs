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
//! (by id, so nothing else in the store is touched). Medians over `--runs` are reported.

use std::collections::HashMap;
use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alphanode::{Args, Client, EnqueueOptions, JobId, JobState, Kind, NewJob, QueueName};
use anp_core::store::JobListParams;
use anp_core::{Error, ErrorKind, Store};
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

const AFTER_HELP: &str = "\
Safe on a staging store: every run uses its own queue anp-bench-<random>, serves only that \
queue (the worker runs with --no-maintenance and --no-scheduler, so it prunes and rescues \
nothing of other queues) and deletes exactly the jobs it created when the run ends, also on \
Ctrl-C. It does add load while it runs. What the store keeps about those queues on its own \
(per-minute stats rows, which the pruner drops after 7 days; Redis: an empty wake-up key per \
queue) has no delete operation and stays.

The worker of phases B and C is this binary's `anp work`, started as a separate process with \
the store URL in ANP_STORE and ANP_LOG=warn.

Latency (C) is attempted_at - created_at of each job as stored: created_at is the enqueuing \
client's clock just before the enqueue call, attempted_at the worker's clock as it sent the \
fetch that leased the job (same machine, same clock). The handler starts one fetch round trip \
later, so this is a lower bound; the JSON's runs.each[] also has finalized_at - created_at \
(latency_upper_*), an upper bound that includes the run and the wait for the batched ack.

Examples:
  anp bench --store sqlite:///tmp/bench/bench.db
  anp bench --store redis://127.0.0.1:6390 --json
  anp bench --store sqlite:///tmp/b.db --phase B --jobs 1000000 --runs 1";

/// Options of `anp bench`.
#[derive(ClapArgs, Debug)]
#[command(after_long_help = AFTER_HELP)]
pub struct BenchArgs {
    /// Jobs enqueued in phase A and processed in phase B.
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    pub jobs: u64,
    /// Worker concurrency in phases B and C.
    #[arg(long, default_value_t = 50, value_name = "C")]
    pub concurrency: u64,
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
        })
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
    /// B: the worker's peak resident memory.
    peak_rss_mib: Option<f64>,
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
const FIGURES: [(&str, &str, &str); 6] = [
    ("enqueue_per_s", "A. enqueue (bulk)", "jobs/s"),
    (
        "enqueue_single_per_s",
        "A1. enqueue (one call each)",
        "jobs/s",
    ),
    ("process_per_s", "B. process", "jobs/s"),
    ("peak_rss_mib", "B. worker peak RSS", "MiB"),
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
    let store = crate::store::open(&url).await?;
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
                let q = self.new_queue()?;
                let secs = self.enqueue_bulk(&q, &tag).await?;
                if p.has(Phase::A) {
                    r.enqueue_per_s = Some(p.jobs as f64 / secs);
                }
                if p.has(Phase::B) {
                    tokio::time::sleep(SETTLE).await;
                    let (secs, rss) = self.process(&q, &tag).await?;
                    r.process_per_s = Some(p.jobs as f64 / secs);
                    r.process_seconds = Some(secs);
                    r.peak_rss_mib = rss;
                }
                self.finish_queue(&q).await?;
            }
            if p.has(Phase::A1) {
                let q = self.new_queue()?;
                let secs = self.enqueue_single(&q, &tag).await?;
                r.enqueue_single_per_s = Some(p.single_jobs as f64 / secs);
                self.finish_queue(&q).await?;
            }
            if p.has(Phase::C) {
                let q = self.new_queue()?;
                self.latency(&q, &tag, &mut r).await?;
                self.finish_queue(&q).await?;
            }
            out.push(r);
        }
        Ok(out)
    }

    fn new_queue(&self) -> Result<QueueName, Error> {
        let q = QueueName::parse(&format!("anp-bench-{}", random_suffix()))?;
        lock(&self.created).push(q.clone());
        Ok(q)
    }

    /// Deletes the queue's jobs and forgets it.
    async fn finish_queue(&self, q: &QueueName) -> Result<(), Error> {
        self.cleanup(q).await?;
        lock(&self.created).retain(|c| c != q);
        Ok(())
    }

    fn job(&self, q: &QueueName, i: i64) -> Result<NewJob, Error> {
        let mut job = NewJob::new(
            self.kind.clone(),
            Args::from_json(&format!("{{\"i\":{i}}}"))?,
        );
        job.queue = q.clone();
        Ok(job)
    }

    fn progress(&self, len: u64, what: String) -> ProgressBar {
        output::progress(len, self.json, &what)
    }

    /// Phase A (and B's backlog): `--jobs` jobs in bulk calls; returns the seconds taken.
    async fn enqueue_bulk(&self, q: &QueueName, tag: &str) -> Result<f64, Error> {
        let (n, batch) = (self.plan.jobs, self.plan.batch);
        let pb = self.progress(n, format!("{tag} A. enqueue"));
        let started = Instant::now();
        let mut i = 0;
        while i < n {
            let end = (i + batch).min(n);
            let jobs = (i..end)
                .map(|k| self.job(q, k as i64))
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
    async fn enqueue_single(&self, q: &QueueName, tag: &str) -> Result<f64, Error> {
        let n = self.plan.single_jobs;
        let pb = self.progress(n, format!("{tag} A1. enqueue one by one"));
        let opts = EnqueueOptions {
            queue: Some(q.clone()),
            ..EnqueueOptions::default()
        };
        let started = Instant::now();
        for i in 0..n {
            let args = Args::from_json(&format!("{{\"i\":{i}}}"))?;
            self.client
                .enqueue_raw(self.kind.clone(), args, opts.clone())
                .await?;
            pb.inc(1);
        }
        let secs = started.elapsed().as_secs_f64();
        pb.finish_and_clear();
        Ok(secs)
    }

    /// Phase B: the worker process drains the queue; returns seconds and peak RSS (MiB).
    async fn process(&self, q: &QueueName, tag: &str) -> anyhow::Result<(f64, Option<f64>)> {
        let n = self.plan.jobs;
        let pb = self.progress(n, format!("{tag} B. process"));
        let started = Instant::now();
        let mut worker = self.spawn_worker(q)?;
        let done = self.wait_completed(q, n, &mut worker, &pb, started).await?;
        let secs = done.duration_since(started).as_secs_f64();
        let rss = worker.peak_rss_mib();
        worker.stop().await?;
        pb.finish_and_clear();
        Ok((secs, rss))
    }

    /// Phase C: a steady stream of single enqueues into an idle worker.
    async fn latency(&self, q: &QueueName, tag: &str, r: &mut RunResult) -> anyhow::Result<()> {
        let n = self.plan.latency_jobs;
        let opts = EnqueueOptions {
            queue: Some(q.clone()),
            ..EnqueueOptions::default()
        };
        let mut worker = self.spawn_worker(q)?;
        // Warm-up: one job through the worker proves it is up and fetching; then let it idle.
        let warmup = self
            .client
            .enqueue_raw(
                self.kind.clone(),
                Args::from_json(r#"{"i":-1}"#)?,
                opts.clone(),
            )
            .await?;
        let hidden = ProgressBar::hidden();
        self.wait_completed(q, 1, &mut worker, &hidden, Instant::now())
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
            let args = Args::from_json(&format!("{{\"i\":{i}}}"))?;
            let e = self
                .client
                .enqueue_raw(self.kind.clone(), args, opts.clone())
                .await?;
            returned.insert(e.id, jiff::Timestamp::now());
            if i % 64 == 0 {
                worker.check_alive()?;
            }
            pb.inc(1);
        }
        let sent_secs = start.elapsed().as_secs_f64();
        pb.finish_and_clear();
        self.wait_completed(
            q,
            n + 1,
            &mut worker,
            &ProgressBar::hidden(),
            Instant::now(),
        )
        .await?;
        worker.stop().await?;

        let mut from_created = new_histogram()?;
        let mut from_return = new_histogram()?;
        let mut upper = new_histogram()?;
        let mut seen = 0u64;
        let mut before = None;
        loop {
            let page = self
                .store
                .job_list(JobListParams {
                    queue: Some(q.clone()),
                    before,
                    limit: PAGE,
                    ..JobListParams::default()
                })
                .await?;
            let Some(last) = page.last() else { break };
            before = Some(last.id);
            for job in &page {
                if job.id == warmup.id {
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

    /// Starts `anp work` on the queue as a separate process.
    fn spawn_worker(&self, q: &QueueName) -> Result<WorkerProc, Error> {
        let config = self.dir.join(format!("{q}.toml"));
        let text = format!(
            "# anp bench: one queue, the builtin noop kind.\n\
             [[queue]]\nname = \"{q}\"\nconcurrency = {}\n\n\
             [[job]]\nkind = \"noop\"\nbuiltin = \"noop\"\n",
            self.plan.concurrency
        );
        let io =
            |what: &str, e: std::io::Error| Error::internal("bench", format!("cannot {what}: {e}"));
        std::fs::write(&config, text).map_err(|e| io("write the worker config", e))?;
        let log_path = self.dir.join(format!("{q}.log"));
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
        Ok(WorkerProc {
            child,
            log: log_path,
        })
    }

    /// Waits until the store counts `n` completed jobs in the queue; returns when it saw them.
    /// Polls `queue_list`: every 20 ms near the end, less often while far from it.
    async fn wait_completed(
        &self,
        q: &QueueName,
        n: u64,
        worker: &mut WorkerProc,
        pb: &ProgressBar,
        started: Instant,
    ) -> anyhow::Result<Instant> {
        let deadline = Instant::now() + self.plan.timeout;
        loop {
            let counts = self.counts(q).await?;
            let now = Instant::now();
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
                        "{failed} noop jobs of queue {q} failed or were cancelled: expected every job completed; worker log: {}",
                        worker.log_tail()
                    ),
                )
                .into());
            }
            worker.check_alive()?;
            if now > deadline {
                return Err(Error::unavailable(
                    "bench",
                    format!(
                        "the worker completed {done} of {n} jobs within {:?}: expected all (raise --timeout for a slow store)",
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
            tokio::time::sleep(pause.max(POLL)).await;
        }
    }

    async fn counts(
        &self,
        q: &QueueName,
    ) -> Result<std::collections::BTreeMap<JobState, u64>, Error> {
        Ok(self
            .store
            .queue_list()
            .await?
            .into_iter()
            .find(|i| &i.queue == q)
            .map(|i| i.counts)
            .unwrap_or_default())
    }

    /// Deletes every job of the queue, by id (cleanup, not measured).
    async fn cleanup(&self, q: &QueueName) -> Result<(), Error> {
        let mut kept = 0u64;
        let mut before = None;
        loop {
            let page = self
                .store
                .job_list(JobListParams {
                    queue: Some(q.clone()),
                    before,
                    limit: PAGE,
                    ..JobListParams::default()
                })
                .await?;
            let Some(last) = page.last() else { break };
            before = Some(last.id);
            let mut tasks = tokio::task::JoinSet::new();
            for job in page {
                while tasks.len() >= 16 {
                    if let Some(r) = tasks.join_next().await {
                        kept += deleted(r)?;
                    }
                }
                let store = self.store.clone();
                tasks.spawn(async move { store.job_delete(job.id).await });
            }
            while let Some(r) = tasks.join_next().await {
                kept += deleted(r)?;
            }
        }
        if kept > 0 {
            eprintln!("anp bench: warning: {kept} jobs of queue {q} are still running and were not deleted");
        }
        Ok(())
    }
}

/// 1 if the job was kept (running), 0 if deleted or already gone.
fn deleted(
    r: std::result::Result<Result<(), Error>, tokio::task::JoinError>,
) -> Result<u64, Error> {
    match r {
        Ok(Ok(())) => Ok(0),
        Ok(Err(e)) if e.kind() == ErrorKind::NotFound => Ok(0),
        Ok(Err(e)) if e.kind() == ErrorKind::Conflict => Ok(1),
        Ok(Err(e)) => Err(e),
        Err(e) => Err(Error::internal(
            "bench",
            format!("a delete task failed: {e}"),
        )),
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
                    "the worker exited early ({status}): expected it to run until stopped; its log: {}",
                    self.log_tail()
                ),
            )),
            Err(e) => Err(Error::internal(
                "bench",
                format!("cannot check the worker process: {e}"),
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

    /// Graceful stop (SIGTERM) and wait; an error if it does not exit cleanly within 30 s.
    async fn stop(mut self) -> Result<(), Error> {
        self.signal(nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) if status.success() => return Ok(()),
                Ok(Some(status)) => {
                    return Err(Error::internal(
                        "bench",
                        format!(
                        "the worker exited with {status} on SIGTERM: expected exit 0; its log: {}",
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
                        "the worker did not exit within 30 s of SIGTERM: expected a graceful stop",
                    ))
                }
                Err(e) => {
                    return Err(Error::internal(
                        "bench",
                        format!("cannot wait for the worker: {e}"),
                    ))
                }
            }
        }
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
                "batch": p.batch,
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
    let mut t = output::table(&["figure", "median", "min – max", "runs", "unit"]);
    for (key, label, unit) in FIGURES {
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

    #[test]
    fn medians_and_thousands() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        assert_eq!(thousands(1234567.4), "1,234,567");
        assert_eq!(thousands(999.0), "999");
    }

    #[test]
    fn phases_parse_and_reject() {
        assert_eq!(Phase::parse("a1").ok(), Some(Phase::A1));
        let e = Phase::parse("D").err().map(|e| e.kind());
        assert_eq!(e, Some(ErrorKind::InvalidInput));
    }
}
