//! How a store is opened: [`SqliteOptions`], [`Synchronous`] and the `sqlite://` URL form.

use std::path::PathBuf;
use std::time::Duration;

use anp_core::{Error, Result};

/// When SQLite waits for the disk (`PRAGMA synchronous`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Synchronous {
    /// Commits are durable against a crash of the process, not against power loss of the machine
    /// (the last commits may roll back). The default: fast, and the database is never corrupted.
    #[default]
    Normal,
    /// Every commit waits for the disk: durable against power loss too, slower.
    Full,
}

impl Synchronous {
    /// The pragma value.
    pub(crate) fn as_pragma(self) -> &'static str {
        match self {
            Synchronous::Normal => "NORMAL",
            Synchronous::Full => "FULL",
        }
    }
}

/// How to open a [`SqliteStore`](crate::SqliteStore).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SqliteOptions {
    /// The database file. Its `-wal` and `-shm` companions live beside it.
    pub path: PathBuf,
    /// Durability of commits; [`Synchronous::Normal`] by default.
    pub synchronous: Synchronous,
    /// How long a write waits for another connection or process to release the lock before the
    /// call fails as `Unavailable` (retry safe). 5 s by default.
    pub busy_timeout: Duration,
    /// Create the file (mode 0600) when it does not exist; `true` by default.
    pub create: bool,
}

impl SqliteOptions {
    /// The file used when none is named.
    pub const DEFAULT_PATH: &'static str = "anp.db";
    /// The default [`SqliteOptions::busy_timeout`].
    pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

    /// Options for `path` with every other setting at its default.
    pub fn new(path: impl Into<PathBuf>) -> SqliteOptions {
        SqliteOptions {
            path: path.into(),
            synchronous: Synchronous::default(),
            busy_timeout: Self::DEFAULT_BUSY_TIMEOUT,
            create: true,
        }
    }
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions::new(Self::DEFAULT_PATH)
    }
}

const URL_OP: &str = "sqlite url";
const URL_FORM: &str = "expected sqlite://<path>[?synchronous=normal|full&busy_timeout_ms=<n>&create=true|false], \
such as sqlite://anp.db, sqlite:///var/lib/anp/anp.db or sqlite://data/anp.db?synchronous=full&busy_timeout_ms=2000";
/// Longest accepted `busy_timeout_ms` (one hour): anything longer is surely a typo.
const MAX_BUSY_TIMEOUT_MS: u64 = 3_600_000;

/// Parses `sqlite://<path>[?<options>]`. A relative path follows `sqlite://` directly
/// (`sqlite://anp.db`); an absolute one keeps its slash (`sqlite:///abs/anp.db`).
pub(crate) fn parse_url(url: &str) -> Result<SqliteOptions> {
    let invalid =
        |why: &str| Error::invalid(URL_OP, format!("{url:?} is invalid{why}: {URL_FORM}"));
    let rest = url
        .strip_prefix("sqlite://")
        .ok_or_else(|| invalid(" (it does not start with sqlite://)"))?;
    let (path, query) = match rest.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (rest, None),
    };
    if path.is_empty() {
        return Err(invalid(" (no file path)"));
    }
    if path == ":memory:" || path.starts_with("file:") {
        return Err(Error::invalid(
            URL_OP,
            format!(
                "{url:?} is invalid (in-memory and URI databases are not supported: several processes must share one file): {URL_FORM}"
            ),
        ));
    }
    let mut opts = SqliteOptions::new(path);
    for pair in query.into_iter().flat_map(|q| q.split('&')) {
        if pair.is_empty() {
            continue;
        }
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "synchronous" => {
                opts.synchronous = match value.to_ascii_lowercase().as_str() {
                    "normal" => Synchronous::Normal,
                    "full" => Synchronous::Full,
                    _ => {
                        return Err(Error::invalid(
                            URL_OP,
                            format!("synchronous={value:?} in {url:?} is invalid: expected normal or full"),
                        ))
                    }
                }
            }
            "busy_timeout_ms" => {
                let ms = value
                    .parse::<u64>()
                    .ok()
                    .filter(|ms| *ms <= MAX_BUSY_TIMEOUT_MS)
                    .ok_or_else(|| {
                        Error::invalid(
                            URL_OP,
                            format!(
                                "busy_timeout_ms={value:?} in {url:?} is invalid: expected milliseconds from 0 to {MAX_BUSY_TIMEOUT_MS}"
                            ),
                        )
                    })?;
                opts.busy_timeout = Duration::from_millis(ms);
            }
            "create" => {
                opts.create = match value {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    _ => {
                        return Err(Error::invalid(
                            URL_OP,
                            format!("create={value:?} in {url:?} is invalid: expected true or false"),
                        ))
                    }
                }
            }
            _ => {
                return Err(Error::invalid(
                    URL_OP,
                    format!(
                        "option {key:?} in {url:?} is unknown: expected synchronous, busy_timeout_ms or create"
                    ),
                ))
            }
        }
    }
    Ok(opts)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use anp_core::ErrorKind;

    #[test]
    fn parses_relative_absolute_and_options() {
        let o = parse_url("sqlite://anp.db").unwrap();
        assert_eq!(o, SqliteOptions::new("anp.db"));
        let o = parse_url("sqlite:///abs/path.db").unwrap();
        assert_eq!(o.path, PathBuf::from("/abs/path.db"));
        let o = parse_url("sqlite://rel/dir/x.db?synchronous=full&busy_timeout_ms=2000").unwrap();
        assert_eq!(o.path, PathBuf::from("rel/dir/x.db"));
        assert_eq!(o.synchronous, Synchronous::Full);
        assert_eq!(o.busy_timeout, Duration::from_millis(2000));
        assert!(o.create);
        let o = parse_url("sqlite://x.db?create=false&synchronous=NORMAL").unwrap();
        assert!(!o.create);
        assert_eq!(o.synchronous, Synchronous::Normal);
    }

    #[test]
    fn rejects_bad_forms_naming_the_expected_one() {
        for bad in [
            "anp.db",
            "postgres://x",
            "sqlite:anp.db",
            "sqlite://",
            "sqlite://?synchronous=full",
            "sqlite://:memory:",
        ] {
            let e = parse_url(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad}");
            assert!(e.to_string().contains("expected sqlite://<path>"), "{e}");
            assert!(e.to_string().ends_with("; not retried"), "{e}");
        }
        for bad in [
            "sqlite://x.db?synchronous=fast",
            "sqlite://x.db?busy_timeout_ms=soon",
            "sqlite://x.db?busy_timeout_ms=99999999999",
            "sqlite://x.db?create=maybe",
            "sqlite://x.db?journal=wal",
        ] {
            let e = parse_url(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad}");
            assert!(e.message().contains("expected"), "{e}");
        }
    }
}
