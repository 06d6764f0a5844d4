//! Enqueue: what is stored, the state `run_at` gives, repeated ids, and batch atomicity.

use anp_core::store::JobEnqueueManyParams;
use anp_core::{ErrorKind, JobState, Unique};

use crate::util::{enqueue, enqueue_one, exists, fetch, get, k, new_job, now, plus, q};
use crate::Harness;

/// Enqueued jobs come back from `job_get` with every field as given, the args text verbatim
/// (spacing and number forms kept), no lease and no history.
pub async fn enqueue_then_get_round_trips<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = now();
    let args = r#"{ "to" : "a@b.c",  "n": [1, 2.50, {"x":null}] }"#;
    let mut j = new_job("email.send", "mail", 7);
    j.priority = 3;
    j.max_attempts = 4;
    j.args = anp_core::Args::from_json(args).unwrap_or_else(|e| panic!("{e}"));
    j.unique = Some(Unique::key("welcome:42").unwrap_or_else(|e| panic!("{e}")));
    let id = j.id;
    let res = enqueue_one(&*s, j, now).await;
    assert_eq!(
        (res.id, res.duplicate, res.state),
        (id, false, JobState::Available)
    );
    let got = get(&*s, id).await;
    assert_eq!(got.id, id);
    assert_eq!(got.kind, k("email.send"));
    assert_eq!(got.queue, q("mail"));
    assert_eq!(got.state, JobState::Available);
    assert_eq!(got.priority, 3);
    assert_eq!(got.attempt, 0);
    assert_eq!(got.max_attempts, 4);
    assert_eq!(got.args.as_json(), args, "args are stored verbatim");
    let decoded: serde_json::Value = got.args.decode().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        decoded,
        serde_json::json!({"to":"a@b.c","n":[1,2.50,{"x":null}]})
    );
    assert_eq!(got.created_at, now);
    assert_eq!(got.run_at, now, "run_at defaults to now");
    assert_eq!(got.unique_key.as_deref(), Some("welcome:42"));
    assert_eq!((got.attempted_at, got.finalized_at), (None, None));
    assert_eq!(
        (got.lease_owner, got.lease_expires_at, got.lease_token),
        (None, None, None)
    );
    assert!(got.errors.is_empty());
}

/// `run_at` after now makes a job scheduled (not fetched until promoted); `run_at` at or before
/// now makes it available, keeping the `run_at` it was given.
pub async fn enqueue_in_future_is_scheduled_and_past_is_available<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = now();
    let mut later = new_job("a", "default", 1);
    later.run_at = Some(plus(now, 60));
    let mut past = new_job("a", "default", 2);
    past.run_at = Some(crate::util::minus(now, 10));
    let mut at_now = new_job("a", "default", 3);
    at_now.run_at = Some(now);
    let res = s
        .job_enqueue_many(JobEnqueueManyParams {
            jobs: vec![later.clone(), past.clone(), at_now.clone()],
            now,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        res.iter().map(|r| r.state).collect::<Vec<_>>(),
        vec![
            JobState::Scheduled,
            JobState::Available,
            JobState::Available
        ]
    );
    assert_eq!(get(&*s, later.id).await.run_at, plus(now, 60));
    assert_eq!(get(&*s, past.id).await.run_at, crate::util::minus(now, 10));
    let got = fetch(&*s, "default", 10, plus(now, 61)).await;
    let mut ids: Vec<_> = got.iter().map(|j| j.id).collect();
    ids.sort();
    let mut want = vec![past.id, at_now.id];
    want.sort();
    assert_eq!(ids, want, "scheduled jobs need promotion");
}

/// Enqueueing a job id that exists (a client retrying a call whose reply it lost) adds nothing
/// and names the existing job, within one batch and across calls; a big batch mixing due and
/// future jobs, priorities, a unique key and repeated ids stores each job once in its state.
pub async fn same_id_again_is_a_duplicate<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = now();
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
    let got = get(&*s, jobs[7].id).await;
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

/// One invalid job (priority out of range, past the caller's validation) refuses the whole
/// batch with InvalidInput naming the field, and adds none of it — also when it is the last of
/// a batch the Redis client splits into several calls.
pub async fn enqueue_batch_with_an_invalid_job_adds_nothing<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = now();
    let mut jobs: Vec<_> = (0..600).map(|n| new_job("a", "default", n)).collect();
    jobs[599].priority = 42;
    let e = s
        .job_enqueue_many(JobEnqueueManyParams {
            jobs: jobs.clone(),
            now,
        })
        .await
        .err()
        .unwrap_or_else(|| panic!("a batch with an invalid job must fail"));
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(!e.retry_safe());
    assert_eq!(e.op(), "priority");
    assert!(e.message().contains("expected 0-9"), "{e}");
    for j in [&jobs[0], &jobs[500], &jobs[598]] {
        assert!(!exists(&*s, j.id).await, "job {} was added", j.id);
    }
    assert!(s
        .queue_list()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .iter()
        .all(|i| i.counts.values().all(|n| *n == 0)));
    // The valid part goes in once the bad job is left out.
    assert_eq!(enqueue(&*s, jobs[..599].to_vec(), now).await.len(), 599);
}
