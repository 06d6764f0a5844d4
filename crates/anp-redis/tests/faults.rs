//! Faults on private servers: unreachable, restarted mid-run, stalled (SIGSTOP) past the
//! lease, stalled under a fetch when shutdown starts. Waits use deadlines, not sleeps (except
//! the 300 ms a fetch is given to go out to a stopped server, which that case checks it did).
//! (Fencing and the lost-attempt message are suite cases: crates/anp-conformance,
//! `stale_lease_is_rejected_after_rescue`.)
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alphanode::maintenance::MaintenanceOptions;
use alphanode::worker::WorkerEvent;
use alphanode::{JobArgs, JobContext, Outcome, Worker, WorkerOptions};
use anp_conformance::util::{enqueue, new_job, plus, wait_for};
use anp_core::store::{JobListParams, JobRescueParams};
use anp_core::{ErrorKind, JobId, JobState, Store};
use anp_redis::RedisStore;
use common::RedisServer;
use jiff::Timestamp;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_server_is_unavailable_and_retry_safe() {
    let e = RedisStore::open("redis://127.0.0.1:1").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    assert!(e.retry_safe());
    assert_eq!(
        e.to_string(),
        "store open: store redis://127.0.0.1:1 is unavailable: connection refused: expected a reachable Redis 6.2+; retry safe"
    );
    let e = RedisStore::open(&format!(
        "redis://u:topsecret@127.0.0.1:{}",
        common::free_port()
    ))
    .await
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    assert!(!e.to_string().contains("topsecret"), "{e}");
}

#[derive(Serialize, Deserialize)]
struct Work {}

impl JobArgs for Work {
    const KIND: &'static str = "work";
}

#[derive(Serialize, Deserialize)]
struct Stall {}

impl JobArgs for Stall {
    const KIND: &'static str = "stall";
}

#[derive(Default)]
struct Runs(Mutex<HashMap<JobId, u32>>);

impl Runs {
    fn hit(&self, id: JobId) -> u32 {
        let mut m = self.0.lock().unwrap();
        let n = m.entry(id).or_default();
        *n += 1;
        *n
    }
    fn get(&self) -> HashMap<JobId, u32> {
        self.0.lock().unwrap().clone()
    }
}

fn options(lease: Duration) -> WorkerOptions {
    WorkerOptions {
        lease,
        grace: Duration::from_secs(5),
        poll_interval: Duration::from_millis(500),
        maintenance: Some(MaintenanceOptions {
            rescue_every: Duration::from_millis(100),
            promote_every: Duration::from_millis(100),
            ..MaintenanceOptions::default()
        }),
        ..WorkerOptions::default()
    }
}

async fn completed(store: &Arc<dyn Store>) -> usize {
    store
        .job_list(JobListParams {
            states: vec![JobState::Completed],
            limit: 100_000,
            ..Default::default()
        })
        .await
        .map(|v| v.len())
        .unwrap_or(0)
}

/// A worker runs 300 jobs while the server (AOF, fsync always) is killed and restarted on the
/// same port: afterwards every job is completed, each ran exactly once, none lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_mid_run_loses_nothing_and_runs_each_job_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = RedisServer::start_in(
        dir.path(),
        &["--appendonly", "yes", "--appendfsync", "always"],
        None,
    );
    let store = common::open(&server.url()).await;
    let n = 300;
    let jobs = (0..n as u64)
        .map(|i| new_job(Work::KIND, "default", i))
        .collect();
    let ids = enqueue(&*store, jobs, Timestamp::now()).await;
    let runs = Arc::new(Runs::default());
    let r = runs.clone();
    let worker = Worker::builder(store.clone())
        .options(options(Duration::from_secs(2)))
        .queue("default", 8)
        .register(move |ctx: JobContext, _: Work| {
            let r = r.clone();
            async move {
                r.hit(ctx.id());
                tokio::time::sleep(Duration::from_millis(10)).await;
                Ok::<_, String>(Outcome::Complete)
            }
        })
        .build()
        .unwrap();
    let w = worker.clone();
    let handle = tokio::spawn(async move { w.run().await });
    wait_for("a third of the jobs done", Duration::from_secs(30), || {
        let s = store.clone();
        async move { (completed(&s).await >= n / 3).then_some(()) }
    })
    .await;
    let server = tokio::task::spawn_blocking(move || {
        server.restart();
        server
    })
    .await
    .unwrap();
    wait_for(
        "every job completed after the restart",
        Duration::from_secs(60),
        || {
            let s = store.clone();
            async move { (completed(&s).await == n).then_some(()) }
        },
    )
    .await;
    worker.shutdown_token().cancel();
    tokio::time::timeout(Duration::from_secs(30), handle)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    drop(server);
    let runs = runs.get();
    assert_eq!(runs.len(), n, "every job ran");
    for id in &ids {
        assert_eq!(
            runs.get(id),
            Some(&1),
            "job {id} ran {:?} times",
            runs.get(id)
        );
    }
}

/// The server is stopped (SIGSTOP) for longer than the lease while a job runs, then resumed:
/// nothing crashes, the stalled attempt is recorded as lost once the lease is found expired,
/// the job completes exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_server_past_the_lease_records_the_lost_attempt_once() {
    let server = RedisServer::start();
    let store = common::open(&server.url()).await;
    let id = enqueue(
        &*store,
        vec![new_job(Stall::KIND, "default", 0)],
        Timestamp::now(),
    )
    .await[0];
    let runs = Arc::new(Runs::default());
    let r = runs.clone();
    let worker = Worker::builder(store.clone())
        .options(WorkerOptions {
            maintenance: None,
            ..options(Duration::from_secs(1))
        })
        .queue("default", 2)
        .register(move |ctx: JobContext, _: Stall| {
            let r = r.clone();
            async move {
                if r.hit(ctx.id()) == 1 {
                    // The first attempt outlives the stall; its lease is lost meanwhile.
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(20)) => {}
                        _ = ctx.cancelled() => {}
                    }
                }
                Ok::<_, String>(Outcome::Complete)
            }
        })
        .build()
        .unwrap();
    let mut events = worker.subscribe();
    let w = worker.clone();
    let handle = tokio::spawn(async move { w.run().await });
    wait_for(
        "the first attempt to start",
        Duration::from_secs(10),
        || {
            let runs = runs.clone();
            async move { (runs.get().get(&id) == Some(&1)).then_some(()) }
        },
    )
    .await;
    let pid = Pid::from_raw(server.pid());
    kill(pid, Signal::SIGSTOP).unwrap();
    // Longer than the lease (1 s) and than one command's reply timeout (5 s).
    tokio::time::sleep(Duration::from_secs(6)).await;
    kill(pid, Signal::SIGCONT).unwrap();
    // An operator's rescuer runs after the stall; time is an input, so "now" is the lease's
    // future: the stalled attempt is lost whatever the heartbeats did meanwhile.
    let other = common::open(&server.url()).await;
    let rescued = wait_for(
        "the rescue to succeed after SIGCONT",
        Duration::from_secs(20),
        || {
            let other = other.clone();
            async move {
                other
                    .job_rescue_expired(JobRescueParams {
                        now: plus(Timestamp::now(), 60),
                        limit: 10,
                    })
                    .await
                    .ok()
                    .filter(|r| !r.is_empty())
            }
        },
    )
    .await;
    assert_eq!(rescued[0].id, id);
    let j = wait_for("the job to complete", Duration::from_secs(30), || {
        let s = store.clone();
        async move {
            s.job_get(id)
                .await
                .ok()
                .filter(|j| j.state == JobState::Completed)
        }
    })
    .await;
    worker.shutdown_token().cancel();
    tokio::time::timeout(Duration::from_secs(30), handle)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(j.attempt, 2);
    assert_eq!(j.errors.len(), 1, "{:?}", j.errors);
    assert!(
        j.errors[0].message.contains("lease expired"),
        "{}",
        j.errors[0].message
    );
    let mut applied = 0;
    while let Ok(e) = events.try_recv() {
        if matches!(e, WorkerEvent::Acked { id: a, .. } if a == id) {
            applied += 1;
        }
    }
    assert_eq!(applied, 1, "completed exactly once");
}

#[derive(Serialize, Deserialize)]
struct Hold {}

impl JobArgs for Hold {
    const KIND: &'static str = "hold";
}

/// Shutdown while a fetch is out (the server stopped with SIGSTOP under it): the fetch is
/// awaited, and the job it leased is handed back unstarted — available again, its attempt
/// unspent — instead of being run after shutdown began.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_hands_back_what_a_fetch_in_flight_leased() {
    let server = RedisServer::start();
    let store = common::open(&server.url()).await;
    let ids = enqueue(
        &*store,
        (0..3).map(|i| new_job(Hold::KIND, "default", i)).collect(),
        Timestamp::now(),
    )
    .await;
    let runs = Arc::new(Runs::default());
    let (release, held) = tokio::sync::watch::channel(false);
    let r = runs.clone();
    // Concurrency 2 with Redis's fetch split of 2: a fetch asks for one job, so the third job
    // is fetched only when a slot frees up.
    assert_eq!(store.fetch_split(), 2);
    let worker = Worker::builder(store.clone())
        .options(WorkerOptions {
            maintenance: None,
            ..options(Duration::from_secs(30))
        })
        .queue("default", 2)
        .register(move |ctx: JobContext, _: Hold| {
            let r = r.clone();
            let mut held = held.clone();
            async move {
                r.hit(ctx.id());
                let _ = held.wait_for(|released| *released).await;
                Ok::<_, String>(Outcome::Complete)
            }
        })
        .build()
        .unwrap();
    let w = worker.clone();
    let handle = tokio::spawn(async move { w.run().await });
    wait_for("two jobs running", Duration::from_secs(10), || {
        let runs = runs.clone();
        async move { (runs.get().len() == 2).then_some(()) }
    })
    .await;
    let pid = Pid::from_raw(server.pid());
    kill(pid, Signal::SIGSTOP).unwrap();
    // The two jobs end; their acks and the fetch for the freed slots go out to the stopped
    // server (well within the 5 s reply timeout).
    release.send(true).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    worker.shutdown_token().cancel();
    tokio::time::sleep(Duration::from_millis(300)).await;
    kill(pid, Signal::SIGCONT).unwrap();
    tokio::time::timeout(Duration::from_secs(30), handle)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let ran = runs.get();
    assert_eq!(ran.len(), 2, "a job started after shutdown began: {ran:?}");
    let third = ids.iter().find(|id| !ran.contains_key(id)).unwrap();
    let j = store.job_get(*third).await.unwrap();
    assert_eq!(j.state, JobState::Available, "{j:?}");
    assert_eq!(j.attempt, 0, "the hand-back spent an attempt: {j:?}");
    // Leased, then handed back (the lease's start stays on the record), not left unfetched.
    assert!(
        j.attempted_at.is_some(),
        "the third job was never fetched: the case was not reached: {j:?}"
    );
    for id in ran.keys() {
        let j = store.job_get(*id).await.unwrap();
        assert_eq!(j.state, JobState::Completed, "{j:?}");
    }
}
