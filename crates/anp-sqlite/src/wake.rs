//! Wake-ups for `job_wait` without polling the database.
//!
//! Two sources feed one [`Notify`]:
//! - this store (any clone) after it committed something that may make jobs available;
//! - a file watcher on `<db>-wal`: in WAL mode every commit, by any process, writes to it, so
//!   another process's `anp enqueue` wakes waiters here within about a millisecond (inotify on
//!   Linux). Started on the first `job_wait`, one per store.
//!
//! A wake-up only says "something changed": the waiter then checks for available jobs, so the
//! watcher may fire for any commit (including this store's own acks) without harm. If the
//! watcher cannot start, waiters fall back to reading `PRAGMA data_version` every
//! [`POLL_FALLBACK`].

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::Notify;

use crate::open::sidecar;

/// How often a waiter reads `PRAGMA data_version` when the file watcher is unavailable.
pub(crate) const POLL_FALLBACK: Duration = Duration::from_millis(50);

/// The wake-up sources of one store.
pub(crate) struct Wake {
    notify: Arc<Notify>,
    wal: PathBuf,
    watch: Mutex<Watch>,
}

enum Watch {
    NotStarted,
    /// Dropping the watcher stops its thread.
    Watching(#[allow(dead_code)] RecommendedWatcher),
    Polling,
}

impl Wake {
    /// Wake-ups for the database at `db`.
    pub(crate) fn new(db: &Path) -> Wake {
        let wal = sidecar(db, "-wal");
        Wake {
            notify: Arc::new(Notify::new()),
            wal: std::fs::canonicalize(&wal).unwrap_or(wal),
            watch: Mutex::new(Watch::NotStarted),
        }
    }

    /// The notifier waiters register with.
    pub(crate) fn notify(&self) -> &Notify {
        &self.notify
    }

    /// Wakes every waiter of this store: called after a local commit that may have made jobs
    /// available.
    pub(crate) fn wake_local(&self) {
        self.notify.notify_waiters();
    }

    /// Starts the watcher on first use; `false` when it could not be started and waiters must
    /// poll (logged once, at warn).
    pub(crate) fn watching(&self) -> bool {
        let mut w = self.watch.lock().unwrap_or_else(PoisonError::into_inner);
        match &*w {
            Watch::Watching(_) => true,
            Watch::Polling => false,
            Watch::NotStarted => match start(&self.wal, Arc::clone(&self.notify)) {
                Ok(watcher) => {
                    *w = Watch::Watching(watcher);
                    true
                }
                Err(e) => {
                    tracing::warn!(
                        wal = %self.wal.display(),
                        error = %e,
                        "cannot watch the SQLite WAL file for other processes' commits: job_wait falls back to checking PRAGMA data_version every {} ms",
                        POLL_FALLBACK.as_millis()
                    );
                    *w = Watch::Polling;
                    false
                }
            },
        }
    }
}

fn start(wal: &Path, notify: Arc<Notify>) -> notify::Result<RecommendedWatcher> {
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if let Ok(event) = res {
            if !event.kind.is_access() {
                notify.notify_waiters();
            }
        }
    })?;
    watcher.watch(wal, RecursiveMode::NonRecursive)?;
    Ok(watcher)
}
