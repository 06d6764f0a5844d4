//! queue_list, queue_set_paused and job_prune.
#![allow(clippy::unwrap_used)]

mod fixture;

use std::time::Duration;

use anp_core::store::{AckOutcome, JobPruneParams};
use anp_core::{JobId, JobState, Store};
use fixture::*;

#[tokio::test]
async fn queue_list_counts_every_state_and_the_oldest_available_job() {
    let (_d, s) = store().await;
    assert!(s.queue_list().await.unwrap().is_empty());

    let mut jobs: Vec<_> = (0..6).map(|_| job("mail")).collect();
    jobs[0].run_at = Some(at(3)); // available, run_at 3
    jobs[1].run_at = Some(at(1)); // available, run_at 1, priority 9: still the oldest
    jobs[1].priority = 9;
    jobs[2].run_at = Some(at(500)); // scheduled
    enqueue(&s, jobs, at(10)).await;
    let fetched = fetch(&s, "mail", 1, at(10)).await; // jobs[0]: priority 5, run_at 3
    assert_eq!(fetched.len(), 1);
    ack(&s, lease(&fetched[0]), AckOutcome::Complete, at(11)).await;
    let running = fetch(&s, "mail", 1, at(12)).await;
    assert_eq!(running.len(), 1);
    enqueue(&s, vec![job("bulk")], at(13)).await;
    s.queue_set_paused(q("idle"), true, at(14)).await.unwrap();
    s.queue_set_paused(q("bulk"), true, at(14)).await.unwrap();

    let list = s.queue_list().await.unwrap();
    let names: Vec<&str> = list.iter().map(|i| i.queue.as_str()).collect();
    assert_eq!(names, ["bulk", "idle", "mail"]);

    let mail = &list[2];
    assert!(!mail.paused);
    assert_eq!(mail.counts.len(), 7, "every state present");
    let count = |s: JobState| mail.counts[&s];
    assert_eq!(count(JobState::Scheduled), 1);
    assert_eq!(count(JobState::Available), 3);
    assert_eq!(count(JobState::Running), 1);
    assert_eq!(count(JobState::Completed), 1);
    assert_eq!(count(JobState::Retryable), 0);
    assert_eq!(count(JobState::Dead), 0);
    assert_eq!(count(JobState::Cancelled), 0);
    assert_eq!(mail.oldest_available_at, Some(at(1)));

    let idle = &list[1];
    assert!(idle.paused);
    assert!(idle.counts.values().all(|n| *n == 0));
    assert_eq!(idle.oldest_available_at, None);

    let bulk = &list[0];
    assert!(bulk.paused);
    assert_eq!(bulk.counts[&JobState::Available], 1);

    // Resumed queues stay listed; a queue whose jobs are all gone and that has no flag does not.
    s.queue_set_paused(q("idle"), false, at(15)).await.unwrap();
    let list = s.queue_list().await.unwrap();
    assert!(!list[1].paused);
    let only = enqueue(&s, vec![job("gone")], at(16)).await;
    assert!(s
        .queue_list()
        .await
        .unwrap()
        .iter()
        .any(|i| i.queue.as_str() == "gone"));
    s.job_delete(only[0].id).await.unwrap();
    assert!(!s
        .queue_list()
        .await
        .unwrap()
        .iter()
        .any(|i| i.queue.as_str() == "gone"));
}

/// Completes or kills one job per entry, finalized at the given second.
async fn finish(
    s: &anp_sqlite::SqliteStore,
    queue: &str,
    finished_at: &[u64],
    dead: bool,
) -> Vec<JobId> {
    let mut ids = Vec::new();
    for &t in finished_at {
        enqueue(s, vec![job(queue)], at(t)).await;
        let j = fetch(s, queue, 1, at(t)).await.remove(0);
        let outcome = if dead {
            AckOutcome::Dead {
                error: failure(1, at(t), "x", false),
            }
        } else {
            AckOutcome::Complete
        };
        ack(s, lease(&j), outcome, at(t)).await;
        ids.push(j.id);
    }
    ids
}

fn prune(now: u64) -> JobPruneParams {
    JobPruneParams {
        now: at(now),
        finished_max_age: Duration::from_secs(1_000_000),
        finished_max_count: 1_000_000,
        dead_max_age: Duration::from_secs(1_000_000),
        dead_max_count: 1_000_000,
        limit: 1000,
    }
}

async fn exists(s: &anp_sqlite::SqliteStore, id: JobId) -> bool {
    s.job_get(id).await.is_ok()
}

#[tokio::test]
async fn prune_by_age_keeps_recent_and_unfinished_jobs() {
    let (_d, s) = store().await;
    let done = finish(&s, "q", &[10, 20, 30, 40], false).await;
    let dead = finish(&s, "q", &[10, 20, 30, 40], true).await;
    let cancelled = enqueue(&s, vec![job("q")], at(5)).await[0].id;
    s.job_cancel(cancelled, at(15)).await.unwrap();
    let live = enqueue(&s, vec![job("q")], at(1)).await[0].id;

    // Finished older than 25 s at t=50 (finalized before 25): done[0], done[1], cancelled.
    let mut p = prune(50);
    p.finished_max_age = Duration::from_secs(25);
    assert_eq!(s.job_prune(p.clone()).await.unwrap(), 3);
    assert!(!exists(&s, done[0]).await && !exists(&s, done[1]).await);
    assert!(!exists(&s, cancelled).await);
    assert!(exists(&s, done[2]).await && exists(&s, done[3]).await);
    assert!(exists(&s, live).await);
    for id in &dead {
        assert!(
            exists(&s, *id).await,
            "dead jobs follow their own retention"
        );
    }
    assert_eq!(s.job_prune(p).await.unwrap(), 0, "idempotent");

    // Dead older than 15 s at t=50 (finalized before 35): dead[0..3].
    let mut p = prune(50);
    p.dead_max_age = Duration::from_secs(15);
    assert_eq!(s.job_prune(p).await.unwrap(), 3);
    assert!(exists(&s, dead[3]).await);
    assert!(!exists(&s, dead[2]).await);
}

#[tokio::test]
async fn prune_by_count_keeps_the_newest_per_queue() {
    let (_d, s) = store().await;
    let a = finish(&s, "a", &[10, 20, 30, 40, 50], false).await;
    let b = finish(&s, "b", &[15, 25], false).await;
    let cancelled = enqueue(&s, vec![job("a")], at(1)).await[0].id;
    s.job_cancel(cancelled, at(45)).await.unwrap(); // counts with completed jobs
    let dead = finish(&s, "a", &[11, 12, 13], true).await;

    let mut p = prune(60);
    p.finished_max_count = 2;
    p.dead_max_count = 1;
    // a: keep 50 and the cancelled (45); delete 10..40 (4). b: keep both. dead: keep 13, delete 2.
    assert_eq!(s.job_prune(p).await.unwrap(), 6);
    assert!(exists(&s, a[4]).await && exists(&s, cancelled).await);
    for id in &a[..4] {
        assert!(!exists(&s, *id).await);
    }
    assert!(exists(&s, b[0]).await && exists(&s, b[1]).await);
    assert!(exists(&s, dead[2]).await);
    assert!(!exists(&s, dead[0]).await && !exists(&s, dead[1]).await);
}

#[tokio::test]
async fn prune_count_zero_and_limit() {
    let (_d, s) = store().await;
    let a = finish(&s, "a", &[10, 20, 30, 40, 50], false).await;
    // Several finished at the same instant are ordered consistently too.
    let same = finish(&s, "a", &[60, 60, 60], false).await;
    let mut p = prune(100);
    p.finished_max_count = 0;
    p.limit = 3;
    assert_eq!(
        s.job_prune(p.clone()).await.unwrap(),
        3,
        "at most limit per call"
    );
    for id in &a[..3] {
        assert!(!exists(&s, *id).await, "oldest first");
    }
    assert!(exists(&s, a[3]).await);
    assert_eq!(s.job_prune(p.clone()).await.unwrap(), 3);
    assert_eq!(s.job_prune(p.clone()).await.unwrap(), 2);
    for id in same {
        assert!(!exists(&s, id).await);
    }
    assert_eq!(s.job_prune(p.clone()).await.unwrap(), 0);
    p.limit = 0;
    assert_eq!(s.job_prune(p).await.unwrap(), 0);
}

#[tokio::test]
async fn prune_with_equal_finish_times_keeps_exactly_max_count() {
    let (_d, s) = store().await;
    let ids = finish(&s, "a", &[60, 60, 60, 60, 60], false).await;
    let mut p = prune(100);
    p.finished_max_count = 2;
    assert_eq!(s.job_prune(p.clone()).await.unwrap(), 3);
    let mut left = 0;
    for id in ids {
        left += usize::from(exists(&s, id).await);
    }
    assert_eq!(left, 2);
    assert_eq!(s.job_prune(p).await.unwrap(), 0);
}
