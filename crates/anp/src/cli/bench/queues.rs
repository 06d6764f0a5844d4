//! The bench's own queues: made fresh (or reused), counted, waited on until their jobs are
//! completed, and emptied afterwards, all through [`alphanode::Admin`] and only for these
//! queues.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use alphanode::admin::JobFilter;
use alphanode::{Error, Job, JobId, JobState, QueueName};
use indicatif::ProgressBar;

use super::process::Workers;
use super::{lock, Bench};

/// How often the store is asked for counts near the end of a phase.
const POLL: Duration = Duration::from_millis(20);
/// Longest pause between two count polls (keeps the progress bar moving).
const POLL_MAX: Duration = Duration::from_millis(250);

/// 12 random hex digits (the random tail of a UUIDv7).
fn random_suffix() -> String {
    let id = JobId::new().to_string();
    id[id.len() - 12..].to_owned()
}

impl Bench {
    /// The queues of one phase: a fresh `anp-bench-<random>`, or with `--queues N` (N > 1)
    /// `anp-bench-<random>-<i>` for i in 0..N, made once and reused by every phase and run
    /// while the previous phase left them empty (so a run leaves N queue names behind in the
    /// store, not 3·N per run: on Redis every known queue costs every `queue_list` and every
    /// lookup by id). Registered for cleanup before use.
    pub(super) async fn new_queues(&self) -> Result<Vec<QueueName>, Error> {
        if self.plan.queues > 1 {
            let reuse = lock(&self.reusable).clone();
            if let Some(qs) = reuse {
                if self.counts(&qs).await?.values().all(|&n| n == 0) {
                    lock(&self.created).extend(qs.iter().cloned());
                    return Ok(qs);
                }
            }
        }
        let base = format!("anp-bench-{}", random_suffix());
        let qs = if self.plan.queues == 1 {
            vec![QueueName::parse(&base)?]
        } else {
            (0..self.plan.queues)
                .map(|i| QueueName::parse(&format!("{base}-{i}")))
                .collect::<Result<Vec<_>, _>>()?
        };
        lock(&self.created).extend(qs.iter().cloned());
        if self.plan.queues > 1 {
            *lock(&self.reusable) = Some(qs.clone());
        }
        Ok(qs)
    }

    /// Deletes the queues' jobs and forgets them.
    pub(super) async fn finish_queues(&self, qs: &[QueueName]) -> Result<(), Error> {
        for q in qs {
            self.cleanup(q).await?;
            lock(&self.created).retain(|c| c != q);
        }
        Ok(())
    }

    /// Deletes every job of the queue that is not running ([`alphanode::Admin::queue_purge`]
    /// of every state but running, in short batches; cleanup, not measured), then warns about
    /// running jobs left behind. Only this queue is touched: the purge names it.
    pub(super) async fn cleanup(&self, q: &QueueName) -> Result<(), Error> {
        self.admin.queue_purge(q, &[], |_| {}).await?;
        let mut kept = 0u64;
        self.each_page(q, &[JobState::Running], |page| kept += page.len() as u64)
            .await?;
        if kept > 0 {
            eprintln!("anp bench: warning: {kept} jobs of queue {q} are still running and were not deleted");
        }
        Ok(())
    }

    /// Calls `f` with every page of the queue's jobs in `states` (empty: all), newest first,
    /// in pages of [`Plan::page`](super::plan::Plan::page) jobs.
    pub(super) async fn each_page(
        &self,
        q: &QueueName,
        states: &[JobState],
        mut f: impl FnMut(&[Job]),
    ) -> Result<(), Error> {
        let mut before = None;
        loop {
            let page = self
                .admin
                .job_list(JobFilter {
                    queue: Some(q.clone()),
                    states: states.to_vec(),
                    before,
                    limit: self.plan.page(),
                    ..JobFilter::default()
                })
                .await?;
            let Some(last) = page.last() else {
                return Ok(());
            };
            before = Some(last.id);
            f(&page);
        }
    }

    /// Job counts by state, summed over the queues (one `queue_list` call).
    pub(super) async fn counts(&self, qs: &[QueueName]) -> Result<BTreeMap<JobState, u64>, Error> {
        let wanted: HashSet<&QueueName> = qs.iter().collect();
        let mut sum = BTreeMap::new();
        for info in self.admin.queue_list().await? {
            if !wanted.contains(&info.queue) {
                continue;
            }
            for (state, n) in info.counts {
                *sum.entry(state).or_insert(0) += n;
            }
        }
        Ok(sum)
    }

    /// Waits until the store counts `n` completed jobs in the queues; returns when it saw them.
    /// Polls `queue_list`: every 20 ms near the end, less often while far from it.
    pub(super) async fn wait_completed(
        &self,
        qs: &[QueueName],
        n: u64,
        workers: &mut Workers,
        pb: &ProgressBar,
        started: Instant,
    ) -> anyhow::Result<Instant> {
        let deadline = Instant::now() + self.plan.timeout;
        let what = match qs {
            [q] => format!("queue {q}"),
            [q, ..] => format!("the {} queues {q}..", qs.len()),
            [] => "no queue".to_owned(),
        };
        loop {
            let asked = Instant::now();
            let counts = self.counts(qs).await?;
            let now = Instant::now();
            let poll_cost = now.duration_since(asked);
            let get = |s: JobState| counts.get(&s).copied().unwrap_or(0);
            let done = get(JobState::Completed);
            pb.set_position(done);
            if done >= n {
                return Ok(now);
            }
            let failed = get(JobState::Dead) + get(JobState::Retryable) + get(JobState::Cancelled);
            if failed > 0 {
                return Err(Error::internal(
                    "bench",
                    format!(
                        "{failed} noop jobs of {what} failed or were cancelled: expected every job completed; worker log: {}",
                        workers.log_tail()
                    ),
                )
                .into());
            }
            workers.check_alive()?;
            if now > deadline {
                return Err(Error::unavailable(
                    "bench",
                    format!(
                        "{} completed {done} of {n} jobs within {:?}: expected all (raise --timeout for a slow store)",
                        workers.who(),
                        self.plan.timeout
                    ),
                )
                .into());
            }
            // Sleep about half the expected remaining time, within [POLL, POLL_MAX].
            let elapsed = now.duration_since(started).as_secs_f64();
            let pause = if done > 0 && elapsed > 0.0 {
                let remaining = (n - done) as f64 / (done as f64 / elapsed);
                Duration::from_secs_f64((remaining / 2.0).clamp(0.0, POLL_MAX.as_secs_f64()))
            } else {
                POLL
            };
            let mut pause = pause.max(POLL);
            if qs.len() > 1 {
                // `queue_list` costs the store work per known queue: keep this poll's own
                // load on the store to about 5 % of the time.
                pause = pause.max(poll_cost * 20);
            }
            tokio::time::sleep(pause).await;
        }
    }
}
