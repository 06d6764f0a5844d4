//! `job_list`: newest first. Each state is read the cheap way for it:
//! - no state filter, `available`, `completed`: the primary key backwards (available and
//!   completed jobs are dense among the newest ids);
//! - `running`: `jobs_lease` (running jobs are few), sorted;
//! - `scheduled`, `retryable`, `dead`, `cancelled`: `jobs_state_id`, so a rare state among
//!   millions of completed jobs is found without walking past them.
//!
//! Several states are read one by one and merged.

use anp_core::store::JobListParams;
use anp_core::{Job, JobState, Result};
use rusqlite::{params, Connection};

use crate::conn::OpResult;
use crate::row;
use crate::SqliteStore;

/// Sorts after every id (ids are lower-case hex and hyphens): "no cursor".
const AFTER_EVERY_ID: &str = "~";

/// Lists on the reader connection.
pub(crate) async fn run(s: &SqliteStore, p: JobListParams) -> Result<Vec<Job>> {
    s.read("job_list", move |c| sql(c, &p)).await
}

/// The matching jobs, newest first, at most `limit`.
fn sql(c: &Connection, p: &JobListParams) -> OpResult<Vec<Job>> {
    if p.limit == 0 {
        return Ok(Vec::new());
    }
    let before = p
        .before
        .map(|id| id.to_string())
        .unwrap_or_else(|| AFTER_EVERY_ID.to_owned());
    let queue = p.queue.as_ref().map(|q| q.as_str());
    let kind = p.kind.as_ref().map(|k| k.as_str());
    let by_key = |state: Option<JobState>| -> OpResult<Vec<Job>> {
        let mut stmt = c.prepare_cached(include_str!("../../sql/job_list.sql"))?;
        let state = state.map(JobState::as_str);
        let jobs = row::jobs(stmt.query(params![before, queue, kind, p.limit, state])?)?;
        Ok(jobs)
    };
    if p.states.is_empty() {
        return by_key(None);
    }
    let mut states = p.states.clone();
    states.sort_unstable();
    states.dedup();
    let mut out = Vec::new();
    for state in states {
        let jobs = match state {
            JobState::Available | JobState::Completed => by_key(Some(state))?,
            JobState::Running => {
                let mut stmt = c.prepare_cached(include_str!("../../sql/job_list_running.sql"))?;
                let jobs = row::jobs(stmt.query(params![before, queue, kind, p.limit])?)?;
                jobs
            }
            JobState::Scheduled | JobState::Retryable | JobState::Dead | JobState::Cancelled => {
                let mut stmt = c.prepare_cached(include_str!("../../sql/job_list_state.sql"))?;
                let jobs = row::jobs(stmt.query(params![
                    state.as_str(),
                    before,
                    queue,
                    kind,
                    p.limit
                ])?)?;
                jobs
            }
        };
        out.extend(jobs);
    }
    out.sort_unstable_by_key(|j| std::cmp::Reverse(j.id));
    out.truncate(p.limit as usize);
    Ok(out)
}
