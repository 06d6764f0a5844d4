//! `cache_count_tagged`: walks a generation's live entries by key, a page per statement, in
//! one snapshot, and counts those a purge of the tag would invalidate ([`TaggedCount`]),
//! reading the versions of the tags met on the way in the same snapshot.

use anp_core::cache::{CacheCountTaggedParams, CacheUsage, TaggedCount};
use anp_core::Result;

use super::{ms, tag_version, u64_param};
use crate::conn::{Conn, OpResult};
use crate::store::in_tx;
use crate::PostgresStore;

/// Entries read per page.
const PAGE: i64 = 1000;

/// Counts exactly, in one snapshot.
pub(crate) async fn run(s: &PostgresStore, p: CacheCountTaggedParams) -> Result<CacheUsage> {
    in_tx!(s, "cache_count_tagged", snapshot, |tx| sql(tx, &p))
}

async fn sql(c: &dyn Conn, p: &CacheCountTaggedParams) -> OpResult<CacheUsage> {
    let now = ms(p.now);
    let mut count = TaggedCount::new(p.tag.clone(), p.now);
    let mut after = String::new();
    loop {
        let rows = c
            .query(
                include_str!("../../../sql/cache_count_tagged.sql"),
                &[
                    &p.ns.as_str(),
                    &u64_param(p.generation),
                    &after.as_str(),
                    &now,
                    &PAGE,
                ],
            )
            .await?;
        let Some(last) = rows.last() else { break };
        let last: String = last.try_get(0)?;
        let mut tagged = Vec::new();
        for r in &rows {
            let key: &str = r.try_get(0)?;
            let value: &[u8] = r.try_get(1)?;
            if let Some(m) = TaggedCount::decode(&p.tag, value) {
                tagged.push((m, (key.len() + value.len()) as u64));
            }
        }
        // In the walk's snapshot, one statement per tag not seen yet.
        count
            .add_page(&tagged, |tags| async move {
                let mut versions = Vec::with_capacity(tags.len());
                for t in &tags {
                    versions.push(tag_version(c, &p.ns, t, now).await?);
                }
                OpResult::Ok(versions)
            })
            .await?;
        after = last;
    }
    Ok(count.finish())
}
