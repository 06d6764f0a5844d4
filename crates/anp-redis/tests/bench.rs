//! Rough throughput on a private local Redis; ignored by default, prints numbers. Run:
//! `cargo test -p anp-redis --release --test bench -- --ignored --nocapture`.
//! (`anp bench` is the real measurement; this only checks the design's round-trip budget.)
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use alphanode::{JobArgs, JobContext, Outcome, Worker, WorkerOptions};
use anp_conformance::util::new_job;
use anp_core::store::JobEnqueueManyParams;
use anp_core::JobState;
use common::RedisServer;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Noop {}

impl JobArgs for Noop {
    const KIND: &'static str = "noop";
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "prints throughput; run in release with --ignored --nocapture"]
async fn throughput() {
    let server = RedisServer::start();
    let store = common::open(&server.url()).await;
    let n: u64 = 200_000;
    let batch = 5_000;
    let t = Instant::now();
    let mut tasks = Vec::new();
    for b in 0..(n / batch) {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            let jobs = (0..batch)
                .map(|i| new_job(Noop::KIND, "default", b * batch + i))
                .collect();
            s.job_enqueue_many(JobEnqueueManyParams {
                jobs,
                now: Timestamp::now(),
            })
            .await
            .unwrap();
        }));
        if tasks.len() >= 4 {
            tasks.remove(0).await.unwrap();
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
    let enq = t.elapsed();
    println!(
        "enqueue: {n} jobs in {enq:?} = {:.0} jobs/s (batches of {batch}, chunks of 500, 4 in flight)",
        n as f64 / enq.as_secs_f64()
    );

    let done = Arc::new(AtomicU64::new(0));
    let d = done.clone();
    let worker = Worker::builder(store.clone())
        .options(WorkerOptions {
            poll_interval: Duration::from_secs(1),
            ..WorkerOptions::default()
        })
        .queue("default", 50)
        .register(move |_: JobContext, _: Noop| {
            let d = d.clone();
            async move {
                d.fetch_add(1, Ordering::Relaxed);
                Ok::<_, String>(Outcome::Complete)
            }
        })
        .build()
        .unwrap();
    let t = Instant::now();
    let w = worker.clone();
    let handle = tokio::spawn(async move { w.run().await });
    loop {
        let q = store.queue_list().await.unwrap();
        let completed = q
            .iter()
            .map(|q| q.counts.get(&JobState::Completed).copied().unwrap_or(0))
            .sum::<u64>();
        if completed == n {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(300),
            "too slow: {completed}/{n}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let run = t.elapsed();
    worker.shutdown_token().cancel();
    handle.await.unwrap().unwrap();
    println!(
        "worker (concurrency 50, noop): {n} jobs in {run:?} = {:.0} jobs/s",
        n as f64 / run.as_secs_f64()
    );
    let info = server.cli(&[], &["INFO", "commandstats"]);
    for line in info
        .lines()
        .filter(|l| l.contains("evalsha") || l.contains("cmdstat_blpop"))
    {
        println!("{line}");
    }
}
