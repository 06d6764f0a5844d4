//! Every Redis key alphanode writes, built here and nowhere else (docs/redis-keys.md is the
//! table of them).
//!
//! Per-queue keys are `anp:{<queue>}:<what>`: the braces are a Cluster hash tag, so all keys of
//! one queue live in one slot and every script (which touches one queue) is slot-local. Queue
//! names are `[a-z0-9_-]`, so they can't contain a brace. Per-schedule keys
//! (`anp:{<queue>}:schedule:<name>`, `anp:{<queue>}:fires:<name>`, see [`S`]) live in the slot
//! of the schedule's queue. The global keys ([`QUEUES`], [`SCHEMA`], [`PROCESSES`],
//! [`DEPLOYS`], [`SCHEDULES`], and the migration's [`MIGRATION`] and [`MIGRATE_LOCK`]) are
//! written outside scripts, idempotently (the lock is renewed and released with the cache's
//! compare-the-token lease scripts, on the lock key alone).
//!
//! The cache's keys start with `anp:c:` ([`C`], docs/cache.md "Redis keys"): an entry and its
//! compute lease share the hash tag `{<key>}` (the fenced write is one slot-local script), a
//! namespace's generation, metadata and tag versions share `{<ns>}` (one `MGET` reads the
//! generation and the tags of a read; a tag purge is one script).

use anp_core::cache::{CacheKey, Namespace, Tag};
use anp_core::schedule::ScheduleName;
use anp_core::QueueName;

/// Set of every queue name that ever held a job or was paused (never shrinks).
pub(crate) const QUEUES: &str = "anp:queues";

/// String: the key-layout version of this store ([`crate::SCHEMA_VERSION`]).
pub(crate) const SCHEMA: &str = "anp:schema";

/// Hash: process id → the process's registration (JSON), refreshed by its heartbeats.
pub(crate) const PROCESSES: &str = "anp:processes";

/// Zset: deploy markers (JSON) by time (µs); the newest 1000 are kept.
pub(crate) const DEPLOYS: &str = "anp:deploys";

/// List: audit entries (JSON), newest first (LPUSH); the newest 10,000 are kept.
pub(crate) const AUDIT: &str = "anp:audit";

/// Hash: schedule name → the queue whose slot holds the schedule's keys.
pub(crate) const SCHEDULES: &str = "anp:schedules";

/// String: `1->2` while the key layout is being migrated from 1 to 2 (`crate::migrate`); set
/// before `anp:schema` becomes 2, deleted once every queue is migrated. Never expires, so an
/// interrupted migration is resumed by the next `open`.
pub(crate) const MIGRATION: &str = "anp:migration";

/// String: the migrating process's random token (`SET NX PX`, renewed between queues and
/// removed by `cache_lease_renew.lua` / `cache_lease_release.lua`, which compare the token):
/// one process migrates, the others wait.
pub(crate) const MIGRATE_LOCK: &str = "anp:migrate_lock";

/// One per-queue key, by what it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Q {
    /// Hash: job records, args, errors and unique keys (fields `<id>`, `<id>:args`, …).
    Jobs,
    /// Zset: every job id, score 0, ordered by id (listing newest first).
    Ids,
    /// Zset: scheduled jobs by run_at (µs).
    Scheduled,
    /// Zset: available jobs by priority × 10^14 + run_at (ms), ties by id.
    Available,
    /// Hash: the leases of running jobs, id → `token lease_until attempted_at owner` (layout
    /// 2: a job is running while it has one; its record keeps the state it was fetched from).
    Leases,
    /// Zset: layout 1's running jobs by lease expiry (µs). Layout 2 only reads it: the
    /// migration empties it, and rescue takes back a job a layout-1 process still leased.
    Running,
    /// Zset: completed jobs by finalized_at (µs), one member per job, as earlier releases
    /// wrote it. Still read and removed from, never written: completions go to [`Q::Done`].
    Completed,
    /// Zset: completed jobs, one member per ack call (the ids it completed, joined by single
    /// spaces), scored by their finalized_at (µs).
    Done,
    /// String: how many ids the members of [`Q::Done`] hold.
    DoneCount,
    /// Zset: retryable jobs by run_at (µs).
    Retryable,
    /// Zset: dead jobs by finalized_at (µs).
    Dead,
    /// Zset: cancelled jobs by finalized_at (µs).
    Cancelled,
    /// Hash: unique key → id of the newest job enqueued with it.
    Unique,
    /// String: `1` paused, `0` resumed (layout 2's pause flag).
    Pause,
    /// String: layout 1's pause flag. The migration copies it into [`Q::Pause`] and leaves it
    /// at `1`, so a layout-1 worker still running fetches nothing; layout 2 never reads it.
    Paused,
    /// String: `2` once the migration moved this queue to layout 2 (makes the per-queue
    /// migration idempotent).
    Layout,
    /// List: wake tokens popped by blocked `job_wait` calls.
    Wake,
    /// String: the last fencing token issued.
    LeaseSeq,
    /// Hash: per-minute stats counters, field `<minute_us>:<kind>:<counter>`.
    Stats,
    /// Zset: the stats buckets (`<minute_us>:<kind>`) by minute (µs), for queries and pruning.
    StatMinutes,
    /// Hash: only while an export of the queue runs: `~token` (the export's) and the
    /// pre-images of jobs changed since it began (copy-on-write, `lua/lib.lua`). Expires by
    /// itself when the exporter stops touching it.
    Export,
}

impl Q {
    /// Every per-queue key.
    pub(crate) const ALL: [Q; 21] = [
        Q::Jobs,
        Q::Ids,
        Q::Scheduled,
        Q::Available,
        Q::Leases,
        Q::Running,
        Q::Completed,
        Q::Done,
        Q::DoneCount,
        Q::Retryable,
        Q::Dead,
        Q::Cancelled,
        Q::Unique,
        Q::Pause,
        Q::Paused,
        Q::Layout,
        Q::Wake,
        Q::LeaseSeq,
        Q::Stats,
        Q::StatMinutes,
        Q::Export,
    ];

    fn suffix(self) -> &'static str {
        match self {
            Q::Jobs => "jobs",
            Q::Ids => "ids",
            Q::Scheduled => "scheduled",
            Q::Available => "available",
            Q::Leases => "leases",
            Q::Running => "running",
            Q::Completed => "completed",
            Q::Done => "done",
            Q::DoneCount => "done_count",
            Q::Retryable => "retryable",
            Q::Dead => "dead",
            Q::Cancelled => "cancelled",
            Q::Unique => "unique",
            Q::Pause => "pause",
            Q::Paused => "paused",
            Q::Layout => "layout",
            Q::Wake => "wake",
            Q::LeaseSeq => "lease_seq",
            Q::Stats => "stats",
            Q::StatMinutes => "stat_minutes",
            Q::Export => "export",
        }
    }

    /// The key for `queue`.
    pub(crate) fn key(self, queue: &QueueName) -> String {
        let mut out = String::with_capacity(queue.as_str().len() + 20);
        self.push_key(queue, &mut out);
        out
    }

    /// Appends the key for `queue` to `out`. Every script call writes its keys so, without
    /// `core::fmt` (a `format!` of a key cost ~1,400 instructions, 8 keys a one-job enqueue).
    pub(crate) fn push_key(self, queue: &QueueName, out: &mut String) {
        push_queue_tag(queue, out);
        out.push_str(self.suffix());
    }

    /// The documented pattern, `anp:{<queue>}:<what>` (script headers and docs use it).
    #[cfg(test)]
    pub(crate) fn pattern(self) -> String {
        format!("anp:{{<queue>}}:{}", self.suffix())
    }
}

/// Writes `anp:{<queue>}:`, the start of every key in the queue's slot.
fn push_queue_tag(queue: &QueueName, out: &mut String) {
    out.push_str("anp:{");
    out.push_str(queue.as_str());
    out.push_str("}:");
}

/// A per-schedule key, in the slot of the schedule's queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum S {
    /// Hash: the schedule (`def` JSON, `queue`, `paused`, `last_tick`, `last_job`,
    /// `created_at`, `updated_at`, `skip_if_running`, `catch_up`).
    Schedule,
    /// List: the fire log, newest first (JSON entries), trimmed to `log_max`.
    Fires,
}

impl S {
    fn prefix(self) -> &'static str {
        match self {
            S::Schedule => "schedule",
            S::Fires => "fires",
        }
    }

    /// The key of schedule `name` in `queue`.
    pub(crate) fn key(self, queue: &QueueName, name: &ScheduleName) -> String {
        let mut out = String::with_capacity(queue.as_str().len() + name.as_str().len() + 20);
        push_queue_tag(queue, &mut out);
        out.push_str(self.prefix());
        out.push(':');
        out.push_str(name.as_str());
        out
    }

    /// The documented pattern, `anp:{<queue>}:<what>:<name>`.
    #[cfg(test)]
    pub(crate) fn pattern(self) -> String {
        format!("anp:{{<queue>}}:{}:<name>", self.prefix())
    }
}

/// Whether `key` is a per-schedule key (`anp:{<queue>}:schedule:<name>` or `…:fires:<name>`).
fn is_schedule_key(key: &str) -> bool {
    let Some(rest) = key.strip_prefix("anp:{") else {
        return false;
    };
    let Some((queue, what)) = rest.split_once("}:") else {
        return false;
    };
    QueueName::parse(queue).is_ok()
        && [S::Schedule, S::Fires].into_iter().any(|s| {
            what.strip_prefix(s.prefix())
                .and_then(|r| r.strip_prefix(':'))
                .is_some_and(|n| ScheduleName::parse(n).is_ok())
        })
}

/// The queue a per-queue key belongs to, if `key` is one of ours (used by tests and the
/// layout check).
pub(crate) fn parse(key: &str) -> Option<(QueueName, Q)> {
    let rest = key.strip_prefix("anp:{")?;
    let (queue, what) = rest.split_once("}:")?;
    let queue = QueueName::parse(queue).ok()?;
    let q = Q::ALL.into_iter().find(|k| k.suffix() == what)?;
    Some((queue, q))
}

/// Whether `key` is a key this crate writes.
pub fn is_documented_key(key: &str) -> bool {
    [
        QUEUES,
        SCHEMA,
        PROCESSES,
        DEPLOYS,
        SCHEDULES,
        MIGRATION,
        MIGRATE_LOCK,
        CACHE_NAMESPACES,
        CACHE_STATS,
    ]
    .contains(&key)
        || parse(key).is_some()
        || is_schedule_key(key)
        || parse_cache(key).is_some()
}

/// Set: every cache namespace registered (`cache_namespace_register`).
pub(crate) const CACHE_NAMESPACES: &str = "anp:c:namespaces";

/// Zset: cache stats flushes (JSON `CacheStatsRecord` with a nonce), scored by time (ms).
pub(crate) const CACHE_STATS: &str = "anp:c:stats";

/// The pub/sub channel of cache invalidations (`{"origin": …, "change": …}`). Not a key.
pub(crate) const CACHE_CHANGES: &str = "anp:c:changes";

/// One kind of cache key, by what it holds (the script headers list these patterns).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum C {
    /// String: an entry's envelope, `anp:c:<ns>:<gen>:e:{<key>}`; expires with the envelope.
    Entry,
    /// String: a key's compute lease token, `anp:c:<ns>:<gen>:l:{<key>}`; expires with the
    /// lease.
    Lease,
    /// String: the namespace's current generation, `anp:c:{<ns>}:gen`.
    Gen,
    /// Hash: the namespace's `deploy` flag, `history` (JSON array) and `max` generation,
    /// `anp:c:{<ns>}:meta`.
    Meta,
    /// String: a purged tag's version, `anp:c:{<ns>}:t:<tag>`; expires `keep` after the purge.
    Tag,
}

impl C {
    /// The documented pattern (script headers and docs/redis-keys.md use it).
    #[cfg(test)]
    pub(crate) fn pattern(self) -> &'static str {
        match self {
            C::Entry => "anp:c:<ns>:<gen>:e:{<key>}",
            C::Lease => "anp:c:<ns>:<gen>:l:{<key>}",
            C::Gen => "anp:c:{<ns>}:gen",
            C::Meta => "anp:c:{<ns>}:meta",
            C::Tag => "anp:c:{<ns>}:t:<tag>",
        }
    }
}

/// Marks a cache key that begins with `}` inside its hash tag. Such a key would make the tag
/// `{}…}` empty, and Redis would hash the whole name, putting the entry and its lease in
/// different slots; `{\u{1}}…}` hashes on the marker instead. No cache key contains a control
/// character, so the marked form cannot be another key's.
const BRACE_MARK: char = '\u{1}';

/// Writes `anp:c:<ns>:<gen>:<kind>:{` and `key` after it, [`BRACE_MARK`] first when `key`
/// begins with `}`: an entry or lease key without its closing brace, and the literal part of
/// a prefix's scan pattern. Built without `core::fmt`: this is on every cache read (`write!`
/// cost ~1,000 instructions a key, a tenth of a store read's client side; pushing the parts
/// costs a fifth of that).
fn push_cache_key_head(out: &mut String, ns: &Namespace, generation: u64, kind: char, key: &str) {
    out.push_str("anp:c:");
    out.push_str(ns.as_str());
    out.push(':');
    out.push_str(itoa::Buffer::new().format(generation));
    out.push(':');
    out.push(kind);
    out.push_str(":{");
    if key.starts_with('}') {
        out.push(BRACE_MARK);
    }
    out.push_str(key);
}

/// `anp:c:<ns>:<gen>:<kind>:{<key>}`, in a string allocated once at its final size.
fn cache_key_of(ns: &Namespace, generation: u64, kind: char, key: &CacheKey) -> String {
    // "anp:c:" + ns + ":" + up to 20 digits + ":e:{" + marker + key + "}"
    let mut out = String::with_capacity(ns.as_str().len() + key.as_str().len() + 36);
    push_cache_key_head(&mut out, ns, generation, kind, key.as_str());
    out.push('}');
    out
}

/// `anp:c:<ns>:<gen>:e:{<key>}`: the entry.
pub(crate) fn cache_entry(ns: &Namespace, generation: u64, key: &CacheKey) -> String {
    cache_key_of(ns, generation, 'e', key)
}

/// `anp:c:<ns>:<gen>:l:{<key>}`: the entry's compute lease (same slot as the entry).
pub(crate) fn cache_lease(ns: &Namespace, generation: u64, key: &CacheKey) -> String {
    cache_key_of(ns, generation, 'l', key)
}

/// `anp:c:{<ns>}:gen`: the namespace's generation (and the key whose slot every `{<ns>}` key
/// shares).
pub(crate) fn cache_gen(ns: &Namespace) -> String {
    format!("anp:c:{{{ns}}}:gen")
}

/// `anp:c:{<ns>}:meta`: the namespace's deploy flag, history and highest generation.
pub(crate) fn cache_meta(ns: &Namespace) -> String {
    format!("anp:c:{{{ns}}}:meta")
}

/// `anp:c:{<ns>}:t:<tag>`: a tag's version.
pub(crate) fn cache_tag(ns: &Namespace, tag: &Tag) -> String {
    format!("anp:c:{{{ns}}}:t:{tag}")
}

/// The `SCAN MATCH` pattern of a generation's entries whose key starts with `prefix`:
/// `anp:c:<ns>:<gen>:e:{<prefix>*`, with the glob characters `* ? [ ] \` of the literal parts
/// escaped.
pub(crate) fn cache_entry_pattern(ns: &Namespace, generation: u64, prefix: &str) -> String {
    let mut literal = String::with_capacity(ns.as_str().len() + prefix.len() + 36);
    push_cache_key_head(&mut literal, ns, generation, 'e', prefix);
    let mut out = String::with_capacity(literal.len() + 8);
    for c in literal.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    // Every entry key ends with the `}` that closes its `{<key>}`: requiring it keeps a key
    // that is the prefix minus a trailing `}` (key `a{x` is stored `{a{x}`) out of prefix `a{x}`.
    out.push_str("*}");
    out
}

/// The kind of a per-namespace or per-entry cache key, if `key` is one of ours (the layout
/// check).
fn parse_cache(key: &str) -> Option<C> {
    let rest = key.strip_prefix("anp:c:")?;
    if let Some(rest) = rest.strip_prefix('{') {
        let (ns, what) = rest.split_once("}:")?;
        Namespace::parse(ns).ok()?;
        let kind = match what {
            "gen" => C::Gen,
            "meta" => C::Meta,
            t => {
                Tag::parse(t.strip_prefix("t:")?).ok()?;
                C::Tag
            }
        };
        return Some(kind);
    }
    let mut parts = rest.splitn(4, ':');
    Namespace::parse(parts.next()?).ok()?;
    let generation = parts.next()?;
    if generation.is_empty() || !generation.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let kind = match parts.next()? {
        "e" => C::Entry,
        "l" => C::Lease,
        _ => return None,
    };
    let inner = parts.next()?.strip_prefix('{')?.strip_suffix('}')?;
    let k = match inner.strip_prefix(BRACE_MARK) {
        Some(k) if k.starts_with('}') => k,
        Some(_) => return None,
        None if inner.starts_with('}') => return None,
        None => inner,
    };
    CacheKey::parse(k).ok()?;
    Some(kind)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn per_queue_keys_share_the_queue_hash_tag() {
        let q = QueueName::parse("mail-out").unwrap();
        for k in Q::ALL {
            let key = k.key(&q);
            assert!(key.starts_with("anp:{mail-out}:"), "{key}");
            assert_eq!(parse(&key), Some((q.clone(), k)));
            assert!(is_documented_key(&key));
        }
        assert!(is_documented_key("anp:queues"));
        assert!(is_documented_key("anp:schedules"));
        assert!(is_documented_key("anp:migration") && is_documented_key("anp:migrate_lock"));
        assert!(is_documented_key("anp:{mail-out}:leases"));
        assert!(is_documented_key("anp:{mail-out}:pause"));
        assert!(is_documented_key("anp:{mail-out}:layout"));
        let n = ScheduleName::parse("nightly.report").unwrap();
        for s in [S::Schedule, S::Fires] {
            assert!(is_documented_key(&s.key(&q, &n)));
        }
        assert!(!is_documented_key("anp:{mail-out}:schedule:"));
        assert!(!is_documented_key("anp:{mail}:job:1"));
        assert!(!is_documented_key("anp:{Bad}:jobs"));
        assert!(!is_documented_key("other"));
    }

    /// Entry and lease of any key share a slot (also for keys that begin with `}`, whose
    /// hash tag would otherwise be empty); a namespace's generation, metadata and tag versions
    /// share the namespace's slot; every cache key is documented.
    #[test]
    fn cache_keys_share_their_slots() {
        use redis::cluster_routing::Slot;
        let ns = Namespace::parse("pages.v2").unwrap();
        for k in [
            "post:42", "a}b", "}x", "}", "{a}", "a{b}c", "%_*?[", "}{}", "é}",
        ] {
            let key = CacheKey::parse(k).unwrap();
            let (e, l) = (cache_entry(&ns, 7, &key), cache_lease(&ns, 7, &key));
            assert_eq!(Slot::for_key(&e), Slot::for_key(&l), "{k:?}: {e:?} {l:?}");
            assert!(
                is_documented_key(&e) && is_documented_key(&l),
                "{e:?} {l:?}"
            );
            assert_eq!(parse_cache(&e), Some(C::Entry));
            assert_eq!(parse_cache(&l), Some(C::Lease));
        }
        // Two keys differing only in the marker position never collide.
        let a = cache_entry(&ns, 0, &CacheKey::parse("}x").unwrap());
        assert_eq!(a, "anp:c:pages.v2:0:e:{\u{1}}x}");
        let slot = Slot::for_key(ns.as_str());
        let tag = Tag::parse("user:{7}").unwrap();
        for k in [cache_gen(&ns), cache_meta(&ns), cache_tag(&ns, &tag)] {
            assert_eq!(Slot::for_key(&k), slot, "{k}");
            assert!(is_documented_key(&k), "{k}");
        }
        assert!(is_documented_key(CACHE_NAMESPACES) && is_documented_key(CACHE_STATS));
        for bad in [
            "anp:c:{Bad}:gen",
            "anp:c:{ns}:other",
            "anp:c:ns:x:e:{k}",
            "anp:c:ns:0:x:{k}",
            "anp:c:ns:0:e:{}x}",
            "anp:c:ns:0:e:{\u{1}x}",
            "anp:c:ns:0:e:k",
            "anp:c:changes",
        ] {
            assert!(!is_documented_key(bad), "{bad:?}");
        }
    }

    #[test]
    fn prefix_patterns_escape_glob_characters() {
        let ns = Namespace::parse("a.b").unwrap();
        assert_eq!(cache_entry_pattern(&ns, 3, ""), "anp:c:a.b:3:e:{*}");
        assert_eq!(
            cache_entry_pattern(&ns, 3, "x*?[]\\y%_{"),
            "anp:c:a.b:3:e:{x\\*\\?\\[\\]\\\\y%_{*}"
        );
        assert_eq!(
            cache_entry_pattern(&ns, 0, "}a"),
            "anp:c:a.b:0:e:{\u{1}}a*}"
        );
    }
}
