//! `cache_tag_versions`: the current version of each tag, in one read transaction on the reader
//! connection.

use anp_core::cache::{Namespace, Tag};
use anp_core::Result;
use jiff::Timestamp;

use super::{ms, tag_version};
use crate::SqliteStore;

/// Reads in one transaction on the reader connection. The trait passes no `now`: a version is
/// live until its `expires_at` by this host's clock.
pub(crate) async fn run(s: &SqliteStore, ns: Namespace, tags: Vec<Tag>) -> Result<Vec<u64>> {
    let now = ms(Timestamp::now());
    s.read("cache_tag_versions", move |c| {
        let tx = c.transaction()?;
        let out = tags
            .iter()
            .map(|t| tag_version(&tx, &ns, t, now))
            .collect::<crate::conn::OpResult<Vec<u64>>>()?;
        tx.commit()?;
        Ok(out)
    })
    .await
}
