//! `cache_delete`: one `UNLINK` per entry, pipelined; in Cluster each goes to its key's slot
//! (a multi-key `UNLINK` would span slots).

use anp_core::cache::CacheDeleteParams;
use anp_core::Result;

use crate::conn::{Call, Redis};
use crate::keys;
use crate::ops::ok;
use crate::record::{bad_reply, int};

const OP: &str = "cache_delete";

/// How many of the keys were stored.
pub(crate) async fn run(r: &Redis, p: CacheDeleteParams) -> Result<u64> {
    let calls: Vec<Call> = p
        .keys
        .iter()
        .map(|k| {
            let entry = keys::cache_entry(&p.ns, p.generation, k);
            Call::keyed(&entry, redis::cmd("UNLINK").arg(&entry).to_owned())
        })
        .collect();
    unlinked(r, OP, calls).await
}

/// Sends `UNLINK` calls and adds up how many keys they removed.
pub(crate) async fn unlinked(r: &Redis, op: &str, calls: Vec<Call>) -> Result<u64> {
    let mut n = 0;
    for v in r.run(op, calls).await? {
        let v = ok(r, op, v)?;
        n += int(&v)
            .and_then(|i| u64::try_from(i).ok())
            .ok_or_else(|| bad_reply(op, "a count of removed keys", &v))?;
    }
    Ok(n)
}
