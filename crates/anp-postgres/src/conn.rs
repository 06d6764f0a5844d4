//! Running statements and mapping PostgreSQL's errors to alphanode's.
//!
//! Ops run their SQL through [`Conn`], implemented for the store's own pooled transactions
//! (statements prepared once per connection) and for any `tokio-postgres` client or
//! transaction of the application ([`Plain`], used by the transactional enqueue).

use anp_core::{Error, ErrorKind};
use async_trait::async_trait;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{GenericClient, Row};

/// A failure inside an op: from PostgreSQL, or already an alphanode error.
#[derive(Debug)]
pub(crate) enum Failure {
    /// PostgreSQL (or the connection) said no.
    Pg(tokio_postgres::Error),
    /// The op decided (not found, conflict, …).
    Anp(Error),
    /// A stored value this build cannot read.
    Damaged(String),
}

/// `Result` of the work inside a transaction.
pub(crate) type OpResult<T> = std::result::Result<T, Failure>;

impl From<tokio_postgres::Error> for Failure {
    fn from(e: tokio_postgres::Error) -> Failure {
        Failure::Pg(e)
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure::Anp(e)
    }
}

impl Failure {
    /// Whether PostgreSQL rolled the transaction back for a reason a second try can pass
    /// (serialization failure, deadlock): nothing was committed.
    pub(crate) fn is_retryable(&self) -> bool {
        matches!(self, Failure::Pg(e) if matches!(e.code(),
            Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED))
    }

    /// The alphanode error for this failure of `op` on the store at `url` (redacted).
    pub(crate) fn into_error(self, op: &str, url: &str) -> Error {
        match self {
            Failure::Anp(e) => e,
            Failure::Damaged(what) => Error::internal(
                op,
                format!("a stored value in {url} is not what this build expects: {what}"),
            ),
            Failure::Pg(e) => pg_error(op, url, e),
        }
    }
}

/// Maps a PostgreSQL error: unreachable, closed, shut down, overloaded, timed out or rolled
/// back are `Unavailable` (retry safe: the transaction did not commit); a unique violation is
/// a `Conflict`; anything else `Internal`.
pub(crate) fn pg_error(op: &str, url: &str, e: tokio_postgres::Error) -> Error {
    let Some(db) = e.as_db_error() else {
        let detail = match std::error::Error::source(&e) {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        };
        let what = if e.is_closed() {
            "the connection was closed"
        } else {
            "could not talk to the server"
        };
        return Error::unavailable(
            op,
            format!("PostgreSQL at {url}: {what} ({detail}); expected a reachable server (nothing was committed)"),
        )
        .with_source(e);
    };
    let code = db.code().clone();
    let msg = db.message().to_owned();
    let class = &code.code()[..2];
    if code == SqlState::QUERY_CANCELED {
        return Error::unavailable(
            op,
            format!("PostgreSQL at {url} cancelled the statement ({msg}): it ran past statement_timeout or was cancelled; expected it to finish in time (nothing was committed)"),
        )
        .with_source(e);
    }
    if code == SqlState::UNIQUE_VIOLATION {
        return Error::conflict(
            op,
            format!("PostgreSQL at {url} refused a duplicate ({msg}): expected no other live row with that key (nothing was committed)"),
        )
        .with_source(e);
    }
    if code == SqlState::UNDEFINED_TABLE || code == SqlState::UNDEFINED_COLUMN {
        return Error::new(
            op,
            ErrorKind::Incompatible,
            format!("PostgreSQL at {url}: {msg}; expected an alphanode schema of version {} (was the database changed by hand?)", crate::SCHEMA_VERSION),
            false,
        )
        .with_source(e);
    }
    // Besides the connection, transaction, resource and operator-intervention classes:
    // 55000 (a database set to `ALLOW_CONNECTIONS false`: "not currently accepting
    // connections") and 55P03 (a lock not available): the server refuses now, not the request.
    let transient = matches!(class, "08" | "40" | "53" | "57" | "58")
        || code == SqlState::OBJECT_NOT_IN_PREREQUISITE_STATE
        || code == SqlState::LOCK_NOT_AVAILABLE;
    if transient {
        return Error::unavailable(
            op,
            format!("PostgreSQL at {url} is unavailable ({} {msg}); expected a server accepting work (nothing was committed)", code.code()),
        )
        .with_source(e);
    }
    Error::internal(op, format!("PostgreSQL at {url}: {} {msg}", code.code())).with_source(e)
}

/// Parameters of a statement.
pub(crate) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// Where ops run their statements.
#[async_trait]
pub(crate) trait Conn: Send + Sync {
    /// Every row of `sql`.
    async fn query(&self, sql: &'static str, params: Params<'_>) -> OpResult<Vec<Row>>;
    /// How many rows `sql` changed.
    async fn execute(&self, sql: &'static str, params: Params<'_>) -> OpResult<u64>;

    /// The first row, if any.
    async fn query_opt(&self, sql: &'static str, params: Params<'_>) -> OpResult<Option<Row>> {
        Ok(self.query(sql, params).await?.into_iter().next())
    }

    /// The one row `sql` returns.
    async fn query_one(&self, sql: &'static str, params: Params<'_>) -> OpResult<Row> {
        self.query_opt(sql, params)
            .await?
            .ok_or_else(|| Failure::Damaged(format!("no row from {}", first_line(sql))))
    }
}

fn first_line(sql: &str) -> &str {
    sql.lines().next().unwrap_or(sql)
}

#[async_trait]
impl Conn for deadpool_postgres::Transaction<'_> {
    async fn query(&self, sql: &'static str, params: Params<'_>) -> OpResult<Vec<Row>> {
        let stmt = self.prepare_cached(sql).await?;
        Ok(tokio_postgres::Transaction::query(self, &stmt, params).await?)
    }

    async fn execute(&self, sql: &'static str, params: Params<'_>) -> OpResult<u64> {
        let stmt = self.prepare_cached(sql).await?;
        Ok(tokio_postgres::Transaction::execute(self, &stmt, params).await?)
    }
}

/// A pooled connection outside a transaction: each statement commits on its own (`in_tx!`'s
/// `single` mode); statements are prepared once per connection, as in a transaction.
pub(crate) struct Pooled<'a>(pub(crate) &'a deadpool_postgres::Object);

#[async_trait]
impl Conn for Pooled<'_> {
    async fn query(&self, sql: &'static str, params: Params<'_>) -> OpResult<Vec<Row>> {
        let stmt = self.0.prepare_cached(sql).await?;
        Ok(self.0.query(&stmt, params).await?)
    }

    async fn execute(&self, sql: &'static str, params: Params<'_>) -> OpResult<u64> {
        let stmt = self.0.prepare_cached(sql).await?;
        Ok(self.0.execute(&stmt, params).await?)
    }
}

/// Any tokio-postgres client or transaction of the application.
pub(crate) struct Plain<'a, C>(pub(crate) &'a C);

#[async_trait]
impl<C: GenericClient + Sync> Conn for Plain<'_, C> {
    async fn query(&self, sql: &'static str, params: Params<'_>) -> OpResult<Vec<Row>> {
        Ok(self.0.query(sql, params).await?)
    }

    async fn execute(&self, sql: &'static str, params: Params<'_>) -> OpResult<u64> {
        Ok(self.0.execute(sql, params).await?)
    }
}
