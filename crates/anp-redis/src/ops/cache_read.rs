//! `cache_read`: one round trip, shared with the other reads queued at the same moment
//! (`batch.rs` coalesces them). A batch of reads is **one `MGET` per slot**: each read's
//! entry key, plus the namespace's generation and the asked tags' versions when a read wants
//! them (each distinct key once, however many reads ask for it). Standalone, that is one
//! `MGET` for the whole batch; in Cluster, where an `MGET` must not span slots, one per slot
//! (an entry hashes on `{<key>}`, a namespace's generation and tags on `{<ns>}`), the slot
//! groups sent concurrently ([`Link::send`]). A read alone is a batch of one: its `MGET` holds
//! the entry key (and its namespace's keys, which in Cluster are their own `MGET`).
//!
//! An entry key holding something other than a string reads as absent (`MGET` answers nil
//! where `GET` would answer `WRONGTYPE`): nothing but alphanode writes under `anp:c:`.

use std::collections::HashMap;

use anp_core::cache::{CacheRead, CacheReadParams};
use anp_core::{Error, Result};
use redis::cluster_routing::Slot;
use redis::Value;

use crate::conn::{Call, Link, Redis};
use crate::keys;
use crate::ops::cache_counter;
use crate::record::bad_reply;

const OP: &str = "cache_read";

/// The entry (if stored), the tags' versions (missing: 0) and the generation (missing: 0).
pub(crate) async fn run(r: &Redis, p: CacheReadParams) -> Result<CacheRead> {
    r.reads().read(p).await
}

/// Where one key's value is among the replies: (`MGET` group, position in it).
type At = (usize, usize);

/// The keys of one read's `MGET`s.
struct Plan {
    entry: At,
    generation: Option<At>,
    tags: Vec<At>,
}

/// The keys of a batch grouped into `MGET`s: standalone one group, Cluster one per slot.
struct Groups {
    cluster: bool,
    keys: Vec<Vec<String>>,
    by_slot: HashMap<Slot, usize>,
    /// Namespace keys already placed (a generation or tag key shared by several reads).
    shared: HashMap<String, At>,
}

impl Groups {
    fn place(&mut self, key: String) -> At {
        let g = if !self.cluster {
            if self.keys.is_empty() {
                self.keys.push(Vec::new());
            }
            0
        } else {
            let next = self.keys.len();
            let g = *self.by_slot.entry(Slot::for_key(&key)).or_insert(next);
            if g == next {
                self.keys.push(Vec::new());
            }
            g
        };
        self.keys[g].push(key);
        (g, self.keys[g].len() - 1)
    }

    fn place_shared(&mut self, key: String) -> At {
        if let Some(&at) = self.shared.get(&key) {
            return at;
        }
        let at = self.place(key.clone());
        self.shared.insert(key, at);
        at
    }
}

/// Reads every one of `reads` in one round trip; one answer per read, in order. A failure of
/// the round trip is every read's error; an error reply of one `MGET`, the error of the reads
/// that used it.
pub(crate) async fn read_many(link: &Link, reads: &[&CacheReadParams]) -> Vec<Result<CacheRead>> {
    let mut groups = Groups {
        cluster: link.is_cluster(),
        keys: Vec::new(),
        by_slot: HashMap::new(),
        shared: HashMap::new(),
    };
    let plans: Vec<Plan> = reads
        .iter()
        .map(|p| {
            let entry = groups.place(keys::cache_entry(&p.ns, p.generation, &p.key));
            let generation = p
                .with_generation
                .then(|| groups.place_shared(keys::cache_gen(&p.ns)));
            let tags = p
                .tags
                .iter()
                .map(|t| groups.place_shared(keys::cache_tag(&p.ns, t)))
                .collect();
            Plan {
                entry,
                generation,
                tags,
            }
        })
        .collect();
    let calls: Vec<Call> = groups
        .keys
        .iter()
        .map(|keys| {
            let mut mget = redis::cmd("MGET");
            mget.arg(keys);
            Call::keyed(keys.first().map_or("", String::as_str), mget)
        })
        .collect();
    let replies = match link.send(OP, &calls).await {
        Ok(replies) => replies,
        Err(e) => return reads.iter().map(|_| Err(copy(&e))).collect(),
    };
    // Each group's values, or why it has none.
    let mut values: Vec<Result<Vec<Value>>> = replies
        .into_iter()
        .zip(&groups.keys)
        .map(|(v, keys)| match v {
            Value::Array(values) if values.len() == keys.len() => Ok(values),
            Value::ServerError(e) => Err(link.error(OP, e.into())),
            v => Err(bad_reply(OP, "one value per key of the MGET", &v)),
        })
        .collect();
    plans
        .into_iter()
        .map(|plan| answer(&mut values, &groups.keys, plan))
        .collect()
}

/// One read's answer from the groups' values (its entry's bytes are moved out, not copied).
fn answer(
    values: &mut [Result<Vec<Value>>],
    keys: &[Vec<String>],
    plan: Plan,
) -> Result<CacheRead> {
    let (g, i) = plan.entry;
    let entry = match &mut values[g] {
        Ok(v) => std::mem::take(&mut v[i]),
        Err(e) => return Err(copy(e)),
    };
    let entry = match entry {
        Value::Nil => None,
        Value::BulkString(b) => Some(b),
        v => return Err(bad_reply(OP, "the entry's bytes or nil", &v)),
    };
    let counter = |(g, i): At| match &values[g] {
        Ok(v) => cache_counter(OP, &keys[g][i], &v[i]),
        Err(e) => Err(copy(e)),
    };
    let generation = plan.generation.map(counter).transpose()?;
    let tag_versions = plan
        .tags
        .into_iter()
        .map(counter)
        .collect::<Result<Vec<u64>>>()?;
    Ok(CacheRead {
        entry,
        tag_versions,
        generation,
    })
}

/// The same error again, for another caller of the batch (errors are not `Clone`: they may
/// hold their cause).
fn copy(e: &Error) -> Error {
    Error::new(e.op(), e.kind(), e.message(), e.retry_safe())
}
