//! The rescuer: running jobs whose lease expired are taken back.
//!
//! A lease expires when its worker stopped heartbeating: killed (`kill -9`, OOM), its machine
//! lost, or stalled longer than the lease. The lost attempt is appended to the job's error
//! history as retry-safe; the job becomes available again, or dead when that was its last
//! attempt — so a job that keeps killing its worker ends dead instead of looping forever.

use anp_core::store::{JobRescueParams, Rescued};
use anp_core::{Clock, Result, Store};

/// Rescues every expired lease (in batches of 1,000); returns what was rescued.
pub async fn rescue_once(store: &dyn Store, clock: &dyn Clock) -> Result<Vec<Rescued>> {
    let mut all = Vec::new();
    loop {
        let batch = match store
            .job_rescue_expired(JobRescueParams {
                now: clock.now(),
                limit: 1000,
            })
            .await
        {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "rescuer: pass failed");
                return Err(e);
            }
        };
        for r in &batch {
            tracing::warn!(
                job.id = %r.id, job.kind = %r.kind, job.queue = %r.queue, job.attempt = r.attempt,
                state = %r.state,
                "rescued job whose lease expired; the attempt is recorded as lost"
            );
        }
        let n = batch.len();
        all.extend(batch);
        if n < 1000 {
            return Ok(all);
        }
    }
}
