//! `cache_usage`: live entries and bytes of one namespace generation (exact).

use anp_core::cache::{CacheUsage, Namespace};
use anp_core::Result;
use jiff::Timestamp;

use super::{ms, u64_param};
use crate::conn::{Conn, OpResult};
use crate::row;
use crate::store::in_tx;
use crate::PostgresStore;

/// Counts.
pub(crate) async fn run(
    s: &PostgresStore,
    ns: Namespace,
    generation: u64,
    now: Timestamp,
) -> Result<CacheUsage> {
    in_tx!(s, "cache_usage", |tx| sql(tx, &ns, generation, now))
}

async fn sql(
    c: &dyn Conn,
    ns: &Namespace,
    generation: u64,
    now: Timestamp,
) -> OpResult<CacheUsage> {
    let r = c
        .query_one(
            include_str!("../../../sql/cache_usage.sql"),
            &[&ns.as_str(), &u64_param(generation), &ms(now)],
        )
        .await?;
    let n = |i: usize, col: &str| -> OpResult<u64> {
        let v = row::int(&r, i)?;
        u64::try_from(v).map_err(|_| row::damaged(col, format!("{v} is negative")))
    };
    Ok(CacheUsage {
        entries: n(0, "count")?,
        bytes: n(1, "bytes")?,
        exact: true,
    })
}
