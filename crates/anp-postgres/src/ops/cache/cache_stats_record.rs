//! `cache_stats_record`: one flush of a process's counters.

use anp_core::cache::CacheStatsRecord;
use anp_core::Result;

use super::ms;
use crate::conn::{Conn, OpResult};
use crate::row::to_json;
use crate::store::in_tx;
use crate::PostgresStore;

/// Records in one transaction.
pub(crate) async fn run(s: &PostgresStore, r: CacheStatsRecord) -> Result<()> {
    in_tx!(s, "cache_stats_record", |tx| sql(tx, &r))
}

async fn sql(c: &dyn Conn, r: &CacheStatsRecord) -> OpResult<()> {
    c.execute(
        include_str!("../../../sql/cache_stats_record.sql"),
        &[
            &ms(r.at),
            &r.ns.as_str(),
            &to_json(r, "cache_stats_record")?,
        ],
    )
    .await?;
    Ok(())
}
