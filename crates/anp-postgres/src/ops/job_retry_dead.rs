//! `job_retry_dead`: dead jobs become available again, oldest first. A job whose unique key is
//! now held by another live job is skipped (it stays dead).

use anp_core::store::JobRetryDeadParams;
use anp_core::Result;

use crate::conn::{Conn, OpResult};
use crate::ops::notify;
use crate::row::{self, micros};
use crate::store::in_tx;
use crate::PostgresStore;

/// Revives in one transaction.
pub(crate) async fn run(s: &PostgresStore, p: JobRetryDeadParams) -> Result<u64> {
    if p.limit == 0 {
        return Ok(0);
    }
    let out = in_tx!(s, "job_retry_dead", |tx| sql(tx, &p));
    s.made_available();
    out
}

async fn sql(c: &dyn Conn, p: &JobRetryDeadParams) -> OpResult<u64> {
    let limit = u64::from(p.limit);
    let now = micros(p.now);
    let queue = p.queue.as_ref().map(|q| q.as_str());
    let kind = p.kind.as_ref().map(|k| k.as_str());
    let mut after = String::new();
    let mut retried = 0u64;
    while retried < limit {
        let rows = c
            .query(
                include_str!("../../sql/job_retry_dead.sql"),
                &[&after, &queue, &kind, &i64::from(p.limit)],
            )
            .await?;
        let Some(last) = rows.last() else {
            break;
        };
        let last = row::text(last, 0)?.to_owned();
        for r in &rows {
            let id = row::text(r, 0)?;
            retried += c
                .execute(
                    include_str!("../../sql/job_retry_dead_update.sql"),
                    &[&id, &now],
                )
                .await?;
            if retried == limit {
                break;
            }
        }
        after = last;
    }
    if retried > 0 {
        notify(c).await?;
    }
    Ok(retried)
}
