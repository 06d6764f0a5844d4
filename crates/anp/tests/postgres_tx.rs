//! Transactional enqueue on PostgreSQL (`alphanode::postgres::enqueue_in_tx`): a job written on
//! the application's transaction exists if and only if that transaction commits. Rolled back:
//! neither the business row nor the job exists. Committed: a real `Worker` runs the job. Each
//! test has a database of its own (see `anp-postgres/tests/common`).

#[path = "../../anp-postgres/tests/common/mod.rs"]
mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use alphanode::postgres::tokio_postgres;
use alphanode::{
    Admin, Client, EnqueueOptions, ErrorKind, JobArgs, JobContext, JobState, Outcome, Worker,
};
use common::TestDb;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct SendReceipt {
    order: i64,
}

impl JobArgs for SendReceipt {
    const KIND: &'static str = "send_receipt";
}

/// The application's own connection, and its `orders` table.
async fn app_connection(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(conn);
    client
        .batch_execute("CREATE TABLE IF NOT EXISTS orders (id bigint PRIMARY KEY)")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    client
}

fn db() -> TestDb {
    TestDb::new()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolled_back_business_write_leaves_no_job() {
    let db = tokio::task::spawn_blocking(db)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let backend = alphanode::connect(&db.url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let client = Client::new(backend.clone());
    let admin = Admin::new(backend.clone());
    let mut pg = app_connection(&db.url).await;

    let tx = pg.transaction().await.unwrap_or_else(|e| panic!("{e}"));
    tx.execute("INSERT INTO orders (id) VALUES ($1)", &[&7i64])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let job = client
        .new_job(&SendReceipt { order: 7 }, EnqueueOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let enqueued = alphanode::postgres::enqueue_in_tx(&tx, vec![job])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(enqueued.len(), 1);
    // Not visible outside the transaction before it ends…
    let err = admin
        .job_get(enqueued[0].id)
        .await
        .expect_err("uncommitted job is visible");
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    tx.rollback().await.unwrap_or_else(|e| panic!("{e}"));
    // …nor after the rollback: no order, no job, no queue.
    let err = admin
        .job_get(enqueued[0].id)
        .await
        .expect_err("rolled-back job exists");
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    let orders: i64 = pg
        .query_one("SELECT count(*) FROM orders", &[])
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .get(0);
    assert_eq!(orders, 0);
    let total: u64 = admin
        .queue_list()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .iter()
        .flat_map(|q| q.counts.values().copied())
        .sum();
    assert_eq!(total, 0, "no job of any state");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_business_write_runs_its_job() {
    let db = tokio::task::spawn_blocking(db)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let backend = alphanode::connect(&db.url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let client = Client::new(backend.clone());
    let admin = Admin::new(backend.clone());
    let mut pg = app_connection(&db.url).await;

    let ran = Arc::new(AtomicU64::new(0));
    let seen = Arc::clone(&ran);
    let worker = Worker::builder(backend.clone())
        .queue("default", 2)
        .register(move |_ctx: JobContext, job: SendReceipt| {
            let seen = Arc::clone(&seen);
            async move {
                seen.store(u64::try_from(job.order).unwrap_or(0), Ordering::SeqCst);
                Ok::<_, std::io::Error>(Outcome::Complete)
            }
        })
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let shutdown = worker.shutdown_token();
    let running = tokio::spawn(worker.run());

    let tx = pg.transaction().await.unwrap_or_else(|e| panic!("{e}"));
    tx.execute("INSERT INTO orders (id) VALUES ($1)", &[&42i64])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let job = client
        .new_job(&SendReceipt { order: 42 }, EnqueueOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let id = alphanode::postgres::enqueue_in_tx(&tx, vec![job])
        .await
        .unwrap_or_else(|e| panic!("{e}"))[0]
        .id;
    tx.commit().await.unwrap_or_else(|e| panic!("{e}"));

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let job = admin.job_get(id).await.unwrap_or_else(|e| panic!("{e}"));
        if job.state == JobState::Completed {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the committed job did not run: {job:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        ran.load(Ordering::SeqCst),
        42,
        "the worker ran it with its args"
    );
    shutdown.cancel();
    running
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|e| panic!("{e}"));
}
