//! The metric families of `/metrics` and how a [`Snapshot`] fills them: names, help and
//! labels are the ones `anp serve` has always exposed; `prometheus-client` writes the lines
//! (escaping, `_total` on counters, `le` buckets, `# UNIT` in OpenMetrics).

use std::fmt;

use alphanode::cache::CacheCounts;
use alphanode::{Histogram, JobState, QueueInfo, StatCounts};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeGaugeValue, EncodeLabelSet, EncodeMetric, MetricEncoder, NoLabelSet,
};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType::{self, Counter, Gauge, Histogram as Hist};
use prometheus_client::registry::Unit;

use super::Snapshot;

/// A metric family: its name without `_total` or the unit, its help, its type, and whether it
/// is in seconds (then the encoder appends `_seconds`).
#[derive(Debug)]
struct Family {
    name: &'static str,
    help: &'static str,
    ty: MetricType,
    seconds: bool,
}

/// A family of type `ty`, unitless.
const fn fam(ty: MetricType, name: &'static str, help: &'static str) -> Family {
    Family {
        name,
        help,
        ty,
        seconds: false,
    }
}

/// A family of type `ty`, in seconds.
const fn secs(ty: MetricType, name: &'static str, help: &'static str) -> Family {
    Family {
        name,
        help,
        ty,
        seconds: true,
    }
}

/// Which count of a [`StatCounts`] a counter shows.
type Count = fn(&StatCounts) -> u64;
/// Which latency histogram of a [`StatCounts`] a histogram shows.
type Latency = fn(&StatCounts) -> &Histogram;

// The families, in the order they are written.

const JOBS: Family = fam(Gauge, "anp_jobs", "Jobs in the store by queue and state.");
const DEPTH: Family = fam(
    Gauge,
    "anp_queue_depth",
    "Available jobs waiting in a queue.",
);
const OLDEST: Family = secs(
    Gauge,
    "anp_queue_oldest_available_age",
    "Age of the oldest available job.",
);
const PAUSED: Family = fam(Gauge, "anp_queue_paused", "1 when the queue is paused.");
/// The per-minute counters, with the [`StatCounts`] field each one shows.
const COUNTERS: [(Family, Count); 4] = [
    (
        fam(
            Counter,
            "anp_jobs_enqueued",
            "Jobs enqueued. Since this anp serve started.",
        ),
        |c| c.enqueued,
    ),
    (
        fam(
            Counter,
            "anp_jobs_completed",
            "Attempts completed. Since this anp serve started.",
        ),
        |c| c.completed,
    ),
    (
        fam(
            Counter,
            "anp_jobs_failed",
            "Attempts failed. Since this anp serve started.",
        ),
        |c| c.failed,
    ),
    (
        fam(
            Counter,
            "anp_jobs_dead",
            "Jobs that went dead. Since this anp serve started.",
        ),
        |c| c.dead,
    ),
];
/// The latency histograms, with the [`StatCounts`] field each one shows.
const HISTOGRAMS: [(Family, Latency); 2] = [
    (
        secs(
            Hist,
            "anp_job_run",
            "Run time of finished attempts. Since this anp serve started.",
        ),
        |c| &c.run,
    ),
    (
        secs(
            Hist,
            "anp_job_wait",
            "Wait from due to fetched. Since this anp serve started.",
        ),
        |c| &c.wait,
    ),
];
const LAST_TICK: Family = secs(
    Gauge,
    "anp_schedule_last_tick_timestamp",
    "The latest tick decided.",
);
const LAG: Family = secs(
    Gauge,
    "anp_schedule_lag",
    "How late the schedule is: now minus its next due tick after the last decided one (0 when \
     on time).",
);
const PROCESSES: Family = fam(Gauge, "anp_processes", "Live workers and schedulers.");
/// Which count of a cache namespace's [`CacheCounts`] a counter shows.
type CacheCount = fn(&CacheCounts) -> u64;
/// The cache counters (flushed by every process every 10 s), with the field each shows.
const CACHE_COUNTERS: [(Family, CacheCount); 10] = [
    (
        fam(
            Counter,
            "anp_cache_hits",
            "Cache reads served fresh from the store. Since this anp serve started.",
        ),
        |c| c.hits,
    ),
    (
        fam(
            Counter,
            "anp_cache_l1_hits",
            "Cache reads served fresh from a process's L1. Since this anp serve started.",
        ),
        |c| c.l1_hits,
    ),
    (
        fam(
            Counter,
            "anp_cache_misses",
            "Cache reads that found nothing servable. Since this anp serve started.",
        ),
        |c| c.misses,
    ),
    (
        fam(
            Counter,
            "anp_cache_stale",
            "Stale values served while a refresh ran. Since this anp serve started.",
        ),
        |c| c.stale,
    ),
    (
        fam(
            Counter,
            "anp_cache_stale_errors",
            "Stale values served because computing failed. Since this anp serve started.",
        ),
        |c| c.stale_errors,
    ),
    (
        fam(
            Counter,
            "anp_cache_computes",
            "Values computed. Since this anp serve started.",
        ),
        |c| c.computes,
    ),
    (
        fam(
            Counter,
            "anp_cache_compute_errors",
            "Computations that failed. Since this anp serve started.",
        ),
        |c| c.compute_errors,
    ),
    (
        fam(
            Counter,
            "anp_cache_lock_waits",
            "Reads that waited for another caller's computation. Since this anp serve started.",
        ),
        |c| c.lock_waits,
    ),
    (
        fam(
            Counter,
            "anp_cache_purges",
            "Keys deleted and tags or prefixes purged. Since this anp serve started.",
        ),
        |c| c.purges,
    ),
    (
        fam(
            Counter,
            "anp_cache_undecodable",
            "Stored values that could not be read (a miss). Since this anp serve started.",
        ),
        |c| c.undecodable,
    ),
];
const CACHE_COMPUTE: Family = secs(
    Hist,
    "anp_cache_compute",
    "Time to compute a cache value. Since this anp serve started.",
);
const STORE_OPS: Family = secs(
    Gauge,
    "anp_store_operation",
    "Duration of the store operations this scrape made.",
);

impl Collector for Snapshot {
    fn encode(&self, mut enc: DescriptorEncoder<'_>) -> fmt::Result {
        let e = &mut enc;
        let queues = || {
            self.queues
                .iter()
                .map(|q| ([("queue", q.queue.as_str())], q))
        };
        let states = self.queues.iter().flat_map(|q| {
            let labels = |st: &JobState| [("queue", q.queue.as_str()), ("state", st.as_str())];
            q.counts.iter().map(move |(st, n)| (labels(st), *n))
        });
        family(e, &JOBS, states, gauge)?;
        family(e, &DEPTH, queues().map(|(l, q)| (l, depth(q))), gauge)?;
        let oldest = |q: &QueueInfo| q.oldest_available_at.map_or(0.0, |t| self.age(t));
        family(e, &OLDEST, queues().map(|(l, q)| (l, oldest(q))), gauge)?;
        family(
            e,
            &PAUSED,
            queues().map(|(l, q)| (l, u64::from(q.paused))),
            gauge,
        )?;

        let kinds = || {
            let rows = self.stats.iter();
            rows.map(|((q, k), c)| ([("queue", q.as_str()), ("kind", k.as_str())], c))
        };
        for (f, get) in &COUNTERS {
            family(e, f, kinds().map(|(l, c)| (l, get(c))), counter)?;
        }
        for (f, pick) in &HISTOGRAMS {
            family(e, f, kinds().map(|(l, c)| (l, pick(c))), histogram)?;
        }

        let schedules = || {
            self.schedules
                .iter()
                .map(|(n, last, next)| ([("schedule", n.as_str())], last, next))
        };
        let ticks = schedules().filter_map(|(l, last, _)| Some((l, unix_seconds(last.as_ref()?))));
        family(e, &LAST_TICK, ticks, gauge)?;
        let lags = schedules().map(|(l, _, next)| (l, next.map_or(0.0, |n| self.age(n))));
        family(e, &LAG, lags, gauge)?;

        let roles = [
            ([("role", "worker")], self.workers),
            ([("role", "scheduler")], self.schedulers),
        ];
        family(e, &PROCESSES, roles, gauge)?;
        let spaces = || {
            self.cache
                .iter()
                .map(|(ns, c)| ([("namespace", ns.as_str())], c))
        };
        for (f, get) in &CACHE_COUNTERS {
            family(e, f, spaces().map(|(l, c)| (l, get(c))), counter)?;
        }
        family(
            e,
            &CACHE_COMPUTE,
            spaces().map(|(l, c)| (l, &c.compute)),
            histogram,
        )?;
        let ops = self.ops.iter().map(|(op, secs)| ([("op", *op)], *secs));
        family(e, &STORE_OPS, ops, gauge)
    }
}

/// Available jobs in a queue.
fn depth(q: &QueueInfo) -> u64 {
    q.counts.get(&JobState::Available).copied().unwrap_or(0)
}

/// A timestamp as fractional Unix seconds.
fn unix_seconds(t: &jiff::Timestamp) -> f64 {
    t.as_millisecond() as f64 / 1000.0
}

/// Writes one family's descriptor, then one metric per label set with `emit`.
fn family<L: EncodeLabelSet, V>(
    enc: &mut DescriptorEncoder<'_>,
    f: &Family,
    rows: impl IntoIterator<Item = (L, V)>,
    emit: impl Fn(MetricEncoder<'_>, V) -> fmt::Result,
) -> fmt::Result {
    let seconds = Unit::Seconds;
    let unit = f.seconds.then_some(&seconds);
    let mut m = enc.encode_descriptor(f.name, f.help, unit, f.ty)?;
    for (labels, v) in rows {
        emit(m.encode_family(&labels)?, v)?;
    }
    Ok(())
}

/// One gauge sample.
fn gauge<N: EncodeGaugeValue>(m: MetricEncoder<'_>, v: N) -> fmt::Result {
    ConstGauge::new(v).encode(m)
}

/// One counter sample (the encoder adds `_total`).
fn counter(m: MetricEncoder<'_>, v: u64) -> fmt::Result {
    ConstCounter::new(v).encode(m)
}

/// One stored histogram: bucket counts per bound (in seconds) with the overflow as `+Inf`.
fn histogram(mut m: MetricEncoder<'_>, h: &Histogram) -> fmt::Result {
    let bounds = Histogram::BOUNDS_MS.iter().map(|ms| ms / 1000.0);
    let counts = h.counts.iter().copied().chain(std::iter::repeat(0));
    let buckets: Vec<(f64, u64)> = bounds.chain([f64::INFINITY]).zip(counts).collect();
    m.encode_histogram::<NoLabelSet>(h.sum_us as f64 / 1e6, h.count(), &buckets, None)
}
