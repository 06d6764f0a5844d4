//! The operator API from Rust: what `anp jobs`, `anp queues`, `anp status` and `anp backup` do,
//! as library calls (the `anp` binary is a thin shell over exactly these).
//!
//! `cargo run -p alphanode --example admin`
//!
//! Enqueues a few report jobs on the embedded SQLite store, runs a worker whose handler fails
//! one of them for good, then, as an on-call person would: asks the four status questions,
//! lists the dead job with its error history, fixes the cause and retries every dead job,
//! pauses and resumes the queue, marks a deploy, and writes a verified backup.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use alphanode::admin::{DeadFilter, DeployMark, JobFilter};
use alphanode::{Admin, Client, JobArgs, JobContext, JobState, Outcome, QueueName, Worker};
use serde::{Deserialize, Serialize};

/// Build a nightly report.
#[derive(Serialize, Deserialize, Debug)]
struct BuildReport {
    day: String,
}

impl JobArgs for BuildReport {
    const KIND: &'static str = "report.build";
    const QUEUE: &'static str = "reports";
}

/// Waits until no job of `queue` is waiting or running.
async fn drained(admin: &Admin, queue: &QueueName) -> alphanode::Result<()> {
    loop {
        let q = admin.queue_get(queue).await?;
        let busy = [JobState::Available, JobState::Running, JobState::Retryable]
            .iter()
            .map(|s| q.counts.get(s).copied().unwrap_or(0))
            .sum::<u64>();
        if busy == 0 {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let backend =
        alphanode::connect(&format!("sqlite://{}", dir.path().join("a.db").display())).await?;
    let client = Client::new(backend.clone());
    let admin = Admin::new(backend.clone());
    let reports = QueueName::parse("reports")?;

    for day in ["2026-12-01", "2026-12-02", "2026-12-03"] {
        client
            .enqueue(&BuildReport { day: day.into() }, Default::default())
            .await?;
    }

    // The handler cannot build 12-02 until the "data fix" below is applied.
    let fixed = Arc::new(AtomicBool::new(false));
    let fixed_in_handler = fixed.clone();
    let worker = Worker::builder(backend.clone())
        .queue("reports", 2)
        .register(move |_ctx: JobContext, job: BuildReport| {
            let fixed = fixed_in_handler.clone();
            async move {
                if job.day == "2026-12-02" && !fixed.load(Ordering::SeqCst) {
                    return Ok(Outcome::fail("missing source data for 2026-12-02"));
                }
                println!("  built report {}", job.day);
                Ok::<_, std::io::Error>(Outcome::Complete)
            }
        })
        .build()?;
    let shutdown = worker.shutdown_token();
    let running = tokio::spawn(worker.run());
    drained(&admin, &reports).await?;

    // Is it up, slow, failing; did the last deploy change anything?
    let status = admin.status().await?;
    println!("status ok: {}; problems: {:?}", status.ok, status.problems);

    // What failed, and why.
    let dead = admin
        .job_list(JobFilter {
            states: vec![JobState::Dead],
            queue: Some(reports.clone()),
            ..Default::default()
        })
        .await?;
    for job in &dead {
        let why = job.errors.last().map(|e| e.message.as_str()).unwrap_or("-");
        println!(
            "dead: {} {} attempt {}: {why}",
            job.id, job.kind, job.attempt
        );
    }

    // Fix the cause, mark the deploy that fixed it, and run the dead jobs again.
    fixed.store(true, Ordering::SeqCst);
    admin
        .deploy_mark(DeployMark {
            version: "reports-1.4.2".into(),
            owner: Some("data-team".into()),
            rollback: Some("deploy reports-1.4.1".into()),
            note: Some("backfills the 12-02 source data".into()),
        })
        .await?;
    let retried = admin
        .job_retry_dead(
            DeadFilter {
                queue: Some(reports.clone()),
                kind: None,
            },
            |_| {},
        )
        .await?;
    println!("retried {retried} dead job(s)");
    drained(&admin, &reports).await?;

    // Pause and resume the queue, as during a maintenance window.
    admin.queue_pause(&reports).await?;
    println!("paused: {}", admin.queue_get(&reports).await?.paused);
    admin.queue_resume(&reports).await?;

    // A verified, store-independent backup.
    let file = dir.path().join("backup.jsonl");
    let counts = admin.backup(&file, |_| {}).await?;
    println!(
        "backed up {} jobs, {} deploy marker(s)",
        counts.jobs, counts.deploys
    );

    shutdown.cancel();
    running.await??;
    let q = admin.queue_get(&reports).await?;
    println!(
        "queue reports: {} completed, {} dead",
        q.counts[&JobState::Completed],
        q.counts[&JobState::Dead]
    );
    Ok(())
}
