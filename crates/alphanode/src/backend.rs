//! Opening a store from its URL: the one place that knows which backends exist.
//!
//! Everything else — [`Client`](crate::Client), [`Worker`](crate::Worker),
//! [`Scheduler`](crate::scheduler::Scheduler), [`Admin`](crate::Admin), the `anp` binary — takes
//! a [`Backend`] and asks it, never the URL, what it can do. Adding a backend is one crate, one
//! cargo feature and one arm in [`connect`] (docs/architecture.md, "Adding a backend").

use std::sync::Arc;

pub use anp_core::redact::redact_url;
use anp_core::{Error, Result, Store};

/// The store used when nothing names one: the SQLite file `anp.db` in the working directory.
pub const DEFAULT_URL: &str = "sqlite://anp.db";

/// The URL forms [`connect`] takes, for messages.
const FORMS: &str = "sqlite://PATH (e.g. sqlite://anp.db), redis://host:port, rediss://host:port, \
                     redis+cluster://host:port,host:port or postgres://user@host:port/database";

/// An open store: the SQLite file or the Redis server (or Cluster) jobs live in. Cheap to clone
/// (one `Arc`); clones share connections. Get one from [`connect`].
#[derive(Clone, Debug)]
pub struct Backend {
    store: Arc<dyn Store>,
}

/// How [`connect_with`] opens a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectOptions {
    /// Create an embedded store (a SQLite file) that does not exist yet. `true` for
    /// [`connect`]; `false` makes a missing file `NotFound`, so a command that only reads never
    /// leaves an empty database behind a typo in its path. Servers (Redis) are never created.
    pub create: bool,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions { create: true }
    }
}

/// Opens the store at `url`:
///
/// | URL | backend | cargo feature |
/// |---|---|---|
/// | `sqlite://anp.db`, `sqlite:///var/lib/anp/anp.db?synchronous=full` | embedded SQLite file (created and migrated when missing) | `sqlite` (default) |
/// | `redis://[user:pass@]host:port[/db]`, `rediss://…[?ca=/path/ca.pem]` | Redis 6.2+ / Valkey, TLS with `rediss` | `redis` (default) |
/// | `redis+cluster://host:port,host:port`, `rediss+cluster://…` | Redis Cluster | `redis` (default) |
/// | `postgres://user[:pass]@host:port/db[?sslmode=verify-full]`, `postgresql://…` | PostgreSQL 13+ (migrated when new; password also from `PGPASSWORD`) | `postgres` (default) |
///
/// Errors: `InvalidInput` for a URL of no known form (the message shows it with its password
/// hidden) or of a backend this build left out; otherwise what the backend's own open says
/// (`Unavailable` when the server cannot be reached: retry safe).
///
/// ```no_run
/// # async fn run() -> alphanode::Result<()> {
/// let backend = alphanode::connect("sqlite://anp.db").await?;
/// let client = alphanode::Client::new(backend.clone());
/// let admin = alphanode::Admin::new(backend);
/// # Ok(()) }
/// ```
pub async fn connect(url: &str) -> Result<Backend> {
    connect_with(url, ConnectOptions::default()).await
}

/// [`connect`] with options: `connect_with(url, ConnectOptions { create: false })` opens only a
/// store that exists.
pub async fn connect_with(url: &str, options: ConnectOptions) -> Result<Backend> {
    let url = url.trim();
    let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    let store: Arc<dyn Store> = match scheme.as_deref() {
        Some("sqlite") => open_sqlite(url, options).await?,
        Some("redis" | "rediss" | "redis+cluster" | "rediss+cluster") => open_redis(url).await?,
        Some("postgres" | "postgresql") => open_postgres(url).await?,
        _ => {
            return Err(Error::invalid(
                "connect",
                format!("{:?} is not a store URL: expected {FORMS}", redact_url(url)),
            ))
        }
    };
    Ok(Backend { store })
}

#[cfg(feature = "sqlite")]
async fn open_sqlite(url: &str, options: ConnectOptions) -> Result<Arc<dyn Store>> {
    let mut opts = anp_sqlite::SqliteStore::parse_url(url)?;
    opts.create &= options.create;
    Ok(Arc::new(anp_sqlite::SqliteStore::open(opts).await?))
}

#[cfg(not(feature = "sqlite"))]
async fn open_sqlite(url: &str, _: ConnectOptions) -> Result<Arc<dyn Store>> {
    Err(left_out(url, "sqlite"))
}

#[cfg(feature = "redis")]
async fn open_redis(url: &str) -> Result<Arc<dyn Store>> {
    Ok(Arc::new(anp_redis::RedisStore::open(url).await?))
}

#[cfg(not(feature = "redis"))]
async fn open_redis(url: &str) -> Result<Arc<dyn Store>> {
    Err(left_out(url, "redis"))
}

#[cfg(feature = "postgres")]
async fn open_postgres(url: &str) -> Result<Arc<dyn Store>> {
    Ok(Arc::new(anp_postgres::PostgresStore::open(url).await?))
}

#[cfg(not(feature = "postgres"))]
async fn open_postgres(url: &str) -> Result<Arc<dyn Store>> {
    Err(left_out(url, "postgres"))
}

#[cfg(not(all(feature = "sqlite", feature = "redis", feature = "postgres")))]
fn left_out(url: &str, feature: &str) -> Error {
    Error::invalid(
        "connect",
        format!(
            "{:?} needs the {feature} backend, which this build of alphanode left out: expected \
             the cargo feature \"{feature}\" to be on",
            redact_url(url)
        ),
    )
}

impl Backend {
    /// Which backend: `sqlite`, `redis` or `postgres`.
    pub fn name(&self) -> &'static str {
        self.store.backend()
    }

    /// The store's URL with its password hidden: safe for logs, errors and `--json` output.
    pub fn url(&self) -> String {
        self.store.redacted_url()
    }

    /// Wraps a store opened by hand (the conformance suite, a backend's own tests).
    ///
    /// Hidden: the `Store` seam is internal and changes without notice as backends are added;
    /// applications open stores with [`connect`].
    #[doc(hidden)]
    pub fn from_store(store: Arc<dyn Store>) -> Backend {
        Backend { store }
    }

    /// The internal store seam behind this backend (hidden, see [`Backend::from_store`]).
    #[doc(hidden)]
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }
}

#[doc(hidden)]
impl From<Arc<dyn Store>> for Backend {
    fn from(store: Arc<dyn Store>) -> Backend {
        Backend { store }
    }
}

impl From<&Backend> for Backend {
    fn from(b: &Backend) -> Backend {
        b.clone()
    }
}
