//! `job_prune`: per queue and per class (completed + cancelled; dead), deletes the oldest jobs
//! that are older than the age limit or beyond the newest `max_count`, at most `limit` in all,
//! in one short transaction (call again until it returns 0: each call is one batch, so vacuum
//! can keep up and no transaction holds many row locks; docs/postgres.md).
//!
//! Both limits cut the same oldest-first order (`finalized_at`, `state`, `id`), so the rows to
//! delete are everything at or before one boundary: the later of "just before the age cutoff"
//! and "the first row past the newest `max_count`".

use std::time::Duration;

use anp_core::job::ts_sub;
use anp_core::store::JobPruneParams;
use anp_core::Result;

use crate::conn::{Conn, OpResult};
use crate::row::{self, count_param, micros};
use crate::store::in_tx;
use crate::PostgresStore;

/// Sorts after every state name and every id (byte order).
const AFTER_EVERYTHING: &str = "~";

struct Class {
    boundary: &'static str,
    delete: &'static str,
    max_age: Duration,
    max_count: u64,
}

/// Prunes one batch in one transaction.
pub(crate) async fn run(s: &PostgresStore, p: JobPruneParams) -> Result<u64> {
    if p.limit == 0 {
        return Ok(0);
    }
    let n = in_tx!(s, "job_prune", |tx| sql(tx, &p))?;
    crate::vacuum::changed(s, n);
    Ok(n)
}

async fn sql(c: &dyn Conn, p: &JobPruneParams) -> OpResult<u64> {
    let mut remaining = u64::from(p.limit);
    let queues = c
        .query(include_str!("../../sql/job_prune_queues.sql"), &[])
        .await?
        .iter()
        .map(|r| row::text(r, 0).map(str::to_owned))
        .collect::<OpResult<Vec<String>>>()?;
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
            let cutoff = micros(ts_sub(p.now, class.max_age));
            let mut upto = (
                cutoff.saturating_sub(1),
                AFTER_EVERYTHING.to_owned(),
                AFTER_EVERYTHING.to_owned(),
            );
            if let Some(r) = c
                .query_opt(class.boundary, &[queue, &count_param(class.max_count)])
                .await?
            {
                let b = (
                    row::int(&r, 0)?,
                    row::text(&r, 1)?.to_owned(),
                    row::text(&r, 2)?.to_owned(),
                );
                upto = upto.max(b);
            }
            let n = c
                .execute(
                    class.delete,
                    &[queue, &upto.0, &upto.1, &upto.2, &count_param(remaining)],
                )
                .await?;
            deleted += n;
            remaining = remaining.saturating_sub(n);
        }
    }
    Ok(deleted)
}
