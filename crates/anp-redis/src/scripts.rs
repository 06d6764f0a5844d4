//! The Lua scripts, one per state-changing operation (`lua/<method>.lua`), with the keys each
//! is handed.
//!
//! Every job script is the part of `lua/lib.lua` (shared helpers) it uses followed by the
//! operation's file (Redis runs a script's top level on every call, so each helper left out is
//! a closure or table not built per call); a cache script (`lua/cache_*.lua`) is its file alone
//! (it needs none of the job helpers). Each gets a
//! `#!lua` shebang on Redis 7+ (so a script that would run out of memory is refused before it
//! writes anything, and read-only scripts are flagged `no-writes`). Scripts are loaded once
//! per connection target with `SCRIPT LOAD` and called with `EVALSHA`; a `NOSCRIPT` reply
//! (server restarted, script cache flushed) reloads them and re-sends only the calls that
//! were refused (see [`crate::conn`]).

use redis::Script;

use crate::keys::{C, Q, S};

/// One script: its name (the Store method), its source and the keys it is handed, in `KEYS`
/// order.
#[derive(Debug)]
pub(crate) struct ScriptDef {
    /// The Store method and file name.
    pub(crate) name: &'static str,
    /// The file's text.
    pub(crate) source: &'static str,
    /// `KEYS[1..]`.
    pub(crate) keys: &'static [Q],
    /// Per-schedule keys handed after [`ScriptDef::keys`] (schedule scripts only).
    pub(crate) extra: &'static [S],
    /// Cache keys (cache scripts only, which take no per-queue keys): one each, except that
    /// the last may repeat (a tag purge takes one key per tag).
    pub(crate) cache: &'static [C],
    /// Prepended with the parts of `lua/lib.lua` it uses (job scripts; see [`prelude`]).
    pub(crate) lib: bool,
    /// Only reads.
    pub(crate) read_only: bool,
}

macro_rules! script {
    ($ident:ident, $name:literal, [$($k:ident),* $(,)?], $ro:expr) => {
        script!($ident, $name, [$($k),*], [], $ro);
    };
    ($ident:ident, $name:literal, [$($k:ident),* $(,)?], [$($s:ident),* $(,)?], $ro:expr) => {
        pub(crate) const $ident: ScriptDef = ScriptDef {
            name: $name,
            source: include_str!(concat!("../lua/", $name, ".lua")),
            keys: &[$(Q::$k),*],
            extra: &[$(S::$s),*],
            cache: &[],
            lib: true,
            read_only: $ro,
        };
    };
}

/// A cache script: `lua/<name>.lua` alone (no `lib.lua`), handed cache keys.
macro_rules! cache_script {
    ($ident:ident, $name:literal, [$($c:ident),* $(,)?]) => {
        pub(crate) const $ident: ScriptDef = ScriptDef {
            name: $name,
            source: include_str!(concat!("../lua/", $name, ".lua")),
            keys: &[],
            extra: &[],
            cache: &[$(C::$c),*],
            lib: false,
            read_only: false,
        };
    };
}

script!(
    JOB_ENQUEUE_MANY,
    "job_enqueue_many",
    [
        Jobs,
        Ids,
        Available,
        Scheduled,
        Unique,
        Wake,
        Stats,
        StatMinutes,
        Export,
        Leases
    ],
    false
);
script!(
    JOB_ENQUEUE_PLAIN,
    "job_enqueue_plain",
    [
        Jobs,
        Ids,
        Available,
        Stats,
        StatMinutes,
        Wake,
        Export,
        Unique
    ],
    false
);
script!(
    JOB_FETCH,
    "job_fetch",
    [Jobs, Available, Leases, Pause, LeaseSeq, Export],
    false
);
script!(
    JOB_ACK_MANY,
    "job_ack_many",
    [
        Jobs,
        Available,
        Scheduled,
        Retryable,
        Leases,
        Done,
        Dead,
        Cancelled,
        Wake,
        Stats,
        StatMinutes,
        Export,
        DoneCount
    ],
    false
);
script!(
    JOB_HEARTBEAT_MANY,
    "job_heartbeat_many",
    [Jobs, Leases, Export],
    false
);
script!(
    JOB_IMPORT_MANY,
    "job_import_many",
    [
        Jobs, Ids, Scheduled, Available, Leases, Done, Retryable, Dead, Cancelled, Unique, Wake,
        LeaseSeq, Export, DoneCount
    ],
    false
);
script!(
    JOB_RESCUE_EXPIRED,
    "job_rescue_expired",
    [Jobs, Available, Leases, Dead, Wake, Export, Running],
    false
);
script!(
    JOB_PROMOTE_DUE,
    "job_promote_due",
    [Jobs, Available, Scheduled, Retryable, Wake, Export, Leases],
    false
);
script!(
    JOB_PRUNE,
    "job_prune",
    [Jobs, Ids, Completed, Cancelled, Dead, Unique, Export, Leases, Done, DoneCount],
    false
);
script!(
    JOB_RETRY,
    "job_retry",
    [
        Jobs, Scheduled, Available, Retryable, Completed, Dead, Cancelled, Unique, Wake, Export,
        Leases, Done, DoneCount
    ],
    false
);
script!(
    JOB_RETRY_DEAD,
    "job_retry_dead",
    [Jobs, Available, Dead, Unique, Wake, Export, Leases],
    false
);
script!(
    JOB_CANCEL,
    "job_cancel",
    [Jobs, Scheduled, Available, Leases, Retryable, Cancelled, Export],
    false
);
script!(
    JOB_DELETE,
    "job_delete",
    [
        Jobs, Ids, Scheduled, Available, Retryable, Completed, Dead, Cancelled, Unique, Export,
        Leases, Done, DoneCount
    ],
    false
);
script!(
    QUEUE_PURGE,
    "queue_purge",
    [
        Jobs, Ids, Scheduled, Available, Retryable, Completed, Dead, Cancelled, Unique, Export,
        Leases, Done, DoneCount
    ],
    false
);
script!(QUEUE_SET_PAUSED, "queue_set_paused", [Pause, Wake], false);
script!(
    JOB_LIST,
    "job_list",
    [
        Jobs, Ids, Scheduled, Available, Leases, Completed, Retryable, Dead, Cancelled, Done,
        DoneCount
    ],
    true
);
script!(
    QUEUE_LIST,
    "queue_list",
    [Jobs, Scheduled, Available, Leases, Completed, Retryable, Dead, Cancelled, Pause, DoneCount],
    true
);
script!(JOB_GET, "job_get", [Jobs, Leases], true);

script!(STATS_RECORD, "stats_record", [Stats, StatMinutes], false);
script!(SCHEDULE_SYNC, "schedule_sync", [], [Schedule], false);
script!(
    SCHEDULE_SET_PAUSED,
    "schedule_set_paused",
    [],
    [Schedule],
    false
);
script!(
    SCHEDULE_CLAIM_TICK,
    "schedule_claim_tick",
    [
        Jobs,
        Ids,
        Available,
        Scheduled,
        Unique,
        Wake,
        Stats,
        StatMinutes,
        Export,
        Leases
    ],
    [Schedule, Fires],
    false
);

script!(JOB_EXPORT_BEGIN, "job_export_begin", [Export], false);
script!(
    JOB_EXPORT_PAGE,
    "job_export_page",
    [Jobs, Ids, Export, Leases],
    false
);
script!(JOB_EXPORT_END, "job_export_end", [Export], false);

script!(
    STORE_MIGRATE_QUEUE,
    "store_migrate_queue",
    [Jobs, Running, Leases, Paused, Pause, Export, Layout],
    false
);

cache_script!(CACHE_WRITE, "cache_write", [Entry, Lease]);
cache_script!(CACHE_LEASE_RENEW, "cache_lease_renew", [Lease]);
cache_script!(CACHE_LEASE_RELEASE, "cache_lease_release", [Lease]);
cache_script!(CACHE_PURGE_TAGS, "cache_purge_tags", [Tag]);
cache_script!(CACHE_GENERATION_MOVE, "cache_generation_move", [Gen, Meta]);

/// Every script.
pub(crate) const ALL: [&ScriptDef; 31] = [
    &JOB_ENQUEUE_MANY,
    &JOB_ENQUEUE_PLAIN,
    &JOB_FETCH,
    &JOB_ACK_MANY,
    &JOB_HEARTBEAT_MANY,
    &JOB_RESCUE_EXPIRED,
    &JOB_PROMOTE_DUE,
    &JOB_PRUNE,
    &JOB_RETRY,
    &JOB_RETRY_DEAD,
    &JOB_CANCEL,
    &JOB_DELETE,
    &QUEUE_SET_PAUSED,
    &JOB_LIST,
    &QUEUE_LIST,
    &JOB_GET,
    &STATS_RECORD,
    &SCHEDULE_SYNC,
    &SCHEDULE_SET_PAUSED,
    &SCHEDULE_CLAIM_TICK,
    &JOB_IMPORT_MANY,
    &JOB_EXPORT_BEGIN,
    &JOB_EXPORT_PAGE,
    &JOB_EXPORT_END,
    &QUEUE_PURGE,
    &STORE_MIGRATE_QUEUE,
    &CACHE_WRITE,
    &CACHE_LEASE_RENEW,
    &CACHE_LEASE_RELEASE,
    &CACHE_PURGE_TAGS,
    &CACHE_GENERATION_MOVE,
];

const LIB: &str = include_str!("../lua/lib.lua");

/// The scripts as sent to one server (with or without the Redis 7 shebang).
#[derive(Debug)]
pub(crate) struct Scripts {
    loaded: Vec<(&'static str, Script)>,
}

impl Scripts {
    /// Builds every script's final text; `shebang` on Redis 7+.
    pub(crate) fn new(shebang: bool) -> Scripts {
        let loaded = ALL
            .iter()
            .map(|def| (def.name, Script::new(&full_source(def, shebang))))
            .collect();
        Scripts { loaded }
    }

    /// The script for `def` (every def is in [`ALL`], so the lookup finds it).
    pub(crate) fn get(&self, def: &ScriptDef) -> &Script {
        let i = self
            .loaded
            .iter()
            .position(|(name, _)| *name == def.name)
            .unwrap_or_default();
        &self.loaded[i].1
    }

    /// Every script, for `SCRIPT LOAD`.
    pub(crate) fn all(&self) -> impl Iterator<Item = (&'static str, &Script)> {
        self.loaded.iter().map(|(n, s)| (*n, s))
    }
}

/// The text a script is sent as (`shebang`: Redis 7+), for `name` (a `lua/<name>.lua` file),
/// or `None` for no such script: what `scripts/redis-callgrind` loads, so its counts are the
/// store's.
pub fn script_source(name: &str, shebang: bool) -> Option<String> {
    ALL.iter()
        .find(|d| d.name == name)
        .map(|d| full_source(d, shebang))
}

fn full_source(def: &ScriptDef, shebang: bool) -> String {
    let first = match (shebang, def.read_only) {
        (true, true) => "#!lua flags=no-writes\n",
        (true, false) => "#!lua\n",
        (false, _) => "",
    };
    if def.lib {
        format!("{first}{}\n{}", prelude(def.source), def.source)
    } else {
        format!("{first}{}", def.source)
    }
}

/// One top-level definition of `lua/lib.lua` (`local NAME …` or `local function NAME …` at the
/// start of a line, up to the next one): the name it defines and its text.
struct Piece {
    name: &'static str,
    text: &'static str,
}

/// `lua/lib.lua` cut into its top-level definitions, in file order (the header comment before
/// the first one is left out).
fn lib_pieces() -> Vec<Piece> {
    let mut starts: Vec<(usize, &'static str)> = Vec::new();
    let mut at = 0;
    for line in LIB.split_inclusive('\n') {
        if let Some(rest) = line.strip_prefix("local ") {
            let rest = rest.strip_prefix("function ").unwrap_or(rest);
            let end = rest.find(|c: char| !is_ident_char(c)).unwrap_or(rest.len());
            starts.push((at, &rest[..end]));
        }
        at += line.len();
    }
    let mut pieces = Vec::with_capacity(starts.len());
    for (i, &(start, name)) in starts.iter().enumerate() {
        let end = starts.get(i + 1).map_or(LIB.len(), |&(next, _)| next);
        pieces.push(Piece {
            name,
            text: &LIB[start..end],
        });
    }
    pieces
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The identifiers `code` mentions outside comments.
fn words(code: &str) -> std::collections::HashSet<&str> {
    code.lines()
        .map(|l| l.find("--").map_or(l, |i| &l[..i]))
        .flat_map(|l| l.split(|c: char| !is_ident_char(c)))
        .filter(|w| !w.is_empty())
        .collect()
}

/// The part of `lua/lib.lua` a script needs: the definitions its body names and, transitively,
/// those they name (a definition only uses earlier ones, so one backward pass finds them all),
/// in file order. Each definition left out is a closure or table Redis would otherwise build on
/// every call (the whole prelude cost ~17,600 instructions per call, docs/callgrind.md).
fn prelude(source: &str) -> String {
    let pieces = lib_pieces();
    let mut needed = words(source);
    let mut keep = vec![false; pieces.len()];
    for (i, p) in pieces.iter().enumerate().rev() {
        if needed.contains(p.name) {
            keep[i] = true;
            needed.extend(words(p.text));
        }
    }
    pieces
        .iter()
        .zip(keep)
        .filter_map(|(p, k)| k.then_some(p.text))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The `KEYS[i]` lines of a script's header, as (index, pattern).
    fn header_keys(source: &str) -> Vec<(usize, String)> {
        source
            .lines()
            .take_while(|l| l.starts_with("--"))
            .filter_map(|l| {
                let rest = l.strip_prefix("-- KEYS[")?;
                let (n, rest) = rest.split_once(']')?;
                let pattern = rest.split_whitespace().next()?;
                Some((n.parse().ok()?, pattern.to_owned()))
            })
            .collect()
    }

    /// Each header lists exactly the keys keys.rs passes, in order, with their patterns; and
    /// the body uses no KEYS index beyond them.
    #[test]
    fn script_headers_match_the_keys_passed() {
        for def in ALL {
            let listed = header_keys(def.source);
            let passed: Vec<String> = def
                .keys
                .iter()
                .map(|k| k.pattern())
                .chain(def.extra.iter().map(|s| s.pattern()))
                .chain(def.cache.iter().map(|c| c.pattern().to_owned()))
                .collect();
            assert_eq!(
                listed.len(),
                passed.len(),
                "{}.lua header lists {} KEYS, keys.rs passes {}",
                def.name,
                listed.len(),
                passed.len()
            );
            for (i, (n, pattern)) in listed.iter().enumerate() {
                assert_eq!(*n, i + 1, "{}.lua: KEYS out of order", def.name);
                assert_eq!(*pattern, passed[i], "{}.lua: KEYS[{n}] pattern", def.name);
            }
            let body: String = def
                .source
                .lines()
                .filter(|l| !l.trim_start().starts_with("--"))
                .collect::<Vec<_>>()
                .join("\n");
            for (idx, _) in body.match_indices("KEYS[") {
                let rest = &body[idx + 5..];
                let n: String = rest.chars().take_while(char::is_ascii_digit).collect();
                if let Ok(n) = n.parse::<usize>() {
                    assert!(
                        (1..=passed.len()).contains(&n),
                        "{}.lua uses KEYS[{n}] but is handed {}",
                        def.name,
                        passed.len()
                    );
                }
            }
            // queue_list and store_migrate_queue take no ARGV.
            for word in ["ARGV[1]", "Returns:"] {
                if !matches!(def.name, "queue_list" | "store_migrate_queue") || word != "ARGV[1]" {
                    assert!(
                        def.source.contains(word),
                        "{}.lua header lacks {word}",
                        def.name
                    );
                }
            }
            assert!(
                !def.source.contains("redis.call('KEYS'") && !def.source.contains(" .. ':{"),
                "{}.lua must not build key names",
                def.name
            );
        }
    }

    /// Cache scripts are sent without the job helpers, and use none of them.
    #[test]
    fn cache_scripts_stand_alone() {
        for def in ALL.iter().filter(|d| d.name.starts_with("cache_")) {
            assert!(
                !def.lib && def.keys.is_empty() && !def.cache.is_empty(),
                "{}",
                def.name
            );
            let sent = full_source(def, true);
            assert!(
                !sent.contains("rec_format") && !sent.contains("local REC"),
                "{}",
                def.name
            );
            for helper in ["wake(", "export_keep(", "stats_incr(", "rec_parse("] {
                assert!(!def.source.contains(helper), "{} calls {helper}", def.name);
            }
        }
        assert!(ALL
            .iter()
            .filter(|d| !d.name.starts_with("cache_"))
            .all(|d| d.lib));
    }

    /// lib.lua cuts into definitions that each use only earlier ones (so `prelude`'s one
    /// backward pass finds everything a script needs), and nothing after the header is lost.
    #[test]
    fn lib_pieces_use_only_earlier_definitions() {
        let pieces = lib_pieces();
        assert!(pieces.len() > 20, "{} pieces", pieces.len());
        let joined: String = pieces.iter().map(|p| p.text).collect();
        assert!(LIB.ends_with(&joined));
        assert!(LIB[..LIB.len() - joined.len()]
            .lines()
            .all(|l| l.is_empty() || l.starts_with("--")));
        for (i, p) in pieces.iter().enumerate() {
            let used = words(p.text);
            for later in &pieces[i + 1..] {
                assert!(
                    !used.contains(later.name),
                    "lib.lua: {} uses {}, defined after it",
                    p.name,
                    later.name
                );
            }
        }
    }

    /// Each job script gets every lib definition its body names, and the hot paths leave out
    /// what they do not use.
    #[test]
    fn preludes_hold_what_each_script_uses() {
        let names: Vec<&str> = lib_pieces().iter().map(|p| p.name).collect();
        for def in ALL.iter().filter(|d| d.lib) {
            let sent = full_source(def, true);
            let pre = prelude(def.source);
            for w in words(def.source) {
                if names.contains(&w) {
                    assert!(
                        pre.contains(&format!("local {w} "))
                            || pre.contains(&format!("local function {w}(")),
                        "{}: prelude lacks {w}",
                        def.name
                    );
                }
            }
            assert!(sent.ends_with(def.source), "{}", def.name);
        }
        for (def, absent) in [
            (&JOB_FETCH, "enqueue_one"),
            (&JOB_ACK_MANY, "rfc3339"),
            (&JOB_ENQUEUE_MANY, "jobs_delete"),
        ] {
            assert!(!prelude(def.source).contains(absent), "{}", def.name);
        }
        assert!(script_source("job_fetch", true).is_some_and(|s| s.starts_with("#!lua\n")));
        assert!(script_source("no_such_script", true).is_none());
    }

    /// Every file in lua/ (but the shared lib) is a script in the table.
    #[test]
    fn every_lua_file_is_registered() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("lua");
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != "lib.lua")
            .collect();
        names.sort();
        let mut want: Vec<String> = ALL.iter().map(|d| format!("{}.lua", d.name)).collect();
        want.sort();
        assert_eq!(names, want);
    }
}
