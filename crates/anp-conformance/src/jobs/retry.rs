//! Operator retries: one job (`job_retry`) and dead jobs in bulk (`job_retry_dead`).

use anp_core::store::{AckOutcome, JobRetryDeadParams};
use anp_core::{ErrorKind, JobId, JobState};

use crate::util::{
    ack, enqueue, enqueue_one, err, fetch, get, k, new_job, now, plus, q, unique_job,
};
use crate::Harness;

/// Retrying a job that used all its attempts makes it available at the given instant with
/// exactly one more attempt and its history kept; a running job is a Conflict (exact message),
/// an unknown one NotFound; a scheduled job with attempts left keeps its `max_attempts`.
pub async fn retry_gives_dead_job_one_more_attempt<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = now();
    let mut j = new_job("a", "default", 1);
    j.max_attempts = 1;
    let id = enqueue(&*s, vec![j], now).await[0];
    let f = fetch(&*s, "default", 1, plus(now, 1)).await.remove(0);
    let error = err(1, plus(now, 2), "boom", true);
    ack(&*s, &f, AckOutcome::Dead { error }, plus(now, 2)).await;
    let r = s
        .job_retry(id, plus(now, 10))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.state, JobState::Available);
    assert_eq!(r.run_at, plus(now, 10));
    assert_eq!(r.finalized_at, None);
    assert_eq!((r.attempt, r.max_attempts), (1, 2));
    assert_eq!(r.errors.len(), 1, "history is kept");
    assert_eq!(get(&*s, id).await.max_attempts, 2);
    let again = fetch(&*s, "default", 1, plus(now, 11)).await.remove(0);
    assert_eq!(again.attempt, 2);

    let e = s
        .job_retry(id, plus(now, 12))
        .await
        .err()
        .unwrap_or_else(|| panic!("retrying a running job must fail"));
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert_eq!(
        e.message(),
        format!("job {id} is running: expected a job that is not running; cancel it first or wait")
    );
    let e = s.job_retry(JobId::new(), plus(now, 12)).await.err();
    assert_eq!(e.map(|e| e.kind()), Some(ErrorKind::NotFound));

    let mut later = new_job("a", "default", 2);
    later.run_at = Some(plus(now, 1000));
    let later_id = enqueue(&*s, vec![later], plus(now, 12)).await[0];
    let r = s
        .job_retry(later_id, plus(now, 13))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (r.state, r.run_at, r.max_attempts),
        (JobState::Available, plus(now, 13), 25)
    );
}

/// Retrying a finished job whose unique key another live job now holds is a Conflict naming
/// that job, and changes nothing; once the holder is gone the retry goes through.
pub async fn retry_refuses_while_another_live_job_holds_the_unique_key<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = now();
    let first = unique_job("default", 1, "k", None);
    enqueue(&*s, vec![first.clone()], now).await;
    s.job_cancel(first.id, plus(now, 1))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let second = unique_job("default", 2, "k", None);
    assert!(
        !enqueue_one(&*s, second.clone(), plus(now, 2))
            .await
            .duplicate
    );
    let e = s
        .job_retry(first.id, plus(now, 3))
        .await
        .err()
        .unwrap_or_else(|| panic!("the key is held by {}", second.id));
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert!(
        e.message()
            .contains(&format!("held by live job {} (available)", second.id)),
        "{e}"
    );
    assert_eq!(
        get(&*s, first.id).await.state,
        JobState::Cancelled,
        "unchanged"
    );
    s.job_delete(second.id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let r = s
        .job_retry(first.id, plus(now, 4))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.state, JobState::Available);
}

/// `job_retry_dead` revives only dead jobs matching the queue and kind filters, oldest first up
/// to `limit`, at the given instant with attempts to spare; a dead job whose unique key another
/// live job holds is skipped (not an error) and the jobs after it are still found.
pub async fn retry_dead_revives_matching_jobs_and_skips_unique_conflicts<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = now();
    let jobs = vec![
        new_job("a", "qa", 0),
        new_job("other.kind", "qa", 1),
        new_job("a", "qb", 2),
        unique_job("qa", 3, "k", None),
        new_job("a", "qa", 4),
        new_job("a", "qa", 5),
    ];
    let ids = enqueue(&*s, jobs, now).await;
    for queue in ["qa", "qb"] {
        for j in fetch(&*s, queue, 10, plus(now, 1)).await {
            // jobs[5] completes: only dead jobs are revived.
            let outcome = if j.id == ids[5] {
                AckOutcome::Complete
            } else {
                AckOutcome::Dead {
                    error: err(1, plus(now, 2), "x", true),
                }
            };
            ack(&*s, &j, outcome, plus(now, 2)).await;
        }
    }
    // Another live job now holds "k".
    enqueue(&*s, vec![unique_job("qa", 6, "k", None)], plus(now, 3)).await;
    let retry = |queue: Option<&str>, kind: Option<&str>, limit| {
        let s = s.clone();
        let p = JobRetryDeadParams {
            queue: queue.map(q),
            kind: kind.map(k),
            now: plus(now, 4),
            limit,
        };
        async move { s.job_retry_dead(p).await.unwrap_or_else(|e| panic!("{e}")) }
    };
    assert_eq!(retry(Some("qb"), None, 10).await, 1);
    assert_eq!(retry(Some("qa"), Some("other.kind"), 10).await, 1);
    // Left dead in qa: jobs 0, 3 (blocked by the key) and 4; limit 1 takes the oldest.
    assert_eq!(retry(None, None, 1).await, 1);
    assert_eq!(get(&*s, ids[0]).await.state, JobState::Available);
    assert_eq!(retry(None, None, 10).await, 1, "the blocked one is skipped");
    assert_eq!(get(&*s, ids[4]).await.state, JobState::Available);
    assert_eq!(get(&*s, ids[3]).await.state, JobState::Dead);
    assert_eq!(get(&*s, ids[5]).await.state, JobState::Completed);
    assert_eq!(retry(None, None, 10).await, 0);
    let revived = get(&*s, ids[2]).await;
    assert_eq!(
        (revived.run_at, revived.max_attempts, revived.finalized_at),
        (plus(now, 4), 25, None)
    );
    assert_eq!(revived.errors.len(), 1, "history is kept");
}
