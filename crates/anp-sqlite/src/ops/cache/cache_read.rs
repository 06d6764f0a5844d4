//! `cache_read`: one entry, the versions of the tags asked for and (when asked) the namespace's
//! generation, in one read transaction on the reader connection (one snapshot: a purge or a
//! generation move commits entirely before or after it).

use anp_core::cache::{CacheRead, CacheReadParams};
use anp_core::Result;
use rusqlite::{params, Connection, OptionalExtension};

use super::{ms, tag_version, u64_column, u64_param};
use crate::conn::OpResult;
use crate::SqliteStore;

/// Reads in one transaction on the reader connection.
pub(crate) async fn run(s: &SqliteStore, p: CacheReadParams) -> Result<CacheRead> {
    s.read("cache_read", move |c| {
        let tx = c.transaction()?;
        let out = sql(&tx, &p)?;
        tx.commit()?;
        Ok(out)
    })
    .await
}

fn sql(c: &Connection, p: &CacheReadParams) -> OpResult<CacheRead> {
    let now = ms(p.now);
    let entry = c
        .prepare_cached(include_str!("../../../sql/cache_read.sql"))?
        .query_row(
            params![p.ns.as_str(), u64_param(p.generation), p.key.as_str(), now],
            |r| r.get::<_, Vec<u8>>(0),
        )
        .optional()?;
    let tag_versions = p
        .tags
        .iter()
        .map(|t| tag_version(c, &p.ns, t, now))
        .collect::<OpResult<Vec<u64>>>()?;
    let generation = if p.with_generation {
        let g = c
            .prepare_cached(include_str!("../../../sql/cache_read_generation.sql"))?
            .query_row([p.ns.as_str()], |r| r.get::<_, i64>(0))
            .optional()?;
        Some(g.map_or(0, u64_column))
    } else {
        None
    };
    Ok(CacheRead {
        entry,
        tag_versions,
        generation,
    })
}
