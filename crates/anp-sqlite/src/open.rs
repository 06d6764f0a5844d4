//! Opening a database file: check the file and directory, look at what the file holds without
//! writing a byte, refuse what is not ours, then switch to WAL and migrate.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use anp_core::Error;
use rusqlite::{Connection, ErrorCode, TransactionBehavior};

use crate::conn::{self, sql_error, Failure, OpResult};
use crate::options::SqliteOptions;
use crate::{migrate, SCHEMA_VERSION};

const OP: &str = "sqlite open";

/// Two configured connections on a database at [`SCHEMA_VERSION`].
pub(crate) struct Opened {
    /// For writes (`BEGIN IMMEDIATE`).
    pub(crate) writer: Connection,
    /// For operators' reads (`query_only`).
    pub(crate) reader: Connection,
}

/// What a file holds before we touch it.
enum Found {
    /// Nothing: a new or empty file.
    Empty,
    /// An alphanode database at this schema version.
    Alphanode(u32),
    /// Something else: the names of its tables (or of its other objects if it has no table).
    Foreign(Vec<String>),
}

/// `<path>-wal` or `<path>-shm`.
pub(crate) fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Opens (creating if allowed), checks and migrates the database at `opts.path`. Blocking.
pub(crate) fn open(opts: &SqliteOptions) -> Result<Opened, Error> {
    let path = opts.path.as_path();
    if path.as_os_str().is_empty() {
        return Err(Error::invalid(
            OP,
            "the database path is empty: expected a file path such as anp.db",
        ));
    }
    prepare_file(opts)?;
    let shown = path.display().to_string();
    let url = format!("sqlite://{shown}");
    let sql = |e: rusqlite::Error| sql_error(OP, &url, opts.busy_timeout, e);
    let fail = |f: Failure| match f {
        Failure::Sql(e) if is_not_a_database(&e) => not_sqlite(&shown, e),
        f => f.into_error(OP, &url, opts.busy_timeout),
    };

    let mut writer = conn::open(path, opts.busy_timeout).map_err(sql)?;
    // Read only until we know the file is ours: even `PRAGMA journal_mode = WAL` writes the header.
    let found = inspect(&writer).map_err(fail)?;
    check(&found, &shown)?;
    conn::configure(&writer, opts, false).map_err(fail)?;
    if !matches!(found, Found::Alphanode(v) if v == SCHEMA_VERSION) {
        migrate(&mut writer, &shown).map_err(fail)?;
    }
    let reader = conn::open(path, opts.busy_timeout).map_err(sql)?;
    conn::configure(&reader, opts, true).map_err(fail)?;
    Ok(Opened { writer, reader })
}

/// Re-inspects under the write lock (another process may have migrated meanwhile), then applies
/// the missing migrations in the same transaction.
fn migrate(writer: &mut Connection, shown: &str) -> OpResult<()> {
    let tx = writer.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found = inspect(&tx)?;
    check(&found, shown)?;
    let from = match found {
        Found::Alphanode(v) => v,
        _ => 0,
    };
    migrate::apply(&tx, from)?;
    tx.commit()?;
    Ok(())
}

/// Looks at the schema without writing.
fn inspect(c: &Connection) -> OpResult<Found> {
    let mut tables = Vec::new();
    let mut others = Vec::new();
    {
        let mut stmt = c.prepare(include_str!("../sql/open_objects.sql"))?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let kind: String = row.get(0)?;
            let name: String = row.get(1)?;
            if kind == "table" {
                tables.push(name);
            } else {
                others.push(name);
            }
        }
    }
    if tables.iter().any(|t| t == "anp_schema") {
        let v: i64 = c.query_row(include_str!("../sql/open_schema_version.sql"), [], |r| {
            r.get(0)
        })?;
        let v = u32::try_from(v)
            .map_err(|_| Failure::Damaged(format!("anp_schema holds version {v}")))?;
        return Ok(Found::Alphanode(v));
    }
    if tables.is_empty() && others.is_empty() {
        return Ok(Found::Empty);
    }
    Ok(Found::Foreign(if tables.is_empty() {
        others
    } else {
        tables
    }))
}

/// Refuses a foreign database or a newer schema.
fn check(found: &Found, shown: &str) -> Result<(), Error> {
    match found {
        Found::Foreign(names) => {
            const SHOWN: usize = 10;
            let mut list = names
                .iter()
                .take(SHOWN)
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(", ");
            if names.len() > SHOWN {
                list.push_str(&format!(", … ({} in all)", names.len()));
            }
            Err(Error::incompatible(
                OP,
                format!(
                    "{shown} is not an alphanode database: it holds tables {list} but no anp_schema; expected an empty file or an alphanode database"
                ),
            ))
        }
        Found::Alphanode(v) if *v > SCHEMA_VERSION => Err(Error::incompatible(
            OP,
            format!(
                "{shown}: database schema version {v} is newer than this anp supports ({SCHEMA_VERSION}): upgrade anp"
            ),
        )),
        _ => Ok(()),
    }
}

fn is_not_a_database(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == ErrorCode::NotADatabase)
}

fn not_sqlite(shown: &str, e: rusqlite::Error) -> Error {
    Error::incompatible(
        OP,
        format!(
            "{shown} is not a SQLite database (SQLite says: file is not a database): expected an empty file or an alphanode database"
        ),
    )
    .with_source(e)
}

/// Checks the directory and the file, and creates the file (mode 0600) when it is missing and
/// creating is allowed. Touches nothing that exists.
fn prepare_file(opts: &SqliteOptions) -> Result<(), Error> {
    let path = opts.path.as_path();
    let shown = path.display();
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let dir_shown = dir.display();
    let dir_meta = match fs::metadata(&dir) {
        Ok(m) if m.is_dir() => m,
        Ok(_) => {
            return Err(Error::invalid(
                OP,
                format!("{dir_shown} is not a directory: expected a directory to hold {shown}"),
            ))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(Error::invalid(
                OP,
                format!(
                    "directory {dir_shown} does not exist: expected an existing directory to hold {shown}; create it first"
                ),
            ))
        }
        Err(e) => {
            return Err(Error::read_only(
                OP,
                format!("directory {dir_shown} cannot be read ({e}): expected a directory anp may read and write"),
            )
            .with_source(e))
        }
    };
    let dir_read_only = dir_meta.permissions().readonly();
    match fs::metadata(path) {
        Ok(m) if m.is_dir() => Err(Error::invalid(
            OP,
            format!("{shown} is a directory: expected a database file path such as {shown}/anp.db"),
        )),
        Ok(m) => {
            if m.permissions().readonly() {
                return Err(Error::read_only(
                    OP,
                    format!(
                        "{shown} is read-only (mode {}): expected a writable database file; make it writable (chmod u+w) or open a copy",
                        mode(&m)
                    ),
                ));
            }
            // Opening for writing changes nothing (no truncation, no create).
            if let Err(e) = fs::OpenOptions::new().read(true).write(true).open(path) {
                return Err(io_error(&e, || {
                    format!("{shown} cannot be opened for writing ({e}): expected a writable database file")
                }));
            }
            if dir_read_only && !sidecar(path, "-wal").exists() {
                return Err(Error::read_only(
                    OP,
                    format!(
                        "directory {dir_shown} is read-only (mode {}): expected a writable directory, where SQLite keeps {shown}-wal and {shown}-shm",
                        mode(&dir_meta)
                    ),
                ));
            }
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if !opts.create {
                return Err(Error::not_found(
                    OP,
                    format!("{shown} does not exist: expected an existing alphanode database (this command does not create one; check the path for a typo, or create the store with a command that writes, such as `anp enqueue` or `anp work`)"),
                ));
            }
            if dir_read_only {
                return Err(Error::read_only(
                    OP,
                    format!(
                        "cannot create {shown}: directory {dir_shown} is read-only (mode {}); expected a writable directory",
                        mode(&dir_meta)
                    ),
                ));
            }
            create_private(path).or_else(|e| match e.kind() {
                io::ErrorKind::AlreadyExists => Ok(()), // another process won the race: fine
                io::ErrorKind::NotFound => Err(Error::invalid(
                    OP,
                    format!("directory {dir_shown} does not exist: expected an existing directory to hold {shown}; create it first"),
                )),
                _ => Err(io_error(&e, || {
                    format!("cannot create {shown} ({e}): expected a writable directory {dir_shown}")
                })),
            })
        }
        Err(e) => Err(io_error(&e, || {
            format!("{shown} cannot be inspected ({e}): expected a readable and writable file")
        })),
    }
}

/// Permission problems are `ReadOnly`; anything else `Unavailable` (a disk or mount problem that
/// may pass).
fn io_error(e: &io::Error, message: impl FnOnce() -> String) -> Error {
    match e.kind() {
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => {
            Error::read_only(OP, message())
        }
        _ => Error::unavailable(OP, message()),
    }
}

/// Creates an empty file readable and writable by its owner only, whatever the umask. SQLite
/// gives its `-wal` and `-shm` the database file's mode.
fn create_private(path: &Path) -> io::Result<()> {
    let mut o = fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        o.mode(0o600);
        let f = o.open(path)?;
        // The umask may have narrowed 0600 (to 0400, say): set it exactly.
        f.set_permissions(fs::Permissions::from_mode(0o600))?;
        f.sync_all()?;
    }
    #[cfg(not(unix))]
    {
        o.open(path)?;
    }
    Ok(())
}

fn mode(m: &fs::Metadata) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        format!("{:04o}", m.permissions().mode() & 0o7777)
    }
    #[cfg(not(unix))]
    {
        if m.permissions().readonly() {
            "read-only".to_owned()
        } else {
            "writable".to_owned()
        }
    }
}
