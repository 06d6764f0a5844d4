//! Vacuum after a burst (anp-postgres `vacuum.rs`, docs/postgres.md): once a store has changed
//! `vacuum_every` jobs, the next time a worker runs out of work (`job_wait`) it runs
//! `VACUUM jobs` itself; with `vacuum_every=0` it never does. And once it has enqueued
//! `analyze_every` jobs, it runs `ANALYZE jobs` at once. Each test has a database of its
//! own (see `anp-postgres/tests/common`), whose autovacuum is off for `jobs` so that only the
//! store's own vacuum and analyze can show up in `pg_stat_user_tables`.

#[path = "../../anp-postgres/tests/common/mod.rs"]
mod common;

use std::time::Duration;

use anp_conformance::util::{ack, enqueue_n, fetch, now, q};
use anp_core::store::{AckOutcome, AckResult, JobWaitParams};
use anp_core::Store;
use anp_postgres::PostgresStore;
use common::TestDb;

/// A database of its own, and the store opened on it with the URL option `option`; autovacuum
/// (and so autoanalyze) off for `jobs`.
async fn open(option: &str) -> (TestDb, PostgresStore) {
    let db = tokio::task::spawn_blocking(TestDb::new)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let s = PostgresStore::open(&format!("{}&{option}", db.url))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (c, conn) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(conn);
    c.batch_execute("ALTER TABLE jobs SET (autovacuum_enabled = off)")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    (db, s)
}

/// The database's own statistics for `jobs`: (vacuum_count, n_dead_tup).
async fn vacuum_stats(url: &str) -> (i64, i64) {
    let (c, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(conn);
    let r = c
        .query_one(
            "SELECT vacuum_count, n_dead_tup FROM pg_stat_user_tables WHERE relname = 'jobs'",
            &[],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    (r.get(0), r.get(1))
}

/// Opens the store with `vacuum_every` and autovacuum off on `jobs`; enqueues, fetches and
/// completes 40 jobs (80 changes, 40 dead rows at least), waits until PostgreSQL's statistics
/// count them, then lets a worker run out of work. The vacuum count after that, as soon as it
/// moves or after `patience`.
async fn burst_then_idle(vacuum_every: u64, patience: Duration) -> i64 {
    let (db, s) = open(&format!("vacuum_every={vacuum_every}")).await;
    let t = now();
    enqueue_n(&s, "default", 40, t).await;
    for j in fetch(&s, "default", 40, t).await {
        assert_eq!(
            ack(&s, &j, AckOutcome::Complete, t).await,
            AckResult::Applied
        );
    }
    // Backends report their counts to the statistics about once a second.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while vacuum_stats(&db.url).await.1 < 40 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "dead rows never counted"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let before = vacuum_stats(&db.url).await.0;
    s.job_wait(JobWaitParams {
        queues: vec![q("default")],
        timeout: Duration::from_millis(100),
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        let count = vacuum_stats(&db.url).await.0 - before;
        if count > 0 || tokio::time::Instant::now() >= deadline {
            return count;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_out_of_work_vacuums_after_a_burst() {
    assert_eq!(burst_then_idle(50, Duration::from_secs(10)).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vacuum_every_0_never_vacuums() {
    assert_eq!(burst_then_idle(0, Duration::from_secs(3)).await, 0);
}

/// `jobs`' analyze count in the database's statistics.
async fn analyze_count(url: &str) -> i64 {
    let (c, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(conn);
    c.query_one(
        "SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'jobs'",
        &[],
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"))
    .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enqueuing_analyze_every_jobs_analyzes_at_once() {
    let (db, s) = open("analyze_every=25").await;
    let before = analyze_count(&db.url).await;
    enqueue_n(&s, "default", 20, now()).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(analyze_count(&db.url).await, before, "20 of 25: not yet");
    enqueue_n(&s, "default", 10, now()).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while analyze_count(&db.url).await == before {
        assert!(
            tokio::time::Instant::now() < deadline,
            "jobs was never analyzed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
