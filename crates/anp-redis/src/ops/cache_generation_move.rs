//! `cache_generation_move`: `lua/cache_generation_move.lua` on the namespace's slot (its
//! generation and metadata): a deploy pushes the current generation on the history and moves
//! to one never used; a rollback pops the newest one.

use anp_core::cache::{CacheNamespace, GenerationMove, Namespace};
use anp_core::{Error, Result};

use crate::conn::Redis;
use crate::keys;
use crate::ops::cache_namespace_list::history;
use crate::ops::{anp_error, ok};
use crate::record::{bad_reply, items, text};
use crate::scripts::CACHE_GENERATION_MOVE;

const OP: &str = "cache_generation_move";

/// The namespace as stored after the move. `NotFound` for a namespace never registered,
/// `Conflict` for a rollback with no earlier generation.
pub(crate) async fn run(r: &Redis, ns: Namespace, to: GenerationMove) -> Result<CacheNamespace> {
    let mut call = r.cache_script(
        &CACHE_GENERATION_MOVE,
        &[keys::cache_gen(&ns), keys::cache_meta(&ns)],
    );
    call.arg(match to {
        GenerationMove::Next => "next",
        GenerationMove::Previous => "previous",
    });
    let v = r.run(OP, vec![call]).await?.pop().unwrap_or_default();
    match anp_error(&v) {
        Some(("ANP_NOT_FOUND", _)) => {
            return Err(Error::not_found(
                OP,
                format!(
                    "cache namespace {ns} not found: expected a namespace registered by a cache \
                     that uses it"
                ),
            ))
        }
        Some(("ANP_CONFLICT", _)) => {
            return Err(Error::conflict(
                OP,
                format!(
                    "cache namespace {ns} has no earlier generation to roll back to: expected a \
                     deploy mark before the rollback"
                ),
            ))
        }
        _ => {}
    }
    let v = ok(r, OP, v)?;
    let parts = items(v.clone()).unwrap_or_default();
    let generation = parts
        .first()
        .and_then(text)
        .and_then(|g| g.parse::<u64>().ok());
    let (Some(generation), Some(hist), Some(deploy)) = (
        generation,
        parts.get(1).and_then(text),
        parts.get(2).and_then(text),
    ) else {
        return Err(bad_reply(OP, "[generation, history, deploy]", &v));
    };
    Ok(CacheNamespace {
        history: history(OP, &ns, Some(hist))?,
        deploy_sensitive: deploy == "1",
        generation,
        ns,
    })
}
