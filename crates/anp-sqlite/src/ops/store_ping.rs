//! `store_ping`: a round trip on the reader connection.

use anp_core::store::StoreInfo;
use anp_core::Result;
use rusqlite::Connection;

use crate::conn::{Failure, OpResult};
use crate::SqliteStore;

/// Pings on the reader connection.
pub(crate) async fn run(s: &SqliteStore) -> Result<StoreInfo> {
    s.read("store_ping", |c| sql(c)).await
}

/// What the store says about itself.
fn sql(c: &Connection) -> OpResult<StoreInfo> {
    let v: i64 = c
        .prepare_cached(include_str!("../../sql/store_ping.sql"))?
        .query_row([], |r| r.get(0))?;
    Ok(StoreInfo {
        backend: "sqlite".to_owned(),
        schema_version: u32::try_from(v)
            .map_err(|_| Failure::Damaged(format!("anp_schema holds version {v}")))?,
        server_version: rusqlite::version().to_owned(),
    })
}
