//! `cache_write`: stores an entry; a fenced write first ends its lease (or is `LeaseLost`).

use anp_core::cache::{CacheWrite, CacheWriteParams};
use anp_core::Result;

use super::{ms, ms_after, u64_param};
use crate::conn::{Conn, OpResult};
use crate::store::in_tx;
use crate::PostgresStore;

/// Writes in one transaction.
pub(crate) async fn run(s: &PostgresStore, p: CacheWriteParams) -> Result<CacheWrite> {
    in_tx!(s, "cache_write", |tx| sql(tx, &p))
}

async fn sql(c: &dyn Conn, p: &CacheWriteParams) -> OpResult<CacheWrite> {
    let generation = u64_param(p.generation);
    if let Some(token) = p.lease {
        let ended = c
            .execute(
                include_str!("../../../sql/cache_write_fence.sql"),
                &[
                    &p.ns.as_str(),
                    &generation,
                    &p.key.as_str(),
                    &u64_param(token),
                    &ms(p.now),
                ],
            )
            .await?;
        if ended == 0 {
            return Ok(CacheWrite::LeaseLost);
        }
    }
    c.execute(
        include_str!("../../../sql/cache_write.sql"),
        &[
            &p.ns.as_str(),
            &generation,
            &p.key.as_str(),
            &p.bytes,
            &ms_after(p.now, p.ttl),
        ],
    )
    .await?;
    Ok(CacheWrite::Applied)
}
