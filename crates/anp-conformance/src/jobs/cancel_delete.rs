//! Operator cancel and delete, and unknown ids.

use anp_core::store::{AckOutcome, AckResult};
use anp_core::{ErrorKind, JobId, JobState};

use crate::util::{ack, enqueue_n, err, fetch, get, now, plus};
use crate::Harness;

/// Cancel works on unfinished jobs, final at the given instant with "cancelled by operator" in
/// the history (the running attempt's number, or 0 for a job that never ran); a running job's
/// lease is voided so its worker's ack is rejected. A final job is a Conflict (exact message),
/// an unknown one NotFound.
pub async fn cancel_voids_running_lease_and_refuses_final_jobs<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = now();
    let ids = enqueue_n(&*s, "default", 2, now).await;
    let running = fetch(&*s, "default", 1, plus(now, 1)).await.remove(0);
    assert_eq!(running.id, ids[0]);
    let c = s
        .job_cancel(ids[0], plus(now, 2))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (c.state, c.finalized_at, c.lease_token),
        (JobState::Cancelled, Some(plus(now, 2)), None)
    );
    assert_eq!(
        c.errors,
        vec![err(1, plus(now, 2), "cancelled by operator", false)]
    );
    assert_eq!(get(&*s, ids[0]).await.errors, c.errors);
    assert_eq!(
        ack(&*s, &running, AckOutcome::Complete, plus(now, 3)).await,
        AckResult::LeaseLost,
        "the worker's result is discarded"
    );
    assert_eq!(get(&*s, ids[0]).await.state, JobState::Cancelled);

    let c = s
        .job_cancel(ids[1], plus(now, 4))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        c.errors,
        vec![err(0, plus(now, 4), "cancelled by operator", false)]
    );

    let e = s
        .job_cancel(ids[0], plus(now, 5))
        .await
        .err()
        .unwrap_or_else(|| panic!("cancel of a final job must fail"));
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert_eq!(
        e.message(),
        format!(
            "job {} is already cancelled: expected a scheduled, available, running or retryable job",
            ids[0]
        )
    );
    let e = s
        .job_cancel(JobId::new(), plus(now, 5))
        .await
        .err()
        .unwrap_or_else(|| panic!("unknown job"));
    assert_eq!((e.kind(), e.op()), (ErrorKind::NotFound, "job_cancel"));
}

/// Delete refuses a running job (a Conflict that leaves its lease working) and unknown ids;
/// a deleted job is NotFound, and deleting it again too.
pub async fn delete_refuses_running_jobs_and_unknown_ids<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = now();
    let ids = enqueue_n(&*s, "default", 2, now).await;
    let running = fetch(&*s, "default", 1, now).await.remove(0);
    let e = s
        .job_delete(running.id)
        .await
        .err()
        .unwrap_or_else(|| panic!("deleting a running job must fail"));
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert!(e.message().contains("is running"), "{e}");
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
    assert_eq!(
        ack(&*s, &running, AckOutcome::Complete, plus(now, 1)).await,
        AckResult::Applied,
        "the running job was left alone"
    );
    s.job_delete(running.id)
        .await
        .unwrap_or_else(|e| panic!("a finished job can be deleted: {e}"));
}

/// Unknown ids give NotFound with the operation and the id in the exact message, not
/// retry-safe, and change nothing.
pub async fn unknown_job_is_not_found<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = now();
    let id = JobId::new();
    let e = s
        .job_get(id)
        .await
        .err()
        .unwrap_or_else(|| panic!("must fail"));
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(e.op(), "job_get");
    assert_eq!(
        e.to_string(),
        format!("job_get: job {id} not found: expected the id of an existing job (it may have been pruned); not retried")
    );
    assert!(!e.retry_safe());
    assert_eq!(
        s.job_retry(id, now).await.err().map(|e| e.kind()),
        Some(ErrorKind::NotFound)
    );
    assert_eq!(
        s.job_cancel(id, now).await.err().map(|e| e.kind()),
        Some(ErrorKind::NotFound)
    );
    assert!(s
        .job_list(anp_core::store::JobListParams {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .is_empty());
}
