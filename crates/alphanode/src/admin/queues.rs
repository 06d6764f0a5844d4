//! Queues: counts, pause, resume, purge.

use anp_core::store::{QueueInfo, QueuePurgeParams};
use anp_core::{JobState, QueueName, Result};

use super::Admin;

/// Jobs deleted per store call by [`Admin::queue_purge`] (one short transaction / script each,
/// so workers are never held up for long).
pub const PURGE_BATCH: u32 = 1000;

impl Admin {
    /// Every queue that holds jobs or was paused, with counts per state and the oldest
    /// available job's due time.
    pub async fn queue_list(&self) -> Result<Vec<QueueInfo>> {
        self.store().queue_list().await
    }

    /// One queue's counts; a queue never seen reports zeros, not paused.
    pub async fn queue_get(&self, queue: &QueueName) -> Result<QueueInfo> {
        let found = self
            .queue_list()
            .await?
            .into_iter()
            .find(|i| i.queue == *queue);
        Ok(found.unwrap_or_else(|| QueueInfo {
            queue: queue.clone(),
            paused: false,
            counts: JobState::ALL.into_iter().map(|s| (s, 0)).collect(),
            oldest_available_at: None,
        }))
    }

    /// Stops every worker from fetching `queue` (running jobs finish; enqueueing goes on).
    pub async fn queue_pause(&self, queue: &QueueName) -> Result<()> {
        self.store()
            .queue_set_paused(queue.clone(), true, self.now())
            .await
    }

    /// Lets workers fetch `queue` again.
    pub async fn queue_resume(&self, queue: &QueueName) -> Result<()> {
        self.store()
            .queue_set_paused(queue.clone(), false, self.now())
            .await
    }

    /// The states [`Admin::queue_purge`] deletes for `states` (sorted, each once; every state
    /// but running when empty), or `InvalidInput` when `states` names running: check this
    /// before asking a person to confirm a purge.
    pub fn queue_purge_states(queue: &QueueName, states: &[JobState]) -> Result<Vec<JobState>> {
        QueuePurgeParams {
            queue: queue.clone(),
            states: states.to_vec(),
            limit: PURGE_BATCH,
        }
        .checked_states()
    }

    /// Deletes `queue`'s jobs in `states` (empty: every state but running) in batches of
    /// [`PURGE_BATCH`], until a batch comes back short: every chosen state was empty when that
    /// batch ended (producers that keep enqueueing are not chased). `progress` sees each
    /// batch's count. Running jobs are never deleted: naming `running` is `InvalidInput`.
    pub async fn queue_purge(
        &self,
        queue: &QueueName,
        states: &[JobState],
        mut progress: impl FnMut(u64),
    ) -> Result<u64> {
        let p = QueuePurgeParams {
            queue: queue.clone(),
            states: states.to_vec(),
            limit: PURGE_BATCH,
        };
        p.checked_states()?;
        let mut deleted = 0u64;
        loop {
            let n = self.store().queue_purge(p.clone()).await?;
            deleted += n;
            progress(n);
            if n < u64::from(p.limit) {
                return Ok(deleted);
            }
        }
    }
}
