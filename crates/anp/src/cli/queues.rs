//! `anp queues [list | pause Q | resume Q | purge Q [--state S]... --yes]`.

use std::collections::BTreeMap;

use alphanode::{Admin, Clock, Error, JobState, QueueName, SystemClock};
use clap::{Args as ClapArgs, Subcommand};

use super::Ctx;
use crate::output;
use crate::wire::views::QueueView;

/// `anp queues`.
#[derive(ClapArgs, Debug)]
pub struct QueuesArgs {
    #[command(subcommand)]
    command: Option<QueuesCommand>,
    #[command(flatten)]
    list: output::ListArgs,
}

#[derive(Subcommand, Debug)]
enum QueuesCommand {
    /// Counts per state and the oldest available job's age (the default).
    List(output::ListArgs),
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
    /// Delete the queue's jobs: every state but running, or only the --state ones. Without
    /// --yes, says what it would delete and exits 2.
    Purge {
        /// Queue name.
        queue: String,
        /// Only this state (repeatable): scheduled, available, completed, retryable, dead,
        /// cancelled. Running jobs are never deleted (cancel them first).
        #[arg(long, short)]
        state: Vec<String>,
        /// Really delete.
        #[arg(long)]
        yes: bool,
    },
}

/// Runs `anp queues`.
pub async fn run(ctx: &Ctx, a: QueuesArgs) -> anyhow::Result<()> {
    match a.command.unwrap_or(QueuesCommand::List(a.list)) {
        QueuesCommand::List(l) => list(ctx, a.list.quiet || l.quiet).await,
        QueuesCommand::Pause { queue } => set_paused(ctx, &queue, true).await,
        QueuesCommand::Resume { queue } => set_paused(ctx, &queue, false).await,
        QueuesCommand::Purge { queue, state, yes } => purge(ctx, &queue, &state, yes).await,
    }
}

async fn set_paused(ctx: &Ctx, queue: &str, paused: bool) -> anyhow::Result<()> {
    let q = QueueName::parse(queue)?;
    let admin = ctx.admin().await?;
    if paused {
        admin.queue_pause(&q).await?;
    } else {
        admin.queue_resume(&q).await?;
    }
    if ctx.json {
        ctx.json_object(&serde_json::json!({"queue": q, "paused": paused}))?;
    } else {
        println!("queue {q} {}", if paused { "paused" } else { "resumed" });
    }
    Ok(())
}

async fn purge(ctx: &Ctx, queue: &str, states: &[String], yes: bool) -> anyhow::Result<()> {
    const OP: &str = "queues purge";
    let q = QueueName::parse(queue)?;
    let states = states
        .iter()
        .map(|s| JobState::parse(s))
        .collect::<Result<Vec<_>, Error>>()?;
    // Refuses running (and says why) before the store is opened.
    let chosen = Admin::queue_purge_states(&q, &states)?;
    let admin = ctx.admin().await?;
    let info = admin.queue_get(&q).await?;
    let count = |s: JobState| info.counts.get(&s).copied().unwrap_or(0);
    let counts: BTreeMap<JobState, u64> = chosen.iter().map(|s| (*s, count(*s))).collect();
    let total: u64 = counts.values().sum();
    let running = count(JobState::Running);
    if !yes {
        let mut per_state = counts
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(s, n)| format!("{n} {s}"))
            .collect::<Vec<_>>()
            .join(", ");
        if per_state.is_empty() {
            per_state = format!(
                "none in {}",
                chosen
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        let kept = if running > 0 {
            format!(" ({running} running jobs are kept: cancel them first)")
        } else {
            String::new()
        };
        return Err(Error::invalid(
            OP,
            format!(
                "would delete {total} jobs of queue {q}: {per_state}{kept}; nothing was deleted: \
                 expected --yes to confirm"
            ),
        )
        .into());
    }
    let pb = output::progress(total, ctx.json, "purge");
    let deleted = admin.queue_purge(&q, &chosen, |n| pb.inc(n)).await?;
    pb.finish_and_clear();
    if ctx.json {
        return ctx.json_object(&serde_json::json!({
            "queue": q,
            "states": chosen,
            "deleted": deleted,
            "running_kept": running,
        }));
    }
    println!("deleted {deleted} jobs of queue {q}");
    if running > 0 {
        println!(
            "{running} running jobs were kept (running jobs are never purged; cancel them first)"
        );
    }
    Ok(())
}

async fn list(ctx: &Ctx, quiet: bool) -> anyhow::Result<()> {
    let queues = ctx.admin().await?.queue_list().await?;
    let now = SystemClock.now();
    if ctx.json {
        let v: Vec<_> = queues.iter().map(|q| QueueView::new(q, now)).collect();
        return output::json(&v);
    }
    let mut header = vec!["queue", "paused"];
    header.extend(JobState::ALL.iter().map(|s| s.as_str()));
    header.push("oldest available");
    let mut t = output::table(&header);
    t.when_empty("no queues yet: enqueue a job with `anp enqueue KIND`");
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
    t.print(quiet)
}
