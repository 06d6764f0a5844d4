//! `cache_publish`: one change on the invalidation feed, under the publish lock (seq order is
//! commit order).

use anp_core::cache::Invalidation;
use anp_core::Result;
use jiff::Timestamp;

use super::ms;
use crate::conn::{Conn, OpResult};
use crate::row::to_json;
use crate::store::in_tx;
use crate::PostgresStore;

/// Publishes in one transaction.
pub(crate) async fn run(s: &PostgresStore, origin: String, change: Invalidation) -> Result<()> {
    in_tx!(s, "cache_publish", |tx| sql(tx, &origin, &change))
}

async fn sql(c: &dyn Conn, origin: &str, change: &Invalidation) -> OpResult<()> {
    c.query(include_str!("../../../sql/cache_publish_lock.sql"), &[])
        .await?;
    c.execute(
        include_str!("../../../sql/cache_publish.sql"),
        &[
            &ms(Timestamp::now()),
            &origin,
            &to_json(change, "cache_publish")?,
        ],
    )
    .await?;
    Ok(())
}
