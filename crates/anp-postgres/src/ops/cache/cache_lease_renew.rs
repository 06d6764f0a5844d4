//! `cache_lease_renew`.

use anp_core::cache::CacheLeaseParams;
use anp_core::Result;

use super::{ms, ms_after, u64_param};
use crate::conn::{Conn, OpResult};
use crate::store::in_tx;
use crate::PostgresStore;

/// Runs in one transaction; whether the lease is held.
pub(crate) async fn run(s: &PostgresStore, p: CacheLeaseParams) -> Result<bool> {
    in_tx!(s, "cache_lease_renew", |tx| sql(tx, &p))
}

async fn sql(c: &dyn Conn, p: &CacheLeaseParams) -> OpResult<bool> {
    let n = c
        .execute(
            include_str!("../../../sql/cache_lease_renew.sql"),
            &[
                &p.ns.as_str(),
                &u64_param(p.generation),
                &p.key.as_str(),
                &u64_param(p.token),
                &ms_after(p.now, p.ttl),
                &ms(p.now),
            ],
        )
        .await?;
    Ok(n == 1)
}
