//! # anp-postgres
//!
//! alphanode's PostgreSQL backend: the [`Store`](anp_core::Store) seam (and the application
//! cache's [`CacheStore`](anp_core::cache::CacheStore)) on one PostgreSQL database, shared by
//! any number of workers, schedulers and web processes on any number of hosts.
//!
//! ```no_run
//! # async fn demo() -> anp_core::Result<()> {
//! let store = anp_postgres::PostgresStore::open("postgres://app@db.internal/app?sslmode=require").await?;
//! # Ok(()) }
//! ```
//!
//! # How
//!
//! - A `deadpool-postgres` pool of `tokio-postgres` connections; every `Store` call is one
//!   transaction (READ COMMITTED), retried when PostgreSQL reports a serialization failure or
//!   a deadlock (nothing was committed, so the retry is safe).
//! - `job_fetch` picks jobs with `FOR UPDATE SKIP LOCKED` and leases the whole batch in one
//!   `UPDATE … RETURNING`; each lease gets a fresh fencing token from a sequence, and every
//!   acknowledgement and heartbeat must present it.
//! - Unique jobs: a partial unique index (`jobs_unique_live`) holds at most one live job per
//!   `(queue, unique_key)`; enqueue inserts `ON CONFLICT DO NOTHING` and reports the holder.
//! - Wake-ups: every transaction that makes jobs available runs `pg_notify('anp_jobs', '')`;
//!   each store keeps one `LISTEN anp_jobs` connection, and `job_wait` sleeps until it hears
//!   one (checking every few seconds only as a safety net, or every 250 ms while the listening
//!   connection is down).
//! - Migrations: numbered `migrations/NNNN_*.sql`, applied in one transaction under an advisory
//!   lock with their row in `anp_schema`; a newer schema is refused as `Incompatible`.
//! - [`enqueue_in_tx`] enqueues on the caller's own transaction (tokio-postgres; and sqlx with
//!   the `sqlx` feature: [`enqueue_in_sqlx`]), so a job exists if and only if the business
//!   write committed.
//!
//! # Layout
//! Like anp-sqlite: `src/store.rs` (the handle, transactions, the trait impls),
//! `src/ops/<method>.rs` one file per `Store` method and `src/ops/cache/<method>.rs` per
//! `CacheStore` method, `sql/<method>*.sql` every statement, `src/conn.rs` the error mapping and
//! the statement runner, `src/options.rs` the URL, `src/wake.rs` LISTEN/NOTIFY, `src/tx.rs` the
//! transactional enqueue.

mod conn;
mod hint;
mod migrate;
mod ops;
mod options;
mod row;
mod store;
mod tx;
mod vacuum;
mod wake;

pub use options::PostgresOptions;
/// The sqlx this crate is built with (the connection [`enqueue_in_sqlx`] takes).
#[cfg(feature = "sqlx")]
pub use sqlx;
pub use store::PostgresStore;
/// The tokio-postgres this crate is built with (the client [`enqueue_in_tx`] takes).
pub use tokio_postgres;
#[cfg(feature = "sqlx")]
pub use tx::enqueue_in_sqlx;
pub use tx::enqueue_in_tx;

/// The schema version this build creates and understands: the number of the newest migration.
/// A database with a newer version is refused as `Incompatible`.
pub const SCHEMA_VERSION: u32 = 2;
