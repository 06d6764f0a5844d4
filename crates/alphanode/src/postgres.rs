//! PostgreSQL specifics (cargo feature `postgres`, on by default): enqueue on the application's
//! own transaction, so a job exists if and only if the business write it belongs to committed
//! (docs/postgres.md, "Jobs in your transaction"; `examples/pg_transactional_axum.rs`).
//!
//! Build the job as for [`Client::enqueue`](crate::Client::enqueue), with
//! [`Client::new_job`](crate::Client::new_job), then write it on the transaction:
//!
//! ```no_run
//! # #[derive(serde::Serialize, serde::Deserialize)] struct SendReceipt { order: i64 }
//! # impl alphanode::JobArgs for SendReceipt { const KIND: &'static str = "send_receipt"; }
//! # async fn demo(client: &alphanode::Client, pg: &mut alphanode::postgres::tokio_postgres::Client) -> alphanode::Result<()> {
//! let tx = pg.transaction().await.expect("begin");
//! tx.execute("INSERT INTO orders (id) VALUES ($1)", &[&42i64]).await.expect("insert");
//! let job = client.new_job(&SendReceipt { order: 42 }, Default::default())?;
//! alphanode::postgres::enqueue_in_tx(&tx, vec![job]).await?;
//! tx.commit().await.expect("commit"); // the job exists from here on
//! # Ok(()) }
//! ```
//!
//! The database must hold alphanode's schema: open the store on it once first (any process —
//! `alphanode::connect("postgres://…")`, `anp work`, `anp doctor` — migrates it). The
//! transaction's client is tokio-postgres 0.7 ([`enqueue_in_tx`]) or, with the `sqlx` feature,
//! sqlx 0.9 (`enqueue_in_sqlx`).

#[cfg(feature = "sqlx")]
pub use anp_postgres::enqueue_in_sqlx;
pub use anp_postgres::enqueue_in_tx;
#[cfg(feature = "sqlx")]
pub use anp_postgres::sqlx;
pub use anp_postgres::{tokio_postgres, PostgresOptions, PostgresStore};
