//! Several stores on one file, as several processes would have: exactly-once leasing, and
//! job_wait woken by this store and by another.
#![allow(clippy::unwrap_used)]

mod fixture;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anp_core::store::{AckOutcome, JobAck, JobAckManyParams, JobWaitParams};
use anp_core::{JobId, JobState, Store};
use anp_sqlite::SqliteStore;
use fixture::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_stores_fetching_at_once_lease_every_job_exactly_once() {
    let (_d, s) = store().await;
    const JOBS: usize = 2000;
    let mut ids = Vec::new();
    for chunk in 0..(JOBS / 500) {
        let jobs: Vec<_> = (0..500).map(|_| job("q")).collect();
        ids.extend(jobs.iter().map(|j| j.id));
        enqueue(&s, jobs, at(chunk as u64)).await;
    }
    let mut stores = vec![s.clone()];
    for _ in 0..3 {
        stores.push(other(&s).await);
    }
    let mut tasks = Vec::new();
    for (n, st) in stores.into_iter().enumerate() {
        // Two fetchers per store: concurrency inside a store and between stores.
        for k in 0..2 {
            let st = st.clone();
            tasks.push(tokio::spawn(async move {
                let mut got = Vec::new();
                loop {
                    let mut p = fetch_params("q", 7, at(100));
                    p.worker = format!("w{n}.{k}");
                    let batch = st.job_fetch(p).await.unwrap();
                    if batch.is_empty() {
                        break;
                    }
                    let acks = batch
                        .iter()
                        .map(|j| JobAck {
                            lease: lease(j),
                            outcome: AckOutcome::Complete,
                            stats: None,
                        })
                        .collect();
                    let r = st
                        .job_ack_many(JobAckManyParams { acks, now: at(101) })
                        .await
                        .unwrap();
                    assert!(r.iter().all(|r| *r == anp_core::store::AckResult::Applied));
                    got.extend(batch.into_iter().map(|j| (j.id, j.attempt)));
                }
                got
            }));
        }
    }
    let mut seen: HashMap<JobId, usize> = HashMap::new();
    let mut per_task = Vec::new();
    for t in tasks {
        let got = t.await.unwrap();
        per_task.push(got.len());
        for (id, attempt) in got {
            assert_eq!(attempt, 1, "fetched once, so first attempt");
            *seen.entry(id).or_default() += 1;
        }
    }
    assert_eq!(seen.len(), JOBS, "every job fetched");
    assert!(seen.values().all(|n| *n == 1), "no job fetched twice");
    for id in ids {
        assert_eq!(seen.get(&id), Some(&1));
    }
    assert!(
        per_task.iter().filter(|n| **n > 0).count() > 1,
        "several fetchers took part: {per_task:?}"
    );
    let info = s.queue_list().await.unwrap();
    assert_eq!(info[0].counts[&JobState::Completed], JOBS as u64);
}

fn wait_params(queue: &str, timeout: Duration) -> JobWaitParams {
    JobWaitParams {
        queues: vec![q(queue)],
        timeout,
    }
}

/// Starts a wait on `s` and returns it with the instant it started.
fn start_wait(s: &SqliteStore, queue: &str, timeout: Duration) -> tokio::task::JoinHandle<Instant> {
    let s = s.clone();
    let p = wait_params(queue, timeout);
    tokio::spawn(async move {
        s.job_wait(p).await.unwrap();
        Instant::now()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_returns_at_once_when_jobs_are_available() {
    let (_d, s) = store().await;
    enqueue(&s, vec![job("q")], t0()).await;
    let started = Instant::now();
    s.job_wait(wait_params("q", Duration::from_secs(10)))
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_times_out_without_work_and_ignores_paused_or_other_queues() {
    let (_d, s) = store().await;
    enqueue(&s, vec![job("paused"), job("elsewhere")], t0()).await;
    s.queue_set_paused(q("paused"), true, t0()).await.unwrap();
    let started = Instant::now();
    s.job_wait(JobWaitParams {
        queues: vec![q("paused"), q("q")],
        timeout: Duration::from_millis(300),
    })
    .await
    .unwrap();
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(300), "{waited:?}");
    assert!(waited < Duration::from_secs(3), "{waited:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_store_wakes_its_waiters() {
    let (_d, s) = store().await;
    let clone = s.clone();
    let waiter = start_wait(&s, "q", Duration::from_secs(10));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let enqueued = Instant::now();
    enqueue(&clone, vec![job("q")], t0()).await;
    let woke = waiter.await.unwrap();
    let latency = woke.saturating_duration_since(enqueued);
    assert!(latency < Duration::from_secs(1), "{latency:?}");

    // Resuming a paused queue with work wakes waiters too.
    s.queue_set_paused(q("q"), true, t0()).await.unwrap();
    let waiter = start_wait(&s, "q", Duration::from_secs(10));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let resumed = Instant::now();
    s.queue_set_paused(q("q"), false, t0()).await.unwrap();
    let latency = waiter.await.unwrap().saturating_duration_since(resumed);
    assert!(latency < Duration::from_secs(1), "{latency:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_store_on_the_file_wakes_waiters_without_polling() {
    let (_d, a) = store().await;
    let b = other(&a).await;
    let mut latencies = Vec::new();
    for round in 0..5u64 {
        let waiter = start_wait(&a, "q", Duration::from_secs(10));
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!waiter.is_finished(), "nothing to wake for yet");
        let enqueued = Instant::now();
        enqueue(&b, vec![job("q")], at(round)).await;
        let woke = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("woken well before the 10 s timeout")
            .unwrap();
        latencies.push(woke.saturating_duration_since(enqueued));
        // Drain so the next round waits again.
        assert_eq!(fetch(&a, "q", 10, at(round)).await.len(), 1);
    }
    latencies.sort();
    eprintln!("cross-store wake-up latencies: {latencies:?}");
    assert!(latencies[2] < Duration::from_millis(200), "{latencies:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commits_that_make_nothing_available_do_not_end_the_wait() {
    let (_d, a) = store().await;
    let b = other(&a).await;
    let waiter = start_wait(&a, "q", Duration::from_millis(600));
    let started = Instant::now();
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Scheduled work and work in other queues, from this store and another.
    let mut later = job("q");
    later.run_at = Some(at(3600));
    enqueue(&b, vec![later, job("other")], t0()).await;
    enqueue(&a, vec![job("other")], t0()).await;
    let woke = waiter.await.unwrap();
    assert!(
        woke.duration_since(started) >= Duration::from_millis(600),
        "returned after {:?}",
        woke.duration_since(started)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_wait_does_not_write() {
    let (d, s) = store().await;
    enqueue(&s, vec![job("other")], t0()).await;
    let wal = d.path().join("anp.db-wal");
    let before = std::fs::metadata(&wal).unwrap();
    s.job_wait(wait_params("q", Duration::from_millis(300)))
        .await
        .unwrap();
    let after = std::fs::metadata(&wal).unwrap();
    assert_eq!(before.len(), after.len());
    assert_eq!(before.modified().unwrap(), after.modified().unwrap());
}
