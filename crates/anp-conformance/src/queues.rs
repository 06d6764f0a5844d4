//! Queues: the listing with counts, ages and pause flags.

use anp_core::store::AckOutcome;
use anp_core::JobState;

use crate::util::{ack, enqueue, fetch, new_job, now, plus, q};
use crate::Harness;

/// Queue listing, by name: counts for every state (zeros included) and the `run_at` of the
/// oldest available job whatever its priority; paused queues are listed even without jobs and
/// stay listed once resumed; a queue whose jobs are all gone and that was never paused is not.
pub async fn queue_list_counts_every_state_and_oldest_available<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = now();
    assert!(s
        .queue_list()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .is_empty());
    let mut jobs: Vec<_> = (0..6).map(|n| new_job("a", "mail", n)).collect();
    jobs[0].run_at = Some(plus(now, 3));
    jobs[1].run_at = Some(plus(now, 1)); // priority 9: last to run, still the oldest
    jobs[1].priority = 9;
    jobs[2].run_at = Some(plus(now, 500)); // scheduled
    enqueue(&*s, jobs, plus(now, 10)).await;
    let done = fetch(&*s, "mail", 1, plus(now, 10)).await;
    ack(&*s, &done[0], AckOutcome::Complete, plus(now, 11)).await;
    assert_eq!(fetch(&*s, "mail", 1, plus(now, 12)).await.len(), 1);
    enqueue(&*s, vec![new_job("a", "bulk", 1)], plus(now, 13)).await;
    s.queue_set_paused(q("idle"), true, plus(now, 14))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    s.queue_set_paused(q("bulk"), true, plus(now, 14))
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let list = s.queue_list().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        list.iter().map(|i| i.queue.as_str()).collect::<Vec<_>>(),
        ["bulk", "idle", "mail"]
    );
    let mail = &list[2];
    assert!(!mail.paused);
    assert_eq!(mail.counts.len(), 7, "every state is present");
    let c = |st: JobState| mail.counts[&st];
    assert_eq!(
        (
            c(JobState::Scheduled),
            c(JobState::Available),
            c(JobState::Running),
            c(JobState::Completed),
            c(JobState::Retryable),
            c(JobState::Dead),
            c(JobState::Cancelled)
        ),
        (1, 3, 1, 1, 0, 0, 0)
    );
    assert_eq!(mail.oldest_available_at, Some(plus(now, 1)));
    let idle = &list[1];
    assert!(idle.paused);
    assert_eq!(idle.counts.len(), 7);
    assert!(idle.counts.values().all(|n| *n == 0));
    assert_eq!(idle.oldest_available_at, None);
    let bulk = &list[0];
    assert!(bulk.paused);
    assert_eq!(bulk.counts[&JobState::Available], 1);

    s.queue_set_paused(q("idle"), false, plus(now, 15))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let list = s.queue_list().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(list[1].queue, q("idle"), "a resumed queue stays listed");
    assert!(!list[1].paused);
    let only = enqueue(&*s, vec![new_job("a", "gone", 1)], plus(now, 16)).await[0];
    let listed = |list: Vec<anp_core::store::QueueInfo>| list.iter().any(|i| i.queue == q("gone"));
    assert!(listed(
        s.queue_list().await.unwrap_or_else(|e| panic!("{e}"))
    ));
    s.job_delete(only).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(!listed(
        s.queue_list().await.unwrap_or_else(|e| panic!("{e}"))
    ));
}
