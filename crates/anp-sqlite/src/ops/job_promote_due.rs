//! `job_promote_due`: one UPDATE over `jobs_due`.

use anp_core::store::JobPromoteParams;
use rusqlite::{params, Connection};

use crate::conn::OpResult;
use crate::row::micros;

/// How many jobs became available.
pub(crate) fn run(c: &Connection, p: &JobPromoteParams) -> OpResult<u64> {
    let n = c
        .prepare_cached(include_str!("../../sql/job_promote_due.sql"))?
        .execute(params![micros(p.now), p.limit])?;
    Ok(n as u64)
}
