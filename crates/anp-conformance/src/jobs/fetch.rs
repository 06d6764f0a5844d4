//! Fetch: order, limits, leases, pause, and concurrent fetchers.

use std::collections::{HashMap, HashSet};

use anp_core::store::{AckOutcome, AckResult, JobAck, JobAckManyParams};
use anp_core::{JobId, JobState};

use crate::util::{enqueue, fetch, get, new_job, now, plus, q};
use crate::Harness;

/// Lower priority numbers first; within a priority the earliest `run_at`, then the oldest id
/// (creation order); batches continue where the last one stopped.
pub async fn fetch_orders_by_priority_then_run_at_then_id<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = now();
    // (priority, run_at seconds after now)
    let spec = [
        (5u8, 3u64),
        (1, 5),
        (5, 1),
        (0, 9),
        (1, 5),
        (9, 0),
        (5, 1),
        (0, 9),
    ];
    let jobs: Vec<_> = spec
        .iter()
        .enumerate()
        .map(|(n, (prio, off))| {
            let mut j = new_job("a", "default", n as u64);
            j.priority = *prio;
            j.run_at = Some(plus(now, *off));
            j
        })
        .collect();
    let at = plus(now, 100);
    enqueue(&*s, jobs.clone(), at).await;
    let mut want: Vec<_> = jobs.iter().map(|j| (j.priority, j.run_at, j.id)).collect();
    want.sort();
    let want: Vec<JobId> = want.into_iter().map(|(_, _, id)| id).collect();
    let mut order = Vec::new();
    for _ in 0..3 {
        let batch = fetch(&*s, "default", 3, at).await;
        assert!(batch.len() <= 3);
        order.extend(batch.into_iter().map(|j| j.id));
    }
    assert_eq!(order, want);
    assert!(fetch(&*s, "default", 10, at).await.is_empty());
}

/// `limit` bounds the batch; other queues are untouched; fetched jobs are running under a
/// lease of their own (token, owner, expiry), with `attempted_at` now, as the store keeps them.
pub async fn fetch_respects_limit_and_queue<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = now();
    let mut jobs: Vec<_> = (0..5).map(|n| new_job("a", "one", n)).collect();
    jobs.push(new_job("a", "two", 99));
    enqueue(&*s, jobs, now).await;
    let at = plus(now, 5);
    let got = fetch(&*s, "one", 3, at).await;
    assert_eq!(got.len(), 3);
    for j in &got {
        assert_eq!(j.state, JobState::Running);
        assert_eq!(j.attempt, 1);
        assert_eq!(j.queue, q("one"));
        assert_eq!(j.attempted_at, Some(at));
        assert_eq!(j.lease_owner.as_deref(), Some("test-worker"));
        assert!(j.lease_token.is_some());
        assert_eq!(j.lease_expires_at, Some(plus(at, 30)));
        let stored = get(&*s, j.id).await;
        assert_eq!(stored.state, JobState::Running);
        assert_eq!(stored.lease_token, j.lease_token);
        assert_eq!(stored.lease_expires_at, j.lease_expires_at);
        assert_eq!(stored.attempted_at, Some(at));
    }
    let tokens: HashSet<_> = got.iter().map(|j| j.lease_token).collect();
    assert_eq!(tokens.len(), 3, "every lease has its own token");
    assert_eq!(fetch(&*s, "one", 10, at).await.len(), 2);
    assert!(fetch(&*s, "one", 10, at).await.is_empty());
    assert_eq!(fetch(&*s, "two", 10, at).await.len(), 1);
}

/// A paused queue yields nothing to any handle until resumed (pausing twice is fine); other
/// queues are unaffected.
pub async fn fetch_skips_paused_queue<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = now();
    enqueue(
        &*s,
        vec![
            new_job("a", "default", 1),
            new_job("a", "default", 2),
            new_job("a", "other", 3),
        ],
        now,
    )
    .await;
    s.queue_set_paused(q("default"), true, now)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let other_handle = h.store().await;
    assert!(
        fetch(&*other_handle, "default", 10, now).await.is_empty(),
        "pause applies to every handle"
    );
    s.queue_set_paused(q("default"), true, now)
        .await
        .unwrap_or_else(|e| panic!("pausing again: {e}"));
    assert!(fetch(&*s, "default", 10, now).await.is_empty());
    assert_eq!(fetch(&*s, "other", 10, now).await.len(), 1);
    s.queue_set_paused(q("default"), false, plus(now, 1))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        fetch(&*other_handle, "default", 10, plus(now, 1))
            .await
            .len(),
        2
    );
}

/// Four handles (as four processes), two fetchers each, fetch and complete 2000 jobs at once:
/// every job is leased exactly once (first attempt), every ack applies, and several fetchers
/// took part.
pub async fn concurrent_fetchers_never_share_a_job<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = now();
    let total = 2000usize;
    let mut ids = Vec::new();
    for chunk in 0..4u64 {
        let jobs: Vec<_> = (0..500).map(|n| new_job("a", "default", n)).collect();
        ids.extend(enqueue(&*s, jobs, plus(now, chunk)).await);
    }
    let at = plus(now, 100);
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let store = h.store().await;
        for _ in 0..2 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let batch = fetch(&*store, "default", 7, at).await;
                    if batch.is_empty() {
                        return mine;
                    }
                    let acks = batch
                        .iter()
                        .map(|j| JobAck {
                            lease: j.lease().unwrap_or_else(|| panic!("no lease")),
                            outcome: AckOutcome::Complete,
                            stats: None,
                        })
                        .collect();
                    let r = store
                        .job_ack_many(JobAckManyParams {
                            acks,
                            now: plus(at, 1),
                        })
                        .await
                        .unwrap_or_else(|e| panic!("{e}"));
                    assert!(r.iter().all(|r| *r == AckResult::Applied), "{r:?}");
                    mine.extend(batch.into_iter().map(|j| (j.id, j.attempt)));
                }
            }));
        }
    }
    let mut seen: HashMap<JobId, usize> = HashMap::new();
    let mut per_task = Vec::new();
    for t in tasks {
        let mine = t.await.unwrap_or_else(|e| panic!("{e}"));
        per_task.push(mine.len());
        for (id, attempt) in mine {
            assert_eq!(attempt, 1, "job {id} was fetched before");
            *seen.entry(id).or_default() += 1;
        }
    }
    assert_eq!(seen.len(), total, "every job fetched");
    for id in ids {
        assert_eq!(seen.get(&id), Some(&1), "job {id}");
    }
    assert!(
        per_task.iter().filter(|n| **n > 0).count() > 1,
        "several fetchers took part: {per_task:?}"
    );
    assert_eq!(
        crate::util::counts_of(&*s, "default").await[&JobState::Completed],
        total as u64
    );
}
