//! Cases on the Store seam itself. Each takes a fresh harness; time is passed explicitly.

use std::collections::HashSet;
use std::time::Duration;

use anp_core::store::{
    AckOutcome, AckResult, JobAck, JobAckManyParams, JobEnqueueManyParams, JobHeartbeatManyParams,
    JobListParams, JobPromoteParams, JobPruneParams, JobRescueParams, JobRetryDeadParams,
    JobWaitParams, QueuePurgeParams,
};
use anp_core::{AttemptError, ErrorKind, JobState, Unique};
use jiff::Timestamp;

use crate::util::{ack, enqueue, fetch, k, new_job, plus, q};
use crate::Harness;

fn err(attempt: u32, at: Timestamp, msg: &str, retry_safe: bool) -> AttemptError {
    AttemptError {
        attempt,
        at,
        message: msg.into(),
        retry_safe,
    }
}

/// Enqueued jobs come back from `job_get` with every field as given.
pub async fn enqueue_then_get_round_trips<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = Timestamp::now();
    let mut j = new_job("email.send", "mail", 7);
    j.priority = 3;
    j.max_attempts = 4;
    j.args = anp_core::Args::from_json(r#"{"to":"a@b.c","n":[1,2,{"x":null}]}"#)
        .unwrap_or_else(|e| panic!("{e}"));
    let id = j.id;
    let res = s
        .job_enqueue_many(JobEnqueueManyParams { jobs: vec![j], now })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(res.len(), 1);
    assert_eq!(res[0].id, id);
    assert!(!res[0].duplicate);
    assert_eq!(res[0].state, JobState::Available);
    let got = s.job_get(id).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got.kind, k("email.send"));
    assert_eq!(got.queue, q("mail"));
    assert_eq!(got.state, JobState::Available);
    assert_eq!(got.priority, 3);
    assert_eq!(got.attempt, 0);
    assert_eq!(got.max_attempts, 4);
    let args: serde_json::Value = got.args.decode().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(args, serde_json::json!({"to":"a@b.c","n":[1,2,{"x":null}]}));
    assert_eq!(got.created_at.as_microsecond(), now.as_microsecond());
    assert_eq!(got.run_at.as_microsecond(), now.as_microsecond());
    assert!(got.errors.is_empty());
    assert!(got.finalized_at.is_none() && got.attempted_at.is_none());
}

/// A job with `run_at` in the future is scheduled and not fetched until promoted.
pub async fn enqueue_in_future_is_scheduled<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = Timestamp::now();
    let mut j = new_job("a", "default", 1);
    j.run_at = Some(plus(now, 60));
    let id = enqueue(&*s, vec![j], now).await[0];
    assert_eq!(
        s.job_get(id).await.map(|j| j.state).ok(),
        Some(JobState::Scheduled)
    );
    assert!(
        fetch(&*s, "default", 10, plus(now, 61)).await.is_empty(),
        "scheduled jobs need promotion"
    );
    let n = s
        .job_promote_due(JobPromoteParams {
            now: plus(now, 59),
            limit: 100,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(n, 0, "not due yet");
    let n = s
        .job_promote_due(JobPromoteParams {
            now: plus(now, 60),
            limit: 100,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(n, 1);
    let got = fetch(&*s, "default", 10, plus(now, 61)).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].id, id);
}

/// Lower priority numbers first; FIFO within a priority.
pub async fn fetch_orders_by_priority_then_fifo<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = Timestamp::now();
    let mut jobs = Vec::new();
    for (n, prio) in [(0u64, 5u8), (1, 9), (2, 0), (3, 5), (4, 0), (5, 9)] {
        let mut j = new_job("a", "default", n);
        j.priority = prio;
        jobs.push(j);
    }
    let ids = enqueue(&*s, jobs, now).await;
    let mut order = Vec::new();
    for _ in 0..3 {
        for j in fetch(&*s, "default", 2, now).await {
            order.push(j.id);
        }
    }
    assert_eq!(order, vec![ids[2], ids[4], ids[0], ids[3], ids[1], ids[5]]);
}

/// `limit` bounds the batch; other queues are untouched; fetched jobs are running with a lease.
pub async fn fetch_respects_limit_and_queue<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = Timestamp::now();
    let mut jobs: Vec<_> = (0..5).map(|n| new_job("a", "one", n)).collect();
    jobs.push(new_job("a", "two", 99));
    enqueue(&*s, jobs, now).await;
    let got = fetch(&*s, "one", 3, now).await;
    assert_eq!(got.len(), 3);
    for j in &got {
        assert_eq!(j.state, JobState::Running);
        assert_eq!(j.attempt, 1);
        assert_eq!(j.queue, q("one"));
        assert_eq!(j.lease_owner.as_deref(), Some("test-worker"));
        assert!(j.lease_token.is_some());
        assert_eq!(
            j.lease_expires_at.map(|t| t.as_microsecond()),
            Some(plus(now, 30).as_microsecond())
        );
    }
    let tokens: HashSet<_> = got.iter().map(|j| j.lease_token).collect();
    assert_eq!(tokens.len(), 3, "every lease has its own token");
    assert_eq!(fetch(&*s, "one", 10, now).await.len(), 2);
    assert!(fetch(&*s, "one", 10, now).await.is_empty());
    assert_eq!(fetch(&*s, "two", 10, now).await.len(), 1);
}

/// Several handles (as several processes) fetching at once never get the same job.
pub async fn concurrent_fetchers_never_share_a_job<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = Timestamp::now();
    let total = 2000u64;
    let jobs: Vec<_> = (0..total).map(|n| new_job("a", "default", n)).collect();
    enqueue(&*s, jobs, now).await;
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let store = h.store().await;
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let got = fetch(&*store, "default", 25, now).await;
                if got.is_empty() {
                    return mine;
                }
                mine.extend(got.into_iter().map(|j| j.id));
            }
        }));
    }
    let mut seen = HashSet::new();
    let mut count = 0;
    for t in tasks {
        for id in t.await.unwrap_or_else(|e| panic!("{e}")) {
            count += 1;
            assert!(seen.insert(id), "job {id} was fetched twice");
        }
    }
    assert_eq!(count, total);
}

/// Complete → completed, final, lease cleared.
pub async fn ack_complete<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = Timestamp::now();
    let id = enqueue(&*s, vec![new_job("a", "default", 1)], now).await[0];
    let j = fetch(&*s, "default", 1, now).await.remove(0);
    assert_eq!(
        ack(&*s, &j, AckOutcome::Complete, plus(now, 1)).await,
        AckResult::Applied
    );
    let got = s.job_get(id).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got.state, JobState::Completed);
    assert_eq!(got.attempt, 1);
    assert_eq!(
        got.finalized_at.map(|t| t.as_microsecond()),
        Some(plus(now, 1).as_microsecond())
    );
    assert!(got.lease_token.is_none() && got.lease_owner.is_none());
    assert_eq!(
        ack(&*s, &j, AckOutcome::Complete, plus(now, 2)).await,
        AckResult::LeaseLost,
        "a second ack is rejected"
    );
}

/// Retry → retryable at the given time with the error appended; promoted when due.
pub async fn ack_retry_records_error_and_reschedules<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = Timestamp::now();
    let id = enqueue(&*s, vec![new_job("a", "default", 1)], now).await[0];
    let j = fetch(&*s, "default", 1, now).await.remove(0);
    let e = err(1, now, "boom: smtp 451", true);
    let r = ack(
        &*s,
        &j,
        AckOutcome::Retry {
            at: plus(now, 20),
            error: e.clone(),
        },
        now,
    )
    .await;
    assert_eq!(r, AckResult::Applied);
    let got = s.job_get(id).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got.state, JobState::Retryable);
    assert_eq!(got.run_at.as_microsecond(), plus(now, 20).as_microsecond());
    assert_eq!(got.errors.len(), 1);
    assert_eq!(got.errors[0].message, "boom: smtp 451");
    assert_eq!(got.errors[0].attempt, 1);
    assert!(got.errors[0].retry_safe);
    assert!(fetch(&*s, "default", 1, plus(now, 30)).await.is_empty());
    s.job_promote_due(JobPromoteParams {
        now: plus(now, 20),
        limit: 10,
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let j2 = fetch(&*s, "default", 1, plus(now, 21)).await.remove(0);
    assert_eq!(j2.attempt, 2);
    assert_eq!(j2.errors.len(), 1, "history travels with the job");
    ack(
        &*s,
        &j2,
        AckOutcome::Retry {
            at: plus(now, 40),
            error: err(2, plus(now, 21), "again", true),
        },
        plus(now, 21),
    )
    .await;
    let got = s.job_get(id).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        got.errors.iter().map(|e| e.attempt).collect::<Vec<_>>(),
        vec![1, 2]
    );
}

/// Dead keeps the not-retry-safe error and is final.
pub async fn ack_dead_records_not_retry_safe<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = Timestamp::now();
    let id = enqueue(&*s, vec![new_job("a", "default", 1)], now).await[0];
    let j = fetch(&*s, "default", 1, now).await.remove(0);
    ack(
        &*s,
        &j,
        AckOutcome::Dead {
            error: err(1, now, "card declined", false),
        },
        now,
    )
    .await;
    let got = s.job_get(id).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got.state, JobState::Dead);
    assert!(got.finalized_at.is_some());
    assert!(!got.errors[0].retry_safe);
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

/// Snooze and hand-back don't spend the attempt.
pub async fn snooze_and_hand_back_give_the_attempt_back<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = Timestamp::now();
    let id = enqueue(&*s, vec![new_job("a", "default", 1)], now).await[0];
    for _ in 0..5 {
        let j = fetch(&*s, "default", 1, now).await.remove(0);
        assert_eq!(j.attempt, 1);
        ack(&*s, &j, AckOutcome::HandBack, now).await;
        let got = s.job_get(id).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(got.state, JobState::Available);
        assert_eq!(got.attempt, 0);
    }
    let j = fetch(&*s, "default", 1, now).await.remove(0);
    ack(&*s, &j, AckOutcome::Snooze { at: plus(now, 5) }, now).await;
    let got = s.job_get(id).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got.state, JobState::Scheduled);
    assert_eq!(got.attempt, 0);
    assert_eq!(got.run_at.as_microsecond(), plus(now, 5).as_microsecond());
    assert!(got.errors.is_empty(), "snooze is not an error");
}

/// Cancel from a handler → cancelled with the reason.
pub async fn ack_cancel<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = Timestamp::now();
    let id = enqueue(&*s, vec![new_job("a", "default", 1)], now).await[0];
    let j = fetch(&*s, "default", 1, now).await.remove(0);
    ack(
        &*s,
        &j,
        AckOutcome::Cancel {
            error: err(1, now, "user deleted", false),
        },
        now,
    )
    .await;
    let got = s.job_get(id).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got.state, JobState::Cancelled);
    assert_eq!(got.errors[0].message, "user deleted");
    assert!(got.finalized_at.is_some());
}

/// A batch applies each ack on its own: a stale one doesn't spoil the rest.
pub async fn ack_batch_mixed_with_stale_lease<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = Timestamp::now();
    let ids = enqueue(
        &*s,
        (0..3).map(|n| new_job("a", "default", n)).collect(),
        now,
    )
    .await;
    let jobs = fetch(&*s, "default", 3, now).await;
    let mut stale = jobs[1].lease().unwrap_or_else(|| panic!("no lease"));
    stale.token = stale.token.wrapping_add(1);
    let acks = vec![
        JobAck {
            lease: jobs[0].lease().unwrap_or_else(|| panic!()),
            outcome: AckOutcome::Complete,
            stats: None,
        },
        JobAck {
            lease: stale,
            outcome: AckOutcome::Complete,
            stats: None,
        },
        JobAck {
            lease: jobs[2].lease().unwrap_or_else(|| panic!()),
            outcome: AckOutcome::Complete,
            stats: None,
        },
    ];
    let r = s
        .job_ack_many(JobAckManyParams { acks, now })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        r,
        vec![AckResult::Applied, AckResult::LeaseLost, AckResult::Applied]
    );
    for (i, j) in jobs.iter().enumerate() {
        let want = if i == 1 {
            JobState::Running
        } else {
            JobState::Completed
        };
        assert_eq!(s.job_get(j.id).await.map(|j| j.state).ok(), Some(want));
    }
    assert_eq!(ids.len(), 3);
}

/// Fencing: once rescued and fetched again, the old worker's ack and heartbeat are rejected
/// and the new attempt wins.
pub async fn stale_lease_is_rejected_after_rescue<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = Timestamp::now();
    let id = enqueue(&*s, vec![new_job("a", "default", 1)], now).await[0];
    let old = fetch(&*s, "default", 1, now).await.remove(0);
    let rescued = s
        .job_rescue_expired(JobRescueParams {
            now: plus(now, 31),
            limit: 10,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rescued.len(), 1);
    assert_eq!(rescued[0].id, id);
    assert_eq!(rescued[0].state, JobState::Available);
    let new = fetch(&*s, "default", 1, plus(now, 32)).await.remove(0);
    assert_eq!(new.attempt, 2);
    assert_ne!(new.lease_token, old.lease_token);
    assert_eq!(
        ack(&*s, &old, AckOutcome::Complete, plus(now, 33)).await,
        AckResult::LeaseLost
    );
    let hb = s
        .job_heartbeat_many(JobHeartbeatManyParams {
            leases: vec![old.lease().unwrap_or_else(|| panic!())],
            lease_until: plus(now, 100),
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(hb, vec![false]);
    assert_eq!(
        s.job_get(id).await.map(|j| j.state).ok(),
        Some(JobState::Running)
    );
    assert_eq!(
        ack(&*s, &new, AckOutcome::Complete, plus(now, 34)).await,
        AckResult::Applied
    );
    let got = s.job_get(id).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got.state, JobState::Completed);
    assert_eq!(got.errors.len(), 1, "the lost attempt is recorded");
    assert_eq!(got.errors[0].attempt, 1);
    assert!(got.errors[0].retry_safe);
    assert!(
        got.errors[0].message.contains("lease expired"),
        "{}",
        got.errors[0].message
    );
}

/// Heartbeats push the expiry out so the rescuer leaves the job alone.
pub async fn heartbeat_extends_lease_and_reports_lost<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = Timestamp::now();
    let id = enqueue(&*s, vec![new_job("a", "default", 1)], now).await[0];
    let j = fetch(&*s, "default", 1, now).await.remove(0);
    let hb = s
        .job_heartbeat_many(JobHeartbeatManyParams {
            leases: vec![j.lease().unwrap_or_else(|| panic!())],
            lease_until: plus(now, 90),
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(hb, vec![true]);
    let r = s
        .job_rescue_expired(JobRescueParams {
            now: plus(now, 60),
            limit: 10,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(r.is_empty(), "lease was extended to +90s");
    assert_eq!(
        s.job_get(id)
            .await
            .map(|j| j.lease_expires_at.map(|t| t.as_microsecond()))
            .ok(),
        Some(Some(plus(now, 90).as_microsecond()))
    );
    let r = s
        .job_rescue_expired(JobRescueParams {
            now: plus(now, 91),
            limit: 10,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.len(), 1);
}

/// A lost attempt that was the last one sends the job to dead.
pub async fn rescue_marks_dead_when_attempts_exhausted<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = Timestamp::now();
    let mut j = new_job("a", "default", 1);
    j.max_attempts = 2;
    let id = enqueue(&*s, vec![j], now).await[0];
    let mut t = now;
    for attempt in 1..=2u32 {
        let got = fetch(&*s, "default", 1, t).await;
        assert_eq!(got.len(), 1, "attempt {attempt} is fetched");
        t = plus(t, 31);
        let r = s
            .job_rescue_expired(JobRescueParams { now: t, limit: 10 })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].attempt, attempt);
    }
    let got = s.job_get(id).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got.state, JobState::Dead);
    assert_eq!(got.errors.len(), 2);
    assert!(fetch(&*s, "default", 1, plus(t, 1)).await.is_empty());
}

/// Due scheduled and retryable jobs become available, others stay.
pub async fn promote_makes_due_jobs_available<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = Timestamp::now();
    let mut a = new_job("a", "default", 1);
    a.run_at = Some(plus(now, 10));
    let mut b = new_job("a", "other", 2);
    b.run_at = Some(plus(now, 100));
    let ids = enqueue(&*s, vec![a, b], now).await;
    let n = s
        .job_promote_due(JobPromoteParams {
            now: plus(now, 10),
            limit: 10,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(n, 1);
    assert_eq!(
        s.job_get(ids[0]).await.map(|j| j.state).ok(),
        Some(JobState::Available)
    );
    assert_eq!(
        s.job_get(ids[1]).await.map(|j| j.state).ok(),
        Some(JobState::Scheduled)
    );
}

/// A unique key held by an unfinished job returns that job as a duplicate.
pub async fn unique_key_returns_existing_job<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = Timestamp::now();
    let mut a = new_job("a", "default", 1);
    a.unique = Some(Unique::key("report:42").unwrap_or_else(|e| panic!("{e}")));
    let first = a.id;
    enqueue(&*s, vec![a], now).await;
    let mut b = new_job("a", "default", 2);
    b.unique = Some(Unique::key("report:42").unwrap_or_else(|e| panic!("{e}")));
    let res = s
        .job_enqueue_many(JobEnqueueManyParams {
            jobs: vec![b.clone()],
            now,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(res[0].id, first);
    assert!(res[0].duplicate);
    assert_eq!(res[0].state, JobState::Available);
    assert!(s.job_get(b.id).await.is_err(), "nothing was added");
    // Same key on another queue is a different job.
    b.queue = q("other");
    let res = s
        .job_enqueue_many(JobEnqueueManyParams {
            jobs: vec![b.clone()],
            now,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!res[0].duplicate);
    // Running still counts as unfinished.
    let j = fetch(&*s, "default", 1, now).await.remove(0);
    let mut c = new_job("a", "default", 3);
    c.unique = Some(Unique::key("report:42").unwrap_or_else(|e| panic!("{e}")));
    let res = s
        .job_enqueue_many(JobEnqueueManyParams { jobs: vec![c], now })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (res[0].id, res[0].duplicate, res[0].state),
        (first, true, JobState::Running)
    );
    let _ = j;
}

/// Duplicates inside one batch resolve to the first job of the batch.
pub async fn unique_key_within_one_batch<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = Timestamp::now();
    let jobs: Vec<_> = (0..3)
        .map(|n| {
            let mut j = new_job("a", "default", n);
            j.unique = Some(Unique::key("same").unwrap_or_else(|e| panic!("{e}")));
            j
        })
        .collect();
    let first = jobs[0].id;
    let res = s
        .job_enqueue_many(JobEnqueueManyParams { jobs, now })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        res.iter().map(|r| (r.id, r.duplicate)).collect::<Vec<_>>(),
        vec![(first, false), (first, true), (first, true)]
    );
    assert_eq!(fetch(&*s, "default", 10, now).await.len(), 1);
}

/// Enqueueing a job id that exists (a client retrying a call whose reply it lost) adds nothing
/// and names the existing job, within one batch and across calls; a big batch mixing due and
/// future jobs, priorities, a unique key and repeated ids stores each job once in its state.
pub async fn same_id_again_is_a_duplicate<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = Timestamp::now();
    let mut jobs: Vec<_> = (0..600u64)
        .map(|n| {
            let mut j = new_job("a", "big", n);
            if n.is_multiple_of(3) {
                j.run_at = Some(plus(now, 60));
            }
            j.priority = (n % 10) as u8;
            if n == 260 {
                j.unique = Some(Unique::key("u260").unwrap_or_else(|e| panic!("{e}")));
            }
            j
        })
        .collect();
    // Index 200 repeats job 100 (a batch of plain jobs), 270 repeats job 260 (which has a unique
    // key) and 599 repeats job 0 (on Redis the client splits the batch into calls of 500 jobs).
    jobs[200] = jobs[100].clone();
    jobs[270] = jobs[260].clone();
    jobs[599] = jobs[0].clone();
    let res = s
        .job_enqueue_many(JobEnqueueManyParams {
            jobs: jobs.clone(),
            now,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(res.len(), 600);
    let state_of = |n: usize| {
        if n.is_multiple_of(3) {
            JobState::Scheduled
        } else {
            JobState::Available
        }
    };
    for (i, r) in res.iter().enumerate() {
        let (of, dup) = match i {
            200 => (100, true),
            270 => (260, true),
            599 => (0, true),
            _ => (i, false),
        };
        assert_eq!(
            (r.id, r.duplicate, r.state),
            (jobs[of].id, dup, state_of(of)),
            "reply {i}"
        );
    }
    let again = s
        .job_enqueue_many(JobEnqueueManyParams {
            jobs: jobs[..10].to_vec(),
            now: plus(now, 1),
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for (i, r) in again.iter().enumerate() {
        assert_eq!(
            (r.id, r.duplicate, r.state),
            (jobs[i].id, true, state_of(i))
        );
    }
    let list = s.queue_list().await.unwrap_or_else(|e| panic!("{e}"));
    let big = list
        .iter()
        .find(|q| q.queue.as_str() == "big")
        .unwrap_or_else(|| panic!("queue big is listed"));
    let c = |st: JobState| big.counts.get(&st).copied().unwrap_or(0);
    // 600 given, 3 repeats: 597 jobs; those made with n % 3 == 0 are scheduled: 200, less the
    // one at 270 that the repeat replaced.
    assert_eq!(c(JobState::Scheduled), 199);
    assert_eq!(c(JobState::Available), 398);
    let got = s
        .job_get(jobs[7].id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (got.state, got.priority, got.attempt),
        (JobState::Available, 7, 0)
    );
    // Due jobs come out by priority, then in creation order.
    let fetched = fetch(&*s, "big", 1000, now).await;
    assert_eq!(fetched.len(), 398);
    let keys: Vec<(u8, anp_core::JobId)> = fetched.iter().map(|j| (j.priority, j.id)).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "priority first, then id (creation order)");
}

/// After the job finishes the key is free again — unless a period says otherwise.
pub async fn unique_key_free_again_after_finish_unless_period<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = Timestamp::now();
    let mk = |n, period: Option<u64>| {
        let mut j = new_job("a", "default", n);
        let mut u = Unique::key("k").unwrap_or_else(|e| panic!("{e}"));
        u.period = period.map(Duration::from_secs);
        j.unique = Some(u);
        j
    };
    enqueue(&*s, vec![mk(1, None)], now).await;
    let j = fetch(&*s, "default", 1, now).await.remove(0);
    ack(&*s, &j, AckOutcome::Complete, now).await;
    let res = s
        .job_enqueue_many(JobEnqueueManyParams {
            jobs: vec![mk(2, None)],
            now: plus(now, 1),
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!res[0].duplicate, "finished jobs free the key");
    let second = res[0].id;
    let j = fetch(&*s, "default", 1, plus(now, 1)).await.remove(0);
    ack(&*s, &j, AckOutcome::Complete, plus(now, 2)).await;
    // With a 1-hour period, the completed job created at now+1 still counts.
    let res = s
        .job_enqueue_many(JobEnqueueManyParams {
            jobs: vec![mk(3, Some(3600))],
            now: plus(now, 10),
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (res[0].id, res[0].duplicate, res[0].state),
        (second, true, JobState::Completed)
    );
    let res = s
        .job_enqueue_many(JobEnqueueManyParams {
            jobs: vec![mk(4, Some(3600))],
            now: plus(now, 3602),
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!res[0].duplicate, "outside the period the key is free");
}

/// A paused queue yields nothing until resumed; other queues are unaffected.
pub async fn paused_queue_is_not_fetched<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = Timestamp::now();
    enqueue(
        &*s,
        vec![new_job("a", "default", 1), new_job("a", "other", 2)],
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
    assert_eq!(fetch(&*s, "other", 10, now).await.len(), 1);
    let info = s.queue_list().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(info
        .iter()
        .any(|q| q.queue.as_str() == "default" && q.paused));
    s.queue_set_paused(q("default"), false, now)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(fetch(&*s, "default", 10, now).await.len(), 1);
}

/// Finished jobs are pruned by age and by count per queue; unfinished ones never.
pub async fn prune_by_age_and_count<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = Timestamp::now();
    let ids = enqueue(
        &*s,
        (0..6).map(|n| new_job("a", "default", n)).collect(),
        now,
    )
    .await;
    let jobs = fetch(&*s, "default", 5, now).await;
    // Finish 5 jobs at now+0..4 s; the 6th stays available.
    for (i, j) in jobs.iter().enumerate() {
        ack(&*s, j, AckOutcome::Complete, plus(now, i as u64)).await;
    }
    let prune = |max_age: u64, max_count: u64, at: Timestamp| JobPruneParams {
        now: at,
        finished_max_age: Duration::from_secs(max_age),
        finished_max_count: max_count,
        dead_max_age: Duration::from_secs(1_000_000),
        dead_max_count: 1000,
        limit: 1000,
    };
    let n = s
        .job_prune(prune(1000, 3, plus(now, 10)))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(n, 2, "count limit keeps the newest 3");
    let n = s
        .job_prune(prune(8, 1000, plus(now, 11)))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(n, 1, "age limit removes the one finished at now+2");
    let left = s
        .job_list(JobListParams {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(left.len(), 3);
    assert!(left
        .iter()
        .any(|j| j.id == ids[5] && j.state == JobState::Available));
}

/// Retrying a job that used all its attempts gives it exactly one more.
pub async fn retry_gives_dead_job_one_more_attempt<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = Timestamp::now();
    let mut j = new_job("a", "default", 1);
    j.max_attempts = 1;
    let id = enqueue(&*s, vec![j], now).await[0];
    let j = fetch(&*s, "default", 1, now).await.remove(0);
    ack(
        &*s,
        &j,
        AckOutcome::Dead {
            error: err(1, now, "x", true),
        },
        now,
    )
    .await;
    let got = s
        .job_retry(id, plus(now, 5))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got.state, JobState::Available);
    assert_eq!(got.max_attempts, 2);
    assert!(got.finalized_at.is_none());
    assert_eq!(got.errors.len(), 1, "history is kept");
    let j = fetch(&*s, "default", 1, plus(now, 5)).await.remove(0);
    assert_eq!(j.attempt, 2);
    let e = s
        .job_retry(id, now)
        .await
        .err()
        .unwrap_or_else(|| panic!("retrying a running job must fail"));
    assert_eq!(e.kind(), ErrorKind::Conflict);
}

/// `job_retry_dead` revives only dead jobs matching the filters.
pub async fn retry_dead_in_bulk<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = Timestamp::now();
    let mut jobs: Vec<_> = (0..4).map(|n| new_job("a", "default", n)).collect();
    jobs.push(new_job("b", "default", 9));
    enqueue(&*s, jobs, now).await;
    for j in fetch(&*s, "default", 5, now).await {
        let outcome = if j.args.as_json().contains('3') {
            AckOutcome::Complete
        } else {
            AckOutcome::Dead {
                error: err(1, now, "x", false),
            }
        };
        ack(&*s, &j, outcome, now).await;
    }
    let n = s
        .job_retry_dead(JobRetryDeadParams {
            queue: Some(q("default")),
            kind: Some(k("a")),
            now,
            limit: 100,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(n, 3);
    let n = s
        .job_retry_dead(JobRetryDeadParams {
            queue: None,
            kind: None,
            now,
            limit: 100,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(n, 1, "only kind b remained dead");
    assert_eq!(fetch(&*s, "default", 10, now).await.len(), 4);
}

/// Cancel works on unfinished jobs (voiding a running lease) and refuses final ones.
pub async fn cancel_rules<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = Timestamp::now();
    let ids = enqueue(
        &*s,
        vec![new_job("a", "default", 1), new_job("a", "default", 2)],
        now,
    )
    .await;
    let got = s
        .job_cancel(ids[0], now)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got.state, JobState::Cancelled);
    let running = fetch(&*s, "default", 1, now).await.remove(0);
    assert_eq!(running.id, ids[1]);
    s.job_cancel(ids[1], now)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        ack(&*s, &running, AckOutcome::Complete, now).await,
        AckResult::LeaseLost,
        "the worker's result is discarded"
    );
    assert_eq!(
        s.job_get(ids[1]).await.map(|j| j.state).ok(),
        Some(JobState::Cancelled)
    );
    let e = s
        .job_cancel(ids[0], now)
        .await
        .err()
        .unwrap_or_else(|| panic!("cancel of a final job must fail"));
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert!(e.to_string().contains("cancelled"), "{e}");
}

/// Delete refuses running jobs and unknown ids.
pub async fn delete_rules<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = Timestamp::now();
    let ids = enqueue(
        &*s,
        vec![new_job("a", "default", 1), new_job("a", "default", 2)],
        now,
    )
    .await;
    let running = fetch(&*s, "default", 1, now).await.remove(0);
    let e = s
        .job_delete(running.id)
        .await
        .err()
        .unwrap_or_else(|| panic!("deleting a running job must fail"));
    assert_eq!(e.kind(), ErrorKind::Conflict);
    let other = if running.id == ids[0] { ids[1] } else { ids[0] };
    s.job_delete(other).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        s.job_get(other).await.err().map(|e| e.kind()),
        Some(ErrorKind::NotFound)
    );
    assert_eq!(
        s.job_delete(other).await.err().map(|e| e.kind()),
        Some(ErrorKind::NotFound)
    );
}

/// Unknown ids give NotFound with the id in the message, and change nothing.
pub async fn unknown_job_is_not_found<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = Timestamp::now();
    let id = anp_core::JobId::new();
    let e = s
        .job_get(id)
        .await
        .err()
        .unwrap_or_else(|| panic!("must fail"));
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(e.to_string().contains(&id.to_string()), "{e}");
    assert!(!e.retry_safe());
    assert_eq!(
        s.job_retry(id, now).await.err().map(|e| e.kind()),
        Some(ErrorKind::NotFound)
    );
    assert_eq!(
        s.job_cancel(id, now).await.err().map(|e| e.kind()),
        Some(ErrorKind::NotFound)
    );
}

/// Queue listing counts every state and the oldest available job.
pub async fn queue_list_counts_every_state<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = Timestamp::now();
    let mut later = new_job("a", "default", 9);
    later.run_at = Some(plus(now, 100));
    let mut jobs: Vec<_> = (0..4).map(|n| new_job("a", "default", n)).collect();
    jobs.push(later);
    jobs.push(new_job("a", "zeta", 1));
    enqueue(&*s, jobs, now).await;
    let f = fetch(&*s, "default", 2, now).await;
    ack(&*s, &f[0], AckOutcome::Complete, now).await;
    let list = s.queue_list().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        list.iter().map(|q| q.queue.as_str()).collect::<Vec<_>>(),
        vec!["default", "zeta"]
    );
    let d = &list[0];
    assert_eq!(d.counts.len(), 7, "every state is present");
    let c = |st: JobState| d.counts.get(&st).copied().unwrap_or(99);
    assert_eq!(
        (
            c(JobState::Available),
            c(JobState::Running),
            c(JobState::Completed),
            c(JobState::Scheduled),
            c(JobState::Dead)
        ),
        (2, 1, 1, 1, 0)
    );
    assert_eq!(
        d.oldest_available_at.map(|t| t.as_microsecond()),
        Some(now.as_microsecond())
    );
    assert!(!d.paused);
}

/// Listing filters by state, queue and kind, newest first, with paging.
pub async fn job_list_filters_and_pages<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = Timestamp::now();
    let mut jobs: Vec<_> = (0..5).map(|n| new_job("a", "default", n)).collect();
    jobs.push(new_job("b", "other", 5));
    let ids = enqueue(&*s, jobs, now).await;
    let all = s
        .job_list(JobListParams {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        all.iter().map(|j| j.id).collect::<Vec<_>>(),
        ids.iter().rev().copied().collect::<Vec<_>>()
    );
    let page1 = s
        .job_list(JobListParams {
            queue: Some(q("default")),
            limit: 2,
            ..Default::default()
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        page1.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![ids[4], ids[3]]
    );
    let page2 = s
        .job_list(JobListParams {
            queue: Some(q("default")),
            limit: 2,
            before: Some(ids[3]),
            ..Default::default()
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        page2.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![ids[2], ids[1]]
    );
    let b = s
        .job_list(JobListParams {
            kind: Some(k("b")),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(b.len(), 1);
    fetch(&*s, "default", 1, now).await;
    let running = s
        .job_list(JobListParams {
            states: vec![JobState::Running],
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(running.len(), 1);
    let two = s
        .job_list(JobListParams {
            states: vec![JobState::Running, JobState::Available],
            queue: Some(q("default")),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(two.len(), 5);
}

/// An idle `job_wait` returns soon after another handle (another process) enqueues.
pub async fn job_wait_wakes_on_enqueue_from_another_handle<H: Harness>(h: &H) {
    let waiter = h.store().await;
    let writer = h.store().await;
    let started = std::time::Instant::now();
    let wait = tokio::spawn(async move {
        waiter
            .job_wait(JobWaitParams {
                queues: vec![q("default")],
                timeout: Duration::from_secs(20),
            })
            .await
    });
    // Give the waiter time to start waiting; a wake-up before that is also fine.
    tokio::time::sleep(Duration::from_millis(200)).await;
    enqueue(&*writer, vec![new_job("a", "default", 1)], Timestamp::now()).await;
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .unwrap_or_else(|_| panic!("job_wait did not wake within 10s of an enqueue"))
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// `store_ping` answers with the backend name and a schema version.
pub async fn ping_reports_backend<H: Harness>(h: &H) {
    let s = h.store().await;
    let info = s.store_ping().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(info.backend, s.backend());
    assert!(info.schema_version >= 1);
    assert!(!s.redacted_url().is_empty());
}

/// Per-minute stats count enqueues (in the enqueue call) and attempt outcomes (in the ack call,
/// only for acks that applied), with run and wait histograms.
pub async fn stats_count_enqueues_and_outcomes<H: Harness>(h: &H) {
    use anp_core::monitor::{minute_of, StatsQueryParams};
    let s = h.store().await;
    let now = Timestamp::now();
    enqueue(
        &*s,
        (0..3).map(|n| new_job("a", "default", n)).collect(),
        now,
    )
    .await;
    let jobs = fetch(&*s, "default", 3, now).await;
    ack(&*s, &jobs[0], AckOutcome::Complete, now).await;
    ack(
        &*s,
        &jobs[1],
        AckOutcome::Retry {
            at: plus(now, 60),
            error: err(1, now, "x", true),
        },
        now,
    )
    .await;
    ack(
        &*s,
        &jobs[2],
        AckOutcome::Dead {
            error: err(1, now, "y", false),
        },
        now,
    )
    .await;
    assert_eq!(
        ack(&*s, &jobs[0], AckOutcome::Complete, now).await,
        AckResult::LeaseLost
    );
    let rows = s
        .stats_query(StatsQueryParams {
            from: minute_of(plus(now, 0)),
            until: plus(now, 120),
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut total = anp_core::monitor::StatCounts::default();
    for (k, c) in &rows {
        assert_eq!((k.queue.as_str(), k.kind.as_str()), ("default", "a"));
        total.merge(c);
    }
    assert_eq!(
        (total.enqueued, total.completed, total.failed, total.dead),
        (3, 1, 2, 1)
    );
    assert_eq!(total.run.count(), 3, "a rejected ack is not counted");
    assert_eq!(total.wait.count(), 3);
    assert_eq!(
        total.run.quantile_ms(0.5),
        Some(50.0),
        "40 ms falls in the 50 ms bucket"
    );
}

/// Processes register, heartbeat, go stale and are removed.
pub async fn processes_register_and_go_stale<H: Harness>(h: &H) {
    use anp_core::monitor::{ProcessInfo, ProcessListParams};
    let s = h.store().await;
    let now = Timestamp::now();
    let p = |id: &str, seen: Timestamp| ProcessInfo {
        id: id.into(),
        role: "worker".into(),
        host: "h".into(),
        pid: 42,
        version: "0.1.0".into(),
        queues: vec![q("default")],
        started_at: now,
        last_seen: seen,
    };
    s.process_heartbeat(p("alive", now))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    s.process_heartbeat(p("stale", crate::util::minus(now, 100)))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let list = s
        .process_list(ProcessListParams {
            now,
            stale_after: Duration::from_secs(60),
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        list.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        vec!["alive"]
    );
    assert_eq!(list[0].queues, vec![q("default")]);
    s.process_heartbeat(p("alive", plus(now, 5)))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let list = s
        .process_list(ProcessListParams {
            now: plus(now, 5),
            stale_after: Duration::from_secs(60),
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        list[0].last_seen.as_microsecond(),
        plus(now, 5).as_microsecond()
    );
    s.process_remove("alive".into())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let list = s
        .process_list(ProcessListParams {
            now,
            stale_after: Duration::from_secs(60),
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(list.is_empty());
}

/// Deploy markers keep version, owner, rollback and note; newest first.
pub async fn deploy_markers_newest_first<H: Harness>(h: &H) {
    use anp_core::monitor::DeployMarker;
    let s = h.store().await;
    let now = Timestamp::now();
    for (i, v) in ["v1", "v2", "v3"].iter().enumerate() {
        s.deploy_mark(DeployMarker {
            at: plus(now, i as u64),
            version: (*v).into(),
            owner: Some("web-team".into()),
            rollback: Some(format!("deploy {v}~1")),
            note: None,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    }
    let list = s.deploy_list(2).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        list.iter().map(|m| m.version.as_str()).collect::<Vec<_>>(),
        vec!["v3", "v2"]
    );
    assert_eq!(list[0].rollback.as_deref(), Some("deploy v3~1"));
    assert_eq!(list[0].owner.as_deref(), Some("web-team"));
}

/// Every job, as `job_list` shows it now, keyed by id (as JSON, to compare every field).
async fn all_jobs(
    s: &dyn anp_core::Store,
) -> std::collections::BTreeMap<String, serde_json::Value> {
    s.job_list(JobListParams {
        limit: 100_000,
        ..Default::default()
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"))
    .into_iter()
    .map(|j| {
        let v = serde_json::to_value(&j).unwrap_or_else(|e| panic!("{e}"));
        (j.id.to_string(), v)
    })
    .collect()
}

/// `job_export` hands out every job once, exactly as it was when the export began, while jobs
/// are enqueued, fetched, acked (with errors), heartbeated, cancelled and deleted during it;
/// afterwards the store works on (a second export sees the new state). The changes touch the
/// queue being exported: the contract is one instant per queue (Redis exports queue after
/// queue; SQLite gives one instant for the whole store).
pub async fn export_is_a_point_in_time_view<H: Harness>(h: &H) {
    use anp_core::store::JobExportParams;
    let s = h.store().await;
    let now = Timestamp::now();
    enqueue(&*s, (0..300).map(|i| new_job("a", "exp", i)).collect(), now).await;
    enqueue(
        &*s,
        (0..40).map(|i| new_job("b", "other", i)).collect(),
        now,
    )
    .await;
    let running = fetch(&*s, "exp", 100, now).await;
    for j in &running[..50] {
        ack(&*s, j, AckOutcome::Complete, plus(now, 1)).await;
    }
    for j in &running[50..60] {
        let error = err(1, plus(now, 1), "boom", true);
        let at = plus(now, 60);
        ack(&*s, j, AckOutcome::Retry { at, error }, plus(now, 1)).await;
    }
    let before = all_jobs(&*s).await;
    assert_eq!(before.len(), 340);

    let handle = tokio::runtime::Handle::current();
    let s2 = s.clone();
    let mut got: Vec<anp_core::Job> = Vec::new();
    let mut pages = 0;
    let n = s
        .job_export(JobExportParams { page: 25 }, &mut |page| {
            pages += 1;
            got.extend(page);
            if pages == 1 {
                // Change the store in every way while the export is under way.
                tokio::task::block_in_place(|| {
                    handle.block_on(async {
                        let t = plus(now, 2);
                        enqueue(
                            &*s2,
                            (0..20).map(|i| new_job("a", "exp", 1000 + i)).collect(),
                            t,
                        )
                        .await;
                        for j in &running[60..80] {
                            ack(&*s2, j, AckOutcome::Complete, t).await;
                        }
                        for j in &running[80..85] {
                            let error = err(1, t, "late", false);
                            ack(&*s2, j, AckOutcome::Dead { error }, t).await;
                        }
                        s2.job_heartbeat_many(JobHeartbeatManyParams {
                            leases: running[85..90].iter().filter_map(|j| j.lease()).collect(),
                            lease_until: plus(now, 600),
                        })
                        .await
                        .unwrap_or_else(|e| panic!("{e}"));
                        for j in &running[..10] {
                            s2.job_delete(j.id).await.unwrap_or_else(|e| panic!("{e}"));
                        }
                        for j in &running[50..55] {
                            s2.job_cancel(j.id, t)
                                .await
                                .unwrap_or_else(|e| panic!("{e}"));
                        }
                        // 55..60 are retryable: the purge takes 3 of them.
                        assert_eq!(purge(&*s2, "exp", &[JobState::Retryable], 3).await, 3);
                        let more = fetch(&*s2, "exp", 30, t).await;
                        assert_eq!(more.len(), 30);
                    })
                });
            }
            Ok(())
        })
        .await
        .unwrap_or_else(|e| panic!("export: {e}"));
    assert!(
        pages > 1,
        "the export took {pages} page(s): the test needs several"
    );
    assert_eq!(n as usize, got.len());
    let mut exported = std::collections::BTreeMap::new();
    for j in got {
        let v = serde_json::to_value(&j).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            exported.insert(j.id.to_string(), v).is_none(),
            "job {} exported twice",
            j.id
        );
    }
    let missing: Vec<_> = before
        .keys()
        .filter(|k| !exported.contains_key(*k))
        .collect();
    let extra: Vec<_> = exported
        .keys()
        .filter(|k| !before.contains_key(*k))
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}, extra {extra:?}"
    );
    for (id, v) in &before {
        assert_eq!(
            Some(v),
            exported.get(id),
            "job {id} differs from the instant the export began"
        );
    }

    // Afterwards: writes work, and a new export sees the current state.
    let after = all_jobs(&*s).await;
    assert_eq!(after.len(), 340 + 20 - 10 - 3);
    let mut again = std::collections::BTreeMap::new();
    s.job_export(JobExportParams::default(), &mut |page| {
        for j in page {
            let v = serde_json::to_value(&j).unwrap_or_else(|e| panic!("{e}"));
            again.insert(j.id.to_string(), v);
        }
        Ok(())
    })
    .await
    .unwrap_or_else(|e| panic!("second export: {e}"));
    assert_eq!(again, after);
}

/// `queue_purge` with these states and limit, panicking on error.
async fn purge(s: &dyn anp_core::Store, queue: &str, states: &[JobState], limit: u32) -> u64 {
    s.queue_purge(QueuePurgeParams {
        queue: q(queue),
        states: states.to_vec(),
        limit,
    })
    .await
    .unwrap_or_else(|e| panic!("queue_purge {queue} {states:?} limit {limit}: {e}"))
}

/// Jobs per state of one queue, from `queue_list` (all zeros for a queue it does not list).
async fn counts_of(
    s: &dyn anp_core::Store,
    queue: &str,
) -> std::collections::BTreeMap<JobState, u64> {
    let list = s.queue_list().await.unwrap_or_else(|e| panic!("{e}"));
    let mut out: std::collections::BTreeMap<JobState, u64> =
        JobState::ALL.iter().map(|st| (*st, 0)).collect();
    if let Some(info) = list.into_iter().find(|i| i.queue.as_str() == queue) {
        for (st, n) in info.counts {
            out.insert(st, n);
        }
    }
    out
}

/// Purging chosen states deletes exactly those jobs of that queue; an empty state list means
/// every state but running; running jobs (and other queues) are never touched, and a running
/// job's lease survives a purge. A purged job is NotFound.
pub async fn purge_deletes_chosen_states_and_never_running<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = Timestamp::now();
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
    let now = Timestamp::now();
    enqueue(
        &*s,
        (0..10).map(|n| new_job("a", "default", n)).collect(),
        now,
    )
    .await;
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
    let now = Timestamp::now();
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
    let now = Timestamp::now();
    let ids = enqueue(
        &*s,
        vec![new_job("a", "default", 1), new_job("a", "default", 2)],
        now,
    )
    .await;
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
    let now = Timestamp::now();
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
