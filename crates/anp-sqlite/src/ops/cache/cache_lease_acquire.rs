//! `cache_lease_acquire`: takes the key's compute lease unless a live one exists (an expired
//! lease is replaced). One write transaction, one upsert.

use anp_core::cache::CacheLeaseParams;
use anp_core::Result;
use rusqlite::{params, Connection};

use super::{ms, ms_after, u64_param};
use crate::conn::OpResult;
use crate::SqliteStore;

/// Takes the lease in one write transaction; `true` when taken.
pub(crate) async fn run(s: &SqliteStore, p: CacheLeaseParams) -> Result<bool> {
    s.write("cache_lease_acquire", move |c| sql(c, &p)).await
}

fn sql(c: &Connection, p: &CacheLeaseParams) -> OpResult<bool> {
    let n = c
        .prepare_cached(include_str!("../../../sql/cache_lease_acquire.sql"))?
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
