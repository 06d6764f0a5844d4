//! `cache_read`: an entry, its tags' versions and the namespace's generation, in one snapshot.

use anp_core::cache::{CacheRead, CacheReadParams};
use anp_core::Result;

use super::{ms, tag_version, u64_column, u64_param};
use crate::conn::{Conn, OpResult};
use crate::row;
use crate::store::in_tx;
use crate::PostgresStore;

/// Reads in one snapshot.
pub(crate) async fn run(s: &PostgresStore, p: CacheReadParams) -> Result<CacheRead> {
    if p.tags.is_empty() && !p.with_generation {
        // One statement: its own snapshot.
        return in_tx!(s, "cache_read", |tx| sql(tx, &p));
    }
    in_tx!(s, "cache_read", snapshot, |tx| sql(tx, &p))
}

async fn sql(c: &dyn Conn, p: &CacheReadParams) -> OpResult<CacheRead> {
    let now = ms(p.now);
    let entry = match c
        .query_opt(
            include_str!("../../../sql/cache_read.sql"),
            &[
                &p.ns.as_str(),
                &u64_param(p.generation),
                &p.key.as_str(),
                &now,
            ],
        )
        .await?
    {
        Some(r) => Some(r.try_get::<_, Vec<u8>>(0)?),
        None => None,
    };
    let mut tag_versions = Vec::with_capacity(p.tags.len());
    for t in &p.tags {
        tag_versions.push(tag_version(c, &p.ns, t, now).await?);
    }
    let generation = if p.with_generation {
        let g = c
            .query_opt(
                include_str!("../../../sql/cache_read_generation.sql"),
                &[&p.ns.as_str()],
            )
            .await?;
        Some(match g {
            Some(r) => u64_column(row::int(&r, 0)?),
            None => 0,
        })
    } else {
        None
    };
    Ok(CacheRead {
        entry,
        tag_versions,
        generation,
    })
}
