//! `cache_tag_versions`: one `MGET` of the tags' version keys (all in the namespace's slot).

use anp_core::cache::{Namespace, Tag};
use anp_core::Result;
use redis::Value;

use crate::conn::{Call, Redis};
use crate::keys;
use crate::ops::cache_counter;
use crate::record::bad_reply;

const OP: &str = "cache_tag_versions";

/// Each tag's version, in order (0: never purged, or expired).
pub(crate) async fn run(r: &Redis, ns: Namespace, tags: Vec<Tag>) -> Result<Vec<u64>> {
    if tags.is_empty() {
        return Ok(Vec::new());
    }
    let tag_keys: Vec<String> = tags.iter().map(|t| keys::cache_tag(&ns, t)).collect();
    let v = r
        .run_one(
            OP,
            Call::keyed(
                keys::cache_gen(&ns),
                redis::cmd("MGET").arg(&tag_keys).to_owned(),
            ),
        )
        .await?;
    let Value::Array(values) = v else {
        return Err(bad_reply(OP, "one value per tag", &v));
    };
    if values.len() != tag_keys.len() {
        return Err(bad_reply(OP, "one value per tag", &Value::Array(values)));
    }
    tag_keys
        .iter()
        .zip(&values)
        .map(|(k, v)| cache_counter(OP, k, v))
        .collect()
}
