//! `cache_write`: upserts an entry; a fenced write first ends the key's lease, and applies only
//! if that lease was live and held by its token. One write transaction.

use anp_core::cache::{CacheWrite, CacheWriteParams};
use anp_core::Result;
use rusqlite::{params, Connection};

use super::{ms, ms_after, u64_param};
use crate::conn::OpResult;
use crate::SqliteStore;

/// Writes in one write transaction.
pub(crate) async fn run(s: &SqliteStore, p: CacheWriteParams) -> Result<CacheWrite> {
    s.write("cache_write", move |c| sql(c, &p)).await
}

fn sql(c: &Connection, p: &CacheWriteParams) -> OpResult<CacheWrite> {
    let generation = u64_param(p.generation);
    if let Some(token) = p.lease {
        let ended = c
            .prepare_cached(include_str!("../../../sql/cache_write_fence.sql"))?
            .execute(params![
                p.ns.as_str(),
                generation,
                p.key.as_str(),
                u64_param(token),
                ms(p.now)
            ])?;
        if ended == 0 {
            return Ok(CacheWrite::LeaseLost);
        }
    }
    c.prepare_cached(include_str!("../../../sql/cache_write.sql"))?
        .execute(params![
            p.ns.as_str(),
            generation,
            p.key.as_str(),
            p.bytes,
            ms_after(p.now, p.ttl)
        ])?;
    Ok(CacheWrite::Applied)
}
