//! The cache half of the store ([`CacheStore`](anp_core::cache::CacheStore)): one module per
//! method, named after it, like the job ops (`run` picks the connection, `sql` does the work;
//! statements in `sql/cache_*.sql`). Tables: migration `0004_cache.sql`, docs/sqlite-schema.md.
//!
//! Times are milliseconds since the Unix epoch; a row whose `expires_at` is not after the
//! caller's `now` is invisible to reads and deleted by `cache_prune`. Tokens and tag versions
//! are `u64`s stored as the `i64` with the same bits (SQLite integers are signed), generations
//! likewise.

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
use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::conn::OpResult;
use crate::row::{self, damaged};

/// `t` in milliseconds since the Unix epoch.
pub(crate) fn ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

/// `now + d` in milliseconds, at least 1 ms after `now` (a row that expires when it is written
/// would never be seen).
pub(crate) fn ms_after(now: Timestamp, d: Duration) -> i64 {
    let d = i64::try_from(d.as_millis()).unwrap_or(i64::MAX).max(1);
    ms(now).saturating_add(d)
}

/// A `u64` (token, tag version, generation) as the SQLite integer with the same bits.
pub(crate) fn u64_param(v: u64) -> i64 {
    i64::from_ne_bytes(v.to_ne_bytes())
}

/// The `u64` stored by [`u64_param`].
pub(crate) fn u64_column(v: i64) -> u64 {
    u64::from_ne_bytes(v.to_ne_bytes())
}

/// The version of `tag` live at `now_ms`; 0 when never purged or expired.
pub(crate) fn tag_version(c: &Connection, ns: &Namespace, tag: &Tag, now_ms: i64) -> OpResult<u64> {
    let v = c
        .prepare_cached(include_str!("../../../sql/cache_read_tag.sql"))?
        .query_row(params![ns.as_str(), tag.as_str(), now_ms], |r| {
            r.get::<_, i64>(0)
        })
        .optional()?;
    Ok(v.map_or(0, u64_column))
}

/// A namespace from the columns `ns, deploy_sensitive, generation, history` (the first four of
/// the namespace statements).
pub(crate) fn namespace(r: &Row<'_>) -> OpResult<CacheNamespace> {
    let name = row::text(r, 0, "ns")?;
    let history = row::text(r, 3, "history")?;
    Ok(CacheNamespace {
        ns: Namespace::parse(name).map_err(|e| damaged("ns", e.message()))?,
        deploy_sensitive: row::int(r, 1, "deploy_sensitive")? != 0,
        generation: u64_column(row::int(r, 2, "generation")?),
        history: serde_json::from_str(history).map_err(|e| damaged("history", e))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn u64_round_trips_through_sqlite_integers() {
        for v in [
            0,
            1,
            u64::from(u32::MAX),
            i64::MAX as u64,
            1 << 63,
            u64::MAX,
        ] {
            assert_eq!(u64_column(u64_param(v)), v);
        }
    }

    #[test]
    fn expiries_are_at_least_one_ms_away() {
        let now = Timestamp::from_millisecond(1_000).unwrap_or(Timestamp::UNIX_EPOCH);
        assert_eq!(ms_after(now, Duration::ZERO), 1_001);
        assert_eq!(ms_after(now, Duration::from_micros(999)), 1_001);
        assert_eq!(ms_after(now, Duration::from_millis(250)), 1_250);
        assert_eq!(ms_after(now, Duration::MAX), i64::MAX);
    }
}
