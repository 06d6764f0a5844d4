//! Job life cycle on a real SQLite file: enqueue, fetch, ack, heartbeat, rescue, promote and the
//! operator actions.
#![allow(clippy::unwrap_used)]

mod fixture;

use std::collections::HashSet;
use std::time::Duration;

use anp_core::store::{
    AckOutcome, AckResult, JobAck, JobAckManyParams, JobEnqueueManyParams, JobHeartbeatManyParams,
    JobListParams, JobPromoteParams, JobRescueParams, JobRetryDeadParams, Lease,
};
use anp_core::{Args, ErrorKind, JobId, JobState, Store};
use fixture::*;

#[tokio::test]
async fn enqueue_stores_every_field_and_args_verbatim() {
    let (_d, s) = store().await;
    let mut j = job("emails");
    j.args = Args::from_json(r#"{ "to" : "a@b.c",  "n": [1, 2.50] }"#).unwrap();
    j.priority = 3;
    j.max_attempts = 7;
    j.unique = Some(anp_core::Unique::key("welcome:42").unwrap());
    let id = j.id;
    let e = enqueue_one(&s, j, t0()).await;
    assert_eq!(
        (e.id, e.duplicate, e.state),
        (id, false, JobState::Available)
    );

    let got = s.job_get(id).await.unwrap();
    assert_eq!(got.id, id);
    assert_eq!(got.kind.as_str(), "test.job");
    assert_eq!(got.queue.as_str(), "emails");
    assert_eq!(got.args.as_json(), r#"{ "to" : "a@b.c",  "n": [1, 2.50] }"#);
    assert_eq!(got.state, JobState::Available);
    assert_eq!(got.priority, 3);
    assert_eq!(got.attempt, 0);
    assert_eq!(got.max_attempts, 7);
    assert_eq!(got.run_at, t0(), "run_at defaults to now");
    assert_eq!(got.created_at, t0());
    assert_eq!(got.attempted_at, None);
    assert_eq!(got.finalized_at, None);
    assert_eq!(got.unique_key.as_deref(), Some("welcome:42"));
    assert_eq!(got.lease_owner, None);
    assert_eq!(got.lease_expires_at, None);
    assert_eq!(got.lease_token, None);
    assert!(got.errors.is_empty());
}

#[tokio::test]
async fn run_at_in_the_future_is_scheduled_and_past_or_now_is_available() {
    let (_d, s) = store().await;
    let mut later = job("q");
    later.run_at = Some(at(60));
    let mut past = job("q");
    past.run_at = Some(t0());
    let out = enqueue(&s, vec![later.clone(), past.clone()], at(10)).await;
    assert_eq!(out[0].state, JobState::Scheduled);
    assert_eq!(out[1].state, JobState::Available);
    assert_eq!(s.job_get(later.id).await.unwrap().run_at, at(60));
    assert_eq!(s.job_get(past.id).await.unwrap().run_at, t0());
    // Only the available one can be fetched.
    let got = fetch(&s, "q", 10, at(10)).await;
    assert_eq!(got.iter().map(|j| j.id).collect::<Vec<_>>(), vec![past.id]);
}

#[tokio::test]
async fn fetch_orders_by_priority_then_run_at_then_id() {
    let (_d, s) = store().await;
    // (priority, run_at offset)
    let spec = [(5, 3), (1, 5), (5, 1), (0, 9), (1, 5), (9, 0), (5, 1)];
    let mut jobs = Vec::new();
    for (p, off) in spec {
        let mut j = job("q");
        j.priority = p;
        j.run_at = Some(at(off));
        jobs.push(j);
    }
    enqueue(&s, jobs.clone(), at(100)).await;
    let mut expected: Vec<_> = jobs
        .iter()
        .map(|j| (j.priority, j.run_at.unwrap(), j.id))
        .collect();
    expected.sort();
    let expected: Vec<JobId> = expected.into_iter().map(|(_, _, id)| id).collect();

    let first = fetch(&s, "q", 3, at(100)).await;
    let rest = fetch(&s, "q", 100, at(100)).await;
    let got: Vec<JobId> = first.iter().chain(&rest).map(|j| j.id).collect();
    assert_eq!(got, expected);
    assert_eq!(first.len(), 3);
    assert!(fetch(&s, "q", 10, at(100)).await.is_empty());
}

#[tokio::test]
async fn fetch_leases_each_job_with_its_own_token() {
    let (_d, s) = store().await;
    enqueue(&s, (0..20).map(|_| job("q")).collect(), t0()).await;
    enqueue(&s, vec![job("other")], t0()).await;
    let got = fetch(&s, "q", 50, at(5)).await;
    assert_eq!(got.len(), 20, "only the named queue");
    let tokens: HashSet<i64> = got.iter().map(|j| j.lease_token.unwrap()).collect();
    assert_eq!(tokens.len(), 20, "distinct tokens");
    for j in &got {
        assert_eq!(j.state, JobState::Running);
        assert_eq!(j.attempt, 1);
        assert_eq!(j.attempted_at, Some(at(5)));
        assert_eq!(j.lease_owner.as_deref(), Some("w1"));
        assert_eq!(j.lease_expires_at, Some(at(35)));
        let stored = s.job_get(j.id).await.unwrap();
        assert_eq!(stored.lease_token, j.lease_token);
        assert_eq!(stored.state, JobState::Running);
    }
}

#[tokio::test]
async fn paused_queue_yields_nothing_until_resumed() {
    let (_d, s) = store().await;
    enqueue(&s, vec![job("q"), job("q")], t0()).await;
    s.queue_set_paused(q("q"), true, t0()).await.unwrap();
    assert!(fetch(&s, "q", 10, t0()).await.is_empty());
    s.queue_set_paused(q("q"), true, t0()).await.unwrap(); // idempotent
    assert!(fetch(&s, "q", 10, t0()).await.is_empty());
    s.queue_set_paused(q("q"), false, at(1)).await.unwrap();
    assert_eq!(fetch(&s, "q", 10, at(1)).await.len(), 2);
}

#[tokio::test]
async fn unique_key_returns_the_live_job_as_duplicate() {
    let (_d, s) = store().await;
    let first = unique_job("q", "k", None);
    let e1 = enqueue_one(&s, first.clone(), t0()).await;
    assert!(!e1.duplicate);
    let e2 = enqueue_one(&s, unique_job("q", "k", None), at(1)).await;
    assert_eq!(
        (e2.id, e2.duplicate, e2.state),
        (first.id, true, JobState::Available)
    );
    // Same key in another queue is another job.
    let e3 = enqueue_one(&s, unique_job("other", "k", None), at(1)).await;
    assert!(!e3.duplicate);
    // While running, still a duplicate, reported as running.
    let got = fetch(&s, "q", 1, at(2)).await;
    let e4 = enqueue_one(&s, unique_job("q", "k", None), at(3)).await;
    assert_eq!(
        (e4.id, e4.duplicate, e4.state),
        (first.id, true, JobState::Running)
    );
    // Once finished (no period), the key is free again.
    assert_eq!(
        ack(&s, lease(&got[0]), AckOutcome::Complete, at(4)).await,
        AckResult::Applied
    );
    let e5 = enqueue_one(&s, unique_job("q", "k", None), at(5)).await;
    assert!(!e5.duplicate);
    assert_ne!(e5.id, first.id);
}

#[tokio::test]
async fn duplicates_within_one_batch_resolve_to_the_first() {
    let (_d, s) = store().await;
    let a = unique_job("q", "k", None);
    let b = unique_job("q", "k", None);
    let c = job("q");
    let mut d = unique_job("q", "k2", None);
    d.run_at = Some(at(60));
    let e = unique_job("q", "k2", None);
    let out = enqueue(&s, vec![a.clone(), b, c.clone(), d.clone(), e], t0()).await;
    assert_eq!((out[0].id, out[0].duplicate), (a.id, false));
    assert_eq!(
        (out[1].id, out[1].duplicate, out[1].state),
        (a.id, true, JobState::Available)
    );
    assert_eq!((out[2].id, out[2].duplicate), (c.id, false));
    assert_eq!(
        (out[3].id, out[3].duplicate, out[3].state),
        (d.id, false, JobState::Scheduled)
    );
    assert_eq!(
        (out[4].id, out[4].duplicate, out[4].state),
        (d.id, true, JobState::Scheduled)
    );
    assert_eq!(fetch(&s, "q", 10, t0()).await.len(), 2);
}

#[tokio::test]
async fn unique_period_covers_finished_jobs_created_within_it() {
    let (_d, s) = store().await;
    let hour = Duration::from_secs(3600);
    let first = unique_job("q", "daily", Some(hour));
    enqueue_one(&s, first.clone(), t0()).await;
    let got = fetch(&s, "q", 1, at(1)).await;
    ack(&s, lease(&got[0]), AckOutcome::Complete, at(2)).await;

    // Finished, but created 30 min ago: still a duplicate.
    let e = enqueue_one(&s, unique_job("q", "daily", Some(hour)), at(1800)).await;
    assert_eq!(
        (e.id, e.duplicate, e.state),
        (first.id, true, JobState::Completed)
    );
    // Without a period the finished job does not count.
    let e = enqueue_one(&s, unique_job("q", "daily", None), at(1801)).await;
    assert!(!e.duplicate);
    let second = e.id;
    // A live job wins over a recent finished one.
    let e = enqueue_one(&s, unique_job("q", "daily", Some(hour)), at(1802)).await;
    assert_eq!(
        (e.id, e.duplicate, e.state),
        (second, true, JobState::Available)
    );
    // Cancel the live one; after the period the first no longer counts but the second (created
    // at 1801) does.
    s.job_cancel(second, at(1803)).await.unwrap();
    let e = enqueue_one(&s, unique_job("q", "daily", Some(hour)), at(3601)).await;
    assert_eq!(
        (e.id, e.duplicate, e.state),
        (second, true, JobState::Cancelled)
    );
    let e = enqueue_one(&s, unique_job("q", "daily", Some(hour)), at(1801 + 3601)).await;
    assert!(!e.duplicate);
}

#[tokio::test]
async fn the_same_id_enqueued_twice_is_a_duplicate_of_itself() {
    let (_d, s) = store().await;
    let j = job("q");
    enqueue_one(&s, j.clone(), t0()).await;
    let e = enqueue_one(&s, j.clone(), at(1)).await;
    assert_eq!(
        (e.id, e.duplicate, e.state),
        (j.id, true, JobState::Available)
    );
    assert_eq!(fetch(&s, "q", 10, at(1)).await.len(), 1);
}

#[tokio::test]
async fn ack_complete_finalizes_and_a_second_ack_loses_the_lease() {
    let (_d, s) = store().await;
    enqueue(&s, vec![job("q")], t0()).await;
    let j = fetch(&s, "q", 1, at(1)).await.remove(0);
    assert_eq!(
        ack(&s, lease(&j), AckOutcome::Complete, at(2)).await,
        AckResult::Applied
    );
    let got = s.job_get(j.id).await.unwrap();
    assert_eq!(got.state, JobState::Completed);
    assert_eq!(got.finalized_at, Some(at(2)));
    assert_eq!(
        (got.lease_owner, got.lease_expires_at, got.lease_token),
        (None, None, None)
    );
    assert_eq!(got.attempt, 1);
    assert_eq!(
        ack(&s, lease(&j), AckOutcome::Complete, at(3)).await,
        AckResult::LeaseLost
    );
}

#[tokio::test]
async fn ack_retry_appends_the_error_and_reschedules() {
    let (_d, s) = store().await;
    enqueue(&s, vec![job("q")], t0()).await;
    let j = fetch(&s, "q", 1, at(1)).await.remove(0);
    let err = failure(1, at(2), "smtp timeout", true);
    let r = ack(
        &s,
        lease(&j),
        AckOutcome::Retry {
            at: at(60),
            error: err.clone(),
        },
        at(2),
    )
    .await;
    assert_eq!(r, AckResult::Applied);
    let got = s.job_get(j.id).await.unwrap();
    assert_eq!(got.state, JobState::Retryable);
    assert_eq!(got.run_at, at(60));
    assert_eq!(got.finalized_at, None);
    assert_eq!(got.lease_token, None);
    assert_eq!(got.errors, vec![err.clone()]);

    // Not due yet, then due.
    let promote = |now| JobPromoteParams { now, limit: 100 };
    assert_eq!(s.job_promote_due(promote(at(59))).await.unwrap(), 0);
    assert_eq!(s.job_promote_due(promote(at(60))).await.unwrap(), 1);
    let j2 = fetch(&s, "q", 1, at(61)).await.remove(0);
    assert_eq!(j2.attempt, 2);
    let err2 = failure(2, at(62), "still \"down\"\nline 2", true);
    ack(
        &s,
        lease(&j2),
        AckOutcome::Retry {
            at: at(120),
            error: err2.clone(),
        },
        at(62),
    )
    .await;
    assert_eq!(s.job_get(j.id).await.unwrap().errors, vec![err, err2]);
}

#[tokio::test]
async fn ack_dead_cancel_snooze_and_hand_back() {
    let (_d, s) = store().await;
    enqueue(&s, (0..4).map(|_| job("q")).collect(), t0()).await;
    let js = fetch(&s, "q", 4, at(1)).await;
    let dead_err = failure(1, at(2), "bad input", false);
    let cancel_err = failure(1, at(2), "user deleted", false);
    let acks = vec![
        JobAck {
            lease: lease(&js[0]),
            outcome: AckOutcome::Dead {
                error: dead_err.clone(),
            },
            stats: None,
        },
        JobAck {
            lease: lease(&js[1]),
            outcome: AckOutcome::Cancel {
                error: cancel_err.clone(),
            },
            stats: None,
        },
        JobAck {
            lease: lease(&js[2]),
            outcome: AckOutcome::Snooze { at: at(300) },
            stats: None,
        },
        JobAck {
            lease: lease(&js[3]),
            outcome: AckOutcome::HandBack,
            stats: None,
        },
        JobAck {
            lease: Lease {
                token: js[3].lease_token.unwrap().wrapping_add(1),
                ..lease(&js[3])
            },
            outcome: AckOutcome::Complete,
            stats: None,
        },
    ];
    let r = s
        .job_ack_many(JobAckManyParams { acks, now: at(2) })
        .await
        .unwrap();
    assert_eq!(
        r,
        vec![
            AckResult::Applied,
            AckResult::Applied,
            AckResult::Applied,
            AckResult::Applied,
            AckResult::LeaseLost
        ]
    );

    let dead = s.job_get(js[0].id).await.unwrap();
    assert_eq!(
        (dead.state, dead.finalized_at),
        (JobState::Dead, Some(at(2)))
    );
    assert_eq!(dead.errors, vec![dead_err]);

    let cancelled = s.job_get(js[1].id).await.unwrap();
    assert_eq!(
        (cancelled.state, cancelled.finalized_at),
        (JobState::Cancelled, Some(at(2)))
    );
    assert_eq!(cancelled.errors, vec![cancel_err]);

    let snoozed = s.job_get(js[2].id).await.unwrap();
    assert_eq!(snoozed.state, JobState::Scheduled);
    assert_eq!(snoozed.run_at, at(300));
    assert_eq!(snoozed.attempt, 0, "snooze gives the attempt back");
    assert!(snoozed.errors.is_empty());
    assert_eq!(snoozed.finalized_at, None);

    let back = s.job_get(js[3].id).await.unwrap();
    assert_eq!(back.state, JobState::Available);
    assert_eq!(back.attempt, 0, "hand back gives the attempt back");
    assert_eq!(back.run_at, t0(), "keeps its place in line");
    assert_eq!(back.lease_token, None);
    let again = fetch(&s, "q", 10, at(3)).await;
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].id, again[0].attempt), (js[3].id, 1));
}

#[tokio::test]
async fn heartbeat_extends_only_held_leases() {
    let (_d, s) = store().await;
    enqueue(&s, vec![job("q"), job("q")], t0()).await;
    let js = fetch(&s, "q", 2, at(1)).await;
    ack(&s, lease(&js[1]), AckOutcome::Complete, at(2)).await;
    let forged = Lease {
        token: js[0].lease_token.unwrap() ^ 1,
        ..lease(&js[0])
    };
    let r = s
        .job_heartbeat_many(JobHeartbeatManyParams {
            leases: vec![lease(&js[0]), lease(&js[1]), forged],
            lease_until: at(90),
        })
        .await
        .unwrap();
    assert_eq!(r, vec![true, false, false]);
    assert_eq!(
        s.job_get(js[0].id).await.unwrap().lease_expires_at,
        Some(at(90))
    );
    // The heartbeat kept the job from being rescued at 60.
    let rescue = |now| JobRescueParams { now, limit: 10 };
    assert!(s
        .job_rescue_expired(rescue(at(60)))
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn rescue_takes_back_expired_leases_and_fences_the_old_worker() {
    let (_d, s) = store().await;
    let j = job("q");
    enqueue(&s, vec![j.clone()], t0()).await;
    let first = fetch(&s, "q", 1, at(1)).await.remove(0); // lease until 31
    let rescue = |now| JobRescueParams { now, limit: 10 };
    assert!(
        s.job_rescue_expired(rescue(at(31)))
            .await
            .unwrap()
            .is_empty(),
        "not yet expired"
    );

    let r = s.job_rescue_expired(rescue(at(40))).await.unwrap();
    assert_eq!(r.len(), 1);
    assert_eq!(
        (
            r[0].id,
            r[0].queue.as_str(),
            r[0].kind.as_str(),
            r[0].attempt,
            r[0].state
        ),
        (j.id, "q", "test.job", 1, JobState::Available)
    );
    let got = s.job_get(j.id).await.unwrap();
    assert_eq!(got.state, JobState::Available);
    assert_eq!(got.run_at, at(40));
    assert_eq!(got.lease_token, None);
    assert_eq!(got.errors.len(), 1);
    let e = &got.errors[0];
    assert_eq!((e.attempt, e.at, e.retry_safe), (1, at(40), true));
    assert_eq!(
        e.message,
        "lease expired at 2030-01-01T00:00:31Z: worker w1 stopped heartbeating (killed, crashed or stalled); attempt lost"
    );

    // A new attempt takes the job; the old worker's late ack and heartbeat are rejected.
    let second = fetch(&s, "q", 1, at(41)).await.remove(0);
    assert_eq!(second.attempt, 2);
    assert_ne!(second.lease_token, first.lease_token);
    assert_eq!(
        ack(&s, lease(&first), AckOutcome::Complete, at(42)).await,
        AckResult::LeaseLost
    );
    let hb = s
        .job_heartbeat_many(JobHeartbeatManyParams {
            leases: vec![lease(&first)],
            lease_until: at(100),
        })
        .await
        .unwrap();
    assert_eq!(hb, vec![false]);
    assert_eq!(s.job_get(j.id).await.unwrap().state, JobState::Running);
    assert_eq!(
        ack(&s, lease(&second), AckOutcome::Complete, at(43)).await,
        AckResult::Applied
    );
    assert_eq!(s.job_get(j.id).await.unwrap().state, JobState::Completed);
}

#[tokio::test]
async fn rescue_kills_a_job_that_used_all_its_attempts() {
    let (_d, s) = store().await;
    let mut j = job("q");
    j.max_attempts = 2;
    enqueue(&s, vec![j.clone()], t0()).await;
    let rescue = |now| JobRescueParams { now, limit: 10 };
    fetch(&s, "q", 1, at(1)).await;
    assert_eq!(
        s.job_rescue_expired(rescue(at(100))).await.unwrap()[0].state,
        JobState::Available
    );
    fetch(&s, "q", 1, at(101)).await;
    let r = s.job_rescue_expired(rescue(at(200))).await.unwrap();
    assert_eq!((r[0].attempt, r[0].state), (2, JobState::Dead));
    let got = s.job_get(j.id).await.unwrap();
    assert_eq!(got.state, JobState::Dead);
    assert_eq!(got.finalized_at, Some(at(200)));
    assert_eq!(got.errors.len(), 2);
    assert!(fetch(&s, "q", 1, at(201)).await.is_empty());
}

#[tokio::test]
async fn rescue_and_promote_respect_their_limits() {
    let (_d, s) = store().await;
    enqueue(&s, (0..5).map(|_| job("q")).collect(), t0()).await;
    fetch(&s, "q", 5, at(1)).await;
    let r = s
        .job_rescue_expired(JobRescueParams {
            now: at(100),
            limit: 2,
        })
        .await
        .unwrap();
    assert_eq!(r.len(), 2);

    let mut later: Vec<_> = (0..5).map(|_| job("p")).collect();
    for j in &mut later {
        j.run_at = Some(at(500));
    }
    enqueue(&s, later, at(100)).await;
    let n = s
        .job_promote_due(JobPromoteParams {
            now: at(500),
            limit: 3,
        })
        .await
        .unwrap();
    assert_eq!(n, 3);
    assert_eq!(fetch(&s, "p", 10, at(500)).await.len(), 3);
}

#[tokio::test]
async fn job_get_of_a_missing_job_is_not_found() {
    let (_d, s) = store().await;
    let id = JobId::new();
    let e = s.job_get(id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(e.op(), "job_get");
    assert_eq!(
        e.to_string(),
        format!("job_get: job {id} not found: expected the id of an existing job (it may have been pruned); not retried")
    );
}

#[tokio::test]
async fn job_list_filters_pages_and_sorts_newest_first() {
    let (_d, s) = store().await;
    let mut all = Vec::new();
    for i in 0..12 {
        let mut j = job(if i % 3 == 0 { "a" } else { "b" });
        if i % 4 == 0 {
            j.kind = kind("other.kind");
        }
        all.push(j);
    }
    enqueue(&s, all.clone(), t0()).await;
    // Make some running and some completed.
    let running = fetch(&s, "b", 3, at(1)).await;
    ack(&s, lease(&running[0]), AckOutcome::Complete, at(2)).await;

    let list = |p: JobListParams| {
        let s = s.clone();
        async move {
            s.job_list(p)
                .await
                .unwrap()
                .iter()
                .map(|j| j.id)
                .collect::<Vec<_>>()
        }
    };
    let newest_first: Vec<JobId> = all.iter().rev().map(|j| j.id).collect();
    assert_eq!(
        list(JobListParams {
            limit: 100,
            ..Default::default()
        })
        .await,
        newest_first
    );
    // Paging with `before`.
    let page1 = list(JobListParams {
        limit: 5,
        ..Default::default()
    })
    .await;
    let page2 = list(JobListParams {
        limit: 5,
        before: page1.last().copied(),
        ..Default::default()
    })
    .await;
    assert_eq!([page1, page2].concat(), newest_first[..10].to_vec());

    let in_a: Vec<JobId> = all
        .iter()
        .rev()
        .filter(|j| j.queue.as_str() == "a")
        .map(|j| j.id)
        .collect();
    assert_eq!(
        list(JobListParams {
            queue: Some(q("a")),
            limit: 100,
            ..Default::default()
        })
        .await,
        in_a
    );
    let other: Vec<JobId> = all
        .iter()
        .rev()
        .filter(|j| j.kind.as_str() == "other.kind")
        .map(|j| j.id)
        .collect();
    assert_eq!(
        list(JobListParams {
            kind: Some(kind("other.kind")),
            limit: 100,
            ..Default::default()
        })
        .await,
        other
    );
    // Several states merge, newest first, duplicates in the filter ignored.
    let mut running_or_done: Vec<JobId> = running.iter().map(|j| j.id).collect();
    running_or_done.sort();
    running_or_done.reverse();
    assert_eq!(
        list(JobListParams {
            states: vec![JobState::Running, JobState::Completed, JobState::Running],
            limit: 100,
            ..Default::default()
        })
        .await,
        running_or_done
    );
    assert_eq!(
        list(JobListParams {
            states: vec![JobState::Running, JobState::Completed],
            limit: 2,
            ..Default::default()
        })
        .await,
        running_or_done[..2].to_vec()
    );
    assert_eq!(
        list(JobListParams {
            states: vec![JobState::Completed],
            queue: Some(q("b")),
            limit: 100,
            ..Default::default()
        })
        .await,
        vec![running[0].id]
    );
    assert!(list(JobListParams {
        states: vec![JobState::Dead],
        limit: 100,
        ..Default::default()
    })
    .await
    .is_empty());
}

#[tokio::test]
async fn job_retry_revives_a_dead_job_with_one_more_attempt() {
    let (_d, s) = store().await;
    let mut j = job("q");
    j.max_attempts = 1;
    enqueue(&s, vec![j.clone()], t0()).await;
    let f = fetch(&s, "q", 1, at(1)).await.remove(0);
    ack(
        &s,
        lease(&f),
        AckOutcome::Dead {
            error: failure(1, at(2), "boom", true),
        },
        at(2),
    )
    .await;
    let r = s.job_retry(j.id, at(10)).await.unwrap();
    assert_eq!(r.state, JobState::Available);
    assert_eq!(r.run_at, at(10));
    assert_eq!(r.finalized_at, None);
    assert_eq!((r.attempt, r.max_attempts), (1, 2));
    assert_eq!(r.errors.len(), 1, "history kept");
    let again = fetch(&s, "q", 1, at(11)).await.remove(0);
    assert_eq!(again.attempt, 2);

    // Running: conflict. Missing: not found.
    let e = s.job_retry(j.id, at(12)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert_eq!(
        e.message(),
        format!(
            "job {} is running: expected a job that is not running; cancel it first or wait",
            j.id
        )
    );
    let e = s.job_retry(JobId::new(), at(12)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);

    // A scheduled job with attempts left keeps its max_attempts.
    let mut later = job("q");
    later.run_at = Some(at(1000));
    enqueue(&s, vec![later.clone()], at(12)).await;
    let r = s.job_retry(later.id, at(13)).await.unwrap();
    assert_eq!(
        (r.state, r.run_at, r.max_attempts),
        (JobState::Available, at(13), 25)
    );
}

#[tokio::test]
async fn job_retry_refuses_when_another_live_job_holds_the_unique_key() {
    let (_d, s) = store().await;
    let first = unique_job("q", "k", None);
    enqueue(&s, vec![first.clone()], t0()).await;
    s.job_cancel(first.id, at(1)).await.unwrap();
    let second = unique_job("q", "k", None);
    assert!(!enqueue_one(&s, second.clone(), at(2)).await.duplicate);
    let e = s.job_retry(first.id, at(3)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert!(
        e.message()
            .contains(&format!("held by live job {} (available)", second.id)),
        "{e}"
    );
    assert_eq!(
        s.job_get(first.id).await.unwrap().state,
        JobState::Cancelled,
        "unchanged"
    );
    // Once the holder finished, the retry goes through.
    s.job_delete(second.id).await.unwrap();
    assert_eq!(
        s.job_retry(first.id, at(4)).await.unwrap().state,
        JobState::Available
    );
}

#[tokio::test]
async fn job_retry_dead_revives_matching_dead_jobs_and_skips_unique_conflicts() {
    let (_d, s) = store().await;
    let mut jobs = vec![
        job("a"),
        job("a"),
        job("b"),
        unique_job("a", "k", None),
        job("a"),
    ];
    jobs[1].kind = kind("other.kind");
    enqueue(&s, jobs.clone(), t0()).await;
    for queue in ["a", "b"] {
        for j in fetch(&s, queue, 10, at(1)).await {
            let error = failure(1, at(2), "x", true);
            ack(&s, lease(&j), AckOutcome::Dead { error }, at(2)).await;
        }
    }
    // Another live job now holds "k": that dead job is skipped, not an error.
    enqueue(&s, vec![unique_job("a", "k", None)], at(3)).await;
    let retry = |queue: Option<&str>, kind_: Option<&str>, limit| JobRetryDeadParams {
        queue: queue.map(q),
        kind: kind_.map(kind),
        now: at(4),
        limit,
    };
    assert_eq!(
        s.job_retry_dead(retry(Some("b"), None, 10)).await.unwrap(),
        1
    );
    assert_eq!(
        s.job_retry_dead(retry(Some("a"), Some("other.kind"), 10))
            .await
            .unwrap(),
        1
    );
    // Left in "a": jobs[0], jobs[3] (blocked by the key), jobs[4]; limit 1 takes the oldest.
    assert_eq!(s.job_retry_dead(retry(None, None, 1)).await.unwrap(), 1);
    assert_eq!(
        s.job_get(jobs[0].id).await.unwrap().state,
        JobState::Available
    );
    // The blocked one is skipped and the next one found even though it comes after.
    assert_eq!(s.job_retry_dead(retry(None, None, 10)).await.unwrap(), 1);
    assert_eq!(
        s.job_get(jobs[4].id).await.unwrap().state,
        JobState::Available
    );
    let blocked = s.job_get(jobs[3].id).await.unwrap();
    assert_eq!(blocked.state, JobState::Dead);
    assert_eq!(s.job_retry_dead(retry(None, None, 10)).await.unwrap(), 0);
    let revived = s.job_get(jobs[2].id).await.unwrap();
    assert_eq!(
        (revived.run_at, revived.max_attempts, revived.finalized_at),
        (at(4), 25, None)
    );
}

#[tokio::test]
async fn job_cancel_voids_a_running_lease_and_refuses_final_jobs() {
    let (_d, s) = store().await;
    let (a, b) = (job("q"), job("q"));
    enqueue(&s, vec![a.clone(), b.clone()], t0()).await;
    let running = fetch(&s, "q", 1, at(1)).await.remove(0);
    assert_eq!(running.id, a.id);

    let c = s.job_cancel(a.id, at(2)).await.unwrap();
    assert_eq!(
        (c.state, c.finalized_at, c.lease_token),
        (JobState::Cancelled, Some(at(2)), None)
    );
    assert_eq!(
        c.errors,
        vec![failure(1, at(2), "cancelled by operator", false)]
    );
    assert_eq!(
        ack(&s, lease(&running), AckOutcome::Complete, at(3)).await,
        AckResult::LeaseLost
    );

    let c = s.job_cancel(b.id, at(4)).await.unwrap();
    assert_eq!(
        c.errors,
        vec![failure(0, at(4), "cancelled by operator", false)]
    );

    let e = s.job_cancel(a.id, at(5)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert_eq!(
        e.message(),
        format!("job {} is already cancelled: expected a scheduled, available, running or retryable job", a.id)
    );
    let e = s.job_cancel(JobId::new(), at(5)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(e.op(), "job_cancel");
}

#[tokio::test]
async fn job_delete_refuses_running_jobs() {
    let (_d, s) = store().await;
    let (a, b) = (job("q"), job("q"));
    enqueue(&s, vec![a.clone(), b.clone()], t0()).await;
    let running = fetch(&s, "q", 1, at(1)).await.remove(0);
    let e = s.job_delete(running.id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert!(e.message().contains("is running"), "{e}");
    s.job_delete(b.id).await.unwrap();
    assert_eq!(
        s.job_get(b.id).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        s.job_delete(b.id).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    // The running job was left alone: its ack still applies.
    assert_eq!(
        ack(&s, lease(&running), AckOutcome::Complete, at(2)).await,
        AckResult::Applied
    );
    s.job_delete(running.id).await.unwrap();
}

#[tokio::test]
async fn error_history_is_stored_in_the_job_serde_form() {
    let (_d, s) = store().await;
    enqueue(&s, vec![job("q")], t0()).await;
    let j = fetch(&s, "q", 1, at(1)).await.remove(0);
    let err = failure(1, at(2), "oops: «unicode» \u{1F4A5}", true);
    ack(
        &s,
        lease(&j),
        AckOutcome::Retry {
            at: at(3),
            error: err.clone(),
        },
        at(2),
    )
    .await;
    drop(s);
    let c = rusqlite::Connection::open(_d.path().join("anp.db")).unwrap();
    let raw: String = c
        .query_row(
            "SELECT errors FROM jobs WHERE id = ?1",
            [j.id.to_string()],
            |r| r.get(0),
        )
        .unwrap();
    let stored: serde_json::Value = serde_json::from_str(&raw).unwrap();
    let expected = serde_json::to_value(vec![err]).unwrap();
    assert_eq!(stored, expected);
}

#[tokio::test]
async fn a_batch_enqueue_is_one_transaction() {
    let (_d, s) = store().await;
    // An invalid job (priority out of range, bypassing validation) refuses the whole batch.
    let good = job("q");
    let mut bad = job("q");
    bad.priority = 42;
    let e = s
        .job_enqueue_many(JobEnqueueManyParams {
            jobs: vec![good.clone(), bad],
            now: t0(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert_eq!(e.op(), "priority");
    assert!(e.message().contains("expected 0-9"), "{e}");
    assert_eq!(
        s.job_get(good.id).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[tokio::test]
async fn job_list_finds_every_state_by_its_own_path() {
    let (_d, s) = store().await;
    // Two jobs in each of the seven states, in queues "a" and "b".
    let mut by_state: Vec<(JobState, Vec<JobId>)> = Vec::new();
    for state in JobState::ALL {
        let mut ids = Vec::new();
        for queue in ["a", "b"] {
            let mut j = job(queue);
            if state == JobState::Scheduled {
                j.run_at = Some(at(10_000));
            }
            let qn = format!("{queue}-{}", state.as_str());
            j.queue = q(&qn);
            enqueue(&s, vec![j.clone()], t0()).await;
            if !matches!(state, JobState::Scheduled | JobState::Available) {
                let f = fetch(&s, &qn, 1, at(1)).await.remove(0);
                let error = failure(1, at(2), "x", true);
                let outcome = match state {
                    JobState::Completed => Some(AckOutcome::Complete),
                    JobState::Retryable => Some(AckOutcome::Retry { at: at(500), error }),
                    JobState::Dead => Some(AckOutcome::Dead { error }),
                    JobState::Cancelled => Some(AckOutcome::Cancel { error }),
                    _ => None,
                };
                if let Some(outcome) = outcome {
                    ack(&s, lease(&f), outcome, at(2)).await;
                }
            }
            assert_eq!(s.job_get(j.id).await.unwrap().state, state);
            ids.push(j.id);
        }
        ids.reverse(); // newest first
        by_state.push((state, ids));
    }
    for (state, ids) in &by_state {
        let got: Vec<JobId> = s
            .job_list(JobListParams {
                states: vec![*state],
                limit: 100,
                ..Default::default()
            })
            .await
            .unwrap()
            .iter()
            .map(|j| j.id)
            .collect();
        assert_eq!(&got, ids, "{state}");
        // With a cursor: only the older one.
        let got: Vec<JobId> = s
            .job_list(JobListParams {
                states: vec![*state],
                before: Some(ids[0]),
                limit: 100,
                ..Default::default()
            })
            .await
            .unwrap()
            .iter()
            .map(|j| j.id)
            .collect();
        assert_eq!(got, ids[1..].to_vec(), "{state} before");
    }
    // All states at once equals no filter.
    let all = s
        .job_list(JobListParams {
            states: JobState::ALL.to_vec(),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    let none = s
        .job_list(JobListParams {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 14);
    assert_eq!(
        all.iter().map(|j| j.id).collect::<Vec<_>>(),
        none.iter().map(|j| j.id).collect::<Vec<_>>()
    );
}
