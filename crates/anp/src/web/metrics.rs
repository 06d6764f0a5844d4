//! `GET /metrics`: the store as Prometheus sees it, read at scrape time, so one `anp serve`
//! covers any number of workers on any hosts.
//!
//! Each scrape reads the store through [`Admin`] (queue counts, per-minute stats since this
//! server started, schedules, live processes, cache counts flushed since it started) into a [`Snapshot`], registers it as a
//! `prometheus-client` collector (`metrics/collector.rs`: the families) and lets the crate write the exposition: OpenMetrics 1.0
//! when the scraper's `Accept` prefers `application/openmetrics-text` (as Prometheus does),
//! the Prometheus text format 0.0.4 otherwise. The stored latency histograms have fixed bounds
//! ([`alphanode::Histogram::BOUNDS_MS`]) and are handed to the encoder as they are (bucket counts, sum,
//! count), not re-observed.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::time::Instant;

use alphanode::scheduler::Schedule;
use alphanode::{Admin, Error, QueueInfo, StatCounts};
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::IntoResponse;
use jiff::{RoundMode, SignedDuration, Timestamp, TimestampRound};
use prometheus_client::encoding::{prometheus_text, text};
use prometheus_client::registry::Registry;

use super::error::ApiResult;
use super::Shared;

/// The `Content-Type` of the OpenMetrics text format the crate writes.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Answers `/metrics` in the format the scraper asked for.
pub(super) async fn metrics(State(app): State<Shared>, headers: HeaderMap) -> ApiResult {
    let snapshot = Snapshot::read(&app.admin, app.started).await?;
    let openmetrics = wants_openmetrics(&headers);
    let body = render(snapshot, openmetrics)
        .map_err(|_| Error::internal("metrics", "cannot encode the exposition"))?;
    let content_type = if openmetrics {
        OPENMETRICS
    } else {
        prometheus_text::CONTENT_TYPE
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::VARY, "accept"),
        ],
        body,
    )
        .into_response())
}

/// True when `Accept` rates OpenMetrics above zero and at least as high as plain text.
fn wants_openmetrics(headers: &HeaderMap) -> bool {
    let (mut openmetrics, mut plain) = (0.0f64, 0.0f64);
    let ranges = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','));
    for range in ranges {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or("").to_ascii_lowercase();
        let q = parts
            .find_map(|p| p.strip_prefix("q="))
            .map_or(1.0, |q| q.parse().unwrap_or(0.0));
        match media.as_str() {
            "application/openmetrics-text" => openmetrics = openmetrics.max(q),
            "text/plain" | "text/*" | "*/*" => plain = plain.max(q),
            _ => {}
        }
    }
    openmetrics > 0.0 && openmetrics >= plain
}

/// The exposition of one snapshot, OpenMetrics (with its `# EOF`) or Prometheus text.
fn render(snapshot: Snapshot, openmetrics: bool) -> Result<String, fmt::Error> {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(snapshot));
    let mut out = String::new();
    if openmetrics {
        text::encode(&mut out, &registry)?;
    } else {
        prometheus_text::encode(&mut out, &registry)?;
    }
    Ok(out)
}

/// One scrape's reading of the store.
#[derive(Debug)]
struct Snapshot {
    /// When it was read.
    now: Timestamp,
    /// Counts per queue and state.
    queues: Vec<QueueInfo>,
    /// Per-minute stats since the server started, summed by (queue, kind).
    stats: BTreeMap<(String, String), StatCounts>,
    /// Per schedule: name, latest tick decided, and its next tick after that.
    schedules: Vec<(String, Option<Timestamp>, Option<Timestamp>)>,
    /// Live workers.
    workers: u64,
    /// Live schedulers.
    schedulers: u64,
    /// Cache counts per namespace flushed since the server started, summed over processes.
    cache: Vec<(String, alphanode::cache::CacheCounts)>,
    /// Seconds each store operation of this scrape took.
    ops: Vec<(&'static str, f64)>,
}

/// Awaits `f` and records how long it took under `op`.
async fn timed<T>(
    ops: &mut Vec<(&'static str, f64)>,
    op: &'static str,
    f: impl Future<Output = alphanode::Result<T>>,
) -> alphanode::Result<T> {
    let t = Instant::now();
    let r = f.await?;
    ops.push((op, t.elapsed().as_secs_f64()));
    Ok(r)
}

impl Snapshot {
    /// Reads what the metrics show: four store operations, timed.
    async fn read(admin: &Admin, started: Timestamp) -> alphanode::Result<Snapshot> {
        let now = Timestamp::now();
        let mut ops = Vec::new();
        let queues = timed(&mut ops, "queue_list", admin.queue_list()).await?;
        // Counters count from the start of the minute this server started in (the stats'
        // resolution): monotonic for its lifetime; a restart is a counter reset.
        let from = started
            .round(
                TimestampRound::new()
                    .smallest(jiff::Unit::Minute)
                    .mode(RoundMode::Trunc),
            )
            .unwrap_or(started);
        let until = now.checked_add(SignedDuration::from_mins(1)).unwrap_or(now);
        let rows = timed(&mut ops, "stats_query", admin.stats(from, until)).await?;
        let mut stats: BTreeMap<(String, String), StatCounts> = BTreeMap::new();
        for (k, c) in &rows {
            stats
                .entry((k.queue.to_string(), k.kind.to_string()))
                .or_default()
                .merge(c);
        }
        let schedules = timed(&mut ops, "schedule_list", admin.schedule_list()).await?;
        let schedules = schedules
            .into_iter()
            .map(|s| {
                let name = s.def.name.to_string();
                let next = match (Schedule::new(s.def), s.last_tick) {
                    (Ok(sch), Some(last)) => sch.next_after(last),
                    _ => None,
                };
                (name, s.last_tick, next)
            })
            .collect();
        let procs = timed(&mut ops, "process_list", admin.process_list()).await?;
        let cache = timed(
            &mut ops,
            "cache_stats_query",
            admin.cache_counts(started, now, None),
        )
        .await?
        .into_iter()
        .map(|(ns, c)| (ns.to_string(), c))
        .collect();
        let count = |role: &str| procs.iter().filter(|p| p.role == role).count() as u64;
        Ok(Snapshot {
            now,
            queues,
            stats,
            schedules,
            workers: count("worker"),
            schedulers: count("scheduler"),
            cache,
            ops,
        })
    }

    /// Seconds from `t` to now, never negative.
    fn age(&self, t: Timestamp) -> f64 {
        self.now.duration_since(t).as_secs_f64().max(0.0)
    }
}

mod collector;
#[cfg(test)]
mod tests;
