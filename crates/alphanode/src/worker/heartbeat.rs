//! The heartbeat: keeps this worker registered and extends the leases of its running jobs;
//! stops the attempts whose lease was lost.

use std::sync::Arc;

use anp_core::job::ts_add;
use anp_core::store::{JobHeartbeatManyParams, Lease};
use tokio_util::sync::CancellationToken;

use super::{lock, Inner, WorkerEvent};

/// Extends the leases of running jobs every `lease / 3`. A lease the store no longer
/// recognises (the job was rescued or cancelled) cancels its handler's context and drops its
/// entry, so no stale result is sent.
pub(super) async fn heartbeat(
    inner: Arc<Inner>,
    stop: CancellationToken,
    started_at: jiff::Timestamp,
) {
    let period = inner.options.lease / 3;
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        if let Err(e) = inner
            .store
            .process_heartbeat(inner.registration(started_at))
            .await
        {
            tracing::warn!(error = %e, "worker heartbeat failed");
        }
        let leases: Vec<Lease> = lock(&inner.running)
            .values()
            .map(|r| r.lease.clone())
            .collect();
        if leases.is_empty() {
            continue;
        }
        let lease_until = ts_add(inner.clock.now(), inner.options.lease);
        match inner
            .store
            .job_heartbeat_many(JobHeartbeatManyParams {
                leases: leases.clone(),
                lease_until,
            })
            .await
        {
            Ok(held) => {
                for (lease, ok) in leases.iter().zip(held) {
                    if ok {
                        continue;
                    }
                    if let Some(job) = lock(&inner.running).remove(&lease.id) {
                        job.cancel.cancel();
                        tracing::warn!(
                            job.id = %lease.id, job.kind = %job.kind, job.queue = %lease.queue,
                            job.attempt = job.attempt,
                            "lease lost (job cancelled or rescued elsewhere): stopping this attempt"
                        );
                        let _ = inner.events.send(WorkerEvent::LeaseLost { id: lease.id });
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "heartbeat failed; leases may expire if the store stays unavailable")
            }
        }
    }
}
