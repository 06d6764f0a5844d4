//! `cache_purge_prefix`: deletes up to `limit` live keys of a generation that start with a
//! prefix, as a range of `cache_entries_key` (`prefix <= key < successor(prefix)`, compared
//! byte by byte), never `LIKE` or `GLOB`: keys may hold `%`, `_`, `*`, `?` and `[`. One write
//! transaction. Expired keys are left to `cache_prune` (they are invisible already), so a call
//! that returns 0 means no live prefixed key is left.

use anp_core::cache::CachePurgePrefixParams;
use anp_core::Result;
use rusqlite::{params, Connection};

use super::{ms, u64_param};
use crate::conn::OpResult;
use crate::SqliteStore;

/// Deletes in one write transaction; a zero limit deletes nothing.
pub(crate) async fn run(s: &SqliteStore, p: CachePurgePrefixParams) -> Result<u64> {
    if p.limit == 0 {
        return Ok(0);
    }
    s.write("cache_purge_prefix", move |c| sql(c, &p)).await
}

fn sql(c: &Connection, p: &CachePurgePrefixParams) -> OpResult<u64> {
    let (generation, now) = (u64_param(p.generation), ms(p.now));
    let n = match successor(p.prefix.as_bytes()) {
        Some(above) => c
            .prepare_cached(include_str!("../../../sql/cache_purge_prefix.sql"))?
            .execute(params![
                p.ns.as_str(),
                generation,
                p.prefix,
                above,
                now,
                p.limit
            ])?,
        // An empty prefix: every key of the generation.
        None => c
            .prepare_cached(include_str!("../../../sql/cache_purge_prefix_all.sql"))?
            .execute(params![p.ns.as_str(), generation, now, p.limit])?,
    };
    Ok(u64::try_from(n).unwrap_or(u64::MAX))
}

/// The smallest byte string greater than every string that starts with `prefix`: drop trailing
/// 0xFF bytes, then add one to the last byte. `None` when there is no such string (the empty
/// prefix, or one of 0xFF bytes only, which UTF-8 text never holds): every key matches.
fn successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut above = prefix.to_vec();
    while let Some(last) = above.pop() {
        if last < u8::MAX {
            above.push(last + 1);
            return Some(above);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::successor;

    #[test]
    fn successor_is_the_first_string_past_the_prefix() {
        assert_eq!(successor(b""), None);
        assert_eq!(successor(b"user:"), Some(b"user;".to_vec()));
        assert_eq!(successor(b"a%"), Some(b"a&".to_vec()));
        // "é" is C3 A9: the successor C3 AA ("ê") is above "é…" and below nothing else.
        assert_eq!(successor("é".as_bytes()), Some(vec![0xC3, 0xAA]));
        assert_eq!(successor(&[0x61, 0xFF, 0xFF]), Some(vec![0x62]));
        assert_eq!(successor(&[0xFF]), None);
    }
}
