//! `store_ping` (schema and server versions) and `store_time` (the server's clock).

use anp_core::job::ts_from_micros;
use anp_core::store::StoreInfo;
use anp_core::Result;
use jiff::Timestamp;

use crate::conn::{Conn, Failure, OpResult};
use crate::store::in_tx;
use crate::PostgresStore;

/// Pings.
pub(crate) async fn run(s: &PostgresStore) -> Result<StoreInfo> {
    in_tx!(s, "store_ping", |tx| sql(tx))
}

async fn sql(c: &dyn Conn) -> OpResult<StoreInfo> {
    let v: i32 = c
        .query_one(include_str!("../../sql/store_ping.sql"), &[])
        .await?
        .try_get(0)?;
    let server: String = c
        .query_one(include_str!("../../sql/store_ping_server.sql"), &[])
        .await?
        .try_get(0)?;
    Ok(StoreInfo {
        backend: "postgres".to_owned(),
        schema_version: u32::try_from(v)
            .map_err(|_| Failure::Damaged(format!("anp_schema holds version {v}")))?,
        server_version: format!("PostgreSQL {server}"),
    })
}

/// The server's clock.
pub(crate) async fn time(s: &PostgresStore) -> Result<Timestamp> {
    in_tx!(s, "store_time", |tx| time_sql(tx))
}

async fn time_sql(c: &dyn Conn) -> OpResult<Timestamp> {
    let us: i64 = c
        .query_one(include_str!("../../sql/store_time.sql"), &[])
        .await?
        .try_get(0)?;
    Ok(ts_from_micros(us))
}
