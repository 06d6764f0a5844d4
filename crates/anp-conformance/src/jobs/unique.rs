//! Unique keys: duplicates of live jobs, within one batch, and the period that makes finished
//! jobs count.

use anp_core::store::AckOutcome;
use anp_core::JobState;

use crate::util::{ack, enqueue_one, fetch, now, plus, unique_job};
use crate::Harness;

/// A unique key held by an unfinished job (available or running) returns that job as a
/// duplicate and adds nothing; the same key on another queue is another job.
pub async fn unique_key_returns_existing_job<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = now();
    let first = unique_job("default", 1, "report:42", None);
    let e = enqueue_one(&*s, first.clone(), now).await;
    assert_eq!((e.id, e.duplicate), (first.id, false));
    let b = unique_job("default", 2, "report:42", None);
    let e = enqueue_one(&*s, b.clone(), plus(now, 1)).await;
    assert_eq!(
        (e.id, e.duplicate, e.state),
        (first.id, true, JobState::Available)
    );
    assert!(s.job_get(b.id).await.is_err(), "nothing was added");
    let mut elsewhere = b.clone();
    elsewhere.queue = crate::util::q("other");
    let e = enqueue_one(&*s, elsewhere, plus(now, 1)).await;
    assert!(!e.duplicate, "same key on another queue is another job");
    let fetched = fetch(&*s, "default", 1, plus(now, 2)).await;
    assert_eq!(
        fetched[0].unique_key.as_deref(),
        Some("report:42"),
        "a fetched job carries its unique key"
    );
    let e = enqueue_one(
        &*s,
        unique_job("default", 3, "report:42", None),
        plus(now, 3),
    )
    .await;
    assert_eq!(
        (e.id, e.duplicate, e.state),
        (first.id, true, JobState::Running),
        "running still holds the key"
    );
}

/// Duplicates inside one batch resolve to the first job of the batch holding the key, with
/// its state, while other jobs of the batch go in.
pub async fn unique_key_within_one_batch<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = now();
    let a = unique_job("default", 1, "k", None);
    let b = unique_job("default", 2, "k", None);
    let c = crate::util::new_job("a", "default", 3);
    let mut d = unique_job("default", 4, "k2", None);
    d.run_at = Some(plus(now, 60));
    let e = unique_job("default", 5, "k2", None);
    let res = s
        .job_enqueue_many(anp_core::store::JobEnqueueManyParams {
            jobs: vec![a.clone(), b, c.clone(), d.clone(), e],
            now,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        res.iter()
            .map(|r| (r.id, r.duplicate, r.state))
            .collect::<Vec<_>>(),
        vec![
            (a.id, false, JobState::Available),
            (a.id, true, JobState::Available),
            (c.id, false, JobState::Available),
            (d.id, false, JobState::Scheduled),
            (d.id, true, JobState::Scheduled),
        ]
    );
    assert_eq!(fetch(&*s, "default", 10, now).await.len(), 2);
}

/// Once its job finished the key is free again — unless the newcomer's period covers the
/// finished job's creation: then the newest job created within the period (completed or
/// cancelled) is the duplicate, a live job winning over finished ones; past the period the
/// key is free.
pub async fn unique_key_free_again_after_finish_unless_period<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = now();
    let hour = Some(3600);
    // Enqueues a job holding "daily" at `now + secs`: (id, duplicate, state) of the answer.
    let daily = |n, period, secs| {
        let s = s.clone();
        async move {
            let job = unique_job("default", n, "daily", period);
            let e = enqueue_one(&*s, job, plus(now, secs)).await;
            (e.id, e.duplicate, e.state)
        }
    };
    let (first, _, _) = daily(1, hour, 0).await;
    let j = fetch(&*s, "default", 1, plus(now, 1)).await.remove(0);
    ack(&*s, &j, AckOutcome::Complete, plus(now, 2)).await;
    // Finished, created 30 min before: a duplicate within an hour's period.
    assert_eq!(
        daily(2, hour, 1800).await,
        (first, true, JobState::Completed)
    );
    // Without a period the finished job does not count.
    let (second, dup, _) = daily(3, None, 1801).await;
    assert!(!dup, "finished jobs free the key");
    // A live job wins over a recent finished one.
    assert_eq!(
        daily(4, hour, 1802).await,
        (second, true, JobState::Available)
    );
    // Cancelled: past the first job's period only the second (created at +1801) counts.
    s.job_cancel(second, plus(now, 1803))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        daily(5, hour, 3601).await,
        (second, true, JobState::Cancelled)
    );
    let (_, dup, _) = daily(6, hour, 1801 + 3601).await;
    assert!(!dup, "outside the period the key is free");
}
