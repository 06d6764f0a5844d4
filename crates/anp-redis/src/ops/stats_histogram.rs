//! How the per-minute stats store a [`Histogram`]: one counter per bucket (`run:<i>`, `wait:<i>`)
//! plus `run_sum_us` / `wait_sum_us`, in each queue's `anp:{<queue>}:stats` hash. Shared by the
//! ops that count (`job_ack_many`, `stats_record`) and the one that reads (`stats_query`).

use std::time::Duration;

use anp_core::monitor::Histogram;

/// Histogram buckets (the bounds plus the overflow bucket).
pub(crate) const BUCKETS: usize = Histogram::BOUNDS_MS.len() + 1;

/// The histogram bucket `d` falls in (as [`Histogram::record`] counts it).
pub(crate) fn bucket(d: Duration) -> usize {
    let ms = d.as_secs_f64() * 1000.0;
    Histogram::BOUNDS_MS
        .iter()
        .position(|b| ms <= *b)
        .unwrap_or(Histogram::BOUNDS_MS.len())
}

/// `d` in whole µs (saturating).
pub(crate) fn us(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}
