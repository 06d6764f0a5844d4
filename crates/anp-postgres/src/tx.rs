//! Transactional enqueue: jobs written on the application's own transaction, so they exist if
//! and only if its business write commits (and workers hear of them at that commit, through the
//! same NOTIFY as any enqueue). The database must hold alphanode's schema: open a
//! [`PostgresStore`](crate::PostgresStore) on it once (any process, e.g. the workers) first.

use anp_core::job::Enqueued;
use anp_core::store::JobEnqueueManyParams;
use anp_core::{NewJob, Result};
use jiff::Timestamp;
use tokio_postgres::GenericClient;

use crate::conn::Plain;
use crate::ops::job_enqueue_many;

const OP: &str = "enqueue_in_tx";

/// Enqueues `jobs` on `client` — typically the application's open
/// `tokio_postgres::Transaction` (anything implementing `GenericClient`: a `Client` commits
/// each statement on its own). Same results as `Client::enqueue`: one [`Enqueued`] per job in
/// input order, duplicates of unique keys marked. Nothing is visible to workers until the
/// caller commits; a rollback leaves no job.
///
/// Errors: `InvalidInput` for an invalid job (nothing enqueued), `Unavailable` when the
/// connection failed (the caller's transaction is then aborted: roll back and retry the whole
/// unit of work), `Incompatible` when the database has no alphanode schema.
///
/// ```no_run
/// # async fn demo(pg: &mut tokio_postgres::Client) -> anp_core::Result<()> {
/// use anp_core::{Args, Kind, NewJob};
/// let tx = pg.transaction().await.expect("begin");
/// tx.execute("INSERT INTO orders (id) VALUES ($1)", &[&42i64]).await.expect("insert");
/// let job = NewJob::new(Kind::parse("send_receipt")?, Args::from_json(r#"{"order":42}"#)?);
/// anp_postgres::enqueue_in_tx(&tx, vec![job]).await?;
/// tx.commit().await.expect("commit"); // the job exists from here on, and not before
/// # Ok(()) }
/// ```
pub async fn enqueue_in_tx<C>(client: &C, jobs: Vec<NewJob>) -> Result<Vec<Enqueued>>
where
    C: GenericClient + Sync,
{
    if jobs.is_empty() {
        return Ok(Vec::new());
    }
    let p = JobEnqueueManyParams {
        jobs,
        now: Timestamp::now(),
    };
    job_enqueue_many::sql(&Plain(client), &p)
        .await
        .map_err(|f| f.into_error(OP, "the caller's PostgreSQL connection"))
}

/// [`enqueue_in_tx`] for sqlx: enqueues `jobs` on the application's sqlx connection, usually
/// its open transaction (`&mut tx` of a `sqlx::Transaction<'_, sqlx::Postgres>` coerces to
/// `&mut PgConnection`). Runs the same statements as every other enqueue.
///
/// ```no_run
/// # async fn demo(pool: &sqlx::PgPool) -> anp_core::Result<()> {
/// use anp_core::{Args, Kind, NewJob};
/// let mut tx = pool.begin().await.expect("begin");
/// sqlx::query("INSERT INTO orders (id) VALUES ($1)").bind(42i64).execute(&mut *tx).await.expect("insert");
/// let job = NewJob::new(Kind::parse("send_receipt")?, Args::from_json(r#"{"order":42}"#)?);
/// anp_postgres::enqueue_in_sqlx(&mut tx, vec![job]).await?;
/// tx.commit().await.expect("commit");
/// # Ok(()) }
/// ```
#[cfg(feature = "sqlx")]
pub async fn enqueue_in_sqlx(
    conn: &mut sqlx::PgConnection,
    jobs: Vec<NewJob>,
) -> Result<Vec<Enqueued>> {
    const OP: &str = "enqueue_in_sqlx";
    if jobs.is_empty() {
        return Ok(Vec::new());
    }
    let p = JobEnqueueManyParams {
        jobs,
        now: Timestamp::now(),
    };
    job_enqueue_many::enqueue(&mut sqlx_db::Sqlx(conn), &p)
        .await
        .map_err(|f| f.into_error(OP, "the caller's PostgreSQL connection"))
}

#[cfg(feature = "sqlx")]
mod sqlx_db {
    //! The enqueue's statements on an sqlx connection.

    use anp_core::Error;
    use async_trait::async_trait;
    use sqlx::Row;

    use crate::conn::{Failure, OpResult};
    use crate::ops::job_enqueue_many::{EnqueueDb, Insert};

    /// [`EnqueueDb`] on an sqlx connection.
    pub(super) struct Sqlx<'c>(pub(super) &'c mut sqlx::PgConnection);

    /// An sqlx error as alphanode's: connection trouble and rolled-back or cancelled statements
    /// are `Unavailable` (the caller's transaction is aborted: roll back, retry the whole unit).
    fn failure(e: sqlx::Error) -> Failure {
        const OP: &str = "enqueue_in_sqlx";
        let transient = match &e {
            sqlx::Error::Database(db) => matches!(
                db.code().as_deref().and_then(|c| c.get(..2)),
                Some("08" | "40" | "53" | "57" | "58")
            ),
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => true,
            _ => false,
        };
        Failure::Anp(if transient {
            Error::unavailable(
                OP,
                format!("PostgreSQL (through sqlx): {e}; expected a working connection; roll back and retry the whole transaction"),
            )
        } else {
            Error::internal(OP, format!("PostgreSQL (through sqlx): {e}"))
        })
    }

    fn pair(r: Option<sqlx::postgres::PgRow>) -> OpResult<Option<(String, String)>> {
        r.map(|r| {
            Ok((
                r.try_get::<String, _>(0).map_err(failure)?,
                r.try_get::<String, _>(1).map_err(failure)?,
            ))
        })
        .transpose()
    }

    #[async_trait]
    impl EnqueueDb for Sqlx<'_> {
        async fn insert(&mut self, r: &Insert<'_>) -> OpResult<u64> {
            Ok(sqlx::query(include_str!("../sql/job_enqueue_many.sql"))
                .bind(r.id)
                .bind(r.kind)
                .bind(r.queue)
                .bind(r.args)
                .bind(r.state)
                .bind(r.priority)
                .bind(r.max_attempts)
                .bind(r.run_at)
                .bind(r.created_at)
                .bind(r.unique_key)
                .execute(&mut *self.0)
                .await
                .map_err(failure)?
                .rows_affected())
        }

        async fn live(&mut self, queue: &str, key: &str) -> OpResult<Option<(String, String)>> {
            pair(
                sqlx::query(include_str!("../sql/job_enqueue_many_live.sql"))
                    .bind(queue)
                    .bind(key)
                    .fetch_optional(&mut *self.0)
                    .await
                    .map_err(failure)?,
            )
        }

        async fn recent(
            &mut self,
            queue: &str,
            key: &str,
            since: i64,
        ) -> OpResult<Option<(String, String)>> {
            pair(
                sqlx::query(include_str!("../sql/job_enqueue_many_recent.sql"))
                    .bind(queue)
                    .bind(key)
                    .bind(since)
                    .fetch_optional(&mut *self.0)
                    .await
                    .map_err(failure)?,
            )
        }

        async fn state(&mut self, id: &str) -> OpResult<Option<String>> {
            sqlx::query(include_str!("../sql/job_get_state.sql"))
                .bind(id)
                .fetch_optional(&mut *self.0)
                .await
                .map_err(failure)?
                .map(|r| r.try_get::<String, _>(0).map_err(failure))
                .transpose()
        }

        async fn count(&mut self, minute: i64, queue: &str, kind: &str, n: i64) -> OpResult<()> {
            sqlx::query(include_str!("../sql/job_enqueue_many_stats.sql"))
                .bind(minute)
                .bind(queue)
                .bind(kind)
                .bind(n)
                .execute(&mut *self.0)
                .await
                .map_err(failure)?;
            Ok(())
        }

        async fn notify(&mut self) -> OpResult<()> {
            sqlx::query(include_str!("../sql/notify.sql"))
                .execute(&mut *self.0)
                .await
                .map_err(failure)?;
            Ok(())
        }
    }
}
