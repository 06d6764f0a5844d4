//! Listing jobs: filters, paging, and every state.

use anp_core::store::{AckOutcome, JobListParams};
use anp_core::{JobId, JobState, Store};

use crate::util::{ack, enqueue, err, fetch, get, k, new_job, now, plus, q};
use crate::Harness;

async fn list(s: &dyn Store, p: JobListParams) -> Vec<JobId> {
    s.job_list(p)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .iter()
        .map(|j| j.id)
        .collect()
}

/// Listing is newest first and filters by queue, kind and states (several states merge, a
/// state named twice counts once), each combinable with `limit` and `before` paging.
pub async fn job_list_filters_pages_and_sorts_newest_first<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = now();
    let jobs: Vec<_> = (0..12u64)
        .map(|i| {
            let queue = if i % 3 == 0 { "a" } else { "b" };
            let kind = if i % 4 == 0 { "other.kind" } else { "a" };
            new_job(kind, queue, i)
        })
        .collect();
    enqueue(&*s, jobs.clone(), now).await;
    let running = fetch(&*s, "b", 3, plus(now, 1)).await;
    ack(&*s, &running[0], AckOutcome::Complete, plus(now, 2)).await;

    let all = |limit| JobListParams {
        limit,
        ..Default::default()
    };
    let newest_first: Vec<JobId> = jobs.iter().rev().map(|j| j.id).collect();
    assert_eq!(list(&*s, all(100)).await, newest_first);
    let page1 = list(&*s, all(5)).await;
    let page2 = list(
        &*s,
        JobListParams {
            before: page1.last().copied(),
            ..all(5)
        },
    )
    .await;
    assert_eq!([page1, page2].concat(), newest_first[..10].to_vec());

    let matching = |f: &dyn Fn(&anp_core::NewJob) -> bool| -> Vec<JobId> {
        jobs.iter().rev().filter(|j| f(j)).map(|j| j.id).collect()
    };
    let in_a = matching(&|j| j.queue.as_str() == "a");
    let by_queue = |before| JobListParams {
        queue: Some(q("a")),
        limit: 2,
        before,
        ..Default::default()
    };
    assert_eq!(list(&*s, by_queue(None)).await, in_a[..2].to_vec());
    assert_eq!(
        list(&*s, by_queue(Some(in_a[1]))).await,
        in_a[2..4].to_vec()
    );
    assert_eq!(
        list(
            &*s,
            JobListParams {
                kind: Some(k("other.kind")),
                limit: 100,
                ..Default::default()
            }
        )
        .await,
        matching(&|j| j.kind.as_str() == "other.kind")
    );
    let mut running_or_done: Vec<JobId> = running.iter().map(|j| j.id).collect();
    running_or_done.sort();
    running_or_done.reverse();
    let states = |states: Vec<JobState>, limit| JobListParams {
        states,
        limit,
        ..Default::default()
    };
    assert_eq!(
        list(
            &*s,
            states(
                vec![JobState::Running, JobState::Completed, JobState::Running],
                100
            )
        )
        .await,
        running_or_done
    );
    assert_eq!(
        list(&*s, states(vec![JobState::Running, JobState::Completed], 2)).await,
        running_or_done[..2].to_vec()
    );
    assert_eq!(
        list(
            &*s,
            JobListParams {
                queue: Some(q("b")),
                ..states(vec![JobState::Completed], 100)
            }
        )
        .await,
        vec![running[0].id]
    );
    assert_eq!(
        list(
            &*s,
            JobListParams {
                queue: Some(q("b")),
                ..states(vec![JobState::Running, JobState::Available], 100)
            }
        )
        .await
        .len(),
        7
    );
    assert!(list(&*s, states(vec![JobState::Dead], 100))
        .await
        .is_empty());
}

/// Two jobs in each of the seven states (in queues of their own): a state filter finds
/// exactly its two, newest first, and `before` pages within it; all states at once equals
/// no filter.
pub async fn job_list_finds_every_state_with_paging<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = now();
    let mut by_state: Vec<(JobState, Vec<JobId>)> = Vec::new();
    for state in JobState::ALL {
        let mut ids = Vec::new();
        for side in ["a", "b"] {
            let queue = format!("{side}-{}", state.as_str());
            let mut j = new_job("a", &queue, 0);
            if state == JobState::Scheduled {
                j.run_at = Some(plus(now, 10_000));
            }
            let id = enqueue(&*s, vec![j], now).await[0];
            if !matches!(state, JobState::Scheduled | JobState::Available) {
                let f = fetch(&*s, &queue, 1, plus(now, 1)).await.remove(0);
                let error = err(1, plus(now, 2), "x", true);
                let outcome = match state {
                    JobState::Completed => Some(AckOutcome::Complete),
                    JobState::Retryable => Some(AckOutcome::Retry {
                        at: plus(now, 500),
                        error,
                    }),
                    JobState::Dead => Some(AckOutcome::Dead { error }),
                    JobState::Cancelled => Some(AckOutcome::Cancel { error }),
                    _ => None,
                };
                if let Some(outcome) = outcome {
                    ack(&*s, &f, outcome, plus(now, 2)).await;
                }
            }
            assert_eq!(get(&*s, id).await.state, state);
            ids.push(id);
        }
        ids.reverse();
        by_state.push((state, ids));
    }
    for (state, ids) in &by_state {
        let p = |before| JobListParams {
            states: vec![*state],
            before,
            limit: 100,
            ..Default::default()
        };
        assert_eq!(&list(&*s, p(None)).await, ids, "{state}");
        assert_eq!(
            list(&*s, p(Some(ids[0]))).await,
            ids[1..].to_vec(),
            "{state} before"
        );
    }
    let every = list(
        &*s,
        JobListParams {
            states: JobState::ALL.to_vec(),
            limit: 100,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(every.len(), 14);
    assert_eq!(
        every,
        list(
            &*s,
            JobListParams {
                limit: 100,
                ..Default::default()
            }
        )
        .await
    );
}
