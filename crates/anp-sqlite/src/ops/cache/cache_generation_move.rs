//! `cache_generation_move`: moves a namespace to a new generation (deploy) or back to the newest
//! one of its history (rollback). Read, decide and update in one write transaction.

use anp_core::cache::{CacheNamespace, GenerationMove, Namespace};
use anp_core::{Error, Result};
use rusqlite::{params, Connection};

use super::{namespace, u64_column, u64_param};
use crate::conn::OpResult;
use crate::row::{self, to_json};
use crate::SqliteStore;

const OP: &str = "cache_generation_move";

/// Moves in one write transaction. `NotFound` for an unregistered namespace, `Conflict` for a
/// rollback with no history.
pub(crate) async fn run(
    s: &SqliteStore,
    ns: Namespace,
    to: GenerationMove,
) -> Result<CacheNamespace> {
    s.write(OP, move |c| sql(c, &ns, &to)).await
}

fn sql(c: &Connection, ns: &Namespace, to: &GenerationMove) -> OpResult<CacheNamespace> {
    let mut read = c.prepare_cached(include_str!("../../../sql/cache_generation_move_read.sql"))?;
    let mut rows = read.query([ns.as_str()])?;
    let Some(r) = rows.next()? else {
        return Err(Error::not_found(
            OP,
            format!(
                "cache namespace {ns} is not registered: expected a namespace the cache has used \
                 (registered on first use)"
            ),
        )
        .into());
    };
    let mut ns_row = namespace(r)?;
    let max = u64_column(row::int(r, 4, "max_generation")?);
    drop(rows);
    let max = max.max(ns_row.generation);
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
    c.prepare_cached(include_str!("../../../sql/cache_generation_move.sql"))?
        .execute(params![
            ns.as_str(),
            u64_param(ns_row.generation),
            to_json(&ns_row.history, OP)?,
            u64_param(new_max)
        ])?;
    Ok(ns_row)
}
