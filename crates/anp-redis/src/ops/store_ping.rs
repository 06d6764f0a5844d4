//! `store_ping`: one round trip reading the key-layout version.

use anp_core::store::StoreInfo;
use anp_core::Result;

use crate::conn::{Call, Redis};
use crate::keys;
use crate::record::int;

const OP: &str = "store_ping";

/// Backend, layout version and server version.
pub(crate) async fn run(r: &Redis, server_version: &str) -> Result<StoreInfo> {
    let v = r
        .run_one(
            OP,
            Call::global(redis::cmd("GET").arg(keys::SCHEMA).to_owned()),
        )
        .await?;
    Ok(StoreInfo {
        backend: "redis".to_owned(),
        schema_version: int(&v)
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(crate::SCHEMA_VERSION),
        server_version: server_version.to_owned(),
    })
}
