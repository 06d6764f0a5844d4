//! The Lua scripts, one per state-changing operation (`lua/<method>.lua`), with the keys each
//! is handed.
//!
//! Every job script is `lua/lib.lua` (shared helpers) followed by the operation's file; a cache
//! script (`lua/cache_*.lua`) is its file alone (it needs none of the job helpers). Each gets a
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
    /// Prepended with `lua/lib.lua` (job scripts).
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
        Export
    ],
    false
);
script!(
    JOB_FETCH,
    "job_fetch",
    [Jobs, Available, Running, Paused, LeaseSeq, Export],
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
        Running,
        Completed,
        Dead,
        Cancelled,
        Wake,
        Stats,
        StatMinutes,
        Export
    ],
    false
);
script!(
    JOB_HEARTBEAT_MANY,
    "job_heartbeat_many",
    [Jobs, Running, Export],
    false
);
script!(
    JOB_IMPORT_MANY,
    "job_import_many",
    [
        Jobs, Ids, Scheduled, Available, Running, Completed, Retryable, Dead, Cancelled, Unique,
        Wake, LeaseSeq, Export
    ],
    false
);
script!(
    JOB_RESCUE_EXPIRED,
    "job_rescue_expired",
    [Jobs, Available, Running, Dead, Wake, Export],
    false
);
script!(
    JOB_PROMOTE_DUE,
    "job_promote_due",
    [Jobs, Available, Scheduled, Retryable, Wake, Export],
    false
);
script!(
    JOB_PRUNE,
    "job_prune",
    [Jobs, Ids, Completed, Cancelled, Dead, Unique, Export],
    false
);
script!(
    JOB_RETRY,
    "job_retry",
    [Jobs, Scheduled, Available, Retryable, Completed, Dead, Cancelled, Unique, Wake, Export],
    false
);
script!(
    JOB_RETRY_DEAD,
    "job_retry_dead",
    [Jobs, Available, Dead, Unique, Wake, Export],
    false
);
script!(
    JOB_CANCEL,
    "job_cancel",
    [Jobs, Scheduled, Available, Running, Retryable, Cancelled, Export],
    false
);
script!(
    JOB_DELETE,
    "job_delete",
    [Jobs, Ids, Scheduled, Available, Retryable, Completed, Dead, Cancelled, Unique, Export],
    false
);
script!(
    QUEUE_PURGE,
    "queue_purge",
    [Jobs, Ids, Scheduled, Available, Retryable, Completed, Dead, Cancelled, Unique, Export],
    false
);
script!(QUEUE_SET_PAUSED, "queue_set_paused", [Paused, Wake], false);
script!(
    JOB_LIST,
    "job_list",
    [Jobs, Ids, Scheduled, Available, Running, Completed, Retryable, Dead, Cancelled],
    true
);
script!(
    QUEUE_LIST,
    "queue_list",
    [Jobs, Scheduled, Available, Running, Completed, Retryable, Dead, Cancelled, Paused],
    true
);

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
        Export
    ],
    [Schedule, Fires],
    false
);

script!(JOB_EXPORT_BEGIN, "job_export_begin", [Export], false);
script!(
    JOB_EXPORT_PAGE,
    "job_export_page",
    [Jobs, Ids, Export],
    false
);
script!(JOB_EXPORT_END, "job_export_end", [Export], false);

cache_script!(CACHE_WRITE, "cache_write", [Entry, Lease]);
cache_script!(CACHE_LEASE_RENEW, "cache_lease_renew", [Lease]);
cache_script!(CACHE_LEASE_RELEASE, "cache_lease_release", [Lease]);
cache_script!(CACHE_PURGE_TAGS, "cache_purge_tags", [Tag]);
cache_script!(CACHE_GENERATION_MOVE, "cache_generation_move", [Gen, Meta]);

/// Every script.
pub(crate) const ALL: [&ScriptDef; 28] = [
    &JOB_ENQUEUE_MANY,
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
    &STATS_RECORD,
    &SCHEDULE_SYNC,
    &SCHEDULE_SET_PAUSED,
    &SCHEDULE_CLAIM_TICK,
    &JOB_IMPORT_MANY,
    &JOB_EXPORT_BEGIN,
    &JOB_EXPORT_PAGE,
    &JOB_EXPORT_END,
    &QUEUE_PURGE,
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

fn full_source(def: &ScriptDef, shebang: bool) -> String {
    let first = match (shebang, def.read_only) {
        (true, true) => "#!lua flags=no-writes\n",
        (true, false) => "#!lua\n",
        (false, _) => "",
    };
    if def.lib {
        format!("{first}{LIB}\n{}", def.source)
    } else {
        format!("{first}{}", def.source)
    }
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
            for word in ["ARGV[1]", "Returns:"] {
                if def.name != "queue_list" || word != "ARGV[1]" {
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
