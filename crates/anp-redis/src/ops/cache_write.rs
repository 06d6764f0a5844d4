//! `cache_write`: unfenced, a plain `SET <entry> <bytes> PX <ttl>`; fenced by a lease,
//! `lua/cache_write.lua` on the entry and its lease (one slot: both carry `{<key>}`).

use anp_core::cache::{CacheWrite, CacheWriteParams};
use anp_core::Result;
use redis::Value;

use crate::conn::{Call, Redis};
use crate::keys;
use crate::ops::{millis, ok};
use crate::record::{bad_reply, int};
use crate::scripts::CACHE_WRITE;

const OP: &str = "cache_write";

/// Stores the entry; `LeaseLost` when fenced by a token that no longer holds the lease.
pub(crate) async fn run(r: &Redis, p: CacheWriteParams) -> Result<CacheWrite> {
    let entry = keys::cache_entry(&p.ns, p.generation, &p.key);
    let ttl = millis(p.ttl);
    let Some(token) = p.lease else {
        let v = r
            .run_one(
                OP,
                Call::keyed(
                    &entry,
                    redis::cmd("SET")
                        .arg(&entry)
                        .arg(&p.bytes)
                        .arg("PX")
                        .arg(ttl)
                        .to_owned(),
                ),
            )
            .await?;
        return match v {
            Value::Okay => Ok(CacheWrite::Applied),
            v => Err(bad_reply(OP, "OK", &v)),
        };
    };
    let lease = keys::cache_lease(&p.ns, p.generation, &p.key);
    let mut call = r.cache_script(&CACHE_WRITE, &[entry, lease]);
    call.arg(token.to_string()).arg(ttl).arg(&p.bytes);
    let v = ok(
        r,
        OP,
        r.run(OP, vec![call]).await?.pop().unwrap_or_default(),
    )?;
    match int(&v) {
        Some(1) => Ok(CacheWrite::Applied),
        Some(0) => Ok(CacheWrite::LeaseLost),
        _ => Err(bad_reply(OP, "1 (stored) or 0 (lease lost)", &v)),
    }
}
