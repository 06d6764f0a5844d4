//! What to run: the options checked into a [`Plan`], and the workload's jobs (which queue, what
//! args).

use std::time::Duration;

use alphanode::{Error, QueueName};

use super::churn::ChurnPlan;
use super::BenchArgs;
use crate::config::parse_duration;

/// Jobs per bulk call in phase A: the fastest of 500–10,000 on SQLite (5,000: +4 % over
/// 1,000); on Redis 1,000–10,000 measure the same (BENCHMARKS.md).
pub(super) const DEFAULT_BATCH: u64 = 5_000;
/// Jobs per `job_list` page when reading results and cleaning up.
const PAGE: u32 = 10_000;
/// With `--payload-bytes`, bulk enqueue calls and `job_list` pages are shortened so that one
/// call carries at most about this many bytes of args (5,000 jobs of 1 MiB would be 5 GiB).
const MAX_CALL_BYTES: u64 = 64 << 20;
/// Largest `--payload-bytes` (1 MiB).
const MAX_PAYLOAD: u64 = 1 << 20;
/// Smallest `--payload-bytes`: `{"i":<n>,"pad":""}` is at most 23 bytes, so any size from here
/// on is met exactly.
const MIN_PAYLOAD: u64 = 32;

/// One phase of the workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Phase {
    /// Bulk enqueue.
    A,
    /// Single enqueue, one call per job.
    A1,
    /// Process A's jobs.
    B,
    /// Latency under a steady enqueue rate.
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
pub(super) struct Plan {
    /// The phases to run, in workload order, each once.
    pub(super) phases: Vec<Phase>,
    /// Jobs of A and B.
    pub(super) jobs: u64,
    /// Jobs of A1.
    pub(super) single_jobs: u64,
    /// Jobs of C.
    pub(super) latency_jobs: u64,
    /// C's enqueue rate, jobs per second.
    pub(super) rate: u64,
    /// Slots per worker process.
    pub(super) concurrency: u64,
    /// Runs of each phase.
    pub(super) runs: u64,
    /// `--batch` as given.
    pub(super) batch: u64,
    /// How long B and C may wait for the workers.
    pub(super) timeout: Duration,
    /// Queues per phase (1 = the standard single queue `anp-bench-<random>`).
    pub(super) queues: u64,
    /// Worker processes in B and C.
    pub(super) workers: u64,
    /// Exact args size in bytes, or `None` for the workload's `{"i": n}`.
    pub(super) payload_bytes: Option<u64>,
    /// `--churn`: a churn run instead of the phases.
    pub(super) churn: Option<ChurnPlan>,
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
    /// Checks the options; an `InvalidInput` error names the first bad one.
    pub(super) fn from_args(a: &BenchArgs) -> Result<Plan, Error> {
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
        let churn = match &a.churn {
            None => None,
            Some(d) => {
                let plan = ChurnPlan {
                    duration: parse_duration("--churn", d)?,
                    keep: parse_duration("--churn-keep", &a.churn_keep)?,
                    every: parse_duration("--churn-every", &a.churn_every)?,
                };
                if plan.duration.is_zero() || plan.every.is_zero() {
                    return Err(Error::invalid(
                        "--churn",
                        "--churn and --churn-every must be positive durations such as 10m and 30s",
                    ));
                }
                Some(plan)
            }
        };
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
            churn,
        })
    }

    /// Jobs per bulk call in A: `--batch`, shortened for big payloads (see [`MAX_CALL_BYTES`]).
    pub(super) fn batch_effective(&self) -> u64 {
        match self.payload_bytes {
            None => self.batch,
            Some(b) => self.batch.min((MAX_CALL_BYTES / b).max(1)),
        }
    }

    /// Jobs per `job_list` page: [`PAGE`], shortened for big payloads.
    pub(super) fn page(&self) -> u32 {
        match self.payload_bytes {
            None => PAGE,
            Some(b) => {
                u32::try_from((MAX_CALL_BYTES / b).clamp(1, u64::from(PAGE))).unwrap_or(PAGE)
            }
        }
    }

    /// Whether phase `p` is to run.
    pub(super) fn has(&self, p: Phase) -> bool {
        self.phases.contains(&p)
    }
}

/// The queue of job `i`: round-robin over the phase's queues (never empty).
pub(super) fn queue_of(qs: &[QueueName], i: i64) -> &QueueName {
    let n = qs.len().max(1) as i64;
    let k = usize::try_from(i.rem_euclid(n)).unwrap_or(0);
    &qs[k.min(qs.len().saturating_sub(1))]
}

/// The args of job `i`: the workload's `{"i":<i>}`, or with `--payload-bytes N` exactly N bytes
/// `{"i":<i>,"pad":"xx…"}`.
pub(super) fn args_text(i: i64, payload_bytes: Option<u64>) -> Result<String, Error> {
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

/// `n` queue names as the bench makes them (tests).
#[cfg(test)]
pub(super) fn test_queues(n: usize) -> Vec<QueueName> {
    (0..n)
        .map(|i| QueueName::parse(&format!("anp-bench-0123456789ab-{i}")))
        .collect::<Result<Vec<_>, _>>()
        .unwrap_or_else(|e| panic!("queue name: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alphanode::ErrorKind;

    #[test]
    fn jobs_go_round_robin() {
        let qs = test_queues(3);
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
                cache: false,
                proxy: false,
                proxy_seconds: "5s".into(),
                proxy_rates: Vec::new(),
                proxy_no_l1: false,
                cache_keys: 1000,
                value_bytes: 1024,
                cache_reads: 1,
                tag_entries: 1,
                plots: None,
                from: Vec::new(),
                churn: None,
                churn_keep: "1m".into(),
                churn_every: "30s".into(),
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
