//! `cache_read`: one round trip. The entry's `GET` (slot of `{<key>}`) and one `MGET` of the
//! namespace's generation and the asked tags' versions (slot of `{<ns>}`) go out together:
//! standalone in one pipeline; in Cluster as two pipelines sent concurrently (redis-rs routes a
//! pipeline by its first key and refuses one that spans slots, so [`Redis::run`] splits it by
//! slot). The `MGET` is left out when neither tags nor the generation are asked for.

use anp_core::cache::{CacheRead, CacheReadParams};
use anp_core::Result;
use redis::Value;

use crate::conn::{Call, Redis};
use crate::keys;
use crate::ops::{cache_counter, ok};
use crate::record::bad_reply;

const OP: &str = "cache_read";

/// The entry (if stored), the tags' versions (missing: 0) and the generation (missing: 0).
pub(crate) async fn run(r: &Redis, p: CacheReadParams) -> Result<CacheRead> {
    let entry = keys::cache_entry(&p.ns, p.generation, &p.key);
    let mut get = redis::cmd("GET");
    get.arg(&entry);
    let mut calls = Vec::with_capacity(2);
    calls.push(Call::keyed(&entry, get));
    let mut mget_keys = Vec::new();
    if p.with_generation || !p.tags.is_empty() {
        let gen_key = keys::cache_gen(&p.ns);
        mget_keys.reserve(p.tags.len() + 1);
        if p.with_generation {
            mget_keys.push(gen_key.clone());
        }
        mget_keys.extend(p.tags.iter().map(|t| keys::cache_tag(&p.ns, t)));
        let mut mget = redis::cmd("MGET");
        mget.arg(&mget_keys);
        calls.push(Call::keyed(&gen_key, mget));
    }
    let mut replies = r.run(OP, calls).await?.into_iter();
    let entry = match ok(r, OP, replies.next().unwrap_or_default())? {
        Value::Nil => None,
        Value::BulkString(b) => Some(b),
        v => return Err(bad_reply(OP, "the entry's bytes or nil", &v)),
    };
    let mut out = CacheRead {
        entry,
        tag_versions: Vec::with_capacity(p.tags.len()),
        generation: None,
    };
    if mget_keys.is_empty() {
        return Ok(out);
    }
    let v = ok(r, OP, replies.next().unwrap_or_default())?;
    let Value::Array(values) = v else {
        return Err(bad_reply(OP, "one value per key of the MGET", &v));
    };
    if values.len() != mget_keys.len() {
        return Err(bad_reply(
            OP,
            "one value per key of the MGET",
            &Value::Array(values),
        ));
    }
    let mut found = mget_keys.iter().zip(&values);
    if p.with_generation {
        if let Some((key, v)) = found.next() {
            out.generation = Some(cache_counter(OP, key, v)?);
        }
    }
    for (key, v) in found {
        out.tag_versions.push(cache_counter(OP, key, v)?);
    }
    Ok(out)
}
