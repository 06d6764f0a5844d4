//! Acknowledgements: every outcome's state, history and timestamps, and batches.

use anp_core::store::{AckOutcome, AckResult, JobAck, JobAckManyParams, JobPromoteParams};
use anp_core::JobState;

use crate::util::{ack, enqueue, enqueue_n, err, fetch, get, new_job, now, plus};
use crate::Harness;

/// Complete → completed, finalized at the ack's instant, lease cleared; a second ack is
/// rejected.
pub async fn ack_complete<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = now();
    let id = enqueue(&*s, vec![new_job("a", "default", 1)], now).await[0];
    let j = fetch(&*s, "default", 1, now).await.remove(0);
    assert_eq!(
        ack(&*s, &j, AckOutcome::Complete, plus(now, 1)).await,
        AckResult::Applied
    );
    let got = get(&*s, id).await;
    assert_eq!(got.state, JobState::Completed);
    assert_eq!(got.attempt, 1);
    assert_eq!(got.finalized_at, Some(plus(now, 1)));
    assert_eq!(
        (got.lease_owner, got.lease_expires_at, got.lease_token),
        (None, None, None)
    );
    assert!(got.errors.is_empty());
    assert_eq!(
        ack(&*s, &j, AckOutcome::Complete, plus(now, 2)).await,
        AckResult::LeaseLost,
        "a second ack is rejected"
    );
}

/// Retry → retryable at the given time (not final, lease cleared) with the error appended as
/// given (quotes, newlines and non-ASCII kept); promoted only once due; the history travels
/// with the job into the next attempt.
pub async fn ack_retry_records_error_and_reschedules<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = now();
    let id = enqueue(&*s, vec![new_job("a", "default", 1)], now).await[0];
    let j = fetch(&*s, "default", 1, now).await.remove(0);
    let e1 = err(1, plus(now, 1), "boom: smtp 451", true);
    let r = ack(
        &*s,
        &j,
        AckOutcome::Retry {
            at: plus(now, 20),
            error: e1.clone(),
        },
        plus(now, 1),
    )
    .await;
    assert_eq!(r, AckResult::Applied);
    let got = get(&*s, id).await;
    assert_eq!(got.state, JobState::Retryable);
    assert_eq!(got.run_at, plus(now, 20));
    assert_eq!(got.finalized_at, None);
    assert_eq!((got.lease_owner, got.lease_token), (None, None));
    assert_eq!(got.errors, vec![e1.clone()]);
    assert!(fetch(&*s, "default", 1, plus(now, 30)).await.is_empty());
    let promote = |secs| JobPromoteParams {
        now: plus(now, secs),
        limit: 10,
    };
    let promoted = |secs| s.job_promote_due(promote(secs));
    assert_eq!(promoted(19).await.unwrap_or_else(|e| panic!("{e}")), 0);
    assert_eq!(promoted(20).await.unwrap_or_else(|e| panic!("{e}")), 1);
    let j2 = fetch(&*s, "default", 1, plus(now, 21)).await.remove(0);
    assert_eq!(j2.attempt, 2);
    assert_eq!(j2.errors, vec![e1.clone()], "history travels with the job");
    let e2 = err(
        2,
        plus(now, 22),
        "still \"down\"\nline 2: «ünïcode» \u{1F4A5}",
        true,
    );
    ack(
        &*s,
        &j2,
        AckOutcome::Retry {
            at: plus(now, 40),
            error: e2.clone(),
        },
        plus(now, 22),
    )
    .await;
    assert_eq!(get(&*s, id).await.errors, vec![e1, e2]);
}

/// Dead keeps the not-retry-safe error, is final at the ack's instant and never promoted.
pub async fn ack_dead_records_not_retry_safe<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = now();
    let id = enqueue(&*s, vec![new_job("a", "default", 1)], now).await[0];
    let j = fetch(&*s, "default", 1, now).await.remove(0);
    let e = err(1, plus(now, 2), "card declined", false);
    ack(&*s, &j, AckOutcome::Dead { error: e.clone() }, plus(now, 2)).await;
    let got = get(&*s, id).await;
    assert_eq!(got.state, JobState::Dead);
    assert_eq!(got.finalized_at, Some(plus(now, 2)));
    assert_eq!(got.errors, vec![e]);
    assert_eq!(got.lease_token, None);
    s.job_promote_due(JobPromoteParams {
        now: plus(now, 10_000),
        limit: 10,
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        fetch(&*s, "default", 1, plus(now, 10_000)).await.is_empty(),
        "dead jobs stay dead"
    );
}

/// Snooze and hand-back don't spend the attempt or add to the history; a handed-back job keeps
/// its place in line (`run_at`), a snoozed one is scheduled for the given time.
pub async fn snooze_and_hand_back_give_the_attempt_back<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = now();
    let id = enqueue(&*s, vec![new_job("a", "default", 1)], now).await[0];
    for i in 0..5 {
        let j = fetch(&*s, "default", 1, plus(now, i)).await.remove(0);
        assert_eq!(j.attempt, 1);
        ack(&*s, &j, AckOutcome::HandBack, plus(now, i)).await;
        let got = get(&*s, id).await;
        assert_eq!(got.state, JobState::Available);
        assert_eq!(got.attempt, 0);
        assert_eq!(got.run_at, now, "a handed-back job keeps its place in line");
        assert_eq!((got.lease_token, got.finalized_at), (None, None));
        assert!(got.errors.is_empty());
    }
    let j = fetch(&*s, "default", 1, plus(now, 5)).await.remove(0);
    ack(
        &*s,
        &j,
        AckOutcome::Snooze { at: plus(now, 300) },
        plus(now, 5),
    )
    .await;
    let got = get(&*s, id).await;
    assert_eq!(got.state, JobState::Scheduled);
    assert_eq!(got.attempt, 0);
    assert_eq!(got.run_at, plus(now, 300));
    assert_eq!((got.lease_token, got.finalized_at), (None, None));
    assert!(got.errors.is_empty(), "snooze is not an error");
}

/// Cancel from a handler → cancelled, final at the ack's instant, with the reason.
pub async fn ack_cancel<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = now();
    let id = enqueue(&*s, vec![new_job("a", "default", 1)], now).await[0];
    let j = fetch(&*s, "default", 1, now).await.remove(0);
    let e = err(1, plus(now, 2), "user deleted", false);
    ack(
        &*s,
        &j,
        AckOutcome::Cancel { error: e.clone() },
        plus(now, 2),
    )
    .await;
    let got = get(&*s, id).await;
    assert_eq!(got.state, JobState::Cancelled);
    assert_eq!(got.errors, vec![e]);
    assert_eq!(got.finalized_at, Some(plus(now, 2)));
    assert_eq!(got.lease_token, None);
}

/// One batch with every outcome, a forged token and a repeated ack: each ack is applied on
/// its own, and the forged and repeated ones are rejected without spoiling the rest.
pub async fn ack_batch_applies_each_ack_on_its_own<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = now();
    enqueue_n(&*s, "default", 6, now).await;
    let js = fetch(&*s, "default", 6, now).await;
    assert_eq!(js.len(), 6);
    let lease = |i: usize| js[i].lease().unwrap_or_else(|| panic!("no lease"));
    let mut forged = lease(5);
    forged.token = forged.token.wrapping_add(1);
    let at = plus(now, 2);
    let outcomes = [
        AckOutcome::Complete,
        AckOutcome::Dead {
            error: err(1, at, "bad input", false),
        },
        AckOutcome::Cancel {
            error: err(1, at, "user deleted", false),
        },
        AckOutcome::Snooze { at: plus(now, 300) },
        AckOutcome::HandBack,
    ];
    let mut acks: Vec<JobAck> = outcomes
        .into_iter()
        .enumerate()
        .map(|(i, outcome)| JobAck {
            lease: lease(i),
            outcome,
            stats: None,
        })
        .collect();
    acks.push(JobAck {
        lease: forged,
        outcome: AckOutcome::Complete,
        stats: None,
    });
    // The same lease completed twice in one batch: the second finds it completed.
    acks.push(JobAck {
        lease: lease(0),
        outcome: AckOutcome::Complete,
        stats: None,
    });
    let r = s
        .job_ack_many(JobAckManyParams { acks, now: at })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut want = vec![AckResult::Applied; 5];
    want.push(AckResult::LeaseLost);
    want.push(AckResult::LeaseLost);
    assert_eq!(r, want);
    let mut states = Vec::new();
    for j in &js {
        states.push(get(&*s, j.id).await.state);
    }
    assert_eq!(
        states,
        vec![
            JobState::Completed,
            JobState::Dead,
            JobState::Cancelled,
            JobState::Scheduled,
            JobState::Available,
            JobState::Running
        ]
    );
    // Only the handed-back job can be fetched; it comes back as attempt 1.
    let again = fetch(&*s, "default", 10, plus(now, 3)).await;
    assert_eq!(
        again.iter().map(|j| (j.id, j.attempt)).collect::<Vec<_>>(),
        vec![(js[4].id, 1)]
    );
    assert_eq!(
        ack(&*s, &js[5], AckOutcome::Complete, plus(now, 4)).await,
        AckResult::Applied,
        "the forged token changed nothing"
    );
}
