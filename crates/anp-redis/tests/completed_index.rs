//! The completed index (docs/redis-keys.md, "Completed jobs"): one `done` member per ack call,
//! with `done_count` beside it; the per-job `completed` zset of earlier releases still read;
//! ids an earlier release left behind in a member never delete a job that moved on.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use anp_conformance::util::{enqueue, fetch, new_job, plus, q};
use anp_core::store::{
    AckOutcome, JobAck, JobAckManyParams, JobListParams, JobPruneParams, QueuePurgeParams,
};
use anp_core::{Job, JobId, JobState, Store};
use common::RedisServer;
use jiff::Timestamp;

const DONE: &str = "anp:{default}:done";
const DONE_COUNT: &str = "anp:{default}:done_count";
const LEGACY: &str = "anp:{default}:completed";

/// Completes every job in `jobs` with one ack call at `now`.
async fn complete_all(s: &dyn Store, jobs: &[Job], now: Timestamp) {
    let acks = jobs
        .iter()
        .map(|j| JobAck {
            lease: j.lease().unwrap(),
            outcome: AckOutcome::Complete,
            stats: None,
        })
        .collect();
    s.job_ack_many(JobAckManyParams { acks, now })
        .await
        .unwrap();
}

/// `n` jobs enqueued, fetched and completed in one ack call; their ids.
async fn completed_jobs(s: &dyn Store, n: usize, now: Timestamp) -> Vec<JobId> {
    let jobs = (0..n).map(|i| new_job("a", "default", i as u64)).collect();
    enqueue(s, jobs, now).await;
    let got = fetch(s, "default", n as u32, now).await;
    assert_eq!(got.len(), n);
    complete_all(s, &got, now).await;
    got.iter().map(|j| j.id).collect()
}

/// The members of `done`, each as its set of ids.
fn members(server: &RedisServer) -> Vec<BTreeSet<String>> {
    members_text(server)
        .iter()
        .map(|m| m.split(' ').map(str::to_owned).collect())
        .collect()
}

fn done_count(server: &RedisServer) -> i64 {
    server
        .cli(&[], &["GET", DONE_COUNT])
        .trim()
        .parse()
        .unwrap_or(0)
}

async fn completed_count(s: &dyn Store) -> u64 {
    let qs = s.queue_list().await.unwrap();
    let info = qs.iter().find(|i| i.queue == q("default")).unwrap();
    info.counts[&JobState::Completed]
}

async fn listed_completed(s: &dyn Store) -> BTreeSet<JobId> {
    let got = s
        .job_list(JobListParams {
            states: vec![JobState::Completed],
            queue: Some(q("default")),
            kind: None,
            before: None,
            limit: 1000,
        })
        .await
        .unwrap();
    let ids: BTreeSet<JobId> = got.iter().map(|j| j.id).collect();
    assert_eq!(ids.len(), got.len(), "each job listed once");
    ids
}

/// Retention at `now` + 100 s keeping at most `keep` finished jobs (none is old enough to go
/// by age).
fn prune_all(now: Timestamp, limit: u32, keep: u64) -> JobPruneParams {
    JobPruneParams {
        now: plus(now, 100),
        finished_max_age: Duration::from_secs(86_400),
        finished_max_count: keep,
        dead_max_age: Duration::from_secs(1),
        dead_max_count: 0,
        limit,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ack_call_records_its_completes_as_one_member() {
    let server = RedisServer::start();
    let s = common::open(&server.url()).await;
    let now = Timestamp::now();
    let ids = completed_jobs(&*s, 6, now).await;
    let all: BTreeSet<String> = ids.iter().map(JobId::to_string).collect();
    assert_eq!(members(&server), vec![all.clone()]);
    assert_eq!(done_count(&server), 6);
    assert_eq!(server.cli(&[], &["EXISTS", LEGACY]).trim(), "0");
    assert_eq!(completed_count(&*s).await, 6);
    assert_eq!(listed_completed(&*s).await, ids.iter().copied().collect());

    // Deleting one and retrying another take each out of the member, written again.
    s.job_delete(ids[0]).await.unwrap();
    let retried = s.job_retry(ids[1], plus(now, 1)).await.unwrap();
    assert_eq!(retried.state, JobState::Available);
    let left: BTreeSet<String> = ids[2..].iter().map(JobId::to_string).collect();
    assert_eq!(members(&server), vec![left]);
    assert_eq!(done_count(&server), 4);
    assert_eq!(completed_count(&*s).await, 4);

    // Retention with room for one keeps one; the member shrinks, its score kept.
    let score = server.cli(&[], &["ZSCORE", DONE, &members_text(&server)[0]]);
    let n = s.job_prune(prune_all(now, 100, 1)).await.unwrap();
    assert_eq!(n, 3);
    assert_eq!(done_count(&server), 1);
    assert_eq!(members(&server)[0].len(), 1);
    assert_eq!(
        server.cli(&[], &["ZSCORE", DONE, &members_text(&server)[0]]),
        score
    );
    assert_eq!(completed_count(&*s).await, 1);
    // The retried job was not touched.
    assert_eq!(s.job_get(ids[1]).await.unwrap().state, JobState::Available);

    // A purge empties the index.
    let n = purge_completed(&*s).await;
    assert_eq!(n, 1);
    assert!(members(&server).is_empty());
    assert_eq!(done_count(&server), 0);
    assert_eq!(completed_count(&*s).await, 0);
}

/// Purges the queue's completed jobs; how many were deleted.
async fn purge_completed(s: &dyn Store) -> u64 {
    s.queue_purge(QueuePurgeParams {
        queue: q("default"),
        states: vec![JobState::Completed],
        limit: 100,
    })
    .await
    .unwrap()
}

/// The members of `done`, as stored.
fn members_text(server: &RedisServer) -> Vec<String> {
    server
        .cli(&[], &["ZRANGE", DONE, "0", "-1"])
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Jobs completed under an earlier release sit in the per-job `completed` zset: counted,
/// listed, deleted, retried and pruned as before, beside the ones in `done`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completed_jobs_of_an_earlier_release_are_still_read() {
    let server = RedisServer::start();
    let s = common::open(&server.url()).await;
    let now = Timestamp::now();
    let old = completed_jobs(&*s, 4, now).await;
    // As an earlier release would have recorded them: one member per job.
    let score = server
        .cli(&[], &["ZSCORE", DONE, &members_text(&server)[0]])
        .trim()
        .to_owned();
    for id in &old {
        server.cli(&[], &["ZADD", LEGACY, &score, &id.to_string()]);
    }
    server.cli(&[], &["DEL", DONE, DONE_COUNT]);
    let new = completed_jobs(&*s, 2, plus(now, 2)).await;
    assert_eq!(completed_count(&*s).await, 6);
    let mut want: BTreeSet<JobId> = old.iter().copied().collect();
    want.extend(new.iter().copied());
    assert_eq!(listed_completed(&*s).await, want);

    s.job_delete(old[0]).await.unwrap();
    s.job_retry(old[1], plus(now, 3)).await.unwrap();
    assert_eq!(server.cli(&[], &["ZCARD", LEGACY]).trim(), "2");
    assert_eq!(completed_count(&*s).await, 4);

    // Oldest first: the two legacy ones go before the newer member is touched.
    let n = s.job_prune(prune_all(now, 100, 2)).await.unwrap();
    assert_eq!(n, 2);
    assert_eq!(server.cli(&[], &["EXISTS", LEGACY]).trim(), "0");
    assert_eq!(
        listed_completed(&*s).await,
        new.iter().copied().collect::<BTreeSet<_>>()
    );
}

/// An earlier release that retries a job held in `done` leaves its id in the member. Neither
/// retention nor a purge deletes that job through the stale id, and listings show the job
/// once, by its record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_id_never_deletes_a_job_that_moved_on() {
    let server = RedisServer::start();
    let s = common::open(&server.url()).await;
    let now = Timestamp::now();
    let ids = completed_jobs(&*s, 3, now).await;
    let member = members_text(&server).remove(0);
    let score = server
        .cli(&[], &["ZSCORE", DONE, &member])
        .trim()
        .to_owned();
    // Retry one, then put the member back as an earlier release's retry would have left it:
    // untouched.
    s.job_retry(ids[0], plus(now, 1)).await.unwrap();
    server.cli(&[], &["DEL", DONE]);
    server.cli(&[], &["ZADD", DONE, &score, &member]);
    server.cli(&[], &["SET", DONE_COUNT, "3"]);
    // It runs again and completes under a later member.
    let again = fetch(&*s, "default", 1, plus(now, 2)).await;
    assert_eq!(again[0].id, ids[0]);
    complete_all(&*s, &again, plus(now, 3)).await;
    let listed = listed_completed(&*s).await;
    assert_eq!(listed, ids.iter().copied().collect());

    // Retention of everything but the newest: the stale member goes (its two live jobs with
    // it), the job completed again stays.
    let n = s.job_prune(prune_all(now, 100, 1)).await.unwrap();
    assert_eq!(n, 2);
    assert_eq!(s.job_get(ids[0]).await.unwrap().state, JobState::Completed);
    assert_eq!(members(&server), vec![BTreeSet::from([ids[0].to_string()])]);
    assert_eq!(done_count(&server), 1);

    // A stale id of a job now available: a purge of completed jobs leaves the job alone.
    s.job_retry(ids[0], plus(now, 4)).await.unwrap();
    server.cli(&[], &["ZADD", DONE, &score, &ids[0].to_string()]);
    server.cli(&[], &["INCRBY", DONE_COUNT, "1"]);
    let n = purge_completed(&*s).await;
    assert_eq!(n, 0);
    assert_eq!(s.job_get(ids[0]).await.unwrap().state, JobState::Available);
    assert!(members(&server).is_empty());
    assert_eq!(done_count(&server), 0);
}
