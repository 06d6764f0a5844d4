//! `cache_namespace_register`.

use anp_core::cache::{CacheNamespace, Namespace};
use anp_core::Result;

use super::namespace;
use crate::conn::{Conn, OpResult};
use crate::store::in_tx;
use crate::PostgresStore;

/// Registers in one transaction.
pub(crate) async fn run(
    s: &PostgresStore,
    ns: Namespace,
    deploy_sensitive: bool,
) -> Result<CacheNamespace> {
    in_tx!(s, "cache_namespace_register", |tx| sql(
        tx,
        &ns,
        deploy_sensitive
    ))
}

async fn sql(c: &dyn Conn, ns: &Namespace, deploy_sensitive: bool) -> OpResult<CacheNamespace> {
    let r = c
        .query_one(
            include_str!("../../../sql/cache_namespace_register.sql"),
            &[&ns.as_str(), &deploy_sensitive],
        )
        .await?;
    namespace(&r)
}
