//! `cache_lease_acquire`: `SET <lease> <token> NX PX <ttl>`.

use anp_core::cache::CacheLeaseParams;
use anp_core::Result;
use redis::Value;

use crate::conn::{Call, Redis};
use crate::keys;
use crate::ops::millis;
use crate::record::bad_reply;

const OP: &str = "cache_lease_acquire";

/// `true` when the lease was free and is now held with `p.token`.
pub(crate) async fn run(r: &Redis, p: CacheLeaseParams) -> Result<bool> {
    let lease = keys::cache_lease(&p.ns, p.generation, &p.key);
    let v = r
        .run_one(
            OP,
            Call::keyed(
                &lease,
                redis::cmd("SET")
                    .arg(&lease)
                    .arg(p.token.to_string())
                    .arg("NX")
                    .arg("PX")
                    .arg(millis(p.ttl))
                    .to_owned(),
            ),
        )
        .await?;
    match v {
        Value::Okay => Ok(true),
        Value::Nil => Ok(false),
        v => Err(bad_reply(OP, "OK or nil", &v)),
    }
}
