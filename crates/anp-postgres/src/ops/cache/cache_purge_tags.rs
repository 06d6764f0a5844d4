//! `cache_purge_tags`: sets tag versions.

use anp_core::cache::TagPurgeParams;
use anp_core::Result;

use super::{ms_after, u64_param};
use crate::conn::{Conn, OpResult};
use crate::store::in_tx;
use crate::PostgresStore;

/// Purges in one transaction.
pub(crate) async fn run(s: &PostgresStore, p: TagPurgeParams) -> Result<()> {
    if p.versions.is_empty() {
        return Ok(());
    }
    in_tx!(s, "cache_purge_tags", |tx| sql(tx, &p))
}

async fn sql(c: &dyn Conn, p: &TagPurgeParams) -> OpResult<()> {
    let until = ms_after(p.now, p.keep);
    for (tag, version) in &p.versions {
        c.execute(
            include_str!("../../../sql/cache_purge_tags.sql"),
            &[&p.ns.as_str(), &tag.as_str(), &u64_param(*version), &until],
        )
        .await?;
    }
    Ok(())
}
