//! `cache_namespace_list`.

use anp_core::cache::CacheNamespace;
use anp_core::Result;

use super::namespace;
use crate::conn::{Conn, OpResult};
use crate::store::in_tx;
use crate::PostgresStore;

/// Lists.
pub(crate) async fn run(s: &PostgresStore) -> Result<Vec<CacheNamespace>> {
    in_tx!(s, "cache_namespace_list", |tx| sql(tx))
}

async fn sql(c: &dyn Conn) -> OpResult<Vec<CacheNamespace>> {
    c.query(include_str!("../../../sql/cache_namespace_list.sql"), &[])
        .await?
        .iter()
        .map(namespace)
        .collect()
}
