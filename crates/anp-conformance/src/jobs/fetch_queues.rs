//! Fetch over several queues in one call ([`Store::job_fetch_queues`](anp_core::Store::job_fetch_queues)):
//! each queue's limit and the total, queue order, pause, order within a queue, fencing.

use std::collections::HashSet;

use anp_core::store::{AckOutcome, AckResult, JobHeartbeatManyParams, JobRescueParams};
use anp_core::{Job, JobId, JobState};

use crate::util::{
    ack, counts_of, enqueue, enqueue_n, fetch, fetch_queues, get, new_job, now, plus, q,
};
use crate::Harness;

/// The queue of each job, in the order returned.
fn queues_of(jobs: &[Job]) -> Vec<String> {
    jobs.iter().map(|j| j.queue.to_string()).collect()
}

fn names(spec: &[(&str, usize)]) -> Vec<String> {
    spec.iter()
        .flat_map(|&(name, n)| std::iter::repeat_n(name.to_owned(), n))
        .collect()
}

/// Queue by queue in the given order, each up to its own limit and what is left of the total;
/// a queue with nothing left to ask gets nothing. Every job is leased as `job_fetch` leases
/// (running, first attempt, owner, expiry, a token of its own within its queue) and stored so.
pub async fn fetch_queues_splits_limits_in_order<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = now();
    for (queue, n) in [("one", 5), ("two", 5), ("three", 5), ("four", 2)] {
        enqueue_n(&*s, queue, n, now).await;
    }
    let at = plus(now, 5);
    let got = fetch_queues(
        &*s,
        &[("one", 2), ("two", 10), ("three", 3), ("four", 2)],
        7,
        at,
    )
    .await;
    assert_eq!(queues_of(&got), names(&[("one", 2), ("two", 5)]));
    for j in &got {
        assert_eq!(j.state, JobState::Running);
        assert_eq!(j.attempt, 1);
        assert_eq!(j.attempted_at, Some(at));
        assert_eq!(j.lease_owner.as_deref(), Some("test-worker"));
        assert_eq!(j.lease_expires_at, Some(plus(at, 30)));
        let stored = get(&*s, j.id).await;
        assert_eq!(stored.state, JobState::Running);
        assert_eq!(stored.lease_token, j.lease_token);
        assert!(j.lease_token.is_some());
    }
    // Tokens fence per job and may repeat across queues (Redis counts leases per queue).
    let tokens: HashSet<_> = got.iter().map(|j| (&j.queue, j.lease_token)).collect();
    assert_eq!(
        tokens.len(),
        got.len(),
        "every lease of a queue has its own token"
    );

    // Nothing asked in all: nothing leased.
    assert!(fetch_queues(&*s, &[("three", 5)], 0, at).await.is_empty());
    assert!(fetch_queues(&*s, &[("three", 0)], 10, at).await.is_empty());
    assert!(fetch_queues(&*s, &[], 10, at).await.is_empty());

    let got = fetch_queues(&*s, &[("three", 3), ("four", 5), ("one", 10)], 100, at).await;
    assert_eq!(
        queues_of(&got),
        names(&[("three", 3), ("four", 2), ("one", 3)])
    );
    let counts = |queue| counts_of(&*s, queue);
    assert_eq!(counts("one").await[&JobState::Running], 5);
    assert_eq!(counts("two").await[&JobState::Running], 5);
    assert_eq!(counts("three").await[&JobState::Available], 2);
    assert_eq!(counts("four").await[&JobState::Running], 2);
}

/// A paused queue yields nothing and uses none of the total: the queues after it get the
/// share; once resumed, its jobs are there.
pub async fn fetch_queues_skips_paused_queue<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = now();
    for queue in ["a", "b", "c"] {
        enqueue_n(&*s, queue, 3, now).await;
    }
    s.queue_set_paused(q("b"), true, now)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let got = fetch_queues(&*s, &[("a", 2), ("b", 3), ("c", 3)], 5, now).await;
    assert_eq!(queues_of(&got), names(&[("a", 2), ("c", 3)]));
    assert_eq!(counts_of(&*s, "b").await[&JobState::Available], 3);
    s.queue_set_paused(q("b"), false, plus(now, 1))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let got = fetch_queues(&*s, &[("a", 5), ("b", 5)], 10, plus(now, 1)).await;
    assert_eq!(queues_of(&got), names(&[("a", 1), ("b", 3)]));
}

/// Within each queue the jobs come as `job_fetch` orders them (priority, then `run_at`, then
/// id), each queue's together, queues in the order asked.
pub async fn fetch_queues_orders_each_queue_by_priority_then_run_at_then_id<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = now();
    let spec = [(5u8, 3u64), (1, 5), (5, 1), (0, 9), (1, 5), (9, 0)];
    let mut jobs = Vec::new();
    for queue in ["x", "y"] {
        for (n, (prio, off)) in spec.iter().enumerate() {
            let mut j = new_job("a", queue, n as u64);
            j.priority = *prio;
            j.run_at = Some(plus(now, *off));
            jobs.push(j);
        }
    }
    let at = plus(now, 100);
    enqueue(&*s, jobs.clone(), at).await;
    let want = |queue: &str| -> Vec<JobId> {
        let mut keyed: Vec<_> = jobs
            .iter()
            .filter(|j| j.queue == q(queue))
            .map(|j| (j.priority, j.run_at, j.id))
            .collect();
        keyed.sort();
        keyed.into_iter().take(4).map(|(_, _, id)| id).collect()
    };
    let got = fetch_queues(&*s, &[("y", 4), ("x", 4)], 8, at).await;
    let ids: Vec<JobId> = got.iter().map(|j| j.id).collect();
    assert_eq!(ids, [want("y"), want("x")].concat());
}

/// Fencing holds as with `job_fetch`: after a rescue, the jobs fetched again (in one call over
/// both queues) carry new tokens; the old leases' heartbeats and acks are rejected and change
/// nothing, the new ones apply.
pub async fn fetch_queues_fences_each_lease<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = now();
    enqueue(&*s, vec![new_job("a", "p", 1), new_job("a", "r", 2)], now).await;
    let old = fetch_queues(&*s, &[("p", 1), ("r", 1)], 2, now).await;
    assert_eq!(queues_of(&old), names(&[("p", 1), ("r", 1)]));
    let rescued = s
        .job_rescue_expired(JobRescueParams {
            now: plus(now, 40),
            limit: 10,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rescued.len(), 2);
    let later = plus(now, 41);
    let new = fetch_queues(&*s, &[("r", 1), ("p", 1)], 2, later).await;
    assert_eq!(queues_of(&new), names(&[("r", 1), ("p", 1)]));
    assert!(fetch(&*s, "p", 1, later).await.is_empty());
    for n in &new {
        assert_eq!(n.attempt, 2);
        let o = old
            .iter()
            .find(|o| o.id == n.id)
            .unwrap_or_else(|| panic!("job {} fetched again", n.id));
        assert_ne!(o.lease_token, n.lease_token, "a new token after the rescue");
    }
    let old_leases = old
        .iter()
        .map(|j| j.lease().unwrap_or_else(|| panic!("no lease")))
        .collect();
    let beats = s
        .job_heartbeat_many(JobHeartbeatManyParams {
            leases: old_leases,
            lease_until: plus(later, 60),
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(beats, [false, false]);
    for j in &old {
        assert_eq!(
            ack(&*s, j, AckOutcome::Complete, later).await,
            AckResult::LeaseLost
        );
    }
    for j in &new {
        let stored = get(&*s, j.id).await;
        assert_eq!(stored.state, JobState::Running);
        assert_eq!(stored.lease_token, j.lease_token);
        assert_eq!(
            ack(&*s, j, AckOutcome::Complete, later).await,
            AckResult::Applied
        );
    }
    for queue in ["p", "r"] {
        assert_eq!(counts_of(&*s, queue).await[&JobState::Completed], 1);
    }
}
