//! Promotion: scheduled and retryable jobs becoming available when due.

use anp_core::store::{AckOutcome, JobPromoteParams};
use anp_core::JobState;

use crate::util::{ack, enqueue, err, fetch, get, new_job, now, plus};
use crate::Harness;

fn promote(now: jiff::Timestamp, limit: u32) -> JobPromoteParams {
    JobPromoteParams { now, limit }
}

/// Due scheduled and retryable jobs become available (in any queue); jobs not yet due stay.
pub async fn promote_makes_due_jobs_available<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = now();
    let mut a = new_job("a", "default", 1);
    a.run_at = Some(plus(now, 10));
    let mut b = new_job("a", "other", 2);
    b.run_at = Some(plus(now, 100));
    let ids = enqueue(&*s, vec![a, b, new_job("a", "third", 3)], now).await;
    let j = fetch(&*s, "third", 1, now).await.remove(0);
    let error = err(1, now, "x", true);
    let at = plus(now, 10);
    ack(&*s, &j, AckOutcome::Retry { at, error }, now).await;
    let n = s
        .job_promote_due(promote(plus(now, 9), 10))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(n, 0, "nothing is due yet");
    let n = s
        .job_promote_due(promote(plus(now, 10), 10))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(n, 2);
    let mut states = Vec::new();
    for id in &ids {
        states.push(get(&*s, *id).await.state);
    }
    assert_eq!(
        states,
        vec![
            JobState::Available,
            JobState::Scheduled,
            JobState::Available
        ]
    );
    assert_eq!(fetch(&*s, "third", 1, plus(now, 11)).await[0].attempt, 2);
}

/// One promote call makes at most `limit` jobs available; the next call takes the rest.
pub async fn promote_honours_its_limit<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = now();
    let later: Vec<_> = (0..5)
        .map(|n| {
            let mut j = new_job("a", "default", n);
            j.run_at = Some(plus(now, 500));
            j
        })
        .collect();
    enqueue(&*s, later, now).await;
    let mut calls = Vec::new();
    for _ in 0..4 {
        calls.push(
            s.job_promote_due(promote(plus(now, 500), 2))
                .await
                .unwrap_or_else(|e| panic!("{e}")),
        );
    }
    assert_eq!(calls, vec![2, 2, 1, 0]);
    assert_eq!(fetch(&*s, "default", 10, plus(now, 500)).await.len(), 5);
}
