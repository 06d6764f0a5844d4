//! Jobs: get, list, retry, retry every dead one, cancel, delete.

use anp_core::store::{JobListParams, JobRetryDeadParams};
use anp_core::{Job, JobId, JobState, Kind, QueueName, Result};
use serde::{Deserialize, Serialize};

use super::Admin;

/// Which jobs [`Admin::job_list`] returns: newest first, at most `limit` (0 means 100), only
/// those matching every filter given.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobFilter {
    /// Only these states (empty: all).
    pub states: Vec<JobState>,
    /// Only this queue.
    pub queue: Option<QueueName>,
    /// Only this kind.
    pub kind: Option<Kind>,
    /// Only jobs older than this one (paging: pass the last id of the previous page).
    pub before: Option<JobId>,
    /// At most this many; 0 means 100.
    pub limit: u32,
}

/// Which dead jobs [`Admin::job_retry_dead`] makes available again (default: all).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadFilter {
    /// Only this queue.
    pub queue: Option<QueueName>,
    /// Only this kind.
    pub kind: Option<Kind>,
}

/// Dead jobs retried per store call (one short transaction / script each).
const RETRY_BATCH: u32 = 1000;

impl Admin {
    /// One job with its whole error history; `NotFound` when no job has that id.
    pub async fn job_get(&self, id: JobId) -> Result<Job> {
        self.store().job_get(id).await
    }

    /// Jobs matching `filter`, newest first.
    pub async fn job_list(&self, filter: JobFilter) -> Result<Vec<Job>> {
        self.store()
            .job_list(JobListParams {
                states: filter.states,
                queue: filter.queue,
                kind: filter.kind,
                before: filter.before,
                limit: if filter.limit == 0 { 100 } else { filter.limit },
            })
            .await
    }

    /// Makes a dead, cancelled, completed, retryable or scheduled job available now (with one
    /// more attempt if it had used them all). A running job is a `Conflict`; so is a job whose
    /// unique key another live job holds.
    pub async fn job_retry(&self, id: JobId) -> Result<Job> {
        self.store().job_retry(id, self.now()).await
    }

    /// Makes every dead job matching `filter` available again, in batches of 1,000 (each one
    /// atomic); `progress` sees each batch's count. Returns how many. Dead jobs that appear
    /// while it runs may or may not be included.
    pub async fn job_retry_dead(
        &self,
        filter: DeadFilter,
        mut progress: impl FnMut(u64),
    ) -> Result<u64> {
        let mut retried = 0;
        loop {
            let n = self
                .store()
                .job_retry_dead(JobRetryDeadParams {
                    queue: filter.queue.clone(),
                    kind: filter.kind.clone(),
                    now: self.now(),
                    limit: RETRY_BATCH,
                })
                .await?;
            retried += n;
            progress(n);
            if n < u64::from(RETRY_BATCH) {
                return Ok(retried);
            }
        }
    }

    /// How many dead jobs [`Admin::job_retry_dead`] would touch now (from the queue counts; a
    /// kind filter is not counted, so this is an upper bound when one is given).
    pub async fn job_count_dead(&self, queue: Option<&QueueName>) -> Result<u64> {
        Ok(self
            .store()
            .queue_list()
            .await?
            .iter()
            .filter(|q| queue.is_none_or(|n| *n == q.queue))
            .map(|q| q.counts.get(&JobState::Dead).copied().unwrap_or(0))
            .sum())
    }

    /// Cancels a job that is not finished. A running job's lease is voided: its worker's
    /// acknowledgement is rejected, the job stays cancelled.
    pub async fn job_cancel(&self, id: JobId) -> Result<Job> {
        self.store().job_cancel(id, self.now()).await
    }

    /// Deletes a job that is not running (cancel it first); its unique key is released.
    pub async fn job_delete(&self, id: JobId) -> Result<()> {
        self.store().job_delete(id).await
    }
}
