//! The pruner: finished jobs are kept for inspection, then deleted.

use std::time::Duration;

use anp_core::store::JobPruneParams;
use anp_core::{Clock, Result, Store};

/// What to keep. Completed and cancelled jobs: 1 day and at most 100,000 per queue by
/// default. Dead jobs: 180 days and at most 10,000 per queue (so they can be retried).
#[derive(Clone, Debug)]
pub struct Retention {
    /// Age limit of completed and cancelled jobs.
    pub finished_max_age: Duration,
    /// Count limit of completed and cancelled jobs per queue.
    pub finished_max_count: u64,
    /// Age limit of dead jobs.
    pub dead_max_age: Duration,
    /// Count limit of dead jobs per queue.
    pub dead_max_count: u64,
    /// Age limit of the per-minute stats.
    pub stats_max_age: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            finished_max_age: Duration::from_secs(24 * 3600),
            finished_max_count: 100_000,
            dead_max_age: Duration::from_secs(180 * 24 * 3600),
            dead_max_count: 10_000,
            stats_max_age: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// Prunes in batches of 5,000 until nothing is left to prune; returns how many were deleted.
pub async fn prune_once(
    store: &dyn Store,
    clock: &dyn Clock,
    retention: &Retention,
) -> Result<u64> {
    let mut total = 0;
    loop {
        let n = match store
            .job_prune(JobPruneParams {
                now: clock.now(),
                finished_max_age: retention.finished_max_age,
                finished_max_count: retention.finished_max_count,
                dead_max_age: retention.dead_max_age,
                dead_max_count: retention.dead_max_count,
                limit: 5000,
            })
            .await
        {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "pruner: pass failed");
                return Err(e);
            }
        };
        total += n;
        if n < 5000 {
            let stats = anp_core::monitor::StatsRecordParams {
                deltas: Default::default(),
                prune_before: Some(anp_core::job::ts_sub(clock.now(), retention.stats_max_age)),
            };
            if let Err(e) = store.stats_record(stats).await {
                tracing::warn!(error = %e, "pruner: stats retention failed");
            }
            if total > 0 {
                tracing::info!(jobs = total, "pruned finished jobs beyond retention");
            }
            return Ok(total);
        }
    }
}
