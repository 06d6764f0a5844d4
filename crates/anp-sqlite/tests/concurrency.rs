//! Several stores on one file, as several processes would have: job_wait woken by another
//! store through the file (no polling), and waits that neither write nor end early. The
//! behaviour every backend shares (exactly-once leasing, wake-ups, timeouts) is in the
//! conformance suite (crates/anp-conformance).
#![allow(clippy::unwrap_used)]

mod fixture;

use std::time::{Duration, Instant};

use anp_core::store::JobWaitParams;
use anp_core::Store;
use anp_sqlite::SqliteStore;
use fixture::*;

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

/// A wait on a paused queue that holds work times out (SQLite checks for fetchable work before
/// it waits; Redis may wake a waiter early once with a token left from before the pause, which
/// the Store contract allows, so this is not a suite case).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wait_on_a_paused_queue_with_work_times_out() {
    let (_d, s) = store().await;
    enqueue(&s, vec![job("paused")], t0()).await;
    s.queue_set_paused(q("paused"), true, t0()).await.unwrap();
    let started = Instant::now();
    s.job_wait(wait_params("paused", Duration::from_millis(300)))
        .await
        .unwrap();
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(300), "{waited:?}");
    assert!(waited < Duration::from_secs(3), "{waited:?}");
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
