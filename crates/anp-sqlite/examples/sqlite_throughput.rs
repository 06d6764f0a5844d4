//! Rough throughput of the SQLite store, for design work (the real numbers come from `anp bench`):
//!
//! ```text
//! cargo run --release -p anp-sqlite --example sqlite_throughput -- [jobs] [synchronous]
//! ```
//!
//! Prints jobs/s for `job_enqueue_many` in 1000-job batches, then for a `job_fetch(50)` +
//! `job_ack_many(50)` loop, first from one task, then from 4 tasks on one store.
#![allow(missing_docs, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use anp_core::job::ts_add;
use anp_core::store::{AckOutcome, JobAck, JobAckManyParams, JobEnqueueManyParams, JobFetchParams};
use anp_core::{Args, Kind, NewJob, QueueName, Store};
use anp_sqlite::{SqliteOptions, SqliteStore, Synchronous};
use jiff::Timestamp;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let total: usize = args.next().map(|a| a.parse().unwrap()).unwrap_or(200_000);
    let sync = match args.next().as_deref() {
        Some("full") => Synchronous::Full,
        _ => Synchronous::Normal,
    };
    let dir = tempfile::tempdir().unwrap();
    let mut opts = SqliteOptions::new(dir.path().join("bench.db"));
    opts.synchronous = sync;
    let store = SqliteStore::open(opts).await.unwrap();
    let queue = QueueName::parse("bench").unwrap();
    let kind = Kind::parse("bench.noop").unwrap();
    let args = Args::from_json(r#"{"user_id":12345,"template":"welcome","locale":"en"}"#).unwrap();
    println!(
        "{total} jobs, synchronous={sync:?}, SQLite {}",
        rusqlite::version()
    );

    // Enqueue in 1000-job batches.
    let started = Instant::now();
    for _ in 0..total / 1000 {
        let jobs = (0..1000)
            .map(|_| {
                let mut j = NewJob::new(kind.clone(), args.clone());
                j.queue = queue.clone();
                j
            })
            .collect();
        store
            .job_enqueue_many(JobEnqueueManyParams {
                jobs,
                now: Timestamp::now(),
            })
            .await
            .unwrap();
    }
    report("enqueue_many(1000)", total, started.elapsed());

    // Half the jobs from one task, the other half from 4 tasks.
    let half = total / 2;
    let started = Instant::now();
    let done = fetch_ack_loop(store.clone(), queue.clone(), half).await;
    report("fetch(50)+ack_many(50), 1 task", done, started.elapsed());

    let started = Instant::now();
    let tasks: Vec<_> = (0..4)
        .map(|_| tokio::spawn(fetch_ack_loop(store.clone(), queue.clone(), usize::MAX)))
        .collect();
    let mut done = 0;
    for t in tasks {
        done += t.await.unwrap();
    }
    report("fetch(50)+ack_many(50), 4 tasks", done, started.elapsed());
}

async fn fetch_ack_loop(store: SqliteStore, queue: QueueName, max: usize) -> usize {
    let mut done = 0;
    while done < max {
        let now = Timestamp::now();
        let jobs = store
            .job_fetch(JobFetchParams {
                queue: queue.clone(),
                limit: 50,
                worker: "bench".to_owned(),
                now,
                lease_until: ts_add(now, Duration::from_secs(30)),
            })
            .await
            .unwrap();
        if jobs.is_empty() {
            break;
        }
        let acks = jobs
            .iter()
            .map(|j| JobAck {
                lease: j.lease().unwrap(),
                outcome: AckOutcome::Complete,
                stats: Some(anp_core::store::AckStats {
                    kind: j.kind.clone(),
                    wait: std::time::Duration::ZERO,
                    run: std::time::Duration::ZERO,
                }),
            })
            .collect();
        store
            .job_ack_many(JobAckManyParams {
                acks,
                now: Timestamp::now(),
            })
            .await
            .unwrap();
        done += jobs.len();
    }
    done
}

fn report(what: &str, n: usize, took: Duration) {
    println!(
        "{what:<34} {n:>8} jobs in {:>7.3} s = {:>9.0} jobs/s",
        took.as_secs_f64(),
        n as f64 / took.as_secs_f64()
    );
}
