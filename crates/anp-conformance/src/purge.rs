//! Queue purge: deleting one queue's jobs in bulk by state, in pages, never running ones.

use anp_core::store::{
    AckOutcome, AckResult, JobEnqueueManyParams, JobListParams, QueuePurgeParams,
};
use anp_core::{ErrorKind, JobState, Unique};

use crate::util::{ack, counts_of, enqueue, enqueue_n, err, fetch, new_job, now, plus, purge, q};
use crate::Harness;

/// Purging chosen states deletes exactly those jobs of that queue; an empty state list means
/// every state but running; running jobs (and other queues) are never touched, and a running
/// job's lease survives a purge. A purged job is NotFound.
pub async fn purge_deletes_chosen_states_and_never_running<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = now();
    let mut later = new_job("a", "default", 9);
    later.run_at = Some(plus(now, 600));
    let mut jobs: Vec<_> = (0..6).map(|n| new_job("a", "default", n)).collect();
    jobs.push(later);
    jobs.push(new_job("a", "other", 1));
    let ids = enqueue(&*s, jobs, now).await;
    let f = fetch(&*s, "default", 3, now).await;
    assert_eq!(f.len(), 3);
    ack(&*s, &f[0], AckOutcome::Complete, now).await;
    ack(
        &*s,
        &f[1],
        AckOutcome::Dead {
            error: err(1, now, "boom", false),
        },
        now,
    )
    .await;
    // default: 3 available, 1 scheduled, 1 running, 1 completed, 1 dead; other: 1 available.
    assert_eq!(
        purge(&*s, "default", &[JobState::Completed, JobState::Dead], 100).await,
        2
    );
    for gone in [f[0].id, f[1].id] {
        assert_eq!(
            s.job_get(gone).await.err().map(|e| e.kind()),
            Some(ErrorKind::NotFound),
            "a purged job is gone"
        );
    }
    let c = counts_of(&*s, "default").await;
    assert_eq!(
        (
            c[&JobState::Available],
            c[&JobState::Scheduled],
            c[&JobState::Running],
            c[&JobState::Completed],
            c[&JobState::Dead]
        ),
        (3, 1, 1, 0, 0),
        "only the chosen states went"
    );
    assert_eq!(
        purge(&*s, "default", &[JobState::Cancelled], 100).await,
        0,
        "no cancelled jobs"
    );
    // Every state but running.
    assert_eq!(purge(&*s, "default", &[], 100).await, 4);
    let c = counts_of(&*s, "default").await;
    assert_eq!(c[&JobState::Running], 1, "running jobs are never purged");
    assert_eq!(c.values().sum::<u64>(), 1, "{c:?}");
    assert_eq!(
        s.job_get(ids[6]).await.err().map(|e| e.kind()),
        Some(ErrorKind::NotFound),
        "the scheduled job went too"
    );
    assert_eq!(
        s.job_get(f[2].id).await.map(|j| j.state).ok(),
        Some(JobState::Running)
    );
    assert_eq!(
        counts_of(&*s, "other").await[&JobState::Available],
        1,
        "other queues are untouched"
    );
    assert_eq!(
        s.job_get(ids[7]).await.map(|j| j.state).ok(),
        Some(JobState::Available)
    );
    assert_eq!(purge(&*s, "default", &[], 100).await, 0);
    assert_eq!(
        ack(&*s, &f[2], AckOutcome::Complete, now).await,
        AckResult::Applied,
        "the running job's lease survived the purge"
    );
}

/// Each call deletes at most `limit` jobs (across states), exactly `limit` while enough are
/// left, and 0 once the queue is empty.
pub async fn purge_pages_by_limit<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = now();
    enqueue_n(&*s, "default", 10, now).await;
    for j in fetch(&*s, "default", 4, now).await {
        ack(&*s, &j, AckOutcome::Complete, now).await;
    }
    // 6 available, 4 completed.
    let mut calls = Vec::new();
    loop {
        let n = purge(&*s, "default", &[], 3).await;
        calls.push(n);
        if n == 0 || calls.len() > 10 {
            break;
        }
    }
    assert_eq!(calls, vec![3, 3, 3, 1, 0]);
    assert_eq!(counts_of(&*s, "default").await.values().sum::<u64>(), 0);
    let left = s
        .job_list(JobListParams {
            queue: Some(q("default")),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(left.is_empty(), "{left:?}");
}

/// A purged job's unique key is free again; a key that another (live) job holds stays held.
pub async fn purge_releases_unique_keys<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = now();
    let mk = |n, key: &str| {
        let mut j = new_job("a", "default", n);
        j.unique = Some(Unique::key(key).unwrap_or_else(|e| panic!("{e}")));
        j
    };
    let first = enqueue(&*s, vec![mk(1, "k1")], now).await[0];
    let dup = enqueue(&*s, vec![mk(2, "k1")], now).await[0];
    assert_eq!(dup, first, "the key is held while the job is available");
    assert_eq!(purge(&*s, "default", &[JobState::Available], 100).await, 1);
    let res = s
        .job_enqueue_many(JobEnqueueManyParams {
            jobs: vec![mk(3, "k1")],
            now: plus(now, 1),
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!res[0].duplicate, "the purged job released its key");
    assert_ne!(res[0].id, first);
    // k2: a completed job, then a live job that holds the key; purging the completed one
    // leaves the key with the live one.
    enqueue(&*s, vec![mk(4, "k2")], now).await;
    let done = fetch(&*s, "default", 10, now).await;
    for j in &done {
        ack(&*s, j, AckOutcome::Complete, now).await;
    }
    let holder = s
        .job_enqueue_many(JobEnqueueManyParams {
            jobs: vec![mk(5, "k2")],
            now: plus(now, 2),
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!holder[0].duplicate);
    assert_eq!(
        purge(&*s, "default", &[JobState::Completed], 100).await,
        done.len() as u64
    );
    let again = s
        .job_enqueue_many(JobEnqueueManyParams {
            jobs: vec![mk(6, "k2")],
            now: plus(now, 3),
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (again[0].id, again[0].duplicate),
        (holder[0].id, true),
        "the live job still holds its key"
    );
}

/// Asking to purge running jobs, or a limit of 0, is InvalidInput, not retry-safe, and deletes
/// nothing.
pub async fn purge_refuses_running_and_zero_limit<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = now();
    let ids = enqueue_n(&*s, "default", 2, now).await;
    fetch(&*s, "default", 1, now).await;
    for states in [
        vec![JobState::Running],
        vec![JobState::Available, JobState::Running],
    ] {
        let e = s
            .queue_purge(QueuePurgeParams {
                queue: q("default"),
                states: states.clone(),
                limit: 100,
            })
            .await
            .err()
            .unwrap_or_else(|| panic!("purging {states:?} must fail"));
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        assert!(!e.retry_safe());
        assert!(e.to_string().contains("cancelled first"), "{e}");
    }
    let e = s
        .queue_purge(QueuePurgeParams {
            queue: q("default"),
            states: Vec::new(),
            limit: 0,
        })
        .await
        .err()
        .unwrap_or_else(|| panic!("limit 0 must fail"));
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    for id in ids {
        assert!(s.job_get(id).await.is_ok(), "nothing was deleted");
    }
}

/// A queue the store never saw, or an emptied one, purges 0 and touches nothing else.
pub async fn purge_of_unknown_or_empty_queue_is_zero<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = now();
    assert_eq!(purge(&*s, "nope", &[], 100).await, 0, "empty store");
    let id = enqueue(&*s, vec![new_job("a", "other", 1)], now).await[0];
    assert_eq!(purge(&*s, "nope", &[], 100).await, 0, "unknown queue");
    assert_eq!(
        purge(&*s, "other", &[JobState::Dead], 100).await,
        0,
        "no job in that state"
    );
    assert!(s.job_get(id).await.is_ok());
    assert_eq!(purge(&*s, "other", &[], 100).await, 1);
    assert_eq!(purge(&*s, "other", &[], 100).await, 0, "emptied queue");
}
