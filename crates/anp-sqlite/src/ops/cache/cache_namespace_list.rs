//! `cache_namespace_list`: every recorded namespace, by name, on the reader connection.

use anp_core::cache::CacheNamespace;
use anp_core::Result;
use rusqlite::Connection;

use super::namespace;
use crate::conn::OpResult;
use crate::SqliteStore;

/// Reads on the reader connection.
pub(crate) async fn run(s: &SqliteStore) -> Result<Vec<CacheNamespace>> {
    s.read("cache_namespace_list", |c| sql(c)).await
}

fn sql(c: &Connection) -> OpResult<Vec<CacheNamespace>> {
    let mut stmt = c.prepare_cached(include_str!("../../../sql/cache_namespace_list.sql"))?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(namespace(r)?);
    }
    Ok(out)
}
