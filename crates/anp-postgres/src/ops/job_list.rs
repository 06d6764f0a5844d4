//! `job_list`: newest first, with filters, in one statement.

use anp_core::store::JobListParams;
use anp_core::{Job, JobState, Result};

use crate::conn::{Conn, OpResult};
use crate::row;
use crate::store::in_tx;
use crate::PostgresStore;

/// Sorts after every id (lower-case hex and hyphens, compared byte by byte): "no cursor".
const AFTER_EVERY_ID: &str = "~";

/// Lists.
pub(crate) async fn run(s: &PostgresStore, p: JobListParams) -> Result<Vec<Job>> {
    if p.limit == 0 {
        return Ok(Vec::new());
    }
    in_tx!(s, "job_list", |tx| sql(tx, &p))
}

async fn sql(c: &dyn Conn, p: &JobListParams) -> OpResult<Vec<Job>> {
    let before = p
        .before
        .map(|id| id.to_string())
        .unwrap_or_else(|| AFTER_EVERY_ID.to_owned());
    let queue = p.queue.as_ref().map(|q| q.as_str());
    let kind = p.kind.as_ref().map(|k| k.as_str());
    let states: Option<Vec<&str>> = if p.states.is_empty() {
        None
    } else {
        Some(p.states.iter().map(|s| JobState::as_str(*s)).collect())
    };
    let rows = c
        .query(
            include_str!("../../sql/job_list.sql"),
            &[&before, &queue, &kind, &i64::from(p.limit), &states],
        )
        .await?;
    row::jobs(&rows)
}
