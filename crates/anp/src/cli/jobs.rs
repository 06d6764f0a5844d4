//! `anp jobs list|show|retry|cancel|delete`.

use alphanode::admin::{DeadFilter, JobFilter};
use alphanode::{Clock, Error, Job, JobId, JobState, Kind, QueueName, SystemClock};
use clap::Subcommand;

use super::Ctx;
use crate::output;

/// `anp jobs …`.
#[derive(Subcommand, Debug)]
pub enum JobsCommand {
    /// Jobs, newest first.
    List {
        /// Only this state (repeatable): scheduled, available, running, completed, retryable, dead, cancelled.
        #[arg(long, short)]
        state: Vec<String>,
        /// Only this queue.
        #[arg(long, short)]
        queue: Option<String>,
        /// Only this kind.
        #[arg(long, short)]
        kind: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        limit: u32,
        /// Only jobs older than this id (paging).
        #[arg(long)]
        before: Option<String>,
    },
    /// One job with its error history.
    Show {
        /// Job id.
        id: String,
    },
    /// Run a job again now (dead, cancelled, retryable…), or every dead job with --all-dead.
    Retry {
        /// Job id.
        #[arg(required_unless_present = "all_dead", conflicts_with = "all_dead")]
        id: Option<String>,
        /// Retry every dead job (optionally only of --queue / --kind).
        #[arg(long)]
        all_dead: bool,
        /// With --all-dead: only this queue.
        #[arg(long, short, requires = "all_dead")]
        queue: Option<String>,
        /// With --all-dead: only this kind.
        #[arg(long, short, requires = "all_dead")]
        kind: Option<String>,
    },
    /// Cancel a job that has not finished (a running job's result will be discarded).
    Cancel {
        /// Job id.
        id: String,
    },
    /// Delete a job that is not running.
    Delete {
        /// Job id.
        id: String,
    },
}

/// Runs `anp jobs …`.
pub async fn run(ctx: &Ctx, c: JobsCommand) -> anyhow::Result<()> {
    match c {
        JobsCommand::List {
            state,
            queue,
            kind,
            limit,
            before,
        } => {
            let filter = JobFilter {
                states: state
                    .iter()
                    .map(|s| JobState::parse(s))
                    .collect::<Result<_, Error>>()?,
                queue: queue.as_deref().map(QueueName::parse).transpose()?,
                kind: kind.as_deref().map(Kind::parse).transpose()?,
                before: before.as_deref().map(JobId::parse).transpose()?,
                limit,
            };
            let jobs = ctx.admin().await?.job_list(filter).await?;
            if ctx.json {
                return output::json(&jobs);
            }
            let now = SystemClock.now();
            let mut t = output::table(&[
                "id",
                "kind",
                "queue",
                "state",
                "attempt",
                "run at",
                "last error",
            ]);
            for j in &jobs {
                t.add_row(vec![
                    j.id.to_string(),
                    j.kind.to_string(),
                    j.queue.to_string(),
                    j.state.to_string(),
                    format!("{}/{}", j.attempt, j.max_attempts),
                    output::age(j.run_at, now),
                    j.errors
                        .last()
                        .map(|e| e.message.chars().take(60).collect())
                        .unwrap_or_default(),
                ]);
            }
            println!("{t}");
            if jobs.len() as u32 == limit {
                if let Some(last) = jobs.last() {
                    eprintln!("more: --before {}", last.id);
                }
            }
            Ok(())
        }
        JobsCommand::Show { id } => {
            let id = JobId::parse(&id)?;
            let job = ctx.admin().await?.job_get(id).await?;
            if ctx.json {
                return output::json(&job);
            }
            print_job(&job);
            Ok(())
        }
        JobsCommand::Retry {
            id,
            all_dead,
            queue,
            kind,
        } => {
            if all_dead {
                let queue = queue.as_deref().map(QueueName::parse).transpose()?;
                let kind = kind.as_deref().map(Kind::parse).transpose()?;
                let admin = ctx.admin().await?;
                let total = admin.job_count_dead(queue.as_ref()).await?;
                let pb = output::progress(total, ctx.json, "retry");
                let retried = admin
                    .job_retry_dead(DeadFilter { queue, kind }, |n| pb.inc(n))
                    .await?;
                pb.finish_and_clear();
                if ctx.json {
                    output::json(&serde_json::json!({"retried": retried}))?;
                } else {
                    println!("{retried} dead jobs made available again");
                }
                return Ok(());
            }
            let id = JobId::parse(id.as_deref().unwrap_or_default())?;
            let job = ctx.admin().await?.job_retry(id).await?;
            done(ctx, &job, "will run again now")
        }
        JobsCommand::Cancel { id } => {
            let id = JobId::parse(&id)?;
            let job = ctx.admin().await?.job_cancel(id).await?;
            done(ctx, &job, "cancelled")
        }
        JobsCommand::Delete { id } => {
            let id = JobId::parse(&id)?;
            ctx.admin().await?.job_delete(id).await?;
            if ctx.json {
                output::json(&serde_json::json!({"id": id, "deleted": true}))
            } else {
                println!("job {id} deleted");
                Ok(())
            }
        }
    }
}

fn done(ctx: &Ctx, job: &Job, what: &str) -> anyhow::Result<()> {
    if ctx.json {
        output::json(job)
    } else {
        println!("job {} {what} ({})", job.id, job.state);
        Ok(())
    }
}

fn print_job(j: &Job) {
    let opt = |t: Option<jiff::Timestamp>| t.map(output::ts).unwrap_or_else(|| "-".into());
    println!("id           {}", j.id);
    println!("kind         {}", j.kind);
    println!("queue        {}", j.queue);
    println!("state        {}", j.state);
    println!("attempt      {} of {}", j.attempt, j.max_attempts);
    println!("priority     {}", j.priority);
    println!("args         {}", j.args.as_json());
    println!("created at   {}", output::ts(j.created_at));
    println!("run at       {}", output::ts(j.run_at));
    println!("attempted at {}", opt(j.attempted_at));
    println!("finalized at {}", opt(j.finalized_at));
    if let Some(k) = &j.unique_key {
        println!("unique key   {k}");
    }
    if let Some(owner) = &j.lease_owner {
        println!("lease        {owner} until {}", opt(j.lease_expires_at));
    }
    if j.errors.is_empty() {
        println!("errors       none");
    } else {
        println!("errors:");
        for e in &j.errors {
            println!(
                "  attempt {} at {} ({}): {}",
                e.attempt,
                output::ts(e.at),
                if e.retry_safe {
                    "retry-safe"
                } else {
                    "not retry-safe"
                },
                e.message
            );
        }
    }
}
