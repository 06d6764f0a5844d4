//! `job_promote_due`: one UPDATE over `jobs_due`.

use anp_core::store::JobPromoteParams;
use anp_core::Result;

use crate::conn::{Conn, OpResult};
use crate::ops::notify;
use crate::row::micros;
use crate::store::in_tx;
use crate::PostgresStore;

/// Promotes in one transaction.
pub(crate) async fn run(s: &PostgresStore, p: JobPromoteParams) -> Result<u64> {
    if p.limit == 0 {
        return Ok(0);
    }
    let n = in_tx!(s, "job_promote_due", |tx| sql(tx, &p))?;
    if n > 0 {
        s.made_available();
    }
    Ok(n)
}

async fn sql(c: &dyn Conn, p: &JobPromoteParams) -> OpResult<u64> {
    let n = c
        .execute(
            include_str!("../../sql/job_promote_due.sql"),
            &[&micros(p.now), &i64::from(p.limit)],
        )
        .await?;
    if n > 0 {
        notify(c).await?;
    }
    Ok(n)
}
