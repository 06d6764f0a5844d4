//! `cache_lease_renew`: extends the lease to `now + ttl` if the token holds it and it is live.
//! One write transaction.

use anp_core::cache::CacheLeaseParams;
use anp_core::Result;
use rusqlite::{params, Connection};

use super::{ms, ms_after, u64_param};
use crate::conn::OpResult;
use crate::SqliteStore;

/// Renews in one write transaction; `false` when the token no longer holds a live lease.
pub(crate) async fn run(s: &SqliteStore, p: CacheLeaseParams) -> Result<bool> {
    s.write("cache_lease_renew", move |c| sql(c, &p)).await
}

fn sql(c: &Connection, p: &CacheLeaseParams) -> OpResult<bool> {
    let n = c
        .prepare_cached(include_str!("../../../sql/cache_lease_renew.sql"))?
        .execute(params![
            p.ns.as_str(),
            u64_param(p.generation),
            p.key.as_str(),
            u64_param(p.token),
            ms_after(p.now, p.ttl),
            ms(p.now)
        ])?;
    Ok(n == 1)
}
