//! The dispatcher: fetches jobs in batches sized to the free slots of each queue (all queues in
//! one [`Store::job_fetch_queues`](anp_core::Store::job_fetch_queues) call), spawns one task per
//! job, and waits on the store ([`Store::job_wait`](anp_core::Store::job_wait)) when
//! every queue with room came up short.
//!
//! # Overlapping the store's work with the worker's
//!
//! One fetch is out at a time, but the next one goes out as soon as the last one comes back
//! (when slots are free), before that fetch's jobs start; and where the store says so
//! ([`Store::fetch_split`](anp_core::Store::fetch_split): Redis) a fetch asks for at most half
//! of a queue's slots. So while this process decodes, runs and acknowledges one half's jobs, the
//! store serves the other half's fetch and the acknowledgements before it. Fetching every free
//! slot at once after the jobs end made each fetch–run–ack cycle the store's time plus the
//! worker's, one after the other: short jobs all end together (Redis B, BENCHMARKS.md
//! "Overlapped fetches").

use std::sync::Arc;
use std::time::Duration;

use anp_core::job::ts_add;
use anp_core::store::{AckOutcome, JobAck, JobFetchQueuesParams, JobWaitParams, QueueFetch};
use anp_core::{Job, QueueName};
use rand::Rng;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::attempt::run_attempt;
use super::{lock, Inner, RunningJob, WorkerEvent};

/// Per-queue state owned by the dispatcher.
struct Slot {
    running: usize,
    /// Slots offered to the fetch in flight.
    asked: usize,
    /// The last fetch came back short: don't fetch again until the store signals a change or
    /// the poll interval passes (otherwise every finished job would cost an empty fetch).
    drained: bool,
}

/// A fetch that came back: what it asked of each queue (index, slots) in fetch order, the
/// worker-wide limit it asked with, and what the store answered.
struct FetchDone {
    asks: Vec<(usize, usize)>,
    limit: usize,
    result: anp_core::Result<Vec<Job>>,
}

/// Fetches and spawns jobs until shutdown starts; the spawned tasks are left in `jobs`. The jobs
/// of a fetch still in flight when shutdown starts are handed back once it returns.
pub(super) async fn dispatcher(
    inner: &Arc<Inner>,
    jobs: &mut JoinSet<usize>,
    ack_tx: &mpsc::UnboundedSender<JobAck>,
) {
    let queues = &inner.queues;
    let mut slots: Vec<Slot> = queues
        .iter()
        .map(|_| Slot {
            running: 0,
            asked: 0,
            drained: false,
        })
        .collect();
    // At most one fetch, as a task of its own: started before the jobs of the last one are
    // spawned, it hands its request to the connection first.
    let mut fetch: JoinSet<FetchDone> = JoinSet::new();
    let mut error_backoff = Duration::from_millis(100);
    // After a failed fetch: no new fetch before this instant.
    let mut paused_until: Option<Instant> = None;
    loop {
        if inner.shutdown.is_cancelled() {
            break;
        }
        if fetch.is_empty() && paused_until.is_none() {
            start_fetch(inner, &mut slots, &mut fetch);
        }

        // Wait for a slot to free up, the fetch to come back, the store to signal new work in
        // a drained queue that has room, or the end of a failed fetch's backoff. Drained queues
        // are waited on even when the worker-wide cap is reached, so new work in them clears
        // their flag and they are offered the next free slot.
        let waiting: Vec<QueueName> = queues
            .iter()
            .zip(&slots)
            .filter(|(q, s)| s.drained && s.running + s.asked < q.concurrency)
            .map(|(q, _)| q.name.clone())
            .collect();
        let store_wait = async {
            if waiting.is_empty() {
                std::future::pending::<()>().await;
            } else if let Err(e) = inner
                .store
                .job_wait(JobWaitParams {
                    queues: waiting.clone(),
                    timeout: inner.options.poll_interval,
                })
                .await
            {
                tracing::warn!(error = %e, "waiting on the store failed");
                tokio::time::sleep(inner.options.poll_interval).await;
            }
        };
        let backoff_over = async {
            match paused_until {
                Some(t) => tokio::time::sleep_until(t).await,
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = inner.shutdown.cancelled() => break,
            Some(done) = jobs.join_next() => {
                free_slot(&mut slots, done);
                // Collect every other finished job too, so the next fetch is one batch.
                while let Some(done) = jobs.try_join_next() {
                    free_slot(&mut slots, done);
                }
            }
            Some(done) = fetch.join_next() => {
                let leased = match done {
                    Ok(done) => fetch_done(inner, &mut slots, done),
                    Err(e) => {
                        // Fetch tasks are never aborted and the store returns its errors: a
                        // bug. What it leased comes back when the leases expire.
                        tracing::error!(error = %e, "fetch task ended abnormally");
                        for s in &mut slots {
                            s.asked = 0;
                        }
                        None
                    }
                };
                match leased {
                    Some(leased) => {
                        error_backoff = Duration::from_millis(100);
                        // The next fetch first: its request reaches the connection before
                        // these jobs run (on one runtime thread, tasks run in wake order).
                        if start_fetch(inner, &mut slots, &mut fetch) && !leased.is_empty() {
                            tokio::task::yield_now().await;
                        }
                        for (qi, job) in leased {
                            spawn_job(inner, jobs, ack_tx, qi, job);
                        }
                    }
                    None => {
                        paused_until = Some(Instant::now() + error_backoff);
                        error_backoff = (error_backoff * 2).min(Duration::from_secs(5));
                    }
                }
            }
            _ = store_wait => {
                for s in &mut slots {
                    s.drained = false;
                }
            }
            _ = backoff_over => paused_until = None,
        }
    }
    // Shutdown: what the fetch in flight leases goes back to its queue, its attempt unspent
    // (no handler started).
    while let Some(done) = fetch.join_next().await {
        let Ok(FetchDone {
            result: Ok(leased), ..
        }) = done
        else {
            continue;
        };
        for job in leased {
            if let Some(lease) = job.lease() {
                tracing::info!(job.id = %job.id, job.queue = %job.queue, "fetched as shutdown started: handing the job back");
                let _ = ack_tx.send(JobAck {
                    lease,
                    outcome: AckOutcome::HandBack,
                    stats: None,
                });
            }
        }
    }
}

/// Starts one fetch, as a task in `fetch`, for every queue with slots neither running nor
/// asked for and not drained, in [`fetch_order`], as one
/// [`Store::job_fetch_queues`](anp_core::Store::job_fetch_queues) call (one write transaction
/// on SQLite). Each queue is offered its free slots up to its share of them
/// ([`Store::fetch_split`](anp_core::Store::fetch_split), rounded up), and the worker-wide cap
/// ([`WorkerOptions::max_concurrency`](super::WorkerOptions)) is split alike.
/// `false` when there was nothing to ask.
fn start_fetch(inner: &Arc<Inner>, slots: &mut [Slot], fetch: &mut JoinSet<FetchDone>) -> bool {
    let queues = &inner.queues;
    let split = inner.store.fetch_split().max(1);
    let share = |n: usize| n.div_ceil(split);
    let taken: usize = slots.iter().map(|s| s.running + s.asked).sum();
    let limit = inner
        .options
        .max_concurrency
        .map_or(usize::MAX, |m| m.saturating_sub(taken).min(share(m)));
    if limit == 0 {
        return false;
    }
    // (queue index, slots offered) of every queue worth asking, in fetch order.
    let asks: Vec<(usize, usize)> = fetch_order(inner)
        .into_iter()
        .filter(|&qi| !slots[qi].drained)
        .map(|qi| {
            let (q, s) = (&queues[qi], &slots[qi]);
            let free = q.concurrency.saturating_sub(s.running + s.asked);
            (qi, free.min(share(q.concurrency)))
        })
        .filter(|&(_, free)| free > 0)
        .collect();
    if asks.is_empty() {
        return false;
    }
    for &(qi, free) in &asks {
        slots[qi].asked += free;
    }
    let now = inner.clock.now();
    let to_u32 = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let params = JobFetchQueuesParams {
        queues: asks
            .iter()
            .map(|&(qi, free)| QueueFetch {
                queue: queues[qi].name.clone(),
                limit: to_u32(free),
            })
            .collect(),
        limit: to_u32(limit),
        worker: inner.options.id.clone(),
        now,
        lease_until: ts_add(now, inner.options.lease),
    };
    let store = inner.store.clone();
    fetch.spawn(async move {
        let result = store.job_fetch_queues(params).await;
        FetchDone {
            asks,
            limit,
            result,
        }
    });
    true
}

/// Takes a fetch's jobs: counts them as running, and marks each queue asked drained when it
/// came back short (queue `i` was offered `min(its slots asked, the worker-wide slots left
/// after the queues before it)`, the split the store applies too). Returns the jobs to spawn,
/// with their queue's index; `None` when the store failed.
fn fetch_done(
    inner: &Arc<Inner>,
    slots: &mut [Slot],
    done: FetchDone,
) -> Option<Vec<(usize, Job)>> {
    let queues = &inner.queues;
    for &(qi, free) in &done.asks {
        slots[qi].asked = slots[qi].asked.saturating_sub(free);
    }
    let batch = match done.result {
        Ok(batch) => batch,
        Err(e) => {
            let names: Vec<&str> = done
                .asks
                .iter()
                .map(|&(qi, _)| queues[qi].name.as_str())
                .collect();
            tracing::warn!(error = %e, queues = ?names, "fetch failed; retrying with backoff");
            return None;
        }
    };
    let mut by_queue: Vec<Vec<Job>> = queues.iter().map(|_| Vec::new()).collect();
    for job in batch {
        match queues.iter().position(|q| q.name == job.queue) {
            Some(qi) => by_queue[qi].push(job),
            None => {
                tracing::error!(job.id = %job.id, queue = %job.queue, "store returned a job of a queue this worker did not ask for");
            }
        }
    }
    let mut leased = Vec::new();
    let mut left = done.limit;
    for (qi, free) in done.asks {
        let want = free.min(left);
        let got = std::mem::take(&mut by_queue[qi]);
        left = left.saturating_sub(got.len());
        if want == 0 {
            // Not asked this round (no worker-wide slot was left for it): not drained.
            continue;
        }
        slots[qi].drained = got.len() < want;
        if !got.is_empty() {
            let _ = inner.events.send(WorkerEvent::Fetched {
                queue: queues[qi].name.clone(),
                count: got.len(),
            });
        }
        slots[qi].running += got.len();
        leased.extend(got.into_iter().map(|job| (qi, job)));
    }
    Some(leased)
}

fn free_slot(slots: &mut [Slot], done: std::result::Result<usize, tokio::task::JoinError>) {
    match done {
        Ok(qi) => slots[qi].running = slots[qi].running.saturating_sub(1),
        // Job tasks catch handler panics themselves; a JoinError here is a bug.
        Err(e) => tracing::error!(error = %e, "job task ended abnormally"),
    }
}

/// Queue indexes in the order to offer free slots: as configured (strict), or a weighted
/// random permutation.
fn fetch_order(inner: &Inner) -> Vec<usize> {
    let n = inner.queues.len();
    if n == 1 || inner.options.strict_order || inner.options.max_concurrency.is_none() {
        return (0..n).collect();
    }
    let mut rng = rand::rng();
    let mut keyed: Vec<(f64, usize)> = inner
        .queues
        .iter()
        .enumerate()
        .map(|(i, q)| {
            // Efraimidis–Spirakis: key = u^(1/w), sort descending.
            let u: f64 = rng.random_range(f64::EPSILON..1.0);
            (u.powf(1.0 / f64::from(q.weight.max(1))), i)
        })
        .collect();
    keyed.sort_by(|a, b| b.0.total_cmp(&a.0));
    keyed.into_iter().map(|(_, i)| i).collect()
}

fn spawn_job(
    inner: &Arc<Inner>,
    jobs: &mut JoinSet<usize>,
    ack_tx: &mpsc::UnboundedSender<JobAck>,
    qi: usize,
    job: Job,
) {
    let Some(lease) = job.lease() else {
        tracing::error!(job.id = %job.id, "store returned a fetched job without a lease token");
        return;
    };
    // Not a child of the shutdown token: on shutdown, running jobs get the grace period first.
    let cancel = CancellationToken::new();
    lock(&inner.running).insert(
        job.id,
        RunningJob {
            lease: lease.clone(),
            kind: job.kind.clone(),
            attempt: job.attempt,
            cancel: cancel.clone(),
        },
    );
    let inner = inner.clone();
    let ack_tx = ack_tx.clone();
    // Boxed: the attempt's future holds the handler's, several kilobytes that spawning would
    // otherwise copy a few times per job (~1,400 instructions per job, docs/callgrind.md).
    jobs.spawn(Box::pin(async move {
        let ack = run_attempt(&inner, job, lease, cancel).await;
        // Only the remover of the running entry acks (see `Inner::running`).
        if lock(&inner.running).remove(&ack.lease.id).is_some() {
            let _ = ack_tx.send(ack);
        }
        qi
    }));
}
