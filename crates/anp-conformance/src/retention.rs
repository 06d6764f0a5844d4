//! Retention (`job_prune`): finished jobs by age and by count per queue, dead jobs on their
//! own terms, never unfinished ones; bounded per call.

use std::time::Duration;

use anp_core::store::{AckOutcome, JobPruneParams};
use anp_core::{JobId, Store};
use jiff::Timestamp;

use crate::util::{ack, enqueue, err, exists, fetch, new_job, now, plus};
use crate::Harness;

/// Completes (or kills) one job per entry of `finished_at`, finalized at `t0 + secs`.
async fn finish(
    s: &dyn Store,
    t0: Timestamp,
    queue: &str,
    finished_at: &[u64],
    dead: bool,
) -> Vec<JobId> {
    let mut ids = Vec::new();
    for &secs in finished_at {
        let t = plus(t0, secs);
        enqueue(s, vec![new_job("a", queue, secs)], t).await;
        let j = fetch(s, queue, 1, t).await.remove(0);
        let outcome = if dead {
            AckOutcome::Dead {
                error: err(1, t, "x", false),
            }
        } else {
            AckOutcome::Complete
        };
        ack(s, &j, outcome, t).await;
        ids.push(j.id);
    }
    ids
}

/// Keeps everything (huge ages and counts) unless a case lowers one.
fn keep_all(now: Timestamp) -> JobPruneParams {
    JobPruneParams {
        now,
        finished_max_age: Duration::from_secs(1_000_000),
        finished_max_count: 1_000_000,
        dead_max_age: Duration::from_secs(1_000_000),
        dead_max_count: 1_000_000,
        limit: 1000,
    }
}

async fn prune(s: &dyn Store, p: JobPruneParams) -> u64 {
    s.job_prune(p).await.unwrap_or_else(|e| panic!("{e}"))
}

/// By age: completed and cancelled jobs finalized before `now - finished_max_age` go, recent
/// and unfinished ones stay; dead jobs follow their own age; pruning again deletes nothing.
pub async fn prune_by_age_keeps_recent_and_unfinished_jobs<H: Harness>(h: &H) {
    let s = h.store().await;
    let t0 = now();
    let done = finish(&*s, t0, "default", &[10, 20, 30, 40], false).await;
    let dead = finish(&*s, t0, "default", &[10, 20, 30, 40], true).await;
    let cancelled = enqueue(&*s, vec![new_job("a", "default", 5)], plus(t0, 5)).await[0];
    s.job_cancel(cancelled, plus(t0, 15))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let live = enqueue(&*s, vec![new_job("a", "default", 1)], plus(t0, 1)).await[0];

    // Finished before t0+25: done[0], done[1] and the cancelled one.
    let p = JobPruneParams {
        finished_max_age: Duration::from_secs(25),
        ..keep_all(plus(t0, 50))
    };
    assert_eq!(prune(&*s, p.clone()).await, 3);
    assert!(!exists(&*s, done[0]).await && !exists(&*s, done[1]).await);
    assert!(!exists(&*s, cancelled).await);
    assert!(exists(&*s, done[2]).await && exists(&*s, done[3]).await);
    assert!(exists(&*s, live).await);
    for id in &dead {
        assert!(
            exists(&*s, *id).await,
            "dead jobs follow their own retention"
        );
    }
    assert_eq!(prune(&*s, p).await, 0, "pruning again deletes nothing");

    // Dead before t0+35: dead[0..3].
    let p = JobPruneParams {
        dead_max_age: Duration::from_secs(15),
        ..keep_all(plus(t0, 50))
    };
    assert_eq!(prune(&*s, p).await, 3);
    assert!(!exists(&*s, dead[2]).await);
    assert!(exists(&*s, dead[3]).await);
    assert!(exists(&*s, live).await);
}

/// By count: the newest `finished_max_count` completed-or-cancelled jobs per queue stay (by
/// finish time), and the newest `dead_max_count` dead ones.
pub async fn prune_by_count_keeps_the_newest_per_queue<H: Harness>(h: &H) {
    let s = h.store().await;
    let t0 = now();
    let a = finish(&*s, t0, "qa", &[10, 20, 30, 40, 50], false).await;
    let b = finish(&*s, t0, "qb", &[15, 25], false).await;
    let cancelled = enqueue(&*s, vec![new_job("a", "qa", 1)], plus(t0, 1)).await[0];
    s.job_cancel(cancelled, plus(t0, 45))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let dead = finish(&*s, t0, "qa", &[11, 12, 13], true).await;
    let p = JobPruneParams {
        finished_max_count: 2,
        dead_max_count: 1,
        ..keep_all(plus(t0, 60))
    };
    // qa: keeps the one finished at 50 and the cancelled one (45), deletes 10..40 (4); qb
    // keeps both; dead: keeps 13, deletes 2.
    assert_eq!(prune(&*s, p).await, 6);
    assert!(exists(&*s, a[4]).await && exists(&*s, cancelled).await);
    for id in &a[..4] {
        assert!(!exists(&*s, *id).await);
    }
    assert!(exists(&*s, b[0]).await && exists(&*s, b[1]).await);
    assert!(exists(&*s, dead[2]).await);
    assert!(!exists(&*s, dead[0]).await && !exists(&*s, dead[1]).await);
}

/// A count of 0 keeps none; each call deletes at most `limit` (oldest first), 0 once done;
/// a limit of 0 deletes nothing.
pub async fn prune_honours_its_limit_oldest_first<H: Harness>(h: &H) {
    let s = h.store().await;
    let t0 = now();
    let a = finish(&*s, t0, "default", &[10, 20, 30, 40, 50], false).await;
    let same = finish(&*s, t0, "default", &[60, 60, 60], false).await;
    let p = JobPruneParams {
        finished_max_count: 0,
        limit: 3,
        ..keep_all(plus(t0, 100))
    };
    assert_eq!(prune(&*s, p.clone()).await, 3, "at most limit per call");
    for id in &a[..3] {
        assert!(!exists(&*s, *id).await, "oldest first");
    }
    assert!(exists(&*s, a[3]).await);
    assert_eq!(prune(&*s, p.clone()).await, 3);
    assert_eq!(prune(&*s, p.clone()).await, 2);
    for id in same {
        assert!(!exists(&*s, id).await);
    }
    assert_eq!(prune(&*s, p.clone()).await, 0);
    let p = JobPruneParams { limit: 0, ..p };
    finish(&*s, t0, "default", &[70], false).await;
    assert_eq!(prune(&*s, p).await, 0, "a limit of 0 deletes nothing");
}

/// Jobs finished at the same instant: the count keeps exactly `finished_max_count` of them.
pub async fn prune_with_equal_finish_times_keeps_exactly_max_count<H: Harness>(h: &H) {
    let s = h.store().await;
    let t0 = now();
    let ids = finish(&*s, t0, "default", &[60, 60, 60, 60, 60], false).await;
    let p = JobPruneParams {
        finished_max_count: 2,
        ..keep_all(plus(t0, 100))
    };
    assert_eq!(prune(&*s, p.clone()).await, 3);
    let mut left = 0;
    for id in ids {
        left += usize::from(exists(&*s, id).await);
    }
    assert_eq!(left, 2);
    assert_eq!(prune(&*s, p).await, 0);
}
