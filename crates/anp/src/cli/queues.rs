//! `anp queues [list | pause Q | resume Q]`.

use alphanode::{JobState, QueueName, SystemClock};
use anp_core::Clock;
use clap::{Args as ClapArgs, Subcommand};

use super::Ctx;
use crate::output;

/// `anp queues`.
#[derive(ClapArgs, Debug)]
pub struct QueuesArgs {
    #[command(subcommand)]
    command: Option<QueuesCommand>,
}

#[derive(Subcommand, Debug)]
enum QueuesCommand {
    /// Counts per state and the oldest available job's age (the default).
    List,
    /// Stop every worker from fetching this queue (running jobs finish).
    Pause {
        /// Queue name.
        queue: String,
    },
    /// Let workers fetch this queue again.
    Resume {
        /// Queue name.
        queue: String,
    },
}

/// Runs `anp queues`.
pub async fn run(ctx: &Ctx, a: QueuesArgs) -> anyhow::Result<()> {
    match a.command.unwrap_or(QueuesCommand::List) {
        QueuesCommand::List => list(ctx).await,
        QueuesCommand::Pause { queue } => set_paused(ctx, &queue, true).await,
        QueuesCommand::Resume { queue } => set_paused(ctx, &queue, false).await,
    }
}

async fn set_paused(ctx: &Ctx, queue: &str, paused: bool) -> anyhow::Result<()> {
    let q = QueueName::parse(queue)?;
    let store = ctx.open(None).await?;
    store
        .queue_set_paused(q.clone(), paused, SystemClock.now())
        .await?;
    if ctx.json {
        output::json(&serde_json::json!({"queue": q, "paused": paused}))?;
    } else {
        println!("queue {q} {}", if paused { "paused" } else { "resumed" });
    }
    Ok(())
}

async fn list(ctx: &Ctx) -> anyhow::Result<()> {
    let store = ctx.open(None).await?;
    let queues = store.queue_list().await?;
    let now = SystemClock.now();
    if ctx.json {
        let v: Vec<_> = queues
            .iter()
            .map(|q| {
                serde_json::json!({
                    "queue": q.queue,
                    "paused": q.paused,
                    "counts": q.counts,
                    "oldest_available_at": q.oldest_available_at,
                    "oldest_available_age_s": q.oldest_available_at.map(|t| now.duration_since(t).as_secs_f64().max(0.0)),
                })
            })
            .collect();
        return output::json(&v);
    }
    if queues.is_empty() {
        println!("no queues yet: enqueue a job with `anp enqueue KIND`");
        return Ok(());
    }
    let mut header = vec!["queue", "paused"];
    header.extend(JobState::ALL.iter().map(|s| s.as_str()));
    header.push("oldest available");
    let mut t = output::table(&header);
    for q in &queues {
        let mut row = vec![
            q.queue.to_string(),
            if q.paused { "yes".into() } else { "".into() },
        ];
        row.extend(
            JobState::ALL
                .iter()
                .map(|s| q.counts.get(s).copied().unwrap_or(0).to_string()),
        );
        row.push(
            q.oldest_available_at
                .map(|t| output::age(t, now))
                .unwrap_or_default(),
        );
        t.add_row(row);
    }
    println!("{t}");
    Ok(())
}
