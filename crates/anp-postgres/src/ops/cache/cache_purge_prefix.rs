//! `cache_purge_prefix`: up to `limit` live keys starting with the prefix.

use anp_core::cache::CachePurgePrefixParams;
use anp_core::Result;

use super::{ms, u64_param};
use crate::conn::{Conn, OpResult};
use crate::store::in_tx;
use crate::PostgresStore;

/// Purges in one transaction.
pub(crate) async fn run(s: &PostgresStore, p: CachePurgePrefixParams) -> Result<u64> {
    if p.limit == 0 {
        return Ok(0);
    }
    in_tx!(s, "cache_purge_prefix", |tx| sql(tx, &p))
}

async fn sql(c: &dyn Conn, p: &CachePurgePrefixParams) -> OpResult<u64> {
    c.execute(
        include_str!("../../../sql/cache_purge_prefix.sql"),
        &[
            &p.ns.as_str(),
            &u64_param(p.generation),
            &p.prefix,
            &ms(p.now),
            &i64::from(p.limit),
        ],
    )
    .await
}
