//! Every Redis key alphanode writes, built here and nowhere else (docs/redis-keys.md is the
//! table of them).
//!
//! Per-queue keys are `anp:{<queue>}:<what>`: the braces are a Cluster hash tag, so all keys of
//! one queue live in one slot and every script (which touches one queue) is slot-local. Queue
//! names are `[a-z0-9_-]`, so they can't contain a brace. Per-schedule keys
//! (`anp:{<queue>}:schedule:<name>`, `anp:{<queue>}:fires:<name>`, see [`S`]) live in the slot
//! of the schedule's queue. The global keys ([`QUEUES`], [`SCHEMA`], [`PROCESSES`],
//! [`DEPLOYS`], [`SCHEDULES`]) are written outside scripts, idempotently.

use anp_core::schedule::ScheduleName;
use anp_core::QueueName;

/// Set of every queue name that ever held a job or was paused (never shrinks).
pub(crate) const QUEUES: &str = "anp:queues";

/// String: the key-layout version of this store ([`crate::SCHEMA_VERSION`]).
pub(crate) const SCHEMA: &str = "anp:schema";

/// Hash: process id → the process's registration (JSON), refreshed by its heartbeats.
pub(crate) const PROCESSES: &str = "anp:processes";

/// Zset: deploy markers (JSON) by time (µs); the newest 1000 are kept.
pub(crate) const DEPLOYS: &str = "anp:deploys";

/// Hash: schedule name → the queue whose slot holds the schedule's keys.
pub(crate) const SCHEDULES: &str = "anp:schedules";

/// One per-queue key, by what it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Q {
    /// Hash: job records, args, errors and unique keys (fields `<id>`, `<id>:args`, …).
    Jobs,
    /// Zset: every job id, score 0, ordered by id (listing newest first).
    Ids,
    /// Zset: scheduled jobs by run_at (µs).
    Scheduled,
    /// Zset: available jobs by priority × 10^14 + run_at (ms), ties by id.
    Available,
    /// Zset: running jobs by lease expiry (µs).
    Running,
    /// Zset: completed jobs by finalized_at (µs).
    Completed,
    /// Zset: retryable jobs by run_at (µs).
    Retryable,
    /// Zset: dead jobs by finalized_at (µs).
    Dead,
    /// Zset: cancelled jobs by finalized_at (µs).
    Cancelled,
    /// Hash: unique key → id of the newest job enqueued with it.
    Unique,
    /// String: `1` paused, `0` resumed.
    Paused,
    /// List: wake tokens popped by blocked `job_wait` calls.
    Wake,
    /// String: the last fencing token issued.
    LeaseSeq,
    /// Hash: per-minute stats counters, field `<minute_us>:<kind>:<counter>`.
    Stats,
    /// Zset: the stats buckets (`<minute_us>:<kind>`) by minute (µs), for queries and pruning.
    StatMinutes,
    /// Hash: only while an export of the queue runs: `~token` (the export's) and the
    /// pre-images of jobs changed since it began (copy-on-write, `lua/lib.lua`). Expires by
    /// itself when the exporter stops touching it.
    Export,
}

impl Q {
    /// Every per-queue key.
    pub(crate) const ALL: [Q; 16] = [
        Q::Jobs,
        Q::Ids,
        Q::Scheduled,
        Q::Available,
        Q::Running,
        Q::Completed,
        Q::Retryable,
        Q::Dead,
        Q::Cancelled,
        Q::Unique,
        Q::Paused,
        Q::Wake,
        Q::LeaseSeq,
        Q::Stats,
        Q::StatMinutes,
        Q::Export,
    ];

    fn suffix(self) -> &'static str {
        match self {
            Q::Jobs => "jobs",
            Q::Ids => "ids",
            Q::Scheduled => "scheduled",
            Q::Available => "available",
            Q::Running => "running",
            Q::Completed => "completed",
            Q::Retryable => "retryable",
            Q::Dead => "dead",
            Q::Cancelled => "cancelled",
            Q::Unique => "unique",
            Q::Paused => "paused",
            Q::Wake => "wake",
            Q::LeaseSeq => "lease_seq",
            Q::Stats => "stats",
            Q::StatMinutes => "stat_minutes",
            Q::Export => "export",
        }
    }

    /// The key for `queue`.
    pub(crate) fn key(self, queue: &QueueName) -> String {
        format!("anp:{{{}}}:{}", queue.as_str(), self.suffix())
    }

    /// The documented pattern, `anp:{<queue>}:<what>` (script headers and docs use it).
    #[cfg(test)]
    pub(crate) fn pattern(self) -> String {
        format!("anp:{{<queue>}}:{}", self.suffix())
    }
}

/// A per-schedule key, in the slot of the schedule's queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum S {
    /// Hash: the schedule (`def` JSON, `queue`, `paused`, `last_tick`, `last_job`,
    /// `created_at`, `updated_at`, `skip_if_running`, `catch_up`).
    Schedule,
    /// List: the fire log, newest first (JSON entries), trimmed to `log_max`.
    Fires,
}

impl S {
    fn prefix(self) -> &'static str {
        match self {
            S::Schedule => "schedule",
            S::Fires => "fires",
        }
    }

    /// The key of schedule `name` in `queue`.
    pub(crate) fn key(self, queue: &QueueName, name: &ScheduleName) -> String {
        format!(
            "anp:{{{}}}:{}:{}",
            queue.as_str(),
            self.prefix(),
            name.as_str()
        )
    }

    /// The documented pattern, `anp:{<queue>}:<what>:<name>`.
    #[cfg(test)]
    pub(crate) fn pattern(self) -> String {
        format!("anp:{{<queue>}}:{}:<name>", self.prefix())
    }
}

/// Whether `key` is a per-schedule key (`anp:{<queue>}:schedule:<name>` or `…:fires:<name>`).
fn is_schedule_key(key: &str) -> bool {
    let Some(rest) = key.strip_prefix("anp:{") else {
        return false;
    };
    let Some((queue, what)) = rest.split_once("}:") else {
        return false;
    };
    QueueName::parse(queue).is_ok()
        && [S::Schedule, S::Fires].into_iter().any(|s| {
            what.strip_prefix(s.prefix())
                .and_then(|r| r.strip_prefix(':'))
                .is_some_and(|n| ScheduleName::parse(n).is_ok())
        })
}

/// The queue a per-queue key belongs to, if `key` is one of ours (used by tests and the
/// layout check).
pub(crate) fn parse(key: &str) -> Option<(QueueName, Q)> {
    let rest = key.strip_prefix("anp:{")?;
    let (queue, what) = rest.split_once("}:")?;
    let queue = QueueName::parse(queue).ok()?;
    let q = Q::ALL.into_iter().find(|k| k.suffix() == what)?;
    Some((queue, q))
}

/// Whether `key` is a key this crate writes.
pub fn is_documented_key(key: &str) -> bool {
    [QUEUES, SCHEMA, PROCESSES, DEPLOYS, SCHEDULES].contains(&key)
        || parse(key).is_some()
        || is_schedule_key(key)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn per_queue_keys_share_the_queue_hash_tag() {
        let q = QueueName::parse("mail-out").unwrap();
        for k in Q::ALL {
            let key = k.key(&q);
            assert!(key.starts_with("anp:{mail-out}:"), "{key}");
            assert_eq!(parse(&key), Some((q.clone(), k)));
            assert!(is_documented_key(&key));
        }
        assert!(is_documented_key("anp:queues"));
        assert!(is_documented_key("anp:schedules"));
        let n = ScheduleName::parse("nightly.report").unwrap();
        for s in [S::Schedule, S::Fires] {
            assert!(is_documented_key(&s.key(&q, &n)));
        }
        assert!(!is_documented_key("anp:{mail-out}:schedule:"));
        assert!(!is_documented_key("anp:{mail}:job:1"));
        assert!(!is_documented_key("anp:{Bad}:jobs"));
        assert!(!is_documented_key("other"));
    }
}
