//! Leases: heartbeats, rescue of expired leases, and fencing of the old worker.

use std::time::Duration;

use anp_core::job::{ts_add, ts_from_micros};
use anp_core::store::{
    AckOutcome, AckResult, JobFetchParams, JobHeartbeatManyParams, JobRescueParams, Lease,
};
use anp_core::JobState;

use crate::util::{ack, enqueue, enqueue_n, err, fetch, get, k, new_job, now, plus, q};
use crate::Harness;

fn rescue(now: jiff::Timestamp, limit: u32) -> JobRescueParams {
    JobRescueParams { now, limit }
}

/// A lease is rescued only once it expired before the rescuer's `now` (not at its expiry
/// instant): the job is available again at that instant with the lost attempt in its history
/// (exact message, retry-safe). Fencing: once fetched again, the old worker's ack and heartbeat
/// are rejected and change nothing; the new attempt wins.
pub async fn stale_lease_is_rejected_after_rescue<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = now();
    let j = new_job("a", "default", 1);
    let id = enqueue(&*s, vec![j], now).await[0];
    // A lease expiry with a fraction of a second, to check the message's timestamp form.
    let lease_until = ts_add(now, Duration::from_micros(30_000_123));
    let old = s
        .job_fetch(JobFetchParams {
            queue: q("default"),
            limit: 1,
            worker: "worker one".into(),
            now,
            lease_until,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .remove(0);
    let none = s
        .job_rescue_expired(rescue(lease_until, 10))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(none.is_empty(), "not expired at its expiry instant");
    let rescued = s
        .job_rescue_expired(rescue(plus(now, 40), 10))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rescued.len(), 1);
    let r = &rescued[0];
    assert_eq!(
        (r.id, r.queue.clone(), r.kind.clone(), r.attempt, r.state),
        (id, q("default"), k("a"), 1, JobState::Available)
    );
    let got = get(&*s, id).await;
    assert_eq!(got.state, JobState::Available);
    assert_eq!(got.run_at, plus(now, 40));
    assert_eq!(
        (got.lease_owner, got.lease_expires_at, got.lease_token),
        (None, None, None)
    );
    let expired = ts_from_micros(lease_until.as_microsecond());
    assert_eq!(
        got.errors,
        vec![err(
            1,
            plus(now, 40),
            &format!("lease expired at {expired}: worker worker one stopped heartbeating (killed, crashed or stalled); attempt lost"),
            true
        )]
    );

    let new = fetch(&*s, "default", 1, plus(now, 41)).await.remove(0);
    assert_eq!(new.attempt, 2);
    assert_ne!(new.lease_token, old.lease_token);
    assert_eq!(
        ack(&*s, &old, AckOutcome::Complete, plus(now, 42)).await,
        AckResult::LeaseLost
    );
    let hb = s
        .job_heartbeat_many(JobHeartbeatManyParams {
            leases: vec![old.lease().unwrap_or_else(|| panic!("no lease"))],
            lease_until: plus(now, 100),
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(hb, vec![false]);
    let got = get(&*s, id).await;
    assert_eq!((got.state, got.attempt), (JobState::Running, 2));
    assert_eq!(
        (got.lease_token, got.lease_expires_at),
        (new.lease_token, new.lease_expires_at),
        "the old lease changed nothing"
    );
    assert_eq!(
        ack(&*s, &new, AckOutcome::Complete, plus(now, 43)).await,
        AckResult::Applied
    );
    let got = get(&*s, id).await;
    assert_eq!(got.state, JobState::Completed);
    assert_eq!(got.errors.len(), 1, "only the lost attempt is recorded");
}

/// Heartbeats extend the leases still held and answer false for a finished job's lease and a
/// forged token; the extended lease keeps the rescuer away until its new expiry.
pub async fn heartbeat_extends_only_held_leases<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = now();
    enqueue_n(&*s, "default", 2, now).await;
    let js = fetch(&*s, "default", 2, now).await;
    ack(&*s, &js[1], AckOutcome::Complete, plus(now, 1)).await;
    let held = js[0].lease().unwrap_or_else(|| panic!("no lease"));
    let forged = Lease {
        token: held.token ^ 1,
        ..held.clone()
    };
    let hb = s
        .job_heartbeat_many(JobHeartbeatManyParams {
            leases: vec![
                held,
                js[1].lease().unwrap_or_else(|| panic!("no lease")),
                forged,
            ],
            lease_until: plus(now, 90),
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(hb, vec![true, false, false]);
    assert_eq!(
        get(&*s, js[0].id).await.lease_expires_at,
        Some(plus(now, 90))
    );
    assert_eq!(get(&*s, js[1].id).await.state, JobState::Completed);
    let r = s
        .job_rescue_expired(rescue(plus(now, 60), 10))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(r.is_empty(), "lease was extended to +90s");
    let r = s
        .job_rescue_expired(rescue(plus(now, 91), 10))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].id, js[0].id);
}

/// A lost attempt that was the last one sends the job to dead, final at the rescue's instant,
/// with every lost attempt in its history.
pub async fn rescue_marks_dead_when_attempts_exhausted<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = now();
    let mut j = new_job("a", "default", 1);
    j.max_attempts = 2;
    let id = enqueue(&*s, vec![j], now).await[0];
    let mut t = now;
    for (attempt, state) in [(1u32, JobState::Available), (2, JobState::Dead)] {
        let got = fetch(&*s, "default", 1, t).await;
        assert_eq!(got.len(), 1, "attempt {attempt} is fetched");
        t = plus(t, 31);
        let r = s
            .job_rescue_expired(rescue(t, 10))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            r.iter().map(|r| (r.attempt, r.state)).collect::<Vec<_>>(),
            vec![(attempt, state)]
        );
    }
    let got = get(&*s, id).await;
    assert_eq!(got.state, JobState::Dead);
    assert_eq!(got.finalized_at, Some(t));
    assert_eq!(
        got.errors.iter().map(|e| e.attempt).collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert!(fetch(&*s, "default", 1, plus(t, 1)).await.is_empty());
}

/// One rescue call takes back at most `limit` expired leases; the next call takes the rest.
pub async fn rescue_honours_its_limit<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = now();
    enqueue_n(&*s, "default", 5, now).await;
    assert_eq!(fetch(&*s, "default", 5, now).await.len(), 5);
    let mut calls = Vec::new();
    for _ in 0..4 {
        let r = s
            .job_rescue_expired(rescue(plus(now, 100), 2))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        calls.push(r.len());
    }
    assert_eq!(calls, vec![2, 2, 1, 0]);
    assert_eq!(fetch(&*s, "default", 10, plus(now, 100)).await.len(), 5);
}
