//! The dispatcher: fetches jobs in batches sized to the free slots of each queue (all queues in
//! one [`Store::job_fetch_queues`](anp_core::Store::job_fetch_queues) call), spawns one task per
//! job, and waits on the store ([`Store::job_wait`](anp_core::Store::job_wait)) when
//! every queue with room came up short.

use std::sync::Arc;
use std::time::Duration;

use anp_core::job::ts_add;
use anp_core::store::{JobAck, JobFetchQueuesParams, JobWaitParams, QueueFetch};
use anp_core::{Job, QueueName};
use rand::Rng;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::attempt::run_attempt;
use super::{lock, Inner, RunningJob, WorkerEvent};

/// Per-queue state owned by the dispatcher.
struct Slot {
    running: usize,
    /// The last fetch came back short: don't fetch again until the store signals a change or
    /// the poll interval passes (otherwise every finished job would cost an empty fetch).
    drained: bool,
}

/// Fetches and spawns jobs until shutdown starts; the spawned tasks are left in `jobs`.
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
            drained: false,
        })
        .collect();
    let mut error_backoff = Duration::from_millis(100);
    loop {
        if inner.shutdown.is_cancelled() {
            return;
        }
        if !fetch_round(inner, &mut slots, jobs, ack_tx).await {
            tokio::select! {
                _ = inner.shutdown.cancelled() => return,
                _ = tokio::time::sleep(error_backoff) => {}
            }
            error_backoff = (error_backoff * 2).min(Duration::from_secs(5));
            continue;
        }
        error_backoff = Duration::from_millis(100);

        // Wait for a slot to free up, the store to signal new work, or the poll interval.
        // With the worker-wide cap reached no queue has room, whatever its own concurrency:
        // looping "right away" would spin on a full worker until a job ends (which halved B
        // with 10 queues in `anp bench`). Drained queues are still waited on, so new work in
        // them clears their flag and they are offered the next free slot, as before.
        let total: usize = slots.iter().map(|s| s.running).sum();
        let cap_reached = inner.options.max_concurrency.is_some_and(|m| total >= m);
        let waiting: Vec<QueueName> = queues
            .iter()
            .zip(&slots)
            .filter(|(q, s)| s.drained && s.running < q.concurrency)
            .map(|(q, _)| q.name.clone())
            .collect();
        let all_full = cap_reached
            || queues
                .iter()
                .zip(&slots)
                .all(|(q, s)| s.running >= q.concurrency);
        let store_wait = async {
            if waiting.is_empty() {
                // Every queue is busy or has work: only a finished job matters.
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
        let idle = async {
            if all_full || !waiting.is_empty() {
                std::future::pending::<()>().await;
            }
            // Some queue has room and was not drained yet: loop right away.
        };
        tokio::select! {
            _ = inner.shutdown.cancelled() => return,
            Some(done) = jobs.join_next() => {
                free_slot(&mut slots, done);
                // Collect every other finished job too, so the next fetch is one batch.
                while let Some(done) = jobs.try_join_next() {
                    free_slot(&mut slots, done);
                }
            }
            _ = store_wait => {
                for s in &mut slots {
                    s.drained = false;
                }
            }
            _ = idle => {}
        }
    }
}

/// One fetch for every queue with free slots and not drained, in [`fetch_order`], as one
/// [`Store::job_fetch_queues`](anp_core::Store::job_fetch_queues) call (one write transaction
/// on SQLite); spawns what it leased. Queue `i` is offered `min(its free slots, the global
/// free slots left after the queues before it)`, the split the store applies too, and is
/// marked drained when it came back short. `false` when the store failed.
async fn fetch_round(
    inner: &Arc<Inner>,
    slots: &mut [Slot],
    jobs: &mut JoinSet<usize>,
    ack_tx: &mpsc::UnboundedSender<JobAck>,
) -> bool {
    let queues = &inner.queues;
    let total: usize = slots.iter().map(|s| s.running).sum();
    let global_free = inner
        .options
        .max_concurrency
        .map_or(usize::MAX, |m| m.saturating_sub(total));
    // (queue index, its free slots) of every queue worth asking, in fetch order.
    let asks: Vec<(usize, usize)> = fetch_order(inner)
        .into_iter()
        .filter(|&qi| !slots[qi].drained)
        .map(|qi| (qi, queues[qi].concurrency.saturating_sub(slots[qi].running)))
        .filter(|&(_, free)| free > 0)
        .collect();
    if asks.is_empty() || global_free == 0 {
        return true;
    }
    let now = inner.clock.now();
    let to_u32 = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let fetched = inner
        .store
        .job_fetch_queues(JobFetchQueuesParams {
            queues: asks
                .iter()
                .map(|&(qi, free)| QueueFetch {
                    queue: queues[qi].name.clone(),
                    limit: to_u32(free),
                })
                .collect(),
            limit: to_u32(global_free),
            worker: inner.options.id.clone(),
            now,
            lease_until: ts_add(now, inner.options.lease),
        })
        .await;
    let batch = match fetched {
        Ok(batch) => batch,
        Err(e) => {
            let names: Vec<&str> = asks
                .iter()
                .map(|&(qi, _)| queues[qi].name.as_str())
                .collect();
            tracing::warn!(error = %e, queues = ?names, "fetch failed; retrying with backoff");
            return false;
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
    let mut left = global_free;
    for (qi, free) in asks {
        let want = free.min(left);
        let got = std::mem::take(&mut by_queue[qi]);
        left = left.saturating_sub(got.len());
        if want == 0 {
            // Not asked this round (no global slot was left for it): not drained.
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
        for job in got {
            spawn_job(inner, jobs, ack_tx, qi, job);
        }
    }
    true
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
