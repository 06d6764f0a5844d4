//! Page timings of the dashboard on a store with 1M jobs (BENCHMARKS.md, "Dashboard"). Not run
//! by CI (`#[ignore]`: seeding takes minutes); run by hand:
//!
//! ```text
//! cargo build --release -p anp
//! ANP_BIN=target/release/anp ANP_DASH_JOBS=1000000 \
//!   cargo test -p anp --test dashboard_speed -- --ignored --nocapture
//! ```
//!
//! Seeds (once per directory `ANP_DASH_DIR`, default a temp dir) a SQLite file, and a private
//! redis-server when `ANP_DASH_REDIS=1`, with `ANP_DASH_JOBS` jobs on 4 queues: a quarter
//! completed, 1 % dead with an error, the rest available; then GETs every page 15 times on a
//! real `anp serve` with `--live-interval 0s` (every overview and live.json request reads the
//! store: the worst case, a snapshot read each time) and prints the median and max per page. It prints; it asserts nothing about time.

#[path = "../../anp-redis/tests/common/mod.rs"]
mod common;
mod serve_support;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anp_conformance::util::{err, now};
use anp_core::store::{
    AckOutcome, AckStats, JobAck, JobAckManyParams, JobEnqueueManyParams, JobFetchParams,
};
use anp_core::{Args, JobId, Kind, NewJob, QueueName, Store};
use serve_support::{free_port, Server};

/// Seeds `n` jobs: enqueued in batches of 5,000, a quarter acked completed and 1 % dead.
async fn seed(s: &dyn Store, n: u64) -> JobId {
    let t = now();
    let queues = ["default", "mail", "reports", "webhooks"];
    let kinds = ["email.send", "report.build", "webhook.post"];
    let mut last = None;
    let mut done = 0u64;
    while done < n {
        let batch = (n - done).min(5000);
        let jobs: Vec<NewJob> = (done..done + batch)
            .map(|i| {
                let mut j = NewJob::new(
                    Kind::parse(kinds[(i % 3) as usize]).unwrap_or_else(|e| panic!("{e}")),
                    Args::from_json(&format!(r#"{{"user":{i},"to":"user{i}@example.com"}}"#))
                        .unwrap_or_else(|e| panic!("{e}")),
                );
                j.queue =
                    QueueName::parse(queues[(i % 4) as usize]).unwrap_or_else(|e| panic!("{e}"));
                j
            })
            .collect();
        last = jobs.last().map(|j| j.id);
        s.job_enqueue_many(JobEnqueueManyParams { jobs, now: t })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        done += batch;
    }
    // Finish a share: per queue, fetch in 1,000s and ack (every 26th dead, others completed).
    for q in queues {
        let mut finished = 0u64;
        while finished < n / 4 / 4 + n / 100 / 4 {
            let got = s
                .job_fetch(JobFetchParams {
                    queue: QueueName::parse(q).unwrap_or_else(|e| panic!("{e}")),
                    limit: 1000,
                    worker: "seed".into(),
                    now: t,
                    lease_until: t + Duration::from_secs(600),
                })
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            if got.is_empty() {
                break;
            }
            finished += got.len() as u64;
            let acks = got
                .iter()
                .enumerate()
                .map(|(i, j)| JobAck {
                    lease: j.lease().unwrap_or_else(|| panic!("no lease")),
                    outcome: if i % 26 == 0 {
                        AckOutcome::Dead {
                            error: err(1, t, "HTTP 500 from upstream: connection reset", false),
                        }
                    } else {
                        AckOutcome::Complete
                    },
                    stats: Some(AckStats {
                        kind: j.kind.clone(),
                        wait: Duration::from_millis(5),
                        run: Duration::from_millis(30),
                    }),
                })
                .collect();
            s.job_ack_many(JobAckManyParams { acks, now: t })
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
    }
    last.unwrap_or_else(|| panic!("no job seeded"))
}

/// GETs each page `rounds` times; prints median and max (ms).
async fn time_pages(label: &str, store_url: &str, job: JobId) {
    let port = free_port();
    let bin = std::env::var("ANP_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_anp").to_owned());
    let child = Command::new(&bin)
        .args([
            "--store",
            store_url,
            "serve",
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--live-interval",
            "0s",
        ])
        .env_remove("ANP_TOKEN")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{bin}: {e}"));
    let _server = Server::new(child);
    let base = format!("http://127.0.0.1:{port}");
    let c = reqwest::Client::new();
    for _ in 0..400 {
        if c.get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let pages = [
        "/".to_owned(),
        "/ui/live.json".into(),
        "/queues".into(),
        "/jobs".into(),
        "/jobs?state=dead".into(),
        "/jobs?state=available&queue=mail&kind=email.send".into(),
        format!("/jobs?before={job}"),
        "/jobs?q=user12345%40".into(),
        format!("/jobs/{job}"),
        "/ui/jobs/retry-dead".into(),
        "/schedules".into(),
        "/workers".into(),
        "/deploys".into(),
        "/cache".into(),
        "/audit".into(),
    ];
    println!("\n{label} (binary {bin})\n| page | median ms | max ms |\n|---|---:|---:|");
    for p in &pages {
        let mut ms = Vec::new();
        for _ in 0..15 {
            let t0 = Instant::now();
            let r = c
                .get(format!("{base}{p}"))
                .send()
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(r.status(), 200, "{p}");
            let _ = r.bytes().await;
            ms.push(t0.elapsed().as_secs_f64() * 1000.0);
        }
        ms.sort_by(f64::total_cmp);
        println!(
            "| `{p}` | {:.1} | {:.1} |",
            ms[ms.len() / 2],
            ms[ms.len() - 1]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "seeds a million jobs: run by hand (see the file's header)"]
async fn dashboard_pages_on_a_million_jobs() {
    let n: u64 = std::env::var("ANP_DASH_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = std::env::var("ANP_DASH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| tmp.path().to_owned());
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let db = dir.join("dash.db");
    let marker = dir.join("dash.db.last-job");
    let url = format!("sqlite://{}", db.display());
    let job = if let Some(id) = std::fs::read_to_string(&marker)
        .ok()
        .and_then(|s| JobId::parse(s.trim()).ok())
    {
        id
    } else {
        let s = anp_sqlite::SqliteStore::open(
            anp_sqlite::SqliteStore::parse_url(&url).unwrap_or_else(|e| panic!("{e}")),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        let t0 = Instant::now();
        let id = seed(&s, n).await;
        println!(
            "seeded {n} jobs into {} in {:.0} s",
            db.display(),
            t0.elapsed().as_secs_f64()
        );
        std::fs::write(&marker, id.to_string()).unwrap_or_else(|e| panic!("{e}"));
        id
    };
    time_pages(&format!("SQLite, {n} jobs"), &url, job).await;

    if std::env::var("ANP_DASH_REDIS").is_ok_and(|v| v == "1") {
        let redis = common::RedisServer::start();
        let rurl = format!("redis://127.0.0.1:{}", redis.port);
        let s: Arc<dyn Store> = Arc::new(
            anp_redis::RedisStore::open(&rurl)
                .await
                .unwrap_or_else(|e| panic!("{e}")),
        );
        let t0 = Instant::now();
        let id = seed(&*s, n).await;
        println!(
            "seeded {n} jobs into Redis in {:.0} s",
            t0.elapsed().as_secs_f64()
        );
        time_pages(&format!("Redis, {n} jobs"), &rurl, id).await;
    }
}
