//! `job_promote_due`: one UPDATE over `jobs_due`.

use anp_core::store::JobPromoteParams;
use anp_core::Result;
use rusqlite::{params, Connection};

use crate::conn::OpResult;
use crate::row::micros;
use crate::SqliteStore;

/// Promotes in one write transaction; waiters are woken when any job was promoted.
pub(crate) async fn run(s: &SqliteStore, p: JobPromoteParams) -> Result<u64> {
    if p.limit == 0 {
        return Ok(0);
    }
    s.write_waking("job_promote_due", move |c| sql(c, &p)).await
}

/// How many jobs became available, and whether any did.
fn sql(c: &Connection, p: &JobPromoteParams) -> OpResult<(u64, bool)> {
    let n = c
        .prepare_cached(include_str!("../../sql/job_promote_due.sql"))?
        .execute(params![micros(p.now), p.limit])?;
    Ok((n as u64, n > 0))
}
