//! The measurements: each run's figures ([`RunResult`]), then their medians and spread as the
//! human table or the `--json` object (keys as in the workload, BENCHMARKS.md quotes them).

use std::sync::atomic::Ordering;

use alphanode::StoreInfo;
use indicatif::HumanFloatCount;
use serde::Serialize;

use super::Bench;
use crate::cli::Ctx;
use crate::output;

/// The figures of one run (a phase not run leaves its figures empty).
#[derive(Debug, Default, Clone, Serialize)]
pub(super) struct RunResult {
    /// 1-based.
    pub(super) run: u64,
    /// A: jobs/s.
    pub(super) enqueue_per_s: Option<f64>,
    /// A1: jobs/s.
    pub(super) enqueue_single_per_s: Option<f64>,
    /// B: jobs/s.
    pub(super) process_per_s: Option<f64>,
    /// B: the seconds it took.
    pub(super) process_seconds: Option<f64>,
    /// B: the worker's peak resident memory (with `--workers`: the largest process's).
    pub(super) peak_rss_mib: Option<f64>,
    /// B: the sum of every worker process's peak resident memory.
    pub(super) peak_rss_sum_mib: Option<f64>,
    /// B: each worker process's peak resident memory, in spawn order.
    pub(super) peak_rss_each_mib: Option<Vec<f64>>,
    /// C: attempted_at − created_at (attempted_at: the worker's clock as it sent the fetch),
    /// median.
    pub(super) latency_p50_ms: Option<f64>,
    /// C: the same, 99th percentile.
    pub(super) latency_p99_ms: Option<f64>,
    /// C: the same, largest.
    pub(super) latency_max_ms: Option<f64>,
    /// C: attempted_at − the moment the enqueue call returned (excludes the enqueue call),
    /// median.
    pub(super) latency_from_return_p50_ms: Option<f64>,
    /// C: the same, 99th percentile.
    pub(super) latency_from_return_p99_ms: Option<f64>,
    /// C: finalized_at − created_at, an upper bound (includes the batched acknowledgement),
    /// median.
    pub(super) latency_upper_p50_ms: Option<f64>,
    /// C: the same, 99th percentile.
    pub(super) latency_upper_p99_ms: Option<f64>,
    /// C: enqueue calls that started more than one interval (1/rate) behind their schedule.
    pub(super) late_sends: Option<u64>,
    /// C: the largest such delay.
    pub(super) max_send_delay_ms: Option<f64>,
    /// C: the achieved enqueue rate.
    pub(super) sent_per_s: Option<f64>,
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

/// `v` rounded to `digits` decimal places.
pub(super) fn round(v: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (v * f).round() / f
}

/// Prints the medians of `runs`: the human header and table, or with `--json` one object.
pub(super) fn report(
    ctx: &Ctx,
    bench: &Bench,
    info: &StoreInfo,
    runs: &[RunResult],
) -> anyhow::Result<()> {
    let p = &bench.plan;
    let store = bench.backend.url();
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

/// `12345.6` → `12,346` (negative rates, which do not occur, as 0).
pub(super) fn thousands(x: f64) -> String {
    format!("{:.0}", HumanFloatCount(x.max(0.0)))
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
        // As `{:.0}` rounds: to the nearest, ties to even.
        assert_eq!(thousands(999.6), "1,000");
        assert_eq!(thousands(2.5), "2");
        assert_eq!(thousands(-5.0), "0");
        assert_eq!(thousands(123456.0), "123,456");
    }
}
