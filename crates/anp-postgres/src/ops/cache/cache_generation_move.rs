//! `cache_generation_move`: a deploy (`Next`) or a rollback (`Previous`) of a namespace.

use anp_core::cache::{CacheNamespace, GenerationMove, Namespace};
use anp_core::{Error, Result};

use super::{namespace, u64_column, u64_param};
use crate::conn::{Conn, OpResult};
use crate::row::{self, to_json};
use crate::store::in_tx;
use crate::PostgresStore;

const OP: &str = "cache_generation_move";

/// Moves in one transaction (the namespace's row locked).
pub(crate) async fn run(
    s: &PostgresStore,
    ns: Namespace,
    to: GenerationMove,
) -> Result<CacheNamespace> {
    in_tx!(s, OP, |tx| sql(tx, &ns, &to))
}

async fn sql(c: &dyn Conn, ns: &Namespace, to: &GenerationMove) -> OpResult<CacheNamespace> {
    let Some(r) = c
        .query_opt(
            include_str!("../../../sql/cache_generation_move_read.sql"),
            &[&ns.as_str()],
        )
        .await?
    else {
        return Err(Error::not_found(
            OP,
            format!(
                "cache namespace {ns} is not registered: expected a namespace the cache has used \
                 (registered on first use)"
            ),
        )
        .into());
    };
    let mut ns_row = namespace(&r)?;
    let max = u64_column(row::int(&r, 4)?).max(ns_row.generation);
    let new_max = match to {
        GenerationMove::Next => {
            let next = max.checked_add(1).ok_or_else(|| {
                Error::conflict(
                    OP,
                    format!(
                        "cache namespace {ns} has used generation {max}: expected a generation \
                         below {} to move past",
                        u64::MAX
                    ),
                )
            })?;
            ns_row.history.push(ns_row.generation);
            ns_row.generation = next;
            next
        }
        GenerationMove::Previous => {
            let Some(previous) = ns_row.history.pop() else {
                return Err(Error::conflict(
                    OP,
                    format!(
                        "cache namespace {ns} is at generation {} with no earlier generation in its \
                         history: expected a namespace moved by at least one deploy since the last \
                         rollback",
                        ns_row.generation
                    ),
                )
                .into());
            };
            ns_row.generation = previous;
            max
        }
    };
    c.execute(
        include_str!("../../../sql/cache_generation_move.sql"),
        &[
            &ns.as_str(),
            &u64_param(ns_row.generation),
            &to_json(&ns_row.history, OP)?,
            &u64_param(new_max),
        ],
    )
    .await?;
    Ok(ns_row)
}
