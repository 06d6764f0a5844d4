//! Typed jobs inside a Rust service, on the embedded SQLite store.
//!
//! `cargo run -p alphanode --example typed_jobs`
//!
//! Defines two job kinds, enqueues a few (one unique, one delayed, one bulk batch), runs a
//! worker that completes, retries, snoozes and fails them, then shuts down gracefully once the
//! queue is drained.

use std::time::Duration;

use alphanode::{
    Client, EnqueueOptions, JobArgs, JobContext, JobState, Outcome, RetryPolicy, Unique, Worker,
};
use serde::{Deserialize, Serialize};

/// Send a welcome email.
#[derive(Serialize, Deserialize, Debug)]
struct SendWelcome {
    user_id: u64,
    email: String,
}

impl JobArgs for SendWelcome {
    const KIND: &'static str = "email.welcome";
    const QUEUE: &'static str = "mail";
    fn retry_policy() -> RetryPolicy {
        // Emails: 5 attempts, starting ~1 s apart for the demo.
        RetryPolicy {
            max_attempts: 5,
            base_secs: 1.0,
            ..RetryPolicy::default()
        }
    }
}

/// Warm a cache entry.
#[derive(Serialize, Deserialize, Debug)]
struct WarmCache {
    path: String,
}

impl JobArgs for WarmCache {
    const KIND: &'static str = "cache.warm";
    fn retry_policy() -> RetryPolicy {
        RetryPolicy {
            base_secs: 1.0,
            ..RetryPolicy::default()
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("example.db").display());
    let store = alphanode::connect(&url).await?;
    let admin = alphanode::Admin::new(store.clone());
    let client = Client::new(store.clone());

    // One job; the same unique key again returns the first job, marked duplicate.
    let welcome = SendWelcome {
        user_id: 42,
        email: "ada@example.com".into(),
    };
    let unique = || EnqueueOptions {
        unique: Unique::key("welcome:42").ok(),
        ..Default::default()
    };
    let first = client.enqueue(&welcome, unique()).await?;
    let again = client.enqueue(&welcome, unique()).await?;
    println!(
        "enqueued {} (duplicate again: {} -> {})",
        first.id, again.duplicate, again.id
    );

    // A bulk batch, one atomic store call.
    let paths: Vec<WarmCache> = ["/", "/about", "/blog", "/flaky"]
        .iter()
        .map(|p| WarmCache {
            path: p.to_string(),
        })
        .collect();
    client
        .enqueue_many(&paths, EnqueueOptions::default())
        .await?;
    // Delayed by one second.
    client
        .enqueue(
            &WarmCache {
                path: "/later".into(),
            },
            EnqueueOptions {
                run_in: Some(Duration::from_secs(1)),
                ..Default::default()
            },
        )
        .await?;

    let worker = Worker::builder(store.clone())
        .queue("default", 4)
        .queue("mail", 2)
        .register(|ctx: JobContext, job: SendWelcome| async move {
            println!(
                "  sending welcome to {} (attempt {})",
                job.email,
                ctx.attempt()
            );
            Ok::<_, std::io::Error>(Outcome::Complete)
        })
        .register(|ctx: JobContext, job: WarmCache| async move {
            match job.path.as_str() {
                // A transient failure: retried with backoff.
                "/flaky" if ctx.attempt() == 1 => Err("upstream returned 503".to_string()),
                p => {
                    println!("  warmed {p} (attempt {})", ctx.attempt());
                    Ok(Outcome::Complete)
                }
            }
        })
        .build()?;
    let shutdown = worker.shutdown_token();
    let running = tokio::spawn(worker.run());

    // Wait until nothing is left to do, then stop gracefully.
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let pending: u64 = admin
            .queue_list()
            .await?
            .iter()
            .flat_map(|q| {
                [
                    JobState::Scheduled,
                    JobState::Available,
                    JobState::Running,
                    JobState::Retryable,
                ]
                .map(|s| q.counts[&s])
            })
            .sum();
        if pending == 0 {
            break;
        }
    }
    shutdown.cancel();
    running.await??;
    for q in admin.queue_list().await? {
        println!(
            "queue {}: {} completed",
            q.queue,
            q.counts[&JobState::Completed]
        );
    }
    Ok(())
}
