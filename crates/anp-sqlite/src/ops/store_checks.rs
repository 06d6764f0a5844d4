//! `store_checks`: what `anp doctor` asks of an SQLite store — how durable its commits are and
//! who else may read the file. Reads no SQL: the answers are in the options and on disk.

use std::path::{Path, PathBuf};

use anp_core::store::StoreCheck;

use crate::options::Synchronous;

/// The checks for the database at `path`, opened with `synchronous`.
pub(crate) fn run(path: &Path, synchronous: Synchronous) -> Vec<StoreCheck> {
    let durability = match synchronous {
        Synchronous::Normal => StoreCheck::pass(
            "durability",
            "synchronous=NORMAL: a process crash loses nothing; a power loss may lose the last \
             commits (use ?synchronous=full to avoid that)",
        ),
        Synchronous::Full => StoreCheck::pass(
            "durability",
            "synchronous=FULL: every commit survives a power loss",
        ),
    };
    vec![permissions(path), durability]
}

/// The database and its `-wal`/`-shm` companions must be readable by their owner only: they
/// hold every job's arguments.
#[cfg(unix)]
fn permissions(path: &Path) -> StoreCheck {
    use std::os::unix::fs::PermissionsExt;
    let mut loose = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let p = PathBuf::from(format!("{}{suffix}", path.display()));
        if let Ok(m) = std::fs::metadata(&p) {
            let mode = m.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                loose.push(format!("{} is {mode:o}", p.display()));
            }
        }
    }
    if loose.is_empty() {
        StoreCheck::pass(
            "file permissions",
            format!(
                "{} and its -wal/-shm are readable by their owner only",
                path.display()
            ),
        )
    } else {
        StoreCheck::fail(
            "file permissions",
            format!("readable by other users: {}", loose.join(", ")),
            format!("chmod 600 {}*", path.display()),
        )
    }
}

#[cfg(not(unix))]
fn permissions(path: &Path) -> StoreCheck {
    let _ = PathBuf::new();
    StoreCheck::pass(
        "file permissions",
        format!("{}: not checked on this platform", path.display()),
    )
}
