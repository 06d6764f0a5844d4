//! `cache_namespace_register`: `SADD anp:c:namespaces <ns>`, and on the namespace's slot
//! `HSET <meta> deploy 1|0`, `SET <gen> 0 NX` and the two reads of `cache_namespace_list`, all
//! in one pipeline (two slots in Cluster, sent concurrently). Idempotent: a registered
//! namespace keeps its generation and history; only the deploy flag is set again.

use anp_core::cache::{CacheNamespace, Namespace};
use anp_core::Result;

use crate::conn::{Call, Redis};
use crate::keys;
use crate::ops::cache_namespace_list::{decode, reads};
use crate::ops::ok;

const OP: &str = "cache_namespace_register";

/// The namespace as stored after the call.
pub(crate) async fn run(
    r: &Redis,
    ns: Namespace,
    deploy_sensitive: bool,
) -> Result<CacheNamespace> {
    let gen_key = keys::cache_gen(&ns);
    let mut calls = vec![
        Call::keyed(
            keys::CACHE_NAMESPACES,
            redis::cmd("SADD")
                .arg(keys::CACHE_NAMESPACES)
                .arg(ns.as_str())
                .to_owned(),
        ),
        Call::keyed(
            &gen_key,
            redis::cmd("HSET")
                .arg(keys::cache_meta(&ns))
                .arg("deploy")
                .arg(if deploy_sensitive { "1" } else { "0" })
                .to_owned(),
        ),
        Call::keyed(
            &gen_key,
            redis::cmd("SET").arg(&gen_key).arg(0).arg("NX").to_owned(),
        ),
    ];
    calls.extend(reads(&ns));
    let mut replies = r.run(OP, calls).await?.into_iter();
    for _ in 0..3 {
        ok(r, OP, replies.next().unwrap_or_default())?;
    }
    let generation = replies.next().unwrap_or_default();
    let meta = replies.next().unwrap_or_default();
    decode(r, OP, ns, generation, meta)
}
