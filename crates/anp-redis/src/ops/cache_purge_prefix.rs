//! `cache_purge_prefix`: `SCAN MATCH anp:c:<ns>:<gen>:e:{<prefix>*` on every primary (glob
//! characters of the namespace and prefix escaped), then one `UNLINK` per key found, each
//! routed to its key's slot, until `limit` keys were removed or every primary was walked.

use anp_core::cache::CachePurgePrefixParams;
use anp_core::Result;

use crate::conn::{Call, Redis};
use crate::keys;
use crate::ops::cache_delete::unlinked;

const OP: &str = "cache_purge_prefix";

/// How many entries were removed (at most `limit`; 0 when none is left).
pub(crate) async fn run(r: &Redis, p: CachePurgePrefixParams) -> Result<u64> {
    let limit = u64::from(p.limit);
    let mut scan = r.scan(keys::cache_entry_pattern(&p.ns, p.generation, &p.prefix));
    let mut removed = 0;
    while removed < limit {
        let Some(page) = scan.next(r, OP).await? else {
            break;
        };
        let room = usize::try_from(limit - removed).unwrap_or(usize::MAX);
        let calls: Vec<Call> = page
            .into_iter()
            .take(room)
            .map(|k| Call::keyed(&k, redis::cmd("UNLINK").arg(&k).to_owned()))
            .collect();
        if !calls.is_empty() {
            removed += unlinked(r, OP, calls).await?;
        }
    }
    Ok(removed)
}
