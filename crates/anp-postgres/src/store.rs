//! [`PostgresStore`]: the handle, the pool, transactions (with retries of serialization
//! failures and deadlocks), and the [`Store`] / [`CacheStore`] impls that hand each method to
//! its `ops/<method>.rs` / `ops/cache/<method>.rs`.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anp_core::cache::CacheStore;
use anp_core::store::{StoreCheck, StoreInfo};
use anp_core::{Error, Result, Store};
use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use jiff::Timestamp;
use tokio_postgres_rustls::MakeRustlsConnect;
use tracing::Instrument;

use crate::conn::Failure;
use crate::hint::{Epoch, Hints};
use crate::options::{PostgresOptions, TlsOptions};
use crate::vacuum::Vacuum;
use crate::wake::Wake;
use crate::{migrate, ops};

/// The PostgreSQL store: one database shared by any number of processes and hosts.
///
/// A cheap, cloneable handle (an `Arc` inside); clones share the pool and the listening
/// connection. Dropping the last clone closes them.
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    url: String,
    wake: Wake,
    tls: bool,
    /// Where the next fetch of each queue may start (`crate::hint`).
    hints: Hints,
    /// When to vacuum `jobs` after a burst (`crate::vacuum`).
    vacuum: Vacuum,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("url", &self.inner.url)
            .finish_non_exhaustive()
    }
}

/// How many times a transaction PostgreSQL rolled back (serialization failure, deadlock) is
/// run again before the error is returned (`Unavailable`, retry safe).
pub(crate) const TX_TRIES: u32 = 5;

/// The TLS connector for `opts`: rustls with the OS's roots and the optional `sslrootcert`.
pub(crate) fn rustls_connect(t: &TlsOptions, url: &str) -> Result<MakeRustlsConnect> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    if let Some(path) = &t.root_cert {
        let certs = CertificateDer::pem_file_iter(path).map_err(|e| {
            Error::invalid(
                "connect",
                format!("sslrootcert {} of {url} cannot be read: {e}; expected a PEM file of CA certificates", path.display()),
            )
        })?;
        for cert in certs {
            let cert = cert.map_err(|e| {
                Error::invalid(
                    "connect",
                    format!(
                        "sslrootcert {} of {url}: {e}; expected PEM certificates",
                        path.display()
                    ),
                )
            })?;
            roots.add(cert).map_err(|e| {
                Error::invalid("connect", format!("sslrootcert {}: {e}", path.display()))
            })?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::internal("connect", format!("TLS setup: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

impl PostgresStore {
    /// Opens the store at `url` (see [`PostgresOptions::parse_url`]): connects, applies pending
    /// migrations (refusing a newer schema, or a database holding other tables named like
    /// alphanode's), and starts listening for wake-ups.
    ///
    /// Errors: `InvalidInput` (URL), `Unavailable` (server unreachable or refusing: retry safe),
    /// `Incompatible` (newer schema, not an alphanode database).
    pub async fn open(url: &str) -> Result<PostgresStore> {
        PostgresStore::open_with(PostgresOptions::parse_url(url)?).await
    }

    /// [`PostgresStore::open`] with parsed options.
    pub async fn open_with(opts: PostgresOptions) -> Result<PostgresStore> {
        let mgr_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let (manager, wake) = match &opts.tls {
            None => (
                Manager::from_config(opts.config.clone(), tokio_postgres::NoTls, mgr_config),
                Wake::start(
                    opts.config.clone(),
                    tokio_postgres::NoTls,
                    opts.redacted.clone(),
                ),
            ),
            Some(t) => {
                let tls = rustls_connect(t, &opts.redacted)?;
                (
                    Manager::from_config(opts.config.clone(), tls.clone(), mgr_config),
                    Wake::start(opts.config.clone(), tls, opts.redacted.clone()),
                )
            }
        };
        let pool = Pool::builder(manager)
            .max_size(opts.pool_max)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(30)))
            .create_timeout(Some(Duration::from_secs(15)))
            .build()
            .map_err(|e| Error::internal("connect", format!("connection pool: {e}")))?;
        let store = PostgresStore {
            inner: Arc::new(Inner {
                pool,
                url: opts.redacted,
                wake,
                tls: opts.tls.is_some(),
                hints: Hints::default(),
                vacuum: Vacuum::new(opts.vacuum_every, opts.analyze_every),
            }),
        };
        migrate::run(&store).await?;
        tracing::debug!(url = %store.inner.url, "opened PostgreSQL store");
        Ok(store)
    }

    /// A pooled connection, or `Unavailable`.
    pub(crate) async fn client(&self, op: &str) -> Result<deadpool_postgres::Object> {
        self.inner.pool.get().await.map_err(|e| {
            let detail = match e {
                deadpool_postgres::PoolError::Backend(pg) => {
                    return crate::conn::pg_error(op, &self.inner.url, pg)
                }
                other => other.to_string(),
            };
            Error::unavailable(
                op,
                format!(
                    "no connection to PostgreSQL at {}: {detail}; expected a reachable server with free connections (nothing was done)",
                    self.inner.url
                ),
            )
        })
    }

    /// The alphanode error for a failure of `op`.
    pub(crate) fn error(&self, op: &str, f: Failure) -> Error {
        f.into_error(op, &self.inner.url)
    }

    /// The redacted URL.
    pub(crate) fn url(&self) -> &str {
        &self.inner.url
    }

    /// `job_wait`'s wake-ups.
    pub(crate) fn wake(&self) -> &Wake {
        &self.inner.wake
    }

    /// Whether connections use TLS.
    pub(crate) fn tls(&self) -> bool {
        self.inner.tls
    }

    /// The fetch hints.
    pub(crate) fn hints(&self) -> &Hints {
        &self.inner.hints
    }

    /// The vacuum-after-burst counter.
    pub(crate) fn vacuum(&self) -> &Vacuum {
        &self.inner.vacuum
    }

    /// What this process has heard and done so far, for the fetch hints: a hint is trusted
    /// only while this stays the same and the listening connection is up (else nothing would
    /// tell of jobs made available elsewhere).
    /// `None` while the listening connection is down.
    pub(crate) fn fetch_epoch(&self) -> Option<Epoch> {
        self.inner
            .wake
            .listening()
            .then(|| self.inner.hints.epoch(self.inner.wake.heard()))
    }

    /// Jobs were made available by this process (after its commit): no fetch hint holds now.
    pub(crate) fn made_available(&self) {
        self.inner.hints.made_available();
    }
}

/// Runs `|tx| body` (a future borrowing `tx: &deadpool_postgres::Transaction`) in one
/// transaction on a pooled connection, commits, and maps failures; a transaction PostgreSQL
/// rolled back (serialization failure, deadlock) runs again, up to [`TX_TRIES`] times.
/// `snapshot` makes it a read-only REPEATABLE READ transaction (one consistent view).
/// `single` is for a body of one statement: it runs without BEGIN and COMMIT (PostgreSQL makes
/// the statement its own transaction), two round trips fewer — what the fetch and the wait's
/// check do on every wake-up.
macro_rules! in_tx {
    ($s:expr, $op:expr, |$tx:ident| $body:expr) => {
        in_tx!(@run $s, $op, false, |$tx| $body)
    };
    ($s:expr, $op:expr, single, |$tx:ident| $body:expr) => {{
        let store: &$crate::PostgresStore = $s;
        let mut tries = 0u32;
        loop {
            let client = match store.client($op).await {
                Ok(c) => c,
                Err(e) => break Err(e),
            };
            let pooled = $crate::conn::Pooled(&client);
            let result: $crate::conn::OpResult<_> = {
                let $tx = &pooled;
                $body
            }
            .await;
            match result {
                Ok(v) => break Ok::<_, anp_core::Error>(v),
                Err(f) if f.is_retryable() && tries + 1 < $crate::store::TX_TRIES => {
                    tries += 1;
                    tracing::debug!(op = $op, tries, "statement rolled back by PostgreSQL; running it again");
                }
                Err(f) => break Err(store.error($op, f)),
            }
        }
    }};
    ($s:expr, $op:expr, snapshot, |$tx:ident| $body:expr) => {
        in_tx!(@run $s, $op, true, |$tx| $body)
    };
    (@run $s:expr, $op:expr, $snapshot:expr, |$tx:ident| $body:expr) => {{
        let store: &$crate::PostgresStore = $s;
        let mut tries = 0u32;
        loop {
            let mut client = match store.client($op).await {
                Ok(c) => c,
                Err(e) => break Err(e),
            };
            let result: $crate::conn::OpResult<_> = async {
                let $tx = if $snapshot {
                    client
                        .build_transaction()
                        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
                        .read_only(true)
                        .start()
                        .await?
                } else {
                    client.transaction().await?
                };
                let out = {
                    let $tx = &$tx;
                    $body
                }
                .await?;
                $tx.commit().await?;
                Ok(out)
            }
            .await;
            match result {
                Ok(v) => break Ok::<_, anp_core::Error>(v),
                Err(f) if f.is_retryable() && tries + 1 < $crate::store::TX_TRIES => {
                    tries += 1;
                    tracing::debug!(op = $op, tries, "transaction rolled back by PostgreSQL; running it again");
                }
                Err(f) => break Err(store.error($op, f)),
            }
        }
    }};
}
pub(crate) use in_tx;

/// Writes `impl Store for PostgresStore`: the methods under `as_written` as they are, then one
/// method per entry under `ops` that runs `ops::<op>::run(self, …)` in the span
/// `anp.store.<op>`.
macro_rules! impl_store {
    (
        as_written { $($written:tt)* }
        ops { $($op:ident($($arg:ident: $ty:ty),*) -> $out:ty;)* }
    ) => {
        #[async_trait]
        impl Store for PostgresStore {
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
            "postgres"
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
            ops::store_checks::run(self).await
        }

        async fn store_time(&self) -> Result<Option<Timestamp>> {
            ops::store_ping::time(self).await.map(Some)
        }

        async fn store_snapshot(&self, _dir: &Path) -> Result<Option<Arc<dyn Store>>> {
            // job_export reads every job in one REPEATABLE READ transaction: that is the
            // point-in-time copy PostgreSQL offers without a second database.
            Ok(None)
        }

        async fn store_ping(&self) -> Result<StoreInfo> {
            ops::store_ping::run(self)
                .instrument(tracing::debug_span!("anp.store.store_ping"))
                .await
        }
});

/// Writes `impl CacheStore for PostgresStore` like [`impl_store!`].
macro_rules! impl_cache_store {
    (
        as_written { $($written:tt)* }
        ops { $($op:ident($($arg:ident: $ty:ty),*) -> $out:ty;)* }
    ) => {
        #[async_trait]
        impl CacheStore for PostgresStore {
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
