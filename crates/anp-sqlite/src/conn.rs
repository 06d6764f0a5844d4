//! Connections: how one is opened and configured, and how SQLite's errors become alphanode's.

use std::path::Path;
use std::time::Duration;

use anp_core::Error;
use rusqlite::config::DbConfig;
use rusqlite::{Connection, ErrorCode, OpenFlags};

use crate::options::SqliteOptions;

/// Why an operation's SQL work failed, before it is named after the operation.
#[derive(Debug)]
pub(crate) enum Failure {
    /// SQLite said no; mapped by [`Failure::into_error`].
    Sql(rusqlite::Error),
    /// A row that alphanode cannot have written.
    Damaged(String),
    /// An alphanode error, already complete (not found, conflict…).
    Anp(Error),
}

/// The result of an operation's SQL work.
pub(crate) type OpResult<T> = std::result::Result<T, Failure>;

impl From<rusqlite::Error> for Failure {
    fn from(e: rusqlite::Error) -> Self {
        Failure::Sql(e)
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Anp(e)
    }
}

impl Failure {
    /// The alphanode error for operation `op` on the store at `url`.
    pub(crate) fn into_error(self, op: &str, url: &str, busy_timeout: Duration) -> Error {
        match self {
            Failure::Sql(e) => sql_error(op, url, busy_timeout, e),
            Failure::Damaged(what) => Error::incompatible(
                op,
                format!("store {url} holds a damaged row ({what}): expected rows written by alphanode; restore a backup"),
            ),
            Failure::Anp(e) => e,
        }
    }
}

/// Whether `e` is a violation of a UNIQUE index (for jobs: `jobs_unique_live`).
pub(crate) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
}

/// Maps a SQLite error to the alphanode error kinds: busy → `Unavailable` (retry safe, nothing
/// changed), read-only → `ReadOnly`, not a database / corrupt → `Incompatible`, the rest →
/// `Internal`.
pub(crate) fn sql_error(op: &str, url: &str, busy_timeout: Duration, e: rusqlite::Error) -> Error {
    let code = match &e {
        rusqlite::Error::SqliteFailure(f, _) => Some(f.code),
        _ => None,
    };
    let err = match code {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => Error::unavailable(
            op,
            format!(
                "store {url} is busy: expected the write lock within {} ms, but another connection or process held it longer",
                busy_timeout.as_millis()
            ),
        ),
        Some(ErrorCode::ReadOnly | ErrorCode::PermissionDenied) => Error::read_only(
            op,
            format!("store {url} cannot be written ({e}): expected a writable database file and directory"),
        ),
        Some(ErrorCode::CannotOpen) => Error::read_only(
            op,
            format!(
                "store {url} cannot be opened ({e}): expected a readable and writable file in a writable directory"
            ),
        ),
        Some(ErrorCode::NotADatabase) => Error::incompatible(
            op,
            format!("store {url} is not a SQLite database: expected an empty file or an alphanode database"),
        ),
        Some(ErrorCode::DatabaseCorrupt) => Error::incompatible(
            op,
            format!("store {url} is damaged ({e}): expected an intact database; restore a backup"),
        ),
        Some(ErrorCode::DiskFull) => Error::unavailable(
            op,
            format!("store {url}: the disk is full: expected free space for the write"),
        ),
        Some(ErrorCode::SystemIoFailure) => {
            Error::unavailable(op, format!("store {url}: I/O error ({e}): expected a working disk"))
        }
        _ => Error::internal(op, format!("store {url}: unexpected SQLite error: {e}")),
    };
    err.with_source(e)
}

/// Opens a connection to an existing file, without reading or writing it yet.
pub(crate) fn open(path: &Path, busy_timeout: Duration) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(busy_timeout)?;
    // ~40 distinct statements; the default cache (16) would re-prepare on the hot path.
    conn.set_prepared_statement_cache_capacity(64);
    // Query planner stability guarantee: a plan never depends on bound values. Without it SQLite
    // marks parameters compared against partial-index conditions (`queue = ?` against
    // `state = 'available'`) and re-prepares the statement at every new binding — every
    // job_fetch would be parsed and planned again.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    Ok(conn)
}

/// The per-connection settings, once the file is known to be ours (journal_mode writes the
/// file header, so it must not run on a file we may refuse).
pub(crate) fn configure(conn: &Connection, opts: &SqliteOptions, reader: bool) -> OpResult<()> {
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Failure::Anp(Error::unavailable(
            "sqlite open",
            format!(
                "{} stayed in journal mode {mode}: expected wal; WAL needs shared memory beside the file, which network file systems do not offer",
                opts.path.display()
            ),
        )));
    }
    conn.pragma_update(None, "synchronous", opts.synchronous.as_pragma())?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Keep a burst's WAL from staying huge once checkpointed (bytes).
    conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
    // 2 MB of page cache (negative: KiB). The hot pages are few (the right edges of the
    // indexes); SQLite walks the whole cache at some commits, so bigger is slower here, and
    // BENCHMARKS.md measured 8 MB costing the worker ~6 MiB of RSS for no throughput.
    conn.pragma_update(None, "cache_size", -2_000)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    if reader {
        conn.pragma_update(None, "query_only", "ON")?;
    }
    Ok(())
}
