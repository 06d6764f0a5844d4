//! The promoter: scheduled jobs (enqueued for later, snoozed) and retryable jobs whose
//! `run_at` has come become available.

use anp_core::store::JobPromoteParams;
use anp_core::{Clock, Result, Store};

/// Promotes every due job (in batches of 5,000); returns how many.
pub async fn promote_once(store: &dyn Store, clock: &dyn Clock) -> Result<u64> {
    let mut total = 0;
    loop {
        let n = match store
            .job_promote_due(JobPromoteParams {
                now: clock.now(),
                limit: 5000,
            })
            .await
        {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "promoter: pass failed");
                return Err(e);
            }
        };
        total += n;
        if n < 5000 {
            if total > 0 {
                tracing::debug!(jobs = total, "promoted due jobs");
            }
            return Ok(total);
        }
    }
}
