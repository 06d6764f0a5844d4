//! `cache_tag_versions`: the live versions of tags, in one snapshot.

use anp_core::cache::{Namespace, Tag};
use anp_core::Result;
use jiff::Timestamp;

use super::{ms, tag_version};
use crate::conn::{Conn, OpResult};
use crate::store::in_tx;
use crate::PostgresStore;

/// Reads.
pub(crate) async fn run(s: &PostgresStore, ns: Namespace, tags: Vec<Tag>) -> Result<Vec<u64>> {
    let now = ms(Timestamp::now());
    in_tx!(s, "cache_tag_versions", snapshot, |tx| sql(
        tx, &ns, &tags, now
    ))
}

async fn sql(c: &dyn Conn, ns: &Namespace, tags: &[Tag], now: i64) -> OpResult<Vec<u64>> {
    let mut out = Vec::with_capacity(tags.len());
    for t in tags {
        out.push(tag_version(c, ns, t, now).await?);
    }
    Ok(out)
}
