//! `store_ping`: a round trip on the reader connection.

use anp_core::store::StoreInfo;
use rusqlite::Connection;

use crate::conn::{Failure, OpResult};

/// What the store says about itself.
pub(crate) fn run(c: &Connection) -> OpResult<StoreInfo> {
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
