//! `cache_stats_query`: flushes in a range, optionally of one namespace.

use anp_core::cache::{CacheStatsQueryParams, CacheStatsRecord};
use anp_core::Result;

use super::ms;
use crate::conn::{Conn, OpResult};
use crate::row;
use crate::store::in_tx;
use crate::PostgresStore;

/// Reads.
pub(crate) async fn run(
    s: &PostgresStore,
    p: CacheStatsQueryParams,
) -> Result<Vec<CacheStatsRecord>> {
    in_tx!(s, "cache_stats_query", |tx| sql(tx, &p))
}

async fn sql(c: &dyn Conn, p: &CacheStatsQueryParams) -> OpResult<Vec<CacheStatsRecord>> {
    let (since, until) = (ms(p.since), ms(p.until));
    let rows = match &p.ns {
        Some(ns) => {
            c.query(
                include_str!("../../../sql/cache_stats_query_ns.sql"),
                &[&since, &until, &ns.as_str()],
            )
            .await?
        }
        None => {
            c.query(
                include_str!("../../../sql/cache_stats_query.sql"),
                &[&since, &until],
            )
            .await?
        }
    };
    rows.iter()
        .map(|r| serde_json::from_str(row::text(r, 0)?).map_err(|e| row::damaged("record", e)))
        .collect()
}
