//! `store_snapshot`'s copy: a consistent copy of the database, made with SQLite's online backup
//! API while workers keep writing (they wait at most one step, never for the whole copy). The
//! `Store` method opens the copy as a store of its own (what `anp backup` reads).

use std::path::Path;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use anp_core::{Error, Result};
use rusqlite::Connection;

const OP: &str = "backup";

/// Copies the database behind `reader` (the store at `url`) to the new file `dest` (created
/// 0600), 256 pages per step with a 2 ms pause between steps, then checks the copy with
/// `PRAGMA integrity_check`. Blocking: [`SqliteStore::snapshot_to`](crate::SqliteStore::snapshot_to)
/// runs it on Tokio's blocking pool.
pub(crate) fn copy(reader: &Mutex<Connection>, url: &str, dest: &Path) -> Result<()> {
    {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(dest)
            .map_err(|e| {
                Error::invalid(
                    OP,
                    format!(
                        "cannot create {}: {e}: expected a new file in a writable directory",
                        dest.display()
                    ),
                )
            })?;
    }
    let mut out = Connection::open(dest)
        .map_err(|e| Error::invalid(OP, format!("cannot open {}: {e}", dest.display())))?;
    let reader = reader.lock().unwrap_or_else(PoisonError::into_inner);
    let backup = rusqlite::backup::Backup::new(&reader, &mut out)
        .map_err(|e| Error::unavailable(OP, format!("cannot start the backup of {url}: {e}")))?;
    backup
        .run_to_completion(256, Duration::from_millis(2), None)
        .map_err(|e| {
            Error::unavailable(
                OP,
                format!("backup of {url} failed: {e}: expected to finish; retry"),
            )
        })?;
    drop(backup);
    drop(reader);
    let check: String = out
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| {
            Error::internal(
                OP,
                format!("integrity check of {} failed: {e}", dest.display()),
            )
        })?;
    if check != "ok" {
        return Err(Error::internal(
            OP,
            format!(
                "integrity check of {} says {check:?}: expected ok",
                dest.display()
            ),
        ));
    }
    Ok(())
}
