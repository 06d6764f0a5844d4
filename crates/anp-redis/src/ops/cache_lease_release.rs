//! `cache_lease_release`: `lua/cache_lease_release.lua` (compare the token, `DEL`).

use anp_core::cache::CacheLeaseParams;
use anp_core::Result;

use crate::conn::Redis;
use crate::keys;
use crate::ops::ok;
use crate::scripts::CACHE_LEASE_RELEASE;

const OP: &str = "cache_lease_release";

/// Removes the lease if `p.token` holds it (a lease held by another token stays).
pub(crate) async fn run(r: &Redis, p: CacheLeaseParams) -> Result<()> {
    let lease = keys::cache_lease(&p.ns, p.generation, &p.key);
    let mut call = r.cache_script(&CACHE_LEASE_RELEASE, &[lease]);
    call.arg(p.token.to_string());
    ok(
        r,
        OP,
        r.run(OP, vec![call]).await?.pop().unwrap_or_default(),
    )?;
    Ok(())
}
