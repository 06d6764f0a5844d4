//! Transactional enqueue through sqlx (`enqueue_in_sqlx`, feature `sqlx`): rolled back, neither
//! the business row nor the job exists; committed, the job is there and a fetch leases it. The
//! worker-level test (a real Worker running the committed job) is
//! crates/anp/tests/postgres_tx.rs, on tokio-postgres.

mod common;

use anp_core::store::JobFetchParams;
use anp_core::{Args, ErrorKind, JobState, Kind, NewJob, QueueName, Store};
use anp_postgres::sqlx::{self, Connection};
use anp_postgres::{enqueue_in_sqlx, PostgresStore};
use common::TestDb;
use jiff::Timestamp;

fn receipt(order: i64) -> NewJob {
    NewJob::new(
        Kind::parse("send_receipt").unwrap_or_else(|e| panic!("{e}")),
        Args::from_json(&format!(r#"{{"order":{order}}}"#)).unwrap_or_else(|e| panic!("{e}")),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlx_rollback_leaves_no_job_and_commit_enqueues() {
    let db = tokio::task::spawn_blocking(TestDb::new)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let store = PostgresStore::open(&db.url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut conn = sqlx::PgConnection::connect(&db.url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    sqlx::query("CREATE TABLE orders (id bigint PRIMARY KEY)")
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    // Rolled back.
    let mut tx = conn.begin().await.unwrap_or_else(|e| panic!("{e}"));
    sqlx::query("INSERT INTO orders (id) VALUES ($1)")
        .bind(1i64)
        .execute(&mut *tx)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let gone = enqueue_in_sqlx(&mut tx, vec![receipt(1)])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    tx.rollback().await.unwrap_or_else(|e| panic!("{e}"));
    let err = store
        .job_get(gone[0].id)
        .await
        .expect_err("the rolled-back job exists");
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");

    // Committed.
    let mut tx = conn.begin().await.unwrap_or_else(|e| panic!("{e}"));
    sqlx::query("INSERT INTO orders (id) VALUES ($1)")
        .bind(2i64)
        .execute(&mut *tx)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let kept = enqueue_in_sqlx(&mut tx, vec![receipt(2)])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
    let job = store
        .job_get(kept[0].id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(job.state, JobState::Available);
    assert_eq!(job.args.as_json(), r#"{"order":2}"#);
    let now = Timestamp::now();
    let fetched = store
        .job_fetch(JobFetchParams {
            queue: QueueName::parse("default").unwrap_or_else(|e| panic!("{e}")),
            limit: 10,
            worker: "test".into(),
            now,
            lease_until: now,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        fetched.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![kept[0].id],
        "only the committed job"
    );
}
