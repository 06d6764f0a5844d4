//! The runs, and phases A (bulk enqueue), A1 (single enqueue) and B (process); C is in
//! `latency.rs`. Also the workload's jobs as the [`alphanode::Client`] gets them.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use alphanode::{Args, EnqueueOptions, Error, NewJob, QueueName};
use indicatif::ProgressBar;

use super::plan::{args_text, queue_of, Phase};
use super::report::{round, RunResult};
use super::Bench;
use crate::output;

/// Pause between enqueueing and starting the worker in B, and between the worker's warm-up job
/// and the first timed job in C (the peers harness does the same).
pub(super) const SETTLE: Duration = Duration::from_secs(1);

impl Bench {
    /// Every run of every phase asked for, in workload order; each phase on its own queues,
    /// emptied when it ends.
    pub(super) async fn all_runs(&self) -> anyhow::Result<Vec<RunResult>> {
        let p = &self.plan;
        let mut out = Vec::new();
        for run in 1..=p.runs {
            let mut r = RunResult {
                run,
                ..RunResult::default()
            };
            let tag = format!("run {run}/{}", p.runs);
            if p.has(Phase::A) || p.has(Phase::B) {
                let qs = self.new_queues().await?;
                let secs = self.enqueue_bulk(&qs, &tag).await?;
                if p.has(Phase::A) {
                    r.enqueue_per_s = Some(p.jobs as f64 / secs);
                }
                if p.has(Phase::B) {
                    tokio::time::sleep(SETTLE).await;
                    let (secs, rss) = self.process(&qs, &tag).await?;
                    r.process_per_s = Some(p.jobs as f64 / secs);
                    r.process_seconds = Some(secs);
                    if !rss.is_empty() {
                        r.peak_rss_mib = rss.iter().copied().reduce(f64::max);
                        r.peak_rss_sum_mib = Some(round(rss.iter().sum(), 2));
                        r.peak_rss_each_mib = Some(rss);
                    }
                }
                self.finish_queues(&qs).await?;
            }
            if p.has(Phase::A1) {
                let qs = self.new_queues().await?;
                let secs = self.enqueue_single(&qs, &tag).await?;
                r.enqueue_single_per_s = Some(p.single_jobs as f64 / secs);
                self.finish_queues(&qs).await?;
            }
            if p.has(Phase::C) {
                let qs = self.new_queues().await?;
                self.latency(&qs, &tag, &mut r).await?;
                self.finish_queues(&qs).await?;
            }
            out.push(r);
        }
        Ok(out)
    }

    /// The args of job `i` (see [`args_text`]). Records the size sent.
    pub(super) fn args(&self, i: i64) -> Result<Args, Error> {
        let text = args_text(i, self.plan.payload_bytes)?;
        let len = text.len() as u64;
        self.args_min.fetch_min(len, Ordering::Relaxed);
        self.args_max.fetch_max(len, Ordering::Relaxed);
        Args::from_json(&text)
    }

    /// Job `i` for a bulk call, in its queue.
    fn job(&self, qs: &[QueueName], i: i64) -> Result<NewJob, Error> {
        let mut job = NewJob::new(self.kind.clone(), self.args(i)?);
        job.queue = queue_of(qs, i).clone();
        Ok(job)
    }

    /// Enqueue options putting job `i` in its queue.
    pub(super) fn opts(qs: &[QueueName], i: i64) -> EnqueueOptions {
        EnqueueOptions {
            queue: Some(queue_of(qs, i).clone()),
            ..EnqueueOptions::default()
        }
    }

    /// A progress bar of `len` steps (hidden with `--json` or off a terminal).
    pub(super) fn progress(&self, len: u64, what: String) -> ProgressBar {
        output::progress(len, self.json, &what)
    }

    /// Phase A (and B's backlog): `--jobs` jobs in bulk calls; returns the seconds taken.
    async fn enqueue_bulk(&self, qs: &[QueueName], tag: &str) -> Result<f64, Error> {
        let (n, batch) = (self.plan.jobs, self.plan.batch_effective());
        let pb = self.progress(n, format!("{tag} A. enqueue"));
        let started = Instant::now();
        let mut i = 0;
        while i < n {
            let end = (i + batch).min(n);
            let jobs = (i..end)
                .map(|k| self.job(qs, k as i64))
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
    async fn enqueue_single(&self, qs: &[QueueName], tag: &str) -> Result<f64, Error> {
        let n = self.plan.single_jobs;
        let pb = self.progress(n, format!("{tag} A1. enqueue one by one"));
        let started = Instant::now();
        for i in 0..n {
            let i = i as i64;
            let args = self.args(i)?;
            self.client
                .enqueue_raw(self.kind.clone(), args, Self::opts(qs, i))
                .await?;
            pb.inc(1);
        }
        let secs = started.elapsed().as_secs_f64();
        pb.finish_and_clear();
        Ok(secs)
    }

    /// Phase B: the worker processes drain the queues; returns the seconds and each worker's
    /// peak RSS (MiB; empty where /proc is not readable).
    async fn process(&self, qs: &[QueueName], tag: &str) -> anyhow::Result<(f64, Vec<f64>)> {
        let n = self.plan.jobs;
        let pb = self.progress(n, format!("{tag} B. process"));
        let baseline = self.stats_baseline(qs).await?;
        let started = Instant::now();
        let mut workers = self.spawn_workers(qs)?;
        let done = self
            .wait_completed(qs, n, &baseline, &mut workers, &pb, started)
            .await?;
        let secs = done.duration_since(started).as_secs_f64();
        let rss = workers.peak_rss_mib();
        workers.stop().await?;
        pb.finish_and_clear();
        Ok((secs, rss))
    }
}
