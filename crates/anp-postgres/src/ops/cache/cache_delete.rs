//! `cache_delete`: deletes keys, counting those that were live.

use anp_core::cache::CacheDeleteParams;
use anp_core::Result;

use super::{ms, u64_param};
use crate::conn::{Conn, OpResult};
use crate::store::in_tx;
use crate::PostgresStore;

/// Deletes in one transaction.
pub(crate) async fn run(s: &PostgresStore, p: CacheDeleteParams) -> Result<u64> {
    if p.keys.is_empty() {
        return Ok(0);
    }
    in_tx!(s, "cache_delete", |tx| sql(tx, &p))
}

async fn sql(c: &dyn Conn, p: &CacheDeleteParams) -> OpResult<u64> {
    let (generation, now) = (u64_param(p.generation), ms(p.now));
    let mut live = 0;
    for key in &p.keys {
        for r in c
            .query(
                include_str!("../../../sql/cache_delete.sql"),
                &[&p.ns.as_str(), &generation, &key.as_str(), &now],
            )
            .await?
        {
            if r.try_get::<_, bool>(0)? {
                live += 1;
            }
        }
    }
    Ok(live)
}
