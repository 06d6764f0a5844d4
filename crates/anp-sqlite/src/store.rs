//! [`SqliteStore`]: the handle, how it runs SQL off the async runtime, the [`Store`] impl that
//! hands each method to its `ops/<method>.rs`, and the [`CacheStore`] impl that hands each cache
//! method to its `ops/cache/<method>.rs`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anp_core::cache::CacheStore;
use anp_core::store::{JobFetchQueuesParams, StoreCheck, StoreInfo};
use anp_core::{Error, Job, Result, Store};
use async_trait::async_trait;
use jiff::Timestamp;
use rusqlite::{Connection, TransactionBehavior};
use tracing::Instrument;

use crate::conn::{self, Failure, OpResult};
use crate::options::{self, SqliteOptions};
use crate::wake::Wake;
use crate::{open, ops};

/// The SQLite store: one database file shared by any number of processes.
///
/// A cheap, cloneable handle (an `Arc` inside); clones share the connections and wake-ups. Writes
/// go through one connection (`BEGIN IMMEDIATE`, so processes queue on SQLite's lock instead of
/// deadlocking), reads for operators (`job_get`, `job_list`, `queue_list`, `store_ping`) through
/// another so they do not wait behind writes. All SQLite work runs on Tokio's blocking pool.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    url: String,
    busy_timeout: Duration,
    synchronous: options::Synchronous,
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
    wake: Wake,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens the database at `opts.path`: creates it (mode 0600) if missing and allowed, refuses
    /// anything that is not an empty file or an alphanode database without changing a byte of
    /// it, then switches to WAL and applies pending migrations.
    ///
    /// Errors: `InvalidInput` (missing directory, path is a directory), `NotFound` (missing file
    /// with `create: false`), `ReadOnly` (read-only file or directory), `Incompatible` (not
    /// SQLite, not alphanode, or a newer schema), `Unavailable` (locked beyond the busy timeout).
    pub async fn open(opts: SqliteOptions) -> Result<SqliteStore> {
        let path = opts.path.clone();
        let busy_timeout = opts.busy_timeout;
        let synchronous = opts.synchronous;
        let opened = tokio::task::spawn_blocking(move || open::open(&opts))
            .await
            .map_err(|e| Error::internal("sqlite open", format!("the open task failed: {e}")))??;
        let url = format!("sqlite://{}", path.display());
        tracing::debug!(%url, "opened SQLite store");
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                wake: Wake::new(&path),
                path,
                url,
                busy_timeout,
                synchronous,
                writer: Mutex::new(opened.writer),
                reader: Mutex::new(opened.reader),
            }),
        })
    }

    /// Parses `sqlite://<path>[?synchronous=normal|full&busy_timeout_ms=<n>&create=true|false]`:
    /// `sqlite://anp.db` (relative), `sqlite:///var/lib/anp/anp.db` (absolute). Anything else is
    /// `InvalidInput`, with a message naming the expected form.
    pub fn parse_url(url: &str) -> Result<SqliteOptions> {
        options::parse_url(url)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Copies the database to `dest` (created 0600, must not exist) with SQLite's online backup
    /// API: a consistent snapshot copied 256 pages per step with a short pause between steps, so
    /// writers (workers) wait at most one step, never for the whole copy. Then runs
    /// `PRAGMA integrity_check` on the copy.
    pub async fn snapshot_to(&self, dest: &Path) -> Result<()> {
        const OP: &str = "backup";
        let inner = Arc::clone(&self.inner);
        let dest = dest.to_owned();
        let task = tokio::task::spawn_blocking(move || {
            ops::store_snapshot::copy(&inner.reader, &inner.url, &dest)
        });
        task.await
            .map_err(|e| Error::internal(OP, format!("the backup task failed: {e}")))?
    }

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction on the writer connection, off the runtime.
    pub(crate) async fn write<T, F>(&self, op: &'static str, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> OpResult<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        let task = tokio::task::spawn_blocking(move || {
            let mut conn = inner.writer.lock().unwrap_or_else(PoisonError::into_inner);
            let run = || -> OpResult<T> {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let out = f(&tx)?;
                tx.commit()?;
                Ok(out)
            };
            run().map_err(|e| e.into_error(op, &inner.url, inner.busy_timeout))
        });
        task.await
            .map_err(|e| Error::internal(op, format!("the SQLite task failed: {e}")))?
    }

    /// Runs `f` on the reader connection (autocommit; `f` may open a read transaction).
    pub(crate) async fn read<T, F>(&self, op: &'static str, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> OpResult<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        let task = tokio::task::spawn_blocking(move || {
            let mut conn = inner.reader.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut conn).map_err(|e| e.into_error(op, &inner.url, inner.busy_timeout))
        });
        task.await
            .map_err(|e| Error::internal(op, format!("the SQLite task failed: {e}")))?
    }

    /// [`SqliteStore::write`] for work that may make jobs available: `f` also says whether it
    /// did, and if so this store's waiters are woken after the commit.
    pub(crate) async fn write_waking<T, F>(&self, op: &'static str, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> OpResult<(T, bool)> + Send + 'static,
    {
        let (out, available) = self.write(op, f).await?;
        if available {
            self.inner.wake.wake_local();
        }
        Ok(out)
    }

    /// Opens one more reader connection, configured as the store's own (blocking: call it off
    /// the runtime). The cache watch polls on its own so it never waits behind operators' reads.
    pub(crate) fn open_reader(&self, op: &'static str) -> Result<Connection> {
        let opts = SqliteOptions {
            path: self.inner.path.clone(),
            synchronous: self.inner.synchronous,
            busy_timeout: self.inner.busy_timeout,
            create: false,
        };
        let c = conn::open(&opts.path, opts.busy_timeout)
            .map_err(|e| self.error(op, Failure::Sql(e)))?;
        conn::configure(&c, &opts, true).map_err(|f| self.error(op, f))?;
        Ok(c)
    }

    /// The alphanode error for a failure of `op` on this store.
    pub(crate) fn error(&self, op: &str, f: Failure) -> Error {
        f.into_error(op, &self.inner.url, self.inner.busy_timeout)
    }

    /// `job_wait`'s wake-ups.
    pub(crate) fn wake(&self) -> &Wake {
        &self.inner.wake
    }

    /// Swaps the wake-ups of a store no clone shares yet (tests: a watcher that cannot start).
    #[cfg(test)]
    #[allow(clippy::unwrap_used)]
    pub(crate) fn set_wake(&mut self, wake: Wake) {
        Arc::get_mut(&mut self.inner).unwrap().wake = wake;
    }
}

/// Writes `impl Store for SqliteStore`: the methods under `as_written` as they are, then one
/// method per entry under `ops` that runs `ops::<op>::run(self, …)` in the span
/// `anp.store.<op>`. What an op does (read or write transaction, wake-ups) is in its file.
macro_rules! impl_store {
    (
        as_written { $($written:tt)* }
        ops { $($op:ident($($arg:ident: $ty:ty),*) -> $out:ty;)* }
    ) => {
        #[async_trait]
        impl Store for SqliteStore {
            $($written)*
            $(
                async fn $op(&self, $($arg: $ty),*) -> Result<$out> {
                    ops::$op::run(self, $($arg),*)
                        .instrument(tracing::debug_span!(concat!("anp.store.", stringify!($op))))
                        .await
                }
            )*
        }
    };
}

anp_core::forward_store_ops!(impl_store! {
        fn backend(&self) -> &'static str {
            "sqlite"
        }

        fn redacted_url(&self) -> String {
            self.inner.url.clone()
        }

        fn cache(&self) -> Arc<dyn CacheStore> {
            Arc::new(self.clone())
        }

        fn store_schema_version(&self) -> u32 {
            crate::SCHEMA_VERSION
        }

        async fn store_checks(&self) -> Vec<StoreCheck> {
            ops::store_checks::run(&self.inner.path, self.inner.synchronous)
        }

        async fn store_time(&self) -> Result<Option<Timestamp>> {
            Ok(None)
        }

        async fn store_snapshot(&self, dir: &Path) -> Result<Option<Arc<dyn Store>>> {
            let snap = dir.join("snapshot.db");
            self.snapshot_to(&snap)
                .instrument(tracing::debug_span!("anp.store.store_snapshot"))
                .await?;
            let opts = SqliteOptions {
                path: snap,
                create: false,
                ..SqliteOptions::default()
            };
            Ok(Some(Arc::new(SqliteStore::open(opts).await?)))
        }

        // Not in `forward_store_ops!` (the trait has a default that calls `job_fetch` per
        // queue): here all queues share one write transaction.
        async fn job_fetch_queues(&self, p: JobFetchQueuesParams) -> Result<Vec<Job>> {
            ops::job_fetch_queues::run(self, p)
                .instrument(tracing::debug_span!("anp.store.job_fetch_queues"))
                .await
        }

        async fn store_ping(&self) -> Result<StoreInfo> {
            ops::store_ping::run(self)
                .instrument(tracing::debug_span!("anp.store.store_ping"))
                .await
        }
});

/// Writes `impl CacheStore for SqliteStore` like [`impl_store!`]: the methods under `as_written`
/// as they are, then one method per entry under `ops` that runs `ops::cache::<op>::run(self, …)`
/// in the span `anp.store.<op>`.
macro_rules! impl_cache_store {
    (
        as_written { $($written:tt)* }
        ops { $($op:ident($($arg:ident: $ty:ty),*) -> $out:ty;)* }
    ) => {
        #[async_trait]
        impl CacheStore for SqliteStore {
            $($written)*
            $(
                async fn $op(&self, $($arg: $ty),*) -> Result<$out> {
                    ops::cache::$op::run(self, $($arg),*)
                        .instrument(tracing::debug_span!(concat!("anp.store.", stringify!($op))))
                        .await
                }
            )*
        }
    };
}

anp_core::forward_cache_ops!(impl_cache_store! {
        fn cache_watch_bound(&self) -> Duration {
            ops::cache::cache_watch::BOUND
        }
});
