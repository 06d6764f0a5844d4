//! One module per [`CacheStore`](anp_core::cache::CacheStore) method, as in `ops/`. Cache times
//! are milliseconds; u64 tokens, versions and generations are stored as their i64 bit pattern.

pub(crate) mod cache_count_tagged;
pub(crate) mod cache_delete;
pub(crate) mod cache_generation_move;
pub(crate) mod cache_lease_acquire;
pub(crate) mod cache_lease_release;
pub(crate) mod cache_lease_renew;
pub(crate) mod cache_namespace_list;
pub(crate) mod cache_namespace_register;
pub(crate) mod cache_prune;
pub(crate) mod cache_publish;
pub(crate) mod cache_purge_prefix;
pub(crate) mod cache_purge_tags;
pub(crate) mod cache_read;
pub(crate) mod cache_stats_query;
pub(crate) mod cache_stats_record;
pub(crate) mod cache_tag_versions;
pub(crate) mod cache_usage;
pub(crate) mod cache_watch;
pub(crate) mod cache_write;

use std::time::Duration;

use anp_core::cache::{CacheNamespace, Namespace, Tag};
use jiff::Timestamp;
use tokio_postgres::Row;

use crate::conn::{Conn, OpResult};
use crate::row::{self, damaged};

/// Milliseconds since the Unix epoch.
pub(crate) fn ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

/// `now + d` in milliseconds, at least 1 ms after `now`.
pub(crate) fn ms_after(now: Timestamp, d: Duration) -> i64 {
    let d = i64::try_from(d.as_millis()).unwrap_or(i64::MAX).max(1);
    ms(now).saturating_add(d)
}

/// A u64 as its i64 bit pattern.
pub(crate) fn u64_param(v: u64) -> i64 {
    i64::from_ne_bytes(v.to_ne_bytes())
}

/// Back from [`u64_param`].
pub(crate) fn u64_column(v: i64) -> u64 {
    u64::from_ne_bytes(v.to_ne_bytes())
}

/// A tag's live version (0 when absent or expired).
pub(crate) async fn tag_version(
    c: &dyn Conn,
    ns: &Namespace,
    tag: &Tag,
    now_ms: i64,
) -> OpResult<u64> {
    let v = c
        .query_opt(
            include_str!("../../../sql/cache_read_tag.sql"),
            &[&ns.as_str(), &tag.as_str(), &now_ms],
        )
        .await?;
    Ok(match v {
        Some(r) => u64_column(row::int(&r, 0)?),
        None => 0,
    })
}

/// A namespace from `ns, deploy_sensitive, generation, history`.
pub(crate) fn namespace(r: &Row) -> OpResult<CacheNamespace> {
    let name = row::text(r, 0)?;
    let history = row::text(r, 3)?;
    Ok(CacheNamespace {
        ns: Namespace::parse(name).map_err(|e| damaged("ns", e.message()))?,
        deploy_sensitive: r.try_get(1)?,
        generation: u64_column(row::int(r, 2)?),
        history: serde_json::from_str(history).map_err(|e| damaged("history", e))?,
    })
}
