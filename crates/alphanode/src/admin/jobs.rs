//! Jobs: get, list, search by text, retry, retry every dead one, cancel, delete.

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

/// The most jobs one [`Admin::job_search`] call reads, whatever it is asked.
pub const SEARCH_SCAN_MAX: u32 = 20_000;

/// Jobs read per `job_list` page while searching.
const SEARCH_PAGE: u32 = 500;

/// One page of [`Admin::job_search`]: the matches found, how many jobs were read to find them,
/// and where to continue.
#[derive(Clone, Debug, Serialize)]
pub struct JobSearchPage {
    /// Matching jobs, newest first (at most the filter's `limit`).
    pub jobs: Vec<Job>,
    /// Jobs read (matching the filter's state, queue and kind) to find them.
    pub scanned: u64,
    /// Pass as the filter's `before` to continue: `None` when every job older than the
    /// start was read.
    pub next: Option<JobId>,
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

    /// Jobs matching `filter` whose args JSON or one of whose error messages contains `text`
    /// (case-insensitive), newest first. The store has no text index: this reads the jobs that
    /// match the filter's state, queue and kind through [`Admin::job_list`] pages, newest
    /// first from `filter.before`, and stops after `scan_max` jobs (at most
    /// [`SEARCH_SCAN_MAX`]) or once `filter.limit` matches are found (0 means 100), so one call
    /// costs the store a bounded amount on any number of jobs. When it stops early,
    /// [`JobSearchPage::next`] says where to continue ("scanned N jobs, no more matches yet").
    pub async fn job_search(
        &self,
        filter: JobFilter,
        text: &str,
        scan_max: u32,
    ) -> Result<JobSearchPage> {
        let want = if filter.limit == 0 { 100 } else { filter.limit } as usize;
        let budget = u64::from(scan_max.clamp(1, SEARCH_SCAN_MAX));
        let needle = text.to_lowercase();
        let mut page = JobSearchPage {
            jobs: Vec::new(),
            scanned: 0,
            next: None,
        };
        let mut before = filter.before;
        loop {
            let left = budget - page.scanned;
            let size = u32::try_from(left).unwrap_or(u32::MAX).min(SEARCH_PAGE);
            let batch = self
                .job_list(JobFilter {
                    before,
                    limit: size,
                    ..filter.clone()
                })
                .await?;
            let full = batch.len() == size as usize;
            for job in batch {
                page.scanned += 1;
                before = Some(job.id);
                let id = job.id;
                if job_mentions(&job, &needle) {
                    page.jobs.push(job);
                }
                if page.jobs.len() >= want || page.scanned >= budget {
                    page.next = Some(id);
                    return Ok(page);
                }
            }
            if !full {
                return Ok(page);
            }
        }
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

/// True when `job`'s args JSON or an error message contains `needle` (already lower case).
fn job_mentions(job: &Job, needle: &str) -> bool {
    let has = |s: &str| s.to_lowercase().contains(needle);
    has(job.args.as_json()) || job.errors.iter().any(|e| has(&e.message))
}

#[cfg(test)]
mod tests {
    use anp_core::store::JobEnqueueManyParams;
    use anp_core::{Args, Kind, NewJob};

    use super::{Admin, JobFilter};

    /// Search reads at most its budget, says where to continue, and finds matches in args
    /// (case-insensitive) across continued pages; a finished scan has no cursor.
    #[tokio::test]
    async fn search_is_bounded_and_continues() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let url = format!("sqlite://{}", dir.path().join("s.db").display());
        let admin = Admin::new(crate::connect(&url).await.unwrap_or_else(|e| panic!("{e}")));
        let kind = Kind::parse("k").unwrap_or_else(|e| panic!("{e}"));
        // 30 jobs; the oldest two mention the needle.
        let jobs: Vec<NewJob> = (0..30)
            .map(|i| {
                let text = if i < 2 { "NeEdLe" } else { "hay" };
                NewJob::new(
                    kind.clone(),
                    Args::from_json(&format!(r#"{{"i":{i},"t":"{text}"}}"#))
                        .unwrap_or_else(|e| panic!("{e}")),
                )
            })
            .collect();
        admin
            .store()
            .job_enqueue_many(JobEnqueueManyParams {
                jobs,
                now: jiff::Timestamp::now(),
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let filter = JobFilter {
            limit: 10,
            ..Default::default()
        };
        // A budget of 20 reads the 20 newest: no match yet, continue.
        let p = admin
            .job_search(filter.clone(), "needle", 20)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((p.jobs.len(), p.scanned), (0, 20));
        let next = p.next.unwrap_or_else(|| panic!("expected a cursor"));
        // Continued: the remaining 10, both matches, the end.
        let p = admin
            .job_search(
                JobFilter {
                    before: Some(next),
                    ..filter.clone()
                },
                "needle",
                20,
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((p.jobs.len(), p.scanned), (2, 10));
        assert!(p.next.is_none());
        // Enough matches end the page early, with a cursor.
        let p = admin
            .job_search(
                JobFilter {
                    limit: 3,
                    ..Default::default()
                },
                "hay",
                1000,
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((p.jobs.len(), p.scanned), (3, 3));
        assert_eq!(p.next, Some(p.jobs[2].id));
    }
}
