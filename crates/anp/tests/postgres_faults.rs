//! PostgreSQL faults, on a private cluster this test process starts (`initdb` + `postgres` on a
//! free port, never the shared server): the server killed while a worker runs a batch and
//! started again (no job lost, the worker carries on over new connections), connections
//! dropped under a store (the next calls reconnect, wake-ups resume), and a statement timeout
//! (a clear, retry-safe `Unavailable` error).

#[path = "../../anp-postgres/tests/common/mod.rs"]
mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use alphanode::{
    Admin, Client, EnqueueOptions, ErrorKind, JobArgs, JobContext, JobState, Outcome, Worker,
    WorkerOptions,
};
use anp_core::store::{JobEnqueueManyParams, JobWaitParams};
use anp_core::{Args, Kind, NewJob, QueueName, Store};
use anp_postgres::PostgresStore;
use common::{admin, PrivateCluster};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Work {
    n: u64,
}

impl JobArgs for Work {
    const KIND: &'static str = "work";
}

fn cluster_db(c: &PrivateCluster, name: &str) -> String {
    admin("127.0.0.1", c.port, vec![format!("CREATE DATABASE {name}")])
        .unwrap_or_else(|e| panic!("{e}"));
    format!(
        "postgres://postgres@127.0.0.1:{}/{name}?sslmode=disable",
        c.port
    )
}

async fn until(what: &str, deadline: Duration, mut f: impl AsyncFnMut() -> bool) {
    let end = Instant::now() + deadline;
    while !f().await {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn counts(admin: &Admin) -> std::collections::BTreeMap<JobState, u64> {
    let mut total = std::collections::BTreeMap::new();
    if let Ok(qs) = admin.queue_list().await {
        for q in qs {
            for (s, n) in q.counts {
                *total.entry(s).or_insert(0) += n;
            }
        }
    }
    total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_killed_mid_batch_loses_no_job_and_the_worker_carries_on() {
    let cluster = tokio::task::spawn_blocking(PrivateCluster::start)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let url = cluster_db(&cluster, "faults");
    let backend = alphanode::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let client = Client::new(backend.clone());
    let admin = Admin::new(backend.clone());
    const N: u64 = 200;
    let jobs: Vec<Work> = (0..N).map(|n| Work { n }).collect();
    client
        .enqueue_many(&jobs, EnqueueOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let done = Arc::new(AtomicU64::new(0));
    let seen = Arc::clone(&done);
    let worker = Worker::builder(backend.clone())
        .queue("default", 4)
        // Short leases: the jobs whose acknowledgements the crash lost are rescued soon.
        .options(WorkerOptions {
            lease: Duration::from_secs(3),
            ..WorkerOptions::default()
        })
        .register(move |_ctx: JobContext, _job: Work| {
            let seen = Arc::clone(&seen);
            async move {
                tokio::time::sleep(Duration::from_millis(50)).await;
                seen.fetch_add(1, Ordering::SeqCst);
                Ok::<_, std::io::Error>(Outcome::Complete)
            }
        })
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let shutdown = worker.shutdown_token();
    let running = tokio::spawn(worker.run());
    until("some jobs done", Duration::from_secs(60), async || {
        done.load(Ordering::SeqCst) >= 20
    })
    .await;
    // Kill the server mid-batch (SIGKILL: no shutdown handshake), then start it again.
    let c = Arc::new(cluster);
    let killer = Arc::clone(&c);
    tokio::task::spawn_blocking(move || {
        killer.kill();
        killer.spawn();
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        done.load(Ordering::SeqCst) < N,
        "the server was killed after the batch ended: the test proves nothing"
    );
    // Every job completes — those whose acks were lost run again after their lease expires.
    until(
        "every job completed after the restart",
        Duration::from_secs(120),
        async || counts(&admin).await.get(&JobState::Completed).copied() == Some(N),
    )
    .await;
    let total: u64 = counts(&admin).await.values().sum();
    assert_eq!(total, N, "no job lost, none duplicated");
    shutdown.cancel();
    running
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connections_are_replaced_and_wake_ups_resume() {
    let cluster = tokio::task::spawn_blocking(PrivateCluster::start)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let url = cluster_db(&cluster, "drops");
    let store = PostgresStore::open(&url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let queue = QueueName::parse("q").unwrap_or_else(|e| panic!("{e}"));
    store.store_ping().await.unwrap_or_else(|e| panic!("{e}"));
    // Drop every connection of that database, the listening one included.
    let port = cluster.port;
    tokio::task::spawn_blocking(move || {
        admin(
            "127.0.0.1",
            port,
            vec![
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'drops'"
                    .into(),
            ],
        )
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"))
    .unwrap_or_else(|e| panic!("{e}"));
    // A call may meet a dead pooled connection once (Unavailable, retry safe); then it works.
    let mut ok = false;
    for _ in 0..20 {
        match store.store_ping().await {
            Ok(_) => {
                ok = true;
                break;
            }
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
                assert!(e.retry_safe(), "{e}");
            }
        }
    }
    assert!(ok, "the store did not reconnect");
    // The waiter is woken by another store's enqueue (LISTEN reconnected, or the fallback).
    let waiter = {
        let store = store.clone();
        let queue = queue.clone();
        tokio::spawn(async move {
            store
                .job_wait(JobWaitParams {
                    queues: vec![queue],
                    timeout: Duration::from_secs(60),
                })
                .await
        })
    };
    let other = PostgresStore::open(&url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut job = NewJob::new(
        Kind::parse("k").unwrap_or_else(|e| panic!("{e}")),
        Args::empty_object(),
    );
    job.queue = queue;
    other
        .job_enqueue_many(JobEnqueueManyParams {
            jobs: vec![job],
            now: jiff::Timestamp::now(),
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(30), waiter)
        .await
        .unwrap_or_else(|_| panic!("job_wait was not woken"))
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statement_timeout_is_a_clear_retry_safe_error() {
    let cluster = tokio::task::spawn_blocking(PrivateCluster::start)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let url = cluster_db(&cluster, "timeouts");
    // Migrate first, then open with a 200 ms statement timeout.
    drop(
        PostgresStore::open(&url)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    );
    let store = PostgresStore::open(&format!("{url}&options=-c%20statement_timeout%3D200"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // Another session holds the jobs table locked: the enqueue waits, then times out.
    let port = cluster.port;
    let (locked_tx, locked_rx) = tokio::sync::oneshot::channel();
    let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
    let holder = tokio::spawn(async move {
        let (mut c, conn) = tokio_postgres::connect(
            &format!("host=127.0.0.1 port={port} user=postgres dbname=timeouts"),
            tokio_postgres::NoTls,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        tokio::spawn(conn);
        let tx = c.transaction().await.unwrap_or_else(|e| panic!("{e}"));
        tx.batch_execute("LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let _ = locked_tx.send(());
        let _ = release_rx.await;
        tx.rollback().await.unwrap_or_else(|e| panic!("{e}"));
    });
    locked_rx.await.unwrap_or_else(|e| panic!("{e}"));
    let job = NewJob::new(
        Kind::parse("k").unwrap_or_else(|e| panic!("{e}")),
        Args::empty_object(),
    );
    let err = store
        .job_enqueue_many(JobEnqueueManyParams {
            jobs: vec![job.clone()],
            now: jiff::Timestamp::now(),
        })
        .await
        .expect_err("the enqueue should time out behind the lock");
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(err.retry_safe(), "{err}");
    assert!(err.message().contains("statement_timeout"), "{err}");
    let _ = release_tx.send(());
    holder.await.unwrap_or_else(|e| panic!("{e}"));
    // Nothing was enqueued; once the lock is gone the same enqueue works.
    let again = store
        .job_enqueue_many(JobEnqueueManyParams {
            jobs: vec![job],
            now: jiff::Timestamp::now(),
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !again[0].duplicate,
        "the timed-out enqueue left nothing behind"
    );
}
