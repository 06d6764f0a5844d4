//! `cache_delete`: deletes keys (expired rows too) and counts those that were live. One write
//! transaction.

use anp_core::cache::CacheDeleteParams;
use anp_core::Result;
use rusqlite::{params, Connection};

use super::{ms, u64_param};
use crate::conn::OpResult;
use crate::SqliteStore;

/// Deletes in one write transaction; no keys, no transaction.
pub(crate) async fn run(s: &SqliteStore, p: CacheDeleteParams) -> Result<u64> {
    if p.keys.is_empty() {
        return Ok(0);
    }
    s.write("cache_delete", move |c| sql(c, &p)).await
}

fn sql(c: &Connection, p: &CacheDeleteParams) -> OpResult<u64> {
    let mut stmt = c.prepare_cached(include_str!("../../../sql/cache_delete.sql"))?;
    let (generation, now) = (u64_param(p.generation), ms(p.now));
    let mut live = 0;
    for key in &p.keys {
        let mut rows = stmt.query(params![p.ns.as_str(), generation, key.as_str(), now])?;
        while let Some(r) = rows.next()? {
            if r.get::<_, bool>(0)? {
                live += 1;
            }
        }
    }
    Ok(live)
}
