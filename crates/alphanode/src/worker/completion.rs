//! The completer: writes acknowledgements in batches, one store call per batch.

use std::sync::Arc;
use std::time::Duration;

use anp_core::store::{AckOutcome, AckResult, JobAck, JobAckManyParams};
use tokio::sync::mpsc;

use super::{Inner, WorkerEvent};

fn ack_state(o: &AckOutcome) -> &'static str {
    match o {
        AckOutcome::Complete => "completed",
        AckOutcome::Retry { .. } => "retryable",
        AckOutcome::Dead { .. } => "dead",
        AckOutcome::Snooze { .. } => "scheduled",
        AckOutcome::Cancel { .. } => "cancelled",
        AckOutcome::HandBack => "available",
    }
}

/// Writes acknowledgements in batches: takes one, then everything else already queued, and
/// writes them in one store call. A batch that fails (store unavailable) is retried with
/// backoff, never dropped; ends when every sender is gone and the queue is empty.
pub(super) async fn completer(inner: Arc<Inner>, mut rx: mpsc::UnboundedReceiver<JobAck>) {
    const MAX_BATCH: usize = 1000;
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(a) => batch.push(a),
                Err(_) => break,
            }
        }
        let mut backoff = Duration::from_millis(50);
        let mut tries = 0u32;
        loop {
            let now = inner.clock.now();
            match inner
                .store
                .job_ack_many(JobAckManyParams {
                    acks: batch.clone(),
                    now,
                })
                .await
            {
                Ok(results) => {
                    for (ack, r) in batch.iter().zip(results) {
                        match r {
                            AckResult::Applied => {
                                let _ = inner.events.send(WorkerEvent::Acked {
                                    id: ack.lease.id,
                                    state: ack_state(&ack.outcome),
                                });
                            }
                            AckResult::LeaseLost => {
                                tracing::warn!(
                                    job.id = %ack.lease.id, job.queue = %ack.lease.queue,
                                    "result rejected: the lease was lost (job rescued or cancelled meanwhile); the newer attempt wins"
                                );
                                let _ = inner
                                    .events
                                    .send(WorkerEvent::LeaseLost { id: ack.lease.id });
                            }
                        }
                    }
                    break;
                }
                Err(e) => {
                    tries += 1;
                    // During shutdown give up after ~1 minute: the leases expire and the jobs
                    // are rescued, so nothing is lost (at-least-once).
                    if inner.shutdown.is_cancelled() && tries > 12 {
                        tracing::error!(error = %e, jobs = batch.len(), "could not record results before exit; the jobs will be rescued when their leases expire");
                        break;
                    }
                    tracing::warn!(error = %e, jobs = batch.len(), "recording results failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
        batch.clear();
    }
}
