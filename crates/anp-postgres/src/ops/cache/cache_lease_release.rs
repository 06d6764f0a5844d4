//! `cache_lease_release`: only with its token.

use anp_core::cache::CacheLeaseParams;
use anp_core::Result;

use super::u64_param;
use crate::conn::{Conn, OpResult};
use crate::store::in_tx;
use crate::PostgresStore;

/// Releases in one transaction.
pub(crate) async fn run(s: &PostgresStore, p: CacheLeaseParams) -> Result<()> {
    in_tx!(s, "cache_lease_release", |tx| sql(tx, &p))
}

async fn sql(c: &dyn Conn, p: &CacheLeaseParams) -> OpResult<()> {
    c.execute(
        include_str!("../../../sql/cache_lease_release.sql"),
        &[
            &p.ns.as_str(),
            &u64_param(p.generation),
            &p.key.as_str(),
            &u64_param(p.token),
        ],
    )
    .await?;
    Ok(())
}
