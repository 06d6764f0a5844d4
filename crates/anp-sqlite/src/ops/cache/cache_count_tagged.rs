//! `cache_count_tagged`: walks a generation's live entries by key, a page per read on the
//! reader connection, and counts those a purge of the tag would invalidate
//! ([`TaggedCount`]); the versions of the tags met on the way are read with
//! `cache_tag_versions`.

use anp_core::cache::{CacheCountTaggedParams, CacheUsage, EnvelopeMeta, Tag, TaggedCount};
use anp_core::Result;
use rusqlite::{params, Connection};

use super::{cache_tag_versions, ms, u64_param};
use crate::conn::OpResult;
use crate::SqliteStore;

/// Entries read per page.
const PAGE: i64 = 1000;

/// One page: the last key read, and the entries carrying the tag (metadata, stored size);
/// `None` at the end.
type Page = Option<(String, Vec<(EnvelopeMeta, u64)>)>;

/// Counts exactly (no budget: the file is walked in key order).
pub(crate) async fn run(s: &SqliteStore, p: CacheCountTaggedParams) -> Result<CacheUsage> {
    let mut count = TaggedCount::new(p.tag.clone(), p.now);
    let mut after = String::new();
    loop {
        let (ns, generation, now, tag) = (p.ns.clone(), p.generation, ms(p.now), p.tag.clone());
        let page: Page = s
            .read("cache_count_tagged", move |c| {
                sql(c, &ns, generation, now, &after, &tag)
            })
            .await?;
        let Some((last, tagged)) = page else { break };
        count
            .add_page(&tagged, |tags| {
                cache_tag_versions::run(s, p.ns.clone(), tags)
            })
            .await?;
        after = last;
    }
    Ok(count.finish())
}

fn sql(
    c: &Connection,
    ns: &anp_core::cache::Namespace,
    generation: u64,
    now_ms: i64,
    after: &str,
    tag: &Tag,
) -> OpResult<Page> {
    let mut stmt = c.prepare_cached(include_str!("../../../sql/cache_count_tagged.sql"))?;
    let mut rows = stmt.query(params![
        ns.as_str(),
        u64_param(generation),
        after,
        now_ms,
        PAGE
    ])?;
    let mut last = None;
    let mut tagged = Vec::new();
    while let Some(r) = rows.next()? {
        let key: String = r.get(0)?;
        let value: Vec<u8> = r.get(1)?;
        if let Some(m) = TaggedCount::decode(tag, &value) {
            tagged.push((m, (key.len() + value.len()) as u64));
        }
        last = Some(key);
    }
    Ok(last.map(|k| (k, tagged)))
}
