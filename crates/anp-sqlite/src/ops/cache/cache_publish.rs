//! `cache_publish`: appends a change to `cache_changes`, the feed every watcher polls. One write
//! transaction; the row's seq is assigned under the write lock, so seqs become visible in order.

use anp_core::cache::Invalidation;
use anp_core::Result;
use jiff::Timestamp;
use rusqlite::{params, Connection};

use super::ms;
use crate::conn::OpResult;
use crate::row::to_json;
use crate::SqliteStore;

/// Appends in one write transaction.
pub(crate) async fn run(s: &SqliteStore, origin: String, change: Invalidation) -> Result<()> {
    s.write("cache_publish", move |c| sql(c, &origin, &change))
        .await
}

fn sql(c: &Connection, origin: &str, change: &Invalidation) -> OpResult<()> {
    c.prepare_cached(include_str!("../../../sql/cache_publish.sql"))?
        .execute(params![
            ms(Timestamp::now()),
            origin,
            to_json(change, "cache_publish")?
        ])?;
    Ok(())
}
