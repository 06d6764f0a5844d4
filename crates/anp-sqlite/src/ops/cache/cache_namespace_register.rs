//! `cache_namespace_register`: records a namespace (generation 0, no history) or updates its
//! deploy-sensitive flag, and returns it as stored. One write transaction, one upsert.

use anp_core::cache::{CacheNamespace, Namespace};
use anp_core::{Error, Result};
use rusqlite::{params, Connection};

use super::namespace;
use crate::conn::{Failure, OpResult};
use crate::SqliteStore;

/// Upserts in one write transaction.
pub(crate) async fn run(
    s: &SqliteStore,
    ns: Namespace,
    deploy_sensitive: bool,
) -> Result<CacheNamespace> {
    s.write("cache_namespace_register", move |c| {
        sql(c, &ns, deploy_sensitive)
    })
    .await
}

fn sql(c: &Connection, ns: &Namespace, deploy_sensitive: bool) -> OpResult<CacheNamespace> {
    let mut stmt = c.prepare_cached(include_str!("../../../sql/cache_namespace_register.sql"))?;
    let mut rows = stmt.query(params![ns.as_str(), deploy_sensitive])?;
    match rows.next()? {
        Some(r) => namespace(r),
        None => Err(Failure::Anp(Error::internal(
            "cache_namespace_register",
            format!("recording namespace {ns} returned no row: expected the row as stored"),
        ))),
    }
}
