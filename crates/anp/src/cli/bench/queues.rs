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

/// How long the stats may stand still before `queue_list` is asked whether they lost some.
const STILL: Duration = Duration::from_secs(2);

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

    /// Completed attempts of the queues in the per-minute stats since `since` (one
    /// `stats_query` call over a few minutes: a handful of rows, whatever the backlog).
    pub(super) async fn stats_completed(
        &self,
        qs: &[QueueName],
        since: jiff::Timestamp,
    ) -> Result<StatsSum, Error> {
        let wanted: HashSet<&QueueName> = qs.iter().collect();
        // Buckets are whole minutes: start at the one holding `since`.
        let from = jiff::Timestamp::from_second(since.as_second().div_euclid(60) * 60)
            .map_err(|e| Error::internal("bench", format!("cannot compute a stats window: {e}")))?;
        let until = jiff::Timestamp::now()
            .checked_add(jiff::SignedDuration::from_secs(120))
            .map_err(|e| Error::internal("bench", format!("cannot compute a stats window: {e}")))?;
        let mut sum = StatsSum::default();
        for (key, c) in self.admin.stats(from, until).await? {
            if wanted.contains(&key.queue) {
                sum.completed += c.completed;
                sum.failed += c.failed + c.dead;
            }
        }
        Ok(sum)
    }

    /// Waits until `n` jobs of the queues are completed; returns when it saw them.
    ///
    /// Polls the per-minute stats ([`Bench::stats_completed`], minus `baseline`, taken before
    /// the workers started): reading them costs the store the same at any backlog, where
    /// counting the queues' rows (`queue_list`) grows with the backlog and, on PostgreSQL, with
    /// the dead row versions the run leaves behind (the 1M-backlog run spent its time
    /// counting). Once the stats show `n`, `queue_list` confirms (untimed) that no job of the
    /// queues is left unfinished, dead or cancelled. Stats are recorded after the
    /// acknowledgement, so a store may lose a few (a crash, a failed stats write): while the
    /// stats stand still, `queue_list`'s completed count is checked too. Every 20 ms near the
    /// end, less often while far from it, and the polls' own load on the store kept to about
    /// 5 % of the time.
    pub(super) async fn wait_completed(
        &self,
        qs: &[QueueName],
        n: u64,
        baseline: &StatsBaseline,
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
        // The last count the stats moved to, and when.
        let mut moved = (u64::MAX, Instant::now());
        loop {
            let asked = Instant::now();
            let s = self.stats_completed(qs, baseline.since).await?;
            let now = Instant::now();
            let poll_cost = now.duration_since(asked);
            let done = s.completed.saturating_sub(baseline.sum.completed);
            let mut failed = s.failed.saturating_sub(baseline.sum.failed);
            pb.set_position(done.min(n));
            if moved.0 != done {
                moved = (done, now);
            }
            let still = now.duration_since(moved.1) >= STILL;
            if still {
                moved.1 = now;
            }
            if failed == 0 && (done >= n || still) {
                let counts = self.counts(qs).await?;
                let get = |s: JobState| counts.get(&s).copied().unwrap_or(0);
                let unfinished = get(JobState::Available)
                    + get(JobState::Running)
                    + get(JobState::Scheduled)
                    + get(JobState::Retryable);
                failed = get(JobState::Dead) + get(JobState::Retryable) + get(JobState::Cancelled);
                if failed == 0 && unfinished == 0 && (done >= n || get(JobState::Completed) >= n) {
                    pb.set_position(n);
                    return Ok(now);
                }
            }
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
            let pause = if done > 0 && done < n && elapsed > 0.0 {
                let remaining = (n - done) as f64 / (done as f64 / elapsed);
                Duration::from_secs_f64((remaining / 2.0).clamp(0.0, POLL_MAX.as_secs_f64()))
            } else {
                POLL
            };
            let pause = pause.max(POLL).max(poll_cost * 20);
            tokio::time::sleep(pause).await;
        }
    }

    /// The stats before the workers of a phase start: [`Bench::wait_completed`] counts from
    /// here.
    pub(super) async fn stats_baseline(&self, qs: &[QueueName]) -> Result<StatsBaseline, Error> {
        let since = jiff::Timestamp::now();
        Ok(StatsBaseline {
            since,
            sum: self.stats_completed(qs, since).await?,
        })
    }
}

/// Completed and failed attempts summed from the per-minute stats.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct StatsSum {
    /// Attempts completed.
    pub(super) completed: u64,
    /// Attempts failed or gone dead.
    pub(super) failed: u64,
}

/// Where [`Bench::wait_completed`] starts counting: the stats of the phase's queues up to the
/// start of the minute holding `since` (a queue reused by `--queues N` already has some).
#[derive(Clone, Copy, Debug)]
pub(super) struct StatsBaseline {
    /// When the phase started.
    pub(super) since: jiff::Timestamp,
    /// The stats summed from the start of that minute until then.
    pub(super) sum: StatsSum,
}
