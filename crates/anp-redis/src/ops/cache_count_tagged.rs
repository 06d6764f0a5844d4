//! `cache_count_tagged`: `SCAN MATCH anp:c:<ns>:<gen>:e:{*` on every primary, per page one
//! pipelined `GET` per key (routed to its slot), and counts the entries a purge of the tag
//! would invalidate ([`TaggedCount`]); the versions of the tags met on the way come from one
//! `MGET` per page (`cache_tag_versions`). Counting stops after [`BUDGET`] keys, and the
//! figures are then lower bounds (`exact: false`), as for `cache_usage`.

use anp_core::cache::{CacheCountTaggedParams, CacheUsage, TaggedCount};
use anp_core::Result;
use redis::Value;

use crate::conn::{Call, Redis};
use crate::keys;
use crate::ops::{cache_tag_versions, ok};
use crate::record::bad_reply;

const OP: &str = "cache_count_tagged";

/// Keys examined at most per call.
const BUDGET: usize = 100_000;

/// Counts up to the budget.
pub(crate) async fn run(r: &Redis, p: CacheCountTaggedParams) -> Result<CacheUsage> {
    let mut scan = r.scan(keys::cache_entry_pattern(&p.ns, p.generation, ""));
    let mut count = TaggedCount::new(p.tag.clone(), p.now);
    let mut seen = 0;
    while let Some(mut page) = scan.next(r, OP).await? {
        if page.is_empty() {
            continue;
        }
        let room = BUDGET - seen;
        let truncated = page.len() > room;
        if truncated {
            page.truncate(room);
            count.truncated();
        }
        seen += page.len();
        let calls = page
            .iter()
            .map(|k| Call::keyed(k, redis::cmd("GET").arg(k).to_owned()))
            .collect();
        let mut tagged = Vec::new();
        for (k, v) in page.iter().zip(r.run(OP, calls).await?) {
            match ok(r, OP, v)? {
                // Expired (or deleted) since the scan found it.
                Value::Nil => {}
                Value::BulkString(b) => {
                    if let Some(m) = TaggedCount::decode(&p.tag, &b) {
                        tagged.push((m, (k.len() + b.len()) as u64));
                    }
                }
                other => return Err(bad_reply(OP, "an envelope or nil", &other)),
            }
        }
        count
            .add_page(&tagged, |tags| {
                cache_tag_versions::run(r, p.ns.clone(), tags)
            })
            .await?;
        if truncated {
            break;
        }
    }
    Ok(count.finish())
}
