//! Cases on the in-process worker runtime running on the backend.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alphanode::maintenance::MaintenanceOptions;
use alphanode::worker::WorkerEvent;
use alphanode::{Client, EnqueueOptions, JobArgs, JobContext, Outcome, Worker, WorkerOptions};
use anp_core::store::JobListParams;
use anp_core::{JobId, JobState, Store};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::broadcast::Receiver;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::util::{wait_for, wait_state};
use crate::Harness;

/// The test job: `action` says what the handler does.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Act {
    /// complete | retry | retry-now | fail | snooze | cancel | panic | error | block | forever
    pub action: String,
}

impl JobArgs for Act {
    const KIND: &'static str = "conformance.act";
}

fn act(action: &str) -> Act {
    Act {
        action: action.to_owned(),
    }
}

/// What every test handler shares: how often each job ran, and the release of blocking
/// handlers (a `block` job runs until the test cancels `release`, or its attempt is stopped).
#[derive(Default, Debug)]
struct Probe {
    runs: Mutex<HashMap<JobId, u32>>,
    release: CancellationToken,
}

fn options(
    lease: Duration,
    grace: Duration,
    poll: Duration,
    fast_maintenance: bool,
) -> WorkerOptions {
    WorkerOptions {
        lease,
        grace,
        poll_interval: poll,
        maintenance: fast_maintenance.then(|| MaintenanceOptions {
            rescue_every: Duration::from_millis(100),
            promote_every: Duration::from_millis(50),
            ..MaintenanceOptions::default()
        }),
        ..WorkerOptions::default()
    }
}

fn worker(
    store: Arc<dyn Store>,
    probe: Arc<Probe>,
    opts: WorkerOptions,
    concurrency: usize,
) -> Worker {
    Worker::builder(store)
        .options(opts)
        .queue("default", concurrency)
        .register(move |ctx: JobContext, a: Act| {
            let probe = probe.clone();
            async move {
                *probe
                    .runs
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .entry(ctx.id())
                    .or_default() += 1;
                let out = match a.action.as_str() {
                    "complete" => Outcome::Complete,
                    "retry" => Outcome::retry_after(Duration::from_secs(3600), "try later"),
                    "retry-now" => Outcome::retry_after(Duration::ZERO, "again"),
                    "fail" => Outcome::fail("bad input"),
                    "snooze" => Outcome::Snooze(Duration::from_secs(3600)),
                    "cancel" => Outcome::cancel("no longer needed"),
                    "panic" => panic!("kaboom"),
                    "error" => return Err("plain error".to_owned()),
                    "block" => {
                        tokio::select! {
                            _ = probe.release.cancelled() => {}
                            _ = ctx.cancelled() => {}
                        }
                        Outcome::Complete
                    }
                    "forever" => std::future::pending().await,
                    s => return Err(format!("unknown action {s}")),
                };
                Ok(out)
            }
        })
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn start(w: &Worker) -> JoinHandle<()> {
    let w = w.clone();
    tokio::spawn(async move {
        w.run()
            .await
            .unwrap_or_else(|e| panic!("worker failed: {e}"))
    })
}

async fn stop(w: &Worker, h: JoinHandle<()>) {
    w.shutdown_token().cancel();
    tokio::time::timeout(Duration::from_secs(30), h)
        .await
        .unwrap_or_else(|_| panic!("worker did not stop within 30s"))
        .unwrap_or_else(|e| panic!("{e}"));
}

async fn next_event<F: Fn(&WorkerEvent) -> bool>(
    rx: &mut Receiver<WorkerEvent>,
    what: &str,
    f: F,
) -> WorkerEvent {
    let deadline = Duration::from_secs(20);
    tokio::time::timeout(deadline, async {
        loop {
            match rx.recv().await {
                Ok(e) if f(&e) => return e,
                Ok(_) | Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => panic!("event channel closed waiting for {what}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out after {deadline:?} waiting for {what}"))
}

/// Waits until the store holds `n` completed jobs.
async fn wait_completed(store: &Arc<dyn Store>, n: usize, deadline: Duration) {
    wait_for("all jobs completed", deadline, || {
        let store = store.clone();
        async move {
            let done = store
                .job_list(JobListParams {
                    states: vec![JobState::Completed],
                    limit: 10_000,
                    ..Default::default()
                })
                .await
                .ok()?;
            (done.len() == n).then_some(())
        }
    })
    .await;
}

async fn enqueue(c: &Client, a: &str) -> JobId {
    c.enqueue(&act(a), EnqueueOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .id
}

/// Each handler outcome lands in its documented state.
pub async fn worker_applies_every_outcome<H: Harness>(h: &H) {
    let store = h.store().await;
    let c = Client::new(store.clone());
    let mut ids = HashMap::new();
    for a in ["complete", "retry", "fail", "snooze", "cancel", "error"] {
        ids.insert(a, enqueue(&c, a).await);
    }
    let w = worker(
        store.clone(),
        Arc::default(),
        options(
            Duration::from_secs(30),
            Duration::from_secs(5),
            Duration::from_secs(1),
            false,
        ),
        10,
    );
    let mut rx = w.subscribe();
    let handle = start(&w);
    let mut acked = 0;
    while acked < 6 {
        next_event(&mut rx, "6 acks", |e| {
            matches!(e, WorkerEvent::Acked { .. })
        })
        .await;
        acked += 1;
    }
    stop(&w, handle).await;
    let get = |a: &str| {
        let (s, id) = (store.clone(), ids[a]);
        async move { s.job_get(id).await.unwrap_or_else(|e| panic!("{e}")) }
    };
    assert_eq!(get("complete").await.state, JobState::Completed);
    let r = get("retry").await;
    assert_eq!(r.state, JobState::Retryable);
    assert_eq!(r.errors[0].message, "try later");
    assert!(r.errors[0].retry_safe);
    assert!(r.run_at > jiff::Timestamp::now());
    let f = get("fail").await;
    assert_eq!(f.state, JobState::Dead);
    assert!(!f.errors[0].retry_safe);
    assert_eq!(f.errors[0].message, "bad input");
    let s = get("snooze").await;
    assert_eq!((s.state, s.attempt), (JobState::Scheduled, 0));
    assert_eq!(get("cancel").await.state, JobState::Cancelled);
    let e = get("error").await;
    assert_eq!(e.state, JobState::Retryable);
    assert_eq!(e.errors[0].message, "plain error");
}

/// A panicking handler is a failed attempt with the panic message; the worker keeps running.
pub async fn worker_panic_is_a_failed_attempt<H: Harness>(h: &H) {
    let store = h.store().await;
    let c = Client::new(store.clone());
    let bad = enqueue(&c, "panic").await;
    let w = worker(
        store.clone(),
        Arc::default(),
        options(
            Duration::from_secs(30),
            Duration::from_secs(5),
            Duration::from_secs(1),
            false,
        ),
        2,
    );
    let handle = start(&w);
    let j = wait_state(&store, bad, JobState::Retryable, Duration::from_secs(20)).await;
    assert!(
        j.errors[0].message.contains("kaboom"),
        "{}",
        j.errors[0].message
    );
    assert!(
        j.errors[0].message.contains("panicked"),
        "{}",
        j.errors[0].message
    );
    let good = enqueue(&c, "complete").await;
    wait_state(&store, good, JobState::Completed, Duration::from_secs(20)).await;
    stop(&w, handle).await;
}

/// A job that always fails is retried until `max_attempts`, then dead, with every attempt in
/// its history.
pub async fn worker_retries_until_dead<H: Harness>(h: &H) {
    let store = h.store().await;
    let c = Client::new(store.clone());
    let id = c
        .enqueue(
            &act("retry-now"),
            EnqueueOptions {
                max_attempts: Some(3),
                ..Default::default()
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .id;
    let probe = Arc::new(Probe::default());
    let w = worker(
        store.clone(),
        probe.clone(),
        options(
            Duration::from_secs(30),
            Duration::from_secs(5),
            Duration::from_millis(100),
            true,
        ),
        2,
    );
    let handle = start(&w);
    let j = wait_state(&store, id, JobState::Dead, Duration::from_secs(30)).await;
    stop(&w, handle).await;
    assert_eq!(j.attempt, 3);
    assert_eq!(
        j.errors.iter().map(|e| e.attempt).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert!(
        j.errors[2].message.contains("no attempts left"),
        "{}",
        j.errors[2].message
    );
    assert_eq!(
        probe
            .runs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id),
        Some(&3)
    );
}

/// A kind that neither this worker nor any live process serves is a retry-safe failed attempt
/// whose message names the kind, the kinds this worker serves and how to fix it.
pub async fn worker_unknown_kind_is_retried<H: Harness>(h: &H) {
    let store = h.store().await;
    let c = Client::new(store.clone());
    let id = c
        .enqueue_raw(
            crate::util::k("nobody.handles.this"),
            anp_core::Args::empty_object(),
            EnqueueOptions::default(),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .id;
    let w = worker(
        store.clone(),
        Arc::default(),
        options(
            Duration::from_secs(30),
            Duration::from_secs(5),
            Duration::from_secs(1),
            false,
        ),
        2,
    );
    let handle = start(&w);
    let j = wait_state(&store, id, JobState::Retryable, Duration::from_secs(20)).await;
    stop(&w, handle).await;
    let message = &j.errors[0].message;
    for needle in [
        "no handler for kind nobody.handles.this",
        "this worker serves kinds [conformance.act]",
        "no live worker declares kind nobody.handles.this",
        "add a handler for nobody.handles.this",
        "run a worker that serves it",
        "fix the job's kind",
    ] {
        assert!(message.contains(needle), "{needle:?} in {message}");
    }
    assert!(j.errors[0].retry_safe);
    assert_eq!(j.attempt, 1, "a failed attempt");
}

/// A kind this worker has no handler for, but another live worker declares on the job's queue
/// (workers of different kinds sharing a queue): the job is snoozed for 5 s with its attempt
/// given back, and no error is recorded. A live worker that declares a kind on other queues
/// only would never fetch the job: that job is a failed attempt naming it.
pub async fn worker_unknown_kind_snoozes_while_a_live_worker_declares_it<H: Harness>(h: &H) {
    use anp_core::monitor::ProcessInfo;
    let store = h.store().await;
    // The other worker, as it registers: same queue, its own kind.
    let now = crate::util::now();
    store
        .process_heartbeat(ProcessInfo {
            id: "other-worker".into(),
            role: "worker".into(),
            host: "h".into(),
            pid: 1,
            version: "0.1.0".into(),
            queues: vec![crate::util::q("default")],
            kinds: vec![crate::util::k("thumbnail.make")],
            started_at: now,
            last_seen: now,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .process_heartbeat(ProcessInfo {
            id: "video-worker".into(),
            role: "worker".into(),
            host: "h".into(),
            pid: 2,
            version: "0.1.0".into(),
            queues: vec![crate::util::q("video")],
            kinds: vec![crate::util::k("video.encode")],
            started_at: now,
            last_seen: now,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let c = Client::new(store.clone());
    let id = c
        .enqueue_raw(
            crate::util::k("thumbnail.make"),
            anp_core::Args::empty_object(),
            EnqueueOptions::default(),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .id;
    let elsewhere = c
        .enqueue_raw(
            crate::util::k("video.encode"),
            anp_core::Args::empty_object(),
            EnqueueOptions::default(),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .id;
    let w = worker(
        store.clone(),
        Arc::default(),
        options(
            Duration::from_secs(30),
            Duration::from_secs(5),
            Duration::from_secs(1),
            false,
        ),
        2,
    );
    let mut rx = w.subscribe();
    let handle = start(&w);
    let failed = wait_state(
        &store,
        elsewhere,
        JobState::Retryable,
        Duration::from_secs(20),
    )
    .await;
    let acked = next_event(
        &mut rx,
        "the job's ack",
        |e| matches!(e, WorkerEvent::Acked { id: a, .. } if *a == id),
    )
    .await;
    let before_stop = jiff::Timestamp::now();
    stop(&w, handle).await;
    assert_eq!(
        acked,
        WorkerEvent::Acked {
            id,
            state: "scheduled"
        }
    );
    let j = store.job_get(id).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (j.state, j.attempt),
        (JobState::Scheduled, 0),
        "attempt given back"
    );
    assert!(j.errors.is_empty(), "{:?}", j.errors);
    let wait = j.run_at.duration_since(before_stop).as_secs_f64();
    assert!((3.0..=5.5).contains(&wait), "snoozed for about 5 s: {wait}");
    let message = &failed.errors[0].message;
    assert!(
        message.contains("the live workers that declare kind video.encode do not serve queue default (video-worker on [video])"),
        "{message}"
    );
}

/// A job running twice as long as its 1 s lease keeps it by heartbeat while the rescuer runs
/// every 100 ms: never rescued, its lease pushed past the first expiry, one attempt.
pub async fn worker_heartbeat_keeps_a_long_job<H: Harness>(h: &H) {
    let store = h.store().await;
    let c = Client::new(store.clone());
    let id = enqueue(&c, "block").await;
    let probe = Arc::new(Probe::default());
    let w = worker(
        store.clone(),
        probe.clone(),
        options(
            Duration::from_secs(1),
            Duration::from_secs(10),
            Duration::from_secs(1),
            true,
        ),
        2,
    );
    let mut rx = w.subscribe();
    let handle = start(&w);
    next_event(&mut rx, "the job to start", |e| {
        matches!(e, WorkerEvent::Started { .. })
    })
    .await;
    let first_expiry = store
        .job_get(id)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .lease_expires_at
        .unwrap_or_else(|| panic!("a running job has a lease"));
    // Leases and the rescuer work in wall time: hold the job until a full lease has passed
    // after its first lease expired (the rescuer ran about ten times meanwhile).
    let until = anp_core::job::ts_add(first_expiry, Duration::from_secs(1));
    let j = wait_for(
        "a full lease past the first expiry",
        Duration::from_secs(30),
        || {
            let store = store.clone();
            async move {
                let j = store.job_get(id).await.ok()?;
                let rescued = (j.state, j.attempt) != (JobState::Running, 1);
                (rescued || jiff::Timestamp::now() > until).then_some(j)
            }
        },
    )
    .await;
    assert_eq!(
        (j.state, j.attempt),
        (JobState::Running, 1),
        "{:?}",
        j.errors
    );
    assert!(
        j.lease_expires_at > Some(first_expiry),
        "the lease was extended: {:?}",
        j.lease_expires_at
    );
    probe.release.cancel();
    let j = wait_state(&store, id, JobState::Completed, Duration::from_secs(30)).await;
    stop(&w, handle).await;
    assert_eq!(j.attempt, 1, "never rescued");
    assert!(j.errors.is_empty(), "{:?}", j.errors);
}

/// Enqueues one job running `action`, starts a worker with `grace`, starts its shutdown once
/// the handler runs, calls `during_shutdown` (with the probe) once the worker says it is shutting down, and
/// returns the job as the store has it after the worker stopped.
async fn shut_down_while_running<H: Harness>(
    h: &H,
    action: &str,
    grace: Duration,
    during_shutdown: impl FnOnce(&Probe),
) -> anp_core::Job {
    let store = h.store().await;
    let id = enqueue(&Client::new(store.clone()), action).await;
    let probe = Arc::new(Probe::default());
    let w = worker(
        store.clone(),
        probe.clone(),
        options(
            Duration::from_secs(30),
            grace,
            Duration::from_secs(1),
            false,
        ),
        2,
    );
    let mut rx = w.subscribe();
    let handle = start(&w);
    next_event(&mut rx, "the job to start", |e| {
        matches!(e, WorkerEvent::Started { .. })
    })
    .await;
    w.shutdown_token().cancel();
    next_event(&mut rx, "the shutdown to start", |e| {
        *e == WorkerEvent::ShuttingDown
    })
    .await;
    during_shutdown(&probe);
    stop(&w, handle).await;
    store.job_get(id).await.unwrap_or_else(|e| panic!("{e}"))
}

/// Shutdown waits for a running job that finishes within the grace period, and records it.
pub async fn worker_shutdown_lets_short_jobs_finish<H: Harness>(h: &H) {
    let j =
        shut_down_while_running(h, "block", Duration::from_secs(20), |p| p.release.cancel()).await;
    assert_eq!(j.state, JobState::Completed);
    assert_eq!(j.attempt, 1);
}

/// Jobs still running after the grace period go back to the queue, attempt not spent.
pub async fn worker_shutdown_hands_back_after_grace<H: Harness>(h: &H) {
    let j = shut_down_while_running(h, "forever", Duration::from_millis(100), |_| {}).await;
    assert_eq!(j.state, JobState::Available);
    assert_eq!(j.attempt, 0, "handing back does not spend the attempt");
    assert!(j.errors.is_empty());
    assert!(j.lease_token.is_none());
}

/// A job cancelled by an operator while running: the heartbeat notices, the handler is told,
/// and its result is not recorded.
pub async fn worker_lease_lost_result_is_rejected<H: Harness>(h: &H) {
    let store = h.store().await;
    let c = Client::new(store.clone());
    let id = enqueue(&c, "block").await;
    let probe = Arc::new(Probe::default());
    let w = worker(
        store.clone(),
        probe.clone(),
        options(
            Duration::from_secs(1),
            Duration::from_secs(5),
            Duration::from_secs(1),
            false,
        ),
        2,
    );
    let mut rx = w.subscribe();
    let handle = start(&w);
    next_event(&mut rx, "the job to start", |e| {
        matches!(e, WorkerEvent::Started { .. })
    })
    .await;
    store
        .job_cancel(id, jiff::Timestamp::now())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    next_event(&mut rx, "the lease loss", |e| {
        *e == WorkerEvent::LeaseLost { id }
    })
    .await;
    probe.release.cancel();
    stop(&w, handle).await;
    let j = store.job_get(id).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(j.state, JobState::Cancelled);
}

/// Three workers on separate handles run 600 jobs: each exactly once, none lost.
pub async fn workers_complete_each_job_exactly_once<H: Harness>(h: &H) {
    let store = h.store().await;
    let c = Client::new(store.clone());
    let n = 600;
    let args: Vec<Act> = (0..n).map(|_| act("complete")).collect();
    let ids: Vec<JobId> = c
        .enqueue_many(&args, EnqueueOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|r| r.id)
        .collect();
    let probe = Arc::new(Probe::default());
    let mut workers = Vec::new();
    for _ in 0..3 {
        let w = worker(
            h.store().await,
            probe.clone(),
            options(
                Duration::from_secs(30),
                Duration::from_secs(5),
                Duration::from_millis(200),
                false,
            ),
            8,
        );
        let handle = start(&w);
        workers.push((w, handle));
    }
    wait_completed(&store, n, Duration::from_secs(60)).await;
    for (w, handle) in workers {
        stop(&w, handle).await;
    }
    let runs = probe.runs.lock().unwrap_or_else(|p| p.into_inner());
    assert_eq!(runs.len(), n);
    for id in &ids {
        assert_eq!(
            runs.get(id),
            Some(&1),
            "job {id} ran {:?} times",
            runs.get(id)
        );
    }
}

/// An idle worker with a 60 s poll interval picks up a job enqueued by another handle within
/// seconds: it waits on the store's wake-up, not on a timer.
pub async fn worker_idle_then_picks_up_new_job<H: Harness>(h: &H) {
    let store = h.store().await;
    let w = worker(
        store.clone(),
        Arc::default(),
        options(
            Duration::from_secs(30),
            Duration::from_secs(5),
            Duration::from_secs(60),
            false,
        ),
        2,
    );
    let mut rx = w.subscribe();
    let handle = start(&w);
    // A first job shows the worker has fetched and acked; after the ack its next fetch comes
    // back empty and it waits on the store. A short head start for that; an enqueue before the
    // wait began would be fetched at once, so this is no condition for the check below.
    let first = enqueue(&Client::new(store.clone()), "complete").await;
    next_event(
        &mut rx,
        "the first job's ack",
        |e| matches!(e, WorkerEvent::Acked { id, .. } if *id == first),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let other = Client::new(h.store().await);
    let id = enqueue(&other, "complete").await;
    let t = std::time::Instant::now();
    wait_state(&store, id, JobState::Completed, Duration::from_secs(10)).await;
    let took = t.elapsed();
    stop(&w, handle).await;
    assert!(took < Duration::from_secs(10), "picked up after {took:?}");
}

/// A worker keeps every slot busy and never more: with a backlog of blocking jobs it runs
/// exactly its concurrency at once, though each fetch asks for at most its share of the slots
/// ([`Store::fetch_split`]: half on Redis, so two fetches fill them); once released, every job
/// completes, each once.
pub async fn worker_fills_every_slot_and_no_more<H: Harness>(h: &H) {
    let store = h.store().await;
    let c = Client::new(store.clone());
    let concurrency = 7;
    let n = concurrency * 3;
    let args: Vec<Act> = (0..n).map(|_| act("block")).collect();
    c.enqueue_many(&args, EnqueueOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let probe = Arc::new(Probe::default());
    let w = worker(
        store.clone(),
        probe.clone(),
        options(
            Duration::from_secs(30),
            Duration::from_secs(5),
            Duration::from_millis(200),
            false,
        ),
        concurrency,
    );
    let mut rx = w.subscribe();
    let handle = start(&w);
    let share = concurrency.div_ceil(store.fetch_split().max(1));
    let running = |probe: &Probe| probe.runs.lock().unwrap_or_else(|p| p.into_inner()).len();
    let mut fetched = 0;
    while fetched < concurrency {
        if let WorkerEvent::Fetched { count, .. } = next_event(&mut rx, "a fetch", |e| {
            matches!(e, WorkerEvent::Fetched { .. })
        })
        .await
        {
            assert!(
                count <= share,
                "a fetch leased {count} jobs: expected at most {share} (concurrency {concurrency}, fetch split {})",
                store.fetch_split()
            );
            fetched += count;
        }
    }
    wait_for("every slot running", Duration::from_secs(10), || {
        let n = running(&probe);
        async move { (n == concurrency).then_some(()) }
    })
    .await;
    // Every slot is held by a blocked job: nothing more may start.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        running(&probe),
        concurrency,
        "jobs started with every slot busy"
    );
    probe.release.cancel();
    wait_completed(&store, n, Duration::from_secs(30)).await;
    stop(&w, handle).await;
    let runs = probe.runs.lock().unwrap_or_else(|p| p.into_inner());
    assert_eq!(runs.len(), n);
    assert!(runs.values().all(|&r| r == 1), "a job ran twice: {runs:?}");
}
