//! `job_prune`: per queue and per class (completed + cancelled; dead), deletes the oldest jobs
//! that are older than the age limit or beyond the newest `max_count`, at most `limit` in all.
//!
//! Both limits cut the same oldest-first order (`finalized_at`, `state`, rowid: the order of the
//! `jobs_finished` and `jobs_dead` indexes), so the rows to delete are everything at or before one
//! boundary: the later of "just before the age cutoff" and "the first row past the newest
//! `max_count`".

use std::time::Duration;

use anp_core::job::ts_sub;
use anp_core::store::JobPruneParams;
use anp_core::Result;
use rusqlite::{params, Connection, OptionalExtension};

use crate::conn::OpResult;
use crate::row::{count_param, micros};
use crate::SqliteStore;

/// Sorts after every state name.
const AFTER_EVERY_STATE: &str = "~";

struct Class {
    boundary: &'static str,
    delete: &'static str,
    max_age: Duration,
    max_count: u64,
}

/// Prunes in one write transaction.
pub(crate) async fn run(s: &SqliteStore, p: JobPruneParams) -> Result<u64> {
    s.write("job_prune", move |c| sql(c, &p)).await
}

/// How many jobs were deleted.
fn sql(c: &Connection, p: &JobPruneParams) -> OpResult<u64> {
    let mut remaining = i64::from(p.limit);
    if remaining == 0 {
        return Ok(0);
    }
    let queues = {
        let mut stmt = c.prepare_cached(include_str!("../../sql/job_prune_queues.sql"))?;
        let names = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        names
    };
    let classes = [
        Class {
            boundary: include_str!("../../sql/job_prune_finished_boundary.sql"),
            delete: include_str!("../../sql/job_prune_finished.sql"),
            max_age: p.finished_max_age,
            max_count: p.finished_max_count,
        },
        Class {
            boundary: include_str!("../../sql/job_prune_dead_boundary.sql"),
            delete: include_str!("../../sql/job_prune_dead.sql"),
            max_age: p.dead_max_age,
            max_count: p.dead_max_count,
        },
    ];
    let mut deleted = 0u64;
    for queue in &queues {
        for class in &classes {
            if remaining == 0 {
                return Ok(deleted);
            }
            // Rows finalized before the cutoff are too old: everything up to (cutoff - 1, any).
            let cutoff = micros(ts_sub(p.now, class.max_age));
            let mut upto = (
                cutoff.saturating_sub(1),
                AFTER_EVERY_STATE.to_owned(),
                i64::MAX,
            );
            let beyond_count = c
                .prepare_cached(class.boundary)?
                .query_row(params![queue, count_param(class.max_count)], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                })
                .optional()?;
            if let Some(b) = beyond_count {
                upto = upto.max(b);
            }
            let n = c
                .prepare_cached(class.delete)?
                .execute(params![queue, upto.0, upto.1, upto.2, remaining])?;
            deleted += n as u64;
            remaining -= i64::try_from(n).unwrap_or(remaining);
        }
    }
    Ok(deleted)
}
