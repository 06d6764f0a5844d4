//! `job_wait`: idle workers block on the store and are woken by new work, never by work they
//! cannot fetch.

use std::time::{Duration, Instant};

use anp_core::store::JobWaitParams;
use anp_core::Store;

use crate::util::{enqueue, new_job, now, plus, q};
use crate::Harness;

/// How long a case lets a waiter get into its wait before making work. A wake-up that comes
/// before the waiter started waiting is fine too (the wait then returns at once), so this is a
/// head start, not a condition; kept short.
const HEAD_START: Duration = Duration::from_millis(100);

/// Starts `job_wait` on `queues` in a task; it resolves to the instant the wait returned.
fn start_wait(
    s: &std::sync::Arc<dyn Store>,
    queues: &[&str],
    timeout: Duration,
) -> tokio::task::JoinHandle<Instant> {
    let s = s.clone();
    let p = JobWaitParams {
        queues: queues.iter().map(|n| q(n)).collect(),
        timeout,
    };
    tokio::spawn(async move {
        s.job_wait(p)
            .await
            .unwrap_or_else(|e| panic!("job_wait: {e}"));
        Instant::now()
    })
}

/// Waits for the waiter, at most `within`, and returns how long after `since` it returned.
async fn woke_within(
    waiter: tokio::task::JoinHandle<Instant>,
    since: Instant,
    within: Duration,
    what: &str,
) -> Duration {
    let woke = tokio::time::timeout(within, waiter)
        .await
        .unwrap_or_else(|_| panic!("job_wait did not wake within {within:?} of {what}"))
        .unwrap_or_else(|e| panic!("{e}"));
    woke.saturating_duration_since(since)
}

/// An idle `job_wait` (20 s timeout) returns soon after another handle (another process)
/// enqueues into one of its queues.
pub async fn job_wait_wakes_on_enqueue_from_another_handle<H: Harness>(h: &H) {
    let waiter = h.store().await;
    let writer = h.store().await;
    let wait = start_wait(&waiter, &["other", "default"], Duration::from_secs(20));
    tokio::time::sleep(HEAD_START).await;
    let enqueued = Instant::now();
    enqueue(&*writer, vec![new_job("a", "default", 1)], now()).await;
    woke_within(wait, enqueued, Duration::from_secs(10), "an enqueue").await;
}

/// The handle that enqueues wakes its own waiters, and resuming a paused queue that holds work
/// wakes waiters too.
pub async fn job_wait_wakes_on_enqueue_and_resume_from_the_same_handle<H: Harness>(h: &H) {
    let s = h.store().await;
    let wait = start_wait(&s, &["default"], Duration::from_secs(20));
    tokio::time::sleep(HEAD_START).await;
    let enqueued = Instant::now();
    enqueue(&*s, vec![new_job("a", "default", 1)], now()).await;
    woke_within(wait, enqueued, Duration::from_secs(10), "an enqueue").await;

    s.queue_set_paused(q("paused"), true, now())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    enqueue(&*s, vec![new_job("a", "paused", 2)], now()).await;
    // Drain wake-ups the enqueue may have left (allowed: a wait may return early).
    let drained = start_wait(&s, &["paused"], Duration::from_millis(1));
    drained.await.unwrap_or_else(|e| panic!("{e}"));
    let wait = start_wait(&s, &["paused"], Duration::from_secs(20));
    tokio::time::sleep(HEAD_START).await;
    let resumed = Instant::now();
    s.queue_set_paused(q("paused"), false, now())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    woke_within(wait, resumed, Duration::from_secs(10), "a resume").await;
}

/// A wait on a queue whose jobs are waiting returns at once.
pub async fn job_wait_returns_at_once_when_work_is_waiting<H: Harness>(h: &H) {
    let s = h.store().await;
    enqueue(&*s, vec![new_job("a", "default", 1)], now()).await;
    let started = Instant::now();
    let wait = start_wait(&s, &["default"], Duration::from_secs(20));
    woke_within(wait, started, Duration::from_secs(5), "the wait starting").await;
}

/// Work a waiter cannot fetch — a job scheduled for later, jobs on other queues — from this
/// handle or another, does not end its wait: it returns at its timeout (and not much later).
pub async fn job_wait_is_not_ended_by_work_it_cannot_fetch<H: Harness>(h: &H) {
    let a = h.store().await;
    let b = h.store().await;
    let timeout = Duration::from_millis(600);
    let started = Instant::now();
    let wait = start_wait(&a, &["default"], timeout);
    tokio::time::sleep(HEAD_START).await;
    let now = now();
    let mut later = new_job("a", "default", 1);
    later.run_at = Some(plus(now, 3600));
    enqueue(&*b, vec![later, new_job("a", "other", 2)], now).await;
    enqueue(&*a, vec![new_job("a", "other", 3)], now).await;
    let waited = woke_within(wait, started, Duration::from_secs(10), "its timeout").await;
    assert!(waited >= timeout, "returned after {waited:?}");
}
