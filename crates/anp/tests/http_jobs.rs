//! HTTP job kinds run by a real `anp work`: 2xx completes, 429/5xx retries honouring
//! Retry-After, other 4xx fail permanently, a timeout is a retry-safe failure.

use std::process::{Command, Stdio};
use std::time::Duration;

use anp_core::{Args, JobState, Kind, NewJob, Store};
use anp_sqlite::SqliteStore;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;

async fn wait_state(store: &SqliteStore, id: anp_core::JobId, state: JobState) -> anp_core::Job {
    for _ in 0..500 {
        if let Ok(j) = store.job_get(id).await {
            if j.state == state {
                return j;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("job {id} never reached {state}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_status_codes_decide_the_outcome() {
    let app = Router::new()
        .route(
            "/ok",
            post(|body: String| async move {
                if body.contains("\"n\":1") {
                    StatusCode::OK
                } else {
                    StatusCode::IM_A_TEAPOT
                }
            }),
        )
        .route(
            "/busy",
            post(|| async {
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [("retry-after", "120")],
                    "overloaded",
                )
            }),
        )
        .route(
            "/bad",
            post(|| async { (StatusCode::UNPROCESSABLE_ENTITY, "no such user") }),
        )
        .route(
            "/slow",
            post(|| async {
                tokio::time::sleep(Duration::from_secs(10)).await;
                StatusCode::OK
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(async move { axum::serve(listener, app).await });

    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let db = dir.path().join("anp.db");
    let config = dir.path().join("anp.toml");
    let mut toml = String::new();
    for (kind, path, timeout) in [
        ("ok", "ok", "5s"),
        ("busy", "busy", "5s"),
        ("bad", "bad", "5s"),
        ("slow", "slow", "500ms"),
    ] {
        toml.push_str(&format!("[[job]]\nkind = \"{kind}\"\nurl = \"http://{addr}/{path}\"\ntimeout = \"{timeout}\"\n\n"));
    }
    std::fs::write(&config, toml).unwrap_or_else(|e| panic!("{e}"));
    let store = SqliteStore::open(
        SqliteStore::parse_url(&format!("sqlite://{}", db.display()))
            .unwrap_or_else(|e| panic!("{e}")),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let mut ids = Vec::new();
    let jobs: Vec<NewJob> = ["ok", "busy", "bad", "slow"]
        .iter()
        .map(|k| {
            let j = NewJob::new(
                Kind::parse(k).unwrap_or_else(|e| panic!("{e}")),
                Args::from_json(r#"{"n":1}"#).unwrap_or_else(|e| panic!("{e}")),
            );
            ids.push(j.id);
            j
        })
        .collect();
    store
        .job_enqueue_many(anp_core::store::JobEnqueueManyParams {
            jobs,
            now: jiff::Timestamp::now(),
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_anp"))
        .args([
            "--store",
            &format!("sqlite://{}", db.display()),
            "work",
            "--config",
        ])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let started = jiff::Timestamp::now();
    wait_state(&store, ids[0], JobState::Completed).await;
    let busy = wait_state(&store, ids[1], JobState::Retryable).await;
    assert!(
        busy.errors[0].message.contains("503"),
        "{}",
        busy.errors[0].message
    );
    assert!(busy.errors[0].retry_safe);
    let delay = busy.run_at.duration_since(started).as_secs();
    assert!(
        (100..=130).contains(&delay),
        "Retry-After: 120 honoured, got {delay}s"
    );
    let bad = wait_state(&store, ids[2], JobState::Dead).await;
    assert!(!bad.errors[0].retry_safe);
    assert!(
        bad.errors[0].message.contains("422") && bad.errors[0].message.contains("no such user"),
        "{}",
        bad.errors[0].message
    );
    let slow = wait_state(&store, ids[3], JobState::Retryable).await;
    assert!(slow.errors[0].retry_safe);
    assert!(
        slow.errors[0].message.contains("POST"),
        "{}",
        slow.errors[0].message
    );
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    );
    let status = child.wait().unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success(), "{status}");
}
