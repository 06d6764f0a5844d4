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
//!
//! Only the library's public API is used: [`alphanode::connect`] for the store, [`Client`] to
//! enqueue, [`Admin`] to count, list and purge the bench's own queues.
//!
//! # Layout
//! - `mod.rs`: the options ([`BenchArgs`]) and [`run`]: open the store, run the phases in a
//!   task, clean up after a failure or Ctrl-C, report.
//! - `plan.rs`: the checked options ([`plan::Plan`]): phases, sizes, the workload's args.
//! - `phases.rs`: the runs and phases A, A1 and B.
//! - `latency.rs`: phase C.
//! - `queues.rs`: the bench's own queues: made, counted, waited on, emptied.
//! - `process.rs`: the `anp work` child processes of B and C.
//! - `report.rs`: the figures of a run, the human table and the `--json` object.
//! - `cache.rs`: `anp bench --cache`, the application cache's measurements.
//! - `plot.rs`: `anp bench --plots DIR --from FILE…`, earlier results as SVG charts.
//! - `churn.rs`: `anp bench --churn`, a steady enqueue-and-process run with pruning on.
//! - `proxy.rs`: `anp bench --proxy`, the HTTP cache's HIT and BYPASS paths through a real
//!   `anp proxy`.

mod cache;
mod churn;
mod latency;
mod phases;
mod plan;
mod plot;
mod process;
mod proxy;
mod queues;
mod report;

use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use alphanode::{Admin, Backend, Client, Error, Kind, QueueName};
use clap::Args as ClapArgs;

use crate::cli::Ctx;
use crate::output;
use plan::{Plan, DEFAULT_BATCH};

const AFTER_HELP: &str = "\
Safe on a staging store: every run uses its own queue anp-bench-<random> (with --queues N: its \
own N queues), serves only those (the workers run with --no-maintenance and --no-scheduler, so \
they prune and rescue nothing of other queues) and deletes exactly the jobs it created when the \
run ends, also on Ctrl-C. It does add load while it runs. What the store keeps about those \
queues on its own (per-minute stats rows, which the pruner drops after 7 days; Redis: per \
queue its entry in the set of queues and a lease counter; the wake-up key expires) has no \
delete operation and stays: with --queues N, N times as much per phase and run.

The worker of phases B and C is this binary's `anp work`, started as a separate process with \
the store URL in ANP_STORE and ANP_LOG=warn. B and C end when the per-minute stats count every \
job completed (a few rows, whatever the backlog), confirmed once by queue_list.

--churn DURATION replaces the phases: --rate jobs/s are enqueued (10 bulk calls a second) for \
that long into --workers workers whose maintenance is ON, so they prune completed jobs older \
than --churn-keep in EVERY queue of the store (and rescue and promote): run it on a store of \
its own. Progress lines (JSON) go to stderr every --churn-every; the result is one JSON object. \
bench/postgres-churn.sh samples PostgreSQL's dead tuples and table size beside it.

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
  anp bench --store redis://127.0.0.1:6390 --json --payload-bytes 10240
  anp bench --plots docs/bench --from before=old.jsonl --from after=new.jsonl --from peers.jsonl
  anp bench --store postgres://postgres@127.0.0.1/anp_churn --churn 10m --rate 1000

Plots (--plots DIR --from FILE...): nothing is measured and no store is needed. Each FILE holds
`anp bench --json` results (one object, or one per line) and/or peers-harness JSON lines. Results
of one series name (NAME=FILE, default \"alphanode <backend>\") that differ in one of --jobs,
--queues, --workers, --payload-bytes, --concurrency make a line; every figure they have (B
jobs/s, B peak RSS, A jobs/s, C p99) gets a chart DIR/<dimension>-<figure>.svg, with the peers'
points at their jobs and concurrency (at 1 queue, 1 worker, {\"i\": n} args on the other
charts). Axes are logarithmic where the values span two decades or more.";

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
    /// Measure the application cache instead of jobs: get-hit rate from the store and from L1
    /// (with redis-benchmark GET beside it on a plain redis:// store), one L1 hit, a stampede,
    /// a tag purge, bytes per entry. Uses --concurrency and --runs.
    #[arg(long)]
    pub cache: bool,
    /// Cache bench: keys read at random in the get-hit phases.
    #[arg(long, default_value_t = 1000, value_name = "N", requires = "cache")]
    pub cache_keys: u64,
    /// Cache bench: value size, bytes of JSON.
    #[arg(long, default_value_t = 1024, value_name = "BYTES", requires = "cache")]
    pub value_bytes: usize,
    /// Cache bench: reads per get-hit phase run.
    #[arg(long, default_value_t = 200_000, value_name = "N", requires = "cache")]
    pub cache_reads: u64,
    /// Measure the HTTP cache instead of jobs: `anp proxy` (a child process, on --store) in
    /// front of an upstream in this process; HIT, BYPASS and direct req/s and latency over
    /// --concurrency connections, closed loop and at --proxy-rates, one connection, and 100
    /// cold requests coalesced. Uses --concurrency and --runs.
    #[arg(long, conflicts_with_all = ["cache", "churn"])]
    pub proxy: bool,
    /// Proxy bench: how long each measurement runs.
    #[arg(
        long,
        default_value = "5s",
        value_name = "DURATION",
        requires = "proxy"
    )]
    pub proxy_seconds: String,
    /// Proxy bench: offered rates (req/s, comma separated) of the open-loop measurements; 0
    /// for none.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "5000,10000",
        value_name = "RATES",
        requires = "proxy"
    )]
    pub proxy_rates: Vec<u64>,
    /// Proxy bench: run `anp proxy` with its in-memory L1 off (`--l1-bytes 0`: every HIT is a
    /// store read).
    #[arg(long, requires = "proxy")]
    pub proxy_no_l1: bool,
    /// Cache bench: entries carrying the purged tag.
    #[arg(long, default_value_t = 100_000, value_name = "N", requires = "cache")]
    pub tag_entries: u64,
    /// Measure nothing: draw the scaling series of the --from files as SVG charts in DIR
    /// (`<dimension>-<figure>.svg`, e.g. queues-b-process.svg). No store is needed.
    #[arg(long, value_name = "DIR", requires = "from")]
    pub plots: Option<PathBuf>,
    /// With --plots: a file of `anp bench --json` results or peers-harness JSON lines
    /// (repeatable; NAME=FILE names its alphanode series, default `alphanode <backend>`).
    #[arg(long, value_name = "[NAME=]FILE", requires = "plots")]
    pub from: Vec<String>,
    /// Instead of the phases: a churn run. Enqueues --rate jobs/s (10 bulk calls a second)
    /// for this long into --workers workers whose maintenance is on: it prunes completed jobs
    /// older than --churn-keep in EVERY queue of the store (use a store of its own).
    #[arg(long, value_name = "DURATION", conflicts_with = "cache")]
    pub churn: Option<String>,
    /// Churn run: the workers' keep_finished_for.
    #[arg(
        long,
        default_value = "1m",
        value_name = "DURATION",
        requires = "churn"
    )]
    pub churn_keep: String,
    /// Churn run: a progress line (JSON, on stderr) this often.
    #[arg(
        long,
        default_value = "30s",
        value_name = "DURATION",
        requires = "churn"
    )]
    pub churn_every: String,
}

/// Runs `anp bench`.
pub async fn run(ctx: &Ctx, a: BenchArgs) -> anyhow::Result<()> {
    if let Some(dir) = &a.plots {
        let written = plot::write_plots(dir, &a.from)?;
        if ctx.json {
            return output::json(&serde_json::json!({ "plots": written }));
        }
        for f in written {
            println!("{}", f.display());
        }
        return Ok(());
    }
    let url = ctx.store_url.clone().ok_or_else(|| {
        Error::invalid(
            "bench",
            "no store given: expected --store URL (or ANP_STORE) naming the store to measure, \
             e.g. --store sqlite:///tmp/bench/bench.db",
        )
    })?;
    if a.cache {
        if a.concurrency == 0 || a.runs == 0 || a.cache_keys == 0 || a.value_bytes < 2 {
            return Err(Error::invalid(
                "bench --cache",
                "--concurrency, --runs and --cache-keys must be at least 1 and --value-bytes at least 2",
            )
            .into());
        }
        let backend = alphanode::connect(&url).await?;
        let plan = cache::CachePlan {
            concurrency: a.concurrency,
            keys: a.cache_keys,
            value_bytes: a.value_bytes,
            reads: a.cache_reads,
            tag_entries: a.tag_entries,
            runs: a.runs,
        };
        return cache::run(backend, &url, plan, ctx.json).await;
    }
    if a.proxy {
        let seconds = crate::config::parse_duration("--proxy-seconds", &a.proxy_seconds)?;
        if a.concurrency == 0 || a.runs == 0 || seconds.is_zero() {
            return Err(Error::invalid(
                "bench --proxy",
                "--concurrency and --runs must be at least 1 and --proxy-seconds above 0",
            )
            .into());
        }
        let exe = std::env::current_exe().map_err(|e| {
            Error::internal(
                "bench",
                format!("cannot find the anp binary to start anp proxy: {e}"),
            )
        })?;
        let plan = proxy::ProxyPlan {
            concurrency: a.concurrency,
            seconds,
            rates: a.proxy_rates.iter().copied().filter(|r| *r > 0).collect(),
            runs: a.runs,
            l1: !a.proxy_no_l1,
        };
        return proxy::run(&url, &exe, plan, ctx.json).await;
    }
    let plan = Plan::from_args(&a)?;
    let backend = alphanode::connect(&url).await?;
    let admin = Admin::new(backend.clone());
    let (info, _round_trip) = admin.ping().await?;
    let exe = std::env::current_exe().map_err(|e| {
        Error::internal(
            "bench",
            format!("cannot find the anp binary to start the worker: {e}"),
        )
    })?;
    if cfg!(debug_assertions) {
        eprintln!("anp bench: warning: this is a debug build; measure a release build (cargo build --release -p anp)");
    }
    // The worker's config and log; removed when `dir` drops, after the workers have stopped.
    let dir = tempfile::Builder::new()
        .prefix("anp-bench-")
        .tempdir()
        .map_err(|e| {
            Error::read_only(
                "bench",
                format!(
                    "cannot create a directory in {}: {e}: expected a writable temp directory",
                    std::env::temp_dir().display()
                ),
            )
        })?;
    let bench = Arc::new(Bench {
        client: Client::new(backend.clone()),
        admin,
        backend,
        url,
        exe,
        dir: dir.path().to_owned(),
        kind: Kind::parse("noop")?,
        plan,
        json: ctx.json,
        created: Mutex::new(Vec::new()),
        reusable: Mutex::new(None),
        args_min: AtomicU64::new(u64::MAX),
        args_max: AtomicU64::new(0),
    });

    if let Some(c) = bench.plan.churn.clone() {
        let r = in_task(&bench, |b| async move { b.churn(&c).await }).await?;
        return output::json(&serde_json::to_value(&r)?);
    }
    let runs = in_task(&bench, |b| async move { b.all_runs().await }).await?;
    report::report(ctx, &bench, &info, &runs)
}

/// Runs `f` in a spawned task, on the runtime's worker threads like a request handler of a web
/// service (not on the thread blocked in `block_on`, which would add a thread hand-off to every
/// store call); on Ctrl-C stops it. Then deletes whatever jobs a failed or interrupted run left
/// in the bench's queues (a finished run cleans up itself).
async fn in_task<T, F>(bench: &Arc<Bench>, f: impl FnOnce(Arc<Bench>) -> F) -> anyhow::Result<T>
where
    T: Send + 'static,
    F: std::future::Future<Output = anyhow::Result<T>> + Send + 'static,
{
    let mut task = tokio::spawn(f(bench.clone()));
    let outcome = tokio::select! {
        r = &mut task => r.unwrap_or_else(|e| Err(anyhow::anyhow!("bench: the run task failed: {e}"))),
        _ = tokio::signal::ctrl_c() => {
            // Dropping the run stops its worker process (see `process::WorkerProc`'s Drop).
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
    outcome
}

/// One invocation: the store, what to run, and what it has created so far. Its methods live
/// with the part they serve (`phases.rs`, `latency.rs`, `queues.rs`, `process.rs`).
#[derive(Debug)]
struct Bench {
    /// The store measured.
    backend: Backend,
    /// Enqueues every job of every phase.
    client: Client,
    /// Counts, lists and purges the bench's queues.
    admin: Admin,
    /// The URL as given (with any password): passed to the worker in its environment only.
    url: String,
    /// This binary, started as `anp work`.
    exe: PathBuf,
    /// The temp directory holding the worker's config and log.
    dir: PathBuf,
    /// `noop`, the builtin kind every job has.
    kind: Kind,
    /// The checked options.
    plan: Plan,
    /// `--json`: no progress bars.
    json: bool,
    /// Queues whose jobs are not deleted yet.
    created: Mutex<Vec<QueueName>>,
    /// With `--queues N` (N > 1): the queue set the next phase may reuse.
    reusable: Mutex<Option<Vec<QueueName>>>,
    /// Smallest args sent, in bytes of JSON (`u64::MAX` while none was sent).
    args_min: AtomicU64,
    /// Largest args sent, in bytes of JSON.
    args_max: AtomicU64,
}

/// Locks `m`, also after a panic elsewhere (the data is plain lists).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
