//! `cache_lease_release`: ends the lease if the token holds it (another holder's lease is left
//! alone). One write transaction.

use anp_core::cache::CacheLeaseParams;
use anp_core::Result;
use rusqlite::{params, Connection};

use super::u64_param;
use crate::conn::OpResult;
use crate::SqliteStore;

/// Releases in one write transaction.
pub(crate) async fn run(s: &SqliteStore, p: CacheLeaseParams) -> Result<()> {
    s.write("cache_lease_release", move |c| sql(c, &p)).await
}

fn sql(c: &Connection, p: &CacheLeaseParams) -> OpResult<()> {
    c.prepare_cached(include_str!("../../../sql/cache_lease_release.sql"))?
        .execute(params![
            p.ns.as_str(),
            u64_param(p.generation),
            p.key.as_str(),
            u64_param(p.token)
        ])?;
    Ok(())
}
