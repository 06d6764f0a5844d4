//! Helpers shared by the cases: building jobs, calling the store, and waiting on conditions.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anp_core::job::ts_add;
use anp_core::store::{
    AckOutcome, AckResult, AckStats, JobAck, JobAckManyParams, JobEnqueueManyParams,
    JobFetchParams, JobFetchQueuesParams, QueueFetch, QueuePurgeParams,
};
use anp_core::{Args, AttemptError, Job, JobState, Kind, NewJob, QueueName, Store};
use jiff::Timestamp;

/// The current instant to the whole microsecond: what every backend stores, so instants the
/// store gives back compare equal to the ones a case passed in.
pub fn now() -> Timestamp {
    anp_core::job::ts_from_micros(Timestamp::now().as_microsecond())
}

/// One failed attempt for an ack or an expected history.
pub fn err(attempt: u32, at: Timestamp, message: &str, retry_safe: bool) -> AttemptError {
    AttemptError {
        attempt,
        at,
        message: message.into(),
        retry_safe,
    }
}

/// A queue name that is known to be valid.
pub fn q(name: &str) -> QueueName {
    QueueName::parse(name).unwrap_or_else(|e| panic!("{e}"))
}

/// A kind name that is known to be valid.
pub fn k(name: &str) -> Kind {
    Kind::parse(name).unwrap_or_else(|e| panic!("{e}"))
}

/// A job of `kind` on `queue` with args `{"n": n}`.
pub fn new_job(kind: &str, queue: &str, n: u64) -> NewJob {
    let mut j = NewJob::new(
        k(kind),
        Args::from_json(&format!("{{\"n\":{n}}}")).unwrap_or_else(|e| panic!("{e}")),
    );
    j.queue = q(queue);
    j
}

/// Enqueues and returns the ids, panicking on error.
pub async fn enqueue(store: &dyn Store, jobs: Vec<NewJob>, now: Timestamp) -> Vec<anp_core::JobId> {
    store
        .job_enqueue_many(JobEnqueueManyParams { jobs, now })
        .await
        .unwrap_or_else(|e| panic!("enqueue: {e}"))
        .into_iter()
        .map(|r| r.id)
        .collect()
}

/// Enqueues `n` jobs of kind `a` on `queue` (args `{"n": 0}`…) and returns their ids.
pub async fn enqueue_n(
    store: &dyn Store,
    queue: &str,
    n: u64,
    now: Timestamp,
) -> Vec<anp_core::JobId> {
    enqueue(store, (0..n).map(|i| new_job("a", queue, i)).collect(), now).await
}

/// Enqueues one job and returns what the store answered (id, duplicate, state).
pub async fn enqueue_one(
    store: &dyn Store,
    job: NewJob,
    now: Timestamp,
) -> anp_core::job::Enqueued {
    store
        .job_enqueue_many(JobEnqueueManyParams {
            jobs: vec![job],
            now,
        })
        .await
        .unwrap_or_else(|e| panic!("enqueue: {e}"))
        .pop()
        .unwrap_or_else(|| panic!("enqueue returned nothing"))
}

/// A job like [`new_job`] holding unique `key` (for `period_secs`, if given).
pub fn unique_job(queue: &str, n: u64, key: &str, period_secs: Option<u64>) -> NewJob {
    let mut j = new_job("a", queue, n);
    let mut u = anp_core::Unique::key(key).unwrap_or_else(|e| panic!("{e}"));
    u.period = period_secs.map(Duration::from_secs);
    j.unique = Some(u);
    j
}

/// Fetches up to `limit` from `queue` with a 30 s lease from `now`.
pub async fn fetch(store: &dyn Store, queue: &str, limit: u32, now: Timestamp) -> Vec<Job> {
    store
        .job_fetch(JobFetchParams {
            queue: q(queue),
            limit,
            worker: "test-worker".into(),
            now,
            lease_until: ts_add(now, Duration::from_secs(30)),
        })
        .await
        .unwrap_or_else(|e| panic!("fetch: {e}"))
}

/// Leases from several queues in one [`Store::job_fetch_queues`] call: `(queue, limit)` in
/// order, at most `total` in all, as `test-worker` with a 30 s lease; panics on error.
pub async fn fetch_queues(
    store: &dyn Store,
    queues: &[(&str, u32)],
    total: u32,
    now: Timestamp,
) -> Vec<Job> {
    store
        .job_fetch_queues(JobFetchQueuesParams {
            queues: queues
                .iter()
                .map(|&(name, limit)| QueueFetch {
                    queue: q(name),
                    limit,
                })
                .collect(),
            limit: total,
            worker: "test-worker".into(),
            now,
            lease_until: ts_add(now, Duration::from_secs(30)),
        })
        .await
        .unwrap_or_else(|e| panic!("fetch_queues: {e}"))
}

/// Acks one job with `outcome`.
pub async fn ack(store: &dyn Store, job: &Job, outcome: AckOutcome, now: Timestamp) -> AckResult {
    let lease = job
        .lease()
        .unwrap_or_else(|| panic!("job {} has no lease", job.id));
    store
        .job_ack_many(JobAckManyParams {
            acks: vec![JobAck {
                lease,
                outcome,
                stats: Some(AckStats {
                    kind: job.kind.clone(),
                    wait: Duration::from_millis(3),
                    run: Duration::from_millis(40),
                }),
            }],
            now,
        })
        .await
        .unwrap_or_else(|e| panic!("ack: {e}"))
        .pop()
        .unwrap_or_else(|| panic!("ack returned nothing"))
}

/// `t + secs`.
pub fn plus(t: Timestamp, secs: u64) -> Timestamp {
    ts_add(t, Duration::from_secs(secs))
}

/// Polls `check` every 20 ms until it returns `Some`, or panics with `what` after `deadline`.
pub async fn wait_for<T, F, Fut>(what: &str, deadline: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = std::time::Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if start.elapsed() > deadline {
            panic!("timed out after {deadline:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until `job` reaches `state` (store polled every 20 ms), returning it.
pub async fn wait_state(
    store: &Arc<dyn Store>,
    id: anp_core::JobId,
    state: anp_core::JobState,
    deadline: Duration,
) -> Job {
    wait_for(&format!("job {id} to be {state}"), deadline, || {
        let store = store.clone();
        async move {
            let j = store.job_get(id).await.ok()?;
            (j.state == state).then_some(j)
        }
    })
    .await
}

/// `t - secs`.
pub fn minus(t: Timestamp, secs: u64) -> Timestamp {
    anp_core::job::ts_sub(t, Duration::from_secs(secs))
}

/// `queue_purge` with these states and limit, panicking on error.
pub async fn purge(s: &dyn Store, queue: &str, states: &[JobState], limit: u32) -> u64 {
    s.queue_purge(QueuePurgeParams {
        queue: q(queue),
        states: states.to_vec(),
        limit,
    })
    .await
    .unwrap_or_else(|e| panic!("queue_purge {queue} {states:?} limit {limit}: {e}"))
}

/// Jobs per state of one queue, from `queue_list` (all zeros for a queue it does not list).
pub async fn counts_of(s: &dyn Store, queue: &str) -> std::collections::BTreeMap<JobState, u64> {
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

/// Whether `job_get` finds the job.
pub async fn exists(s: &dyn Store, id: anp_core::JobId) -> bool {
    s.job_get(id).await.is_ok()
}

/// The job as the store has it, panicking on error.
pub async fn get(s: &dyn Store, id: anp_core::JobId) -> Job {
    s.job_get(id)
        .await
        .unwrap_or_else(|e| panic!("job_get {id}: {e}"))
}
