//! What operators ask the store: live workers and schedulers, per-minute stats, deploy markers.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::names::{Kind, QueueName};

/// A worker or scheduler process, as it registers itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessInfo {
    /// Unique id (`<host>-<pid>-<random>`).
    pub id: String,
    /// `worker` or `scheduler`.
    pub role: String,
    /// Host name.
    pub host: String,
    /// Process id.
    pub pid: u32,
    /// alphanode version.
    pub version: String,
    /// Queues served (workers).
    pub queues: Vec<QueueName>,
    /// The job kinds it has handlers for, sorted (workers; empty for schedulers). Missing in
    /// registrations written before kinds were recorded: read as empty.
    #[serde(default)]
    pub kinds: Vec<Kind>,
    /// When it started.
    pub started_at: Timestamp,
    /// Its latest heartbeat.
    pub last_seen: Timestamp,
}

/// Parameters of `process_list`.
#[derive(Clone, Debug)]
pub struct ProcessListParams {
    /// Now.
    pub now: Timestamp,
    /// Processes not seen for this long are gone (not listed, and deleted).
    pub stale_after: Duration,
}

/// Latency histogram with fixed bucket bounds (milliseconds), mergeable by addition.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Histogram {
    /// Counts per bucket: `counts[i]` counts values `<= BOUNDS_MS[i]`, the last one the rest.
    pub counts: Vec<u64>,
    /// Sum of all values, in microseconds.
    pub sum_us: u64,
}

impl Histogram {
    /// Upper bounds of the buckets, in milliseconds (plus an overflow bucket).
    pub const BOUNDS_MS: [f64; 16] = [
        1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10_000.0,
        30_000.0, 60_000.0, 300_000.0,
    ];

    /// Adds one value.
    pub fn record(&mut self, d: Duration) {
        if self.counts.len() != Self::BOUNDS_MS.len() + 1 {
            self.counts.resize(Self::BOUNDS_MS.len() + 1, 0);
        }
        let ms = d.as_secs_f64() * 1000.0;
        let i = Self::BOUNDS_MS
            .iter()
            .position(|b| ms <= *b)
            .unwrap_or(Self::BOUNDS_MS.len());
        self.counts[i] += 1;
        self.sum_us = self
            .sum_us
            .saturating_add(u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
    }

    /// Adds another histogram.
    pub fn merge(&mut self, other: &Histogram) {
        if self.counts.len() < other.counts.len() {
            self.counts.resize(other.counts.len(), 0);
        }
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.sum_us = self.sum_us.saturating_add(other.sum_us);
    }

    /// Number of values.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The `q` quantile (0–1) as a bucket upper bound in milliseconds; `None` when empty.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        let rank = (q * n as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(Self::BOUNDS_MS.get(i).copied().unwrap_or(f64::INFINITY));
            }
        }
        None
    }
}

/// Counts and latencies of one queue and kind in one minute.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatCounts {
    /// Jobs enqueued.
    pub enqueued: u64,
    /// Attempts completed.
    pub completed: u64,
    /// Attempts failed (retried later).
    pub failed: u64,
    /// Jobs that went dead.
    pub dead: u64,
    /// Run time of finished attempts (handler start to acknowledgement).
    pub run: Histogram,
    /// Wait time (due to fetched).
    pub wait: Histogram,
}

impl StatCounts {
    /// Adds another minute's counts.
    pub fn merge(&mut self, o: &StatCounts) {
        self.enqueued += o.enqueued;
        self.completed += o.completed;
        self.failed += o.failed;
        self.dead += o.dead;
        self.run.merge(&o.run);
        self.wait.merge(&o.wait);
    }
}

/// Key of a stats bucket.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct StatKey {
    /// Start of the minute.
    pub minute: Timestamp,
    /// Queue.
    pub queue: QueueName,
    /// Kind.
    pub kind: Kind,
}

/// Parameters of `stats_record`: deltas added to the stored buckets.
#[derive(Clone, Debug, Default)]
pub struct StatsRecordParams {
    /// Deltas per bucket.
    pub deltas: BTreeMap<StatKey, StatCounts>,
    /// Buckets older than this are deleted in the same call (retention).
    pub prune_before: Option<Timestamp>,
}

/// Parameters of `stats_query`.
#[derive(Clone, Debug)]
pub struct StatsQueryParams {
    /// First minute included.
    pub from: Timestamp,
    /// Minutes before this instant.
    pub until: Timestamp,
}

/// The start of the minute holding `t`.
pub fn minute_of(t: Timestamp) -> Timestamp {
    let s = t.as_second().div_euclid(60) * 60;
    Timestamp::from_second(s).unwrap_or(t)
}

/// A deploy marker: a version went out, with who to call and how to undo it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeployMarker {
    /// When it was marked.
    pub at: Timestamp,
    /// The version deployed.
    pub version: String,
    /// Who owns it.
    pub owner: Option<String>,
    /// The command that rolls it back.
    pub rollback: Option<String>,
    /// Free text.
    pub note: Option<String>,
}

/// One operator action, as the audit log keeps it: who did what to which target, when, and
/// how it ended. `anp serve` records one for every action it takes (JSON API and dashboard).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When the action ran (its end).
    pub at: Timestamp,
    /// Who asked: `"api token"`, `"dashboard session 3fa2c1d0"`, …
    pub who: String,
    /// What was asked: `"job retry"`, `"queue pause"`, …
    pub action: String,
    /// What it acted on: a job id, queue or schedule name, a deploy version (empty if none).
    pub target: String,
    /// How it ended: `"ok"`, `"ok: 42 jobs"`, or `"error: <message>"`.
    pub result: String,
}

/// The most audit entries a store keeps; older ones are dropped as new ones come.
pub const AUDIT_KEEP: u32 = 10_000;

#[cfg(test)]
mod tests {
    use super::ProcessInfo;

    #[test]
    fn a_registration_without_kinds_reads_as_serving_none() {
        // As a worker of an earlier version wrote it into Redis (`anp:processes`).
        let old = r#"{"id": "h-1-0a", "role": "worker", "host": "h", "pid": 1,
            "version": "0.1.0", "queues": ["default"],
            "started_at": "2026-11-25T18:00:00Z", "last_seen": "2026-11-25T18:00:05Z"}"#;
        let p: ProcessInfo = serde_json::from_str(old).unwrap_or_else(|e| panic!("{e}"));
        assert!(p.kinds.is_empty());
        assert_eq!(p.queues.len(), 1);
    }
}
