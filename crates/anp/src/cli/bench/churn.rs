//! `anp bench --churn DURATION`: a steady enqueue-and-process run with the worker's
//! maintenance on, so finished jobs are pruned as they would be in production; it reports how
//! far the workers kept up. What the store's tables do meanwhile (PostgreSQL: dead tuples,
//! table and index size) is watched from outside (`bench/postgres-churn.sh`), since the storage
//! seam has no such question.

use std::time::{Duration, Instant};

use alphanode::{Error, NewJob};
use serde::Serialize;
use tokio::time::MissedTickBehavior;

use super::report::round;
use super::Bench;

/// Enqueue calls per second: each sends the jobs due since the previous one.
const CALLS_PER_S: u32 = 10;

/// `--churn` and its companions, checked.
#[derive(Clone, Debug)]
pub(super) struct ChurnPlan {
    /// How long jobs are enqueued.
    pub(super) duration: Duration,
    /// The workers' `keep_finished_for`: completed jobs older than this are pruned.
    pub(super) keep: Duration,
    /// Progress lines every this long.
    pub(super) every: Duration,
}

/// One progress sample.
#[derive(Clone, Debug, Serialize)]
pub(super) struct ChurnSample {
    /// Seconds since the first enqueue.
    pub(super) at_s: f64,
    /// Jobs enqueued so far.
    pub(super) enqueued: u64,
    /// Jobs completed so far (per-minute stats).
    pub(super) completed: u64,
}

/// What a churn run reports (`--json`: this object, plus `store`).
#[derive(Clone, Debug, Serialize)]
pub(super) struct ChurnResult {
    /// The store measured (password hidden).
    pub(super) store: String,
    /// Seconds jobs were enqueued for.
    pub(super) churn_seconds: f64,
    /// The rate asked for (`--rate`).
    pub(super) rate_per_s: u64,
    /// Jobs enqueued.
    pub(super) enqueued: u64,
    /// The achieved enqueue rate.
    pub(super) enqueued_per_s: f64,
    /// Seconds from the last enqueue until every job was completed.
    pub(super) drain_seconds: f64,
    /// Worker concurrency per process, and processes.
    pub(super) concurrency: u64,
    /// Worker processes.
    pub(super) workers: u64,
    /// The workers' `keep_finished_for`, seconds.
    pub(super) keep_finished_s: f64,
    /// Progress every `--churn-every`.
    pub(super) samples: Vec<ChurnSample>,
}

impl Bench {
    /// Enqueues `--rate` jobs/s for the churn duration into workers that prune, waits for the
    /// last job, and cleans up.
    pub(super) async fn churn(&self, c: &ChurnPlan) -> anyhow::Result<ChurnResult> {
        let qs = self.new_queues().await?;
        let baseline = self.stats_baseline(&qs).await?;
        let mut workers = self.spawn_workers_pruning(&qs, Some(c.keep))?;
        let rate = self.plan.rate;
        let start = tokio::time::Instant::now();
        let mut ticks = tokio::time::interval_at(start, Duration::from_secs(1) / CALLS_PER_S);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Burst);
        let (mut sent, mut samples) = (0u64, Vec::new());
        let mut next_sample = c.every;
        loop {
            let due = ticks.tick().await.duration_since(start);
            if due >= c.duration {
                break;
            }
            // Every job due by the end of this tick's interval.
            let upto = ((due.as_secs_f64() + 1.0 / f64::from(CALLS_PER_S)) * rate as f64) as u64;
            if upto > sent {
                let jobs = (sent..upto)
                    .map(|i| {
                        let mut job = NewJob::new(self.kind.clone(), self.args(i as i64)?);
                        job.queue = qs[0].clone();
                        Ok(job)
                    })
                    .collect::<Result<Vec<_>, Error>>()?;
                self.client.insert_many(jobs).await?;
                sent = upto;
            }
            if start.elapsed() >= next_sample {
                workers.check_alive()?;
                let s = self.stats_completed(&qs, baseline.since).await?;
                let sample = ChurnSample {
                    at_s: round(start.elapsed().as_secs_f64(), 1),
                    enqueued: sent,
                    completed: s.completed.saturating_sub(baseline.sum.completed),
                };
                eprintln!(
                    "anp bench: churn {}",
                    serde_json::to_string(&sample).unwrap_or_default()
                );
                samples.push(sample);
                next_sample += c.every;
            }
        }
        let churn_seconds = start.elapsed().as_secs_f64();
        let drained_from = Instant::now();
        let done = self
            .wait_completed(
                &qs,
                sent,
                &baseline,
                &mut workers,
                &indicatif::ProgressBar::hidden(),
                drained_from,
            )
            .await?;
        workers.stop().await?;
        self.finish_queues(&qs).await?;
        Ok(ChurnResult {
            store: self.backend.url().to_string(),
            churn_seconds: round(churn_seconds, 1),
            rate_per_s: rate,
            enqueued: sent,
            enqueued_per_s: round(sent as f64 / churn_seconds, 1),
            drain_seconds: round(done.duration_since(drained_from).as_secs_f64(), 2),
            concurrency: self.plan.concurrency,
            workers: self.plan.workers,
            keep_finished_s: c.keep.as_secs_f64(),
            samples,
        })
    }
}
