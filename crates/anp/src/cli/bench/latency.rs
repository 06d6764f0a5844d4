//! Phase C: a steady stream of single enqueues into idle workers; latency is read back from the
//! stored jobs (`attempted_at − created_at`) into HDR histograms.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use alphanode::{Error, JobId, QueueName};
use hdrhistogram::Histogram;
use indicatif::ProgressBar;
use tokio::time::MissedTickBehavior;

use super::phases::SETTLE;
use super::report::{round, RunResult};
use super::Bench;

impl Bench {
    /// Phase C: a steady stream of single enqueues into idle workers.
    pub(super) async fn latency(
        &self,
        qs: &[QueueName],
        tag: &str,
        r: &mut RunResult,
    ) -> anyhow::Result<()> {
        let n = self.plan.latency_jobs;
        let baseline = self.stats_baseline(qs).await?;
        let mut workers = self.spawn_workers(qs)?;
        // Warm-up: one job per worker process proves the workers are up and fetching (with
        // several, not each one individually: any of them may take any warm-up job); then let
        // them idle.
        let mut warmups = Vec::new();
        for k in 0..self.plan.workers {
            let i = -1 - k as i64;
            let e = self
                .client
                .enqueue_raw(self.kind.clone(), self.args(i)?, Self::opts(qs, i))
                .await?;
            warmups.push(e.id);
        }
        let hidden = ProgressBar::hidden();
        self.wait_completed(
            qs,
            self.plan.workers,
            &baseline,
            &mut workers,
            &hidden,
            Instant::now(),
        )
        .await?;
        tokio::time::sleep(SETTLE).await;

        let pb = self.progress(n, format!("{tag} C. latency"));
        let period = Duration::from_secs_f64(1.0 / self.plan.rate as f64);
        let mut returned: HashMap<JobId, jiff::Timestamp> = HashMap::with_capacity(n as usize);
        let (mut late, mut max_delay) = (0u64, Duration::ZERO);
        let start = tokio::time::Instant::now();
        // Send i is due at start + i·period, however late the previous ones were (no drift):
        // a late tick fires at once and the next keeps its own due time.
        let mut ticks = tokio::time::interval_at(start, period);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Burst);
        for i in 0..n {
            let due = ticks.tick().await;
            let delay = tokio::time::Instant::now().duration_since(due);
            max_delay = max_delay.max(delay);
            if delay > period {
                late += 1;
            }
            let i = i as i64;
            let args = self.args(i)?;
            let e = self
                .client
                .enqueue_raw(self.kind.clone(), args, Self::opts(qs, i))
                .await?;
            returned.insert(e.id, jiff::Timestamp::now());
            if i % 64 == 0 {
                workers.check_alive()?;
            }
            pb.inc(1);
        }
        let sent_secs = start.elapsed().as_secs_f64();
        pb.finish_and_clear();
        self.wait_completed(
            qs,
            n + self.plan.workers,
            &baseline,
            &mut workers,
            &ProgressBar::hidden(),
            Instant::now(),
        )
        .await?;
        workers.stop().await?;

        let mut from_created = new_histogram()?;
        let mut from_return = new_histogram()?;
        let mut upper = new_histogram()?;
        let mut seen = 0u64;
        for q in qs {
            self.each_page(q, &[], |page| {
                for job in page {
                    if warmups.contains(&job.id) {
                        continue;
                    }
                    let (Some(ret), Some(att)) = (returned.get(&job.id), job.attempted_at) else {
                        continue;
                    };
                    seen += 1;
                    record(&mut from_created, micros_between(job.created_at, att));
                    record(&mut from_return, micros_between(*ret, att));
                    if let Some(fin) = job.finalized_at {
                        record(&mut upper, micros_between(job.created_at, fin));
                    }
                }
            })
            .await?;
        }
        if seen != n {
            return Err(Error::internal(
                "bench",
                format!("phase C read back {seen} of {n} jobs with an attempt time: expected all"),
            )
            .into());
        }
        let ms = |h: &Histogram<u64>, q: f64| round(h.value_at_quantile(q) as f64 / 1000.0, 3);
        r.latency_p50_ms = Some(ms(&from_created, 0.5));
        r.latency_p99_ms = Some(ms(&from_created, 0.99));
        r.latency_max_ms = Some(round(from_created.max() as f64 / 1000.0, 3));
        r.latency_from_return_p50_ms = Some(ms(&from_return, 0.5));
        r.latency_from_return_p99_ms = Some(ms(&from_return, 0.99));
        r.latency_upper_p50_ms = Some(ms(&upper, 0.5));
        r.latency_upper_p99_ms = Some(ms(&upper, 0.99));
        r.late_sends = Some(late);
        r.max_send_delay_ms = Some(round(max_delay.as_secs_f64() * 1000.0, 3));
        r.sent_per_s = Some(round(n as f64 / sent_secs, 1));
        Ok(())
    }
}

/// A histogram of microseconds, 1 µs to 1 hour, 3 significant digits.
fn new_histogram() -> Result<Histogram<u64>, Error> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3)
        .map_err(|e| Error::internal("bench", format!("cannot create a histogram: {e}")))
}

fn record(h: &mut Histogram<u64>, micros: i64) {
    // The clamp keeps a sub-microsecond (or clock-skewed negative) value in range.
    h.saturating_record(u64::try_from(micros.max(1)).unwrap_or(1));
}

fn micros_between(from: jiff::Timestamp, to: jiff::Timestamp) -> i64 {
    to.as_microsecond() - from.as_microsecond()
}
