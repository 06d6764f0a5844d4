//! `cache_lease_renew`: `lua/cache_lease_renew.lua` (compare the token, `PEXPIRE`).

use anp_core::cache::CacheLeaseParams;
use anp_core::Result;

use crate::conn::Redis;
use crate::keys;
use crate::ops::{millis, ok};
use crate::record::{bad_reply, int};
use crate::scripts::CACHE_LEASE_RENEW;

const OP: &str = "cache_lease_renew";

/// `true` when `p.token` still held the lease, now extended by `p.ttl`.
pub(crate) async fn run(r: &Redis, p: CacheLeaseParams) -> Result<bool> {
    let lease = keys::cache_lease(&p.ns, p.generation, &p.key);
    let mut call = r.cache_script(&CACHE_LEASE_RENEW, &[lease]);
    call.arg(p.token.to_string()).arg(millis(p.ttl));
    let v = ok(
        r,
        OP,
        r.run(OP, vec![call]).await?.pop().unwrap_or_default(),
    )?;
    match int(&v) {
        Some(1) => Ok(true),
        Some(0) => Ok(false),
        _ => Err(bad_reply(OP, "1 (renewed) or 0 (not held)", &v)),
    }
}
