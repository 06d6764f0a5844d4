//! `cache_purge_tags`: sets each tag's version, kept until `now + keep`. One write transaction.

use anp_core::cache::TagPurgeParams;
use anp_core::Result;
use rusqlite::{params, Connection};

use super::{ms_after, u64_param};
use crate::conn::OpResult;
use crate::SqliteStore;

/// Upserts in one write transaction; no tags, no transaction.
pub(crate) async fn run(s: &SqliteStore, p: TagPurgeParams) -> Result<()> {
    if p.versions.is_empty() {
        return Ok(());
    }
    s.write("cache_purge_tags", move |c| sql(c, &p)).await
}

fn sql(c: &Connection, p: &TagPurgeParams) -> OpResult<()> {
    let mut stmt = c.prepare_cached(include_str!("../../../sql/cache_purge_tags.sql"))?;
    let until = ms_after(p.now, p.keep);
    for (tag, version) in &p.versions {
        stmt.execute(params![
            p.ns.as_str(),
            tag.as_str(),
            u64_param(*version),
            until
        ])?;
    }
    Ok(())
}
