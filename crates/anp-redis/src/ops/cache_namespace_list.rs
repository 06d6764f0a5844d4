//! `cache_namespace_list`: `SMEMBERS anp:c:namespaces`, then for each namespace a `GET` of its
//! generation and an `HMGET` of its metadata, pipelined (in Cluster: per namespace slot,
//! concurrently). [`reads`] and [`decode`] are shared with `cache_namespace_register`.

use anp_core::cache::{CacheNamespace, Namespace};
use anp_core::{Error, Result};
use redis::Value;

use crate::conn::{Call, Redis};
use crate::keys;
use crate::ops::{cache_counter, ok};
use crate::record::{bad_reply, items, text};

const OP: &str = "cache_namespace_list";

/// Every registered namespace, by name.
pub(crate) async fn run(r: &Redis) -> Result<Vec<CacheNamespace>> {
    let v = r
        .run_one(
            OP,
            Call::keyed(
                keys::CACHE_NAMESPACES,
                redis::cmd("SMEMBERS")
                    .arg(keys::CACHE_NAMESPACES)
                    .to_owned(),
            ),
        )
        .await?;
    let mut names: Vec<Namespace> = Vec::new();
    for m in items(v.clone()).ok_or_else(|| bad_reply(OP, "a set of namespaces", &v))? {
        match text(&m).map(Namespace::parse) {
            Some(Ok(ns)) => names.push(ns),
            _ => tracing::warn!(
                member = ?m,
                set = keys::CACHE_NAMESPACES,
                "skipping a member that is not a cache namespace"
            ),
        }
    }
    names.sort();
    let calls = names.iter().flat_map(reads).collect();
    let mut replies = r.run(OP, calls).await?.into_iter();
    let mut out = Vec::with_capacity(names.len());
    for ns in names {
        let generation = replies.next().unwrap_or_default();
        let meta = replies.next().unwrap_or_default();
        out.push(decode(r, OP, ns, generation, meta)?);
    }
    Ok(out)
}

/// The two reads of a namespace: `GET` of its generation, `HMGET` of `deploy` and `history`.
pub(crate) fn reads(ns: &Namespace) -> [Call; 2] {
    let gen_key = keys::cache_gen(ns);
    [
        Call::keyed(&gen_key, redis::cmd("GET").arg(&gen_key).to_owned()),
        Call::keyed(
            &gen_key,
            redis::cmd("HMGET")
                .arg(keys::cache_meta(ns))
                .arg("deploy")
                .arg("history")
                .to_owned(),
        ),
    ]
}

/// The namespace from the replies of [`reads`].
pub(crate) fn decode(
    r: &Redis,
    op: &str,
    ns: Namespace,
    generation: Value,
    meta: Value,
) -> Result<CacheNamespace> {
    let generation = cache_counter(op, &keys::cache_gen(&ns), &ok(r, op, generation)?)?;
    let meta = ok(r, op, meta)?;
    let fields = items(meta.clone()).ok_or_else(|| bad_reply(op, "deploy and history", &meta))?;
    let deploy_sensitive = fields.first().and_then(text) == Some("1");
    let history = history(op, &ns, fields.get(1).and_then(text))?;
    Ok(CacheNamespace {
        ns,
        deploy_sensitive,
        generation,
        history,
    })
}

/// The `history` field: a JSON array of generations, oldest first (absent: empty).
pub(crate) fn history(op: &str, ns: &Namespace, field: Option<&str>) -> Result<Vec<u64>> {
    let Some(json) = field else {
        return Ok(Vec::new());
    };
    serde_json::from_str(json).map_err(|e| {
        Error::incompatible(
            op,
            format!(
                "cache namespace {ns} has a damaged history {json:?} in {} ({e}): expected a \
                 JSON array of generations (docs/redis-keys.md)",
                keys::cache_meta(ns)
            ),
        )
    })
}
