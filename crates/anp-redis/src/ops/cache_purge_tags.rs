//! `cache_purge_tags`: `lua/cache_purge_tags.lua` on the namespace's slot, one call for every
//! tag (each version kept `keep`).

use anp_core::cache::TagPurgeParams;
use anp_core::Result;

use crate::conn::Redis;
use crate::keys;
use crate::ops::{millis, ok};
use crate::scripts::CACHE_PURGE_TAGS;

const OP: &str = "cache_purge_tags";

/// Sets every tag's new version, atomically.
pub(crate) async fn run(r: &Redis, p: TagPurgeParams) -> Result<()> {
    if p.versions.is_empty() {
        return Ok(());
    }
    let tag_keys: Vec<String> = p
        .versions
        .iter()
        .map(|(t, _)| keys::cache_tag(&p.ns, t))
        .collect();
    let mut call = r.cache_script(&CACHE_PURGE_TAGS, &tag_keys);
    call.arg(millis(p.keep));
    for (_, version) in &p.versions {
        call.arg(version.to_string());
    }
    ok(
        r,
        OP,
        r.run(OP, vec![call]).await?.pop().unwrap_or_default(),
    )?;
    Ok(())
}
