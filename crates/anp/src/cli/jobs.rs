//! `anp jobs list|show|retry|cancel|delete`.
//!
//! Every command that takes a job id also takes a unique prefix or suffix of it (at least 4 hex
//! digits; tables show the last 12), like git: see [`JobRef`].

use alphanode::admin::{DeadFilter, JobFilter};
use alphanode::{Admin, Clock, Error, Job, JobId, JobState, Kind, QueueName, SystemClock};
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
        #[arg(long)]
        queue: Option<String>,
        /// Only this kind.
        #[arg(long, short)]
        kind: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        limit: u32,
        /// Only jobs older than this id, or a unique prefix or suffix of it (paging).
        #[arg(long)]
        before: Option<String>,
        #[command(flatten)]
        list: output::ListArgs,
    },
    /// One job with its error history.
    Show {
        /// Job id, or a unique prefix or suffix of it.
        id: String,
    },
    /// Run a job again now (dead, cancelled, retryable…), or every dead job with --all-dead.
    Retry {
        /// Job id, or a unique prefix or suffix of it.
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
        /// Job id, or a unique prefix or suffix of it.
        id: String,
    },
    /// Delete a job that is not running.
    Delete {
        /// Job id, or a unique prefix or suffix of it.
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
            list,
        } => {
            let before = before.as_deref().map(JobRef::parse).transpose()?;
            let mut filter = JobFilter {
                states: state
                    .iter()
                    .map(|s| JobState::parse(s))
                    .collect::<Result<_, Error>>()?,
                queue: queue.as_deref().map(QueueName::parse).transpose()?,
                kind: kind.as_deref().map(Kind::parse).transpose()?,
                before: None,
                limit,
            };
            let admin = ctx.admin().await?;
            if let Some(before) = before {
                filter.before = Some(before.resolve(&admin).await?);
            }
            let jobs = admin.job_list(filter).await?;
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
            t.job_id_column(0).state_column(3);
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
            t.print(list.quiet)?;
            if jobs.len() as u32 == limit && !list.quiet {
                if let Some(last) = jobs.last() {
                    eprintln!("more: --before {}", last.id);
                }
            }
            Ok(())
        }
        JobsCommand::Show { id } => {
            let id = JobRef::parse(&id)?;
            let admin = ctx.admin().await?;
            let job = admin.job_get(id.resolve(&admin).await?).await?;
            if ctx.json {
                return ctx.json_object(&job);
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
                    ctx.json_object(&serde_json::json!({"retried": retried}))?;
                } else {
                    println!("{retried} dead jobs made available again");
                }
                return Ok(());
            }
            let id = JobRef::parse(id.as_deref().unwrap_or_default())?;
            let admin = ctx.admin().await?;
            let job = admin.job_retry(id.resolve(&admin).await?).await?;
            done(ctx, &job, "will run again now")
        }
        JobsCommand::Cancel { id } => {
            let id = JobRef::parse(&id)?;
            let admin = ctx.admin().await?;
            let job = admin.job_cancel(id.resolve(&admin).await?).await?;
            done(ctx, &job, "cancelled")
        }
        JobsCommand::Delete { id } => {
            let id = JobRef::parse(&id)?;
            let admin = ctx.admin().await?;
            let id = id.resolve(&admin).await?;
            admin.job_delete(id).await?;
            if ctx.json {
                ctx.json_object(&serde_json::json!({"id": id, "deleted": true}))
            } else {
                println!("job {id} deleted");
                Ok(())
            }
        }
    }
}

fn done(ctx: &Ctx, job: &Job, what: &str) -> anyhow::Result<()> {
    if ctx.json {
        ctx.json_object(job)
    } else {
        println!("job {} {what} ({})", job.id, output::state(job.state));
        Ok(())
    }
}

fn print_job(j: &Job) {
    let opt = |t: Option<jiff::Timestamp>| t.map(output::ts).unwrap_or_else(|| "-".into());
    println!("id           {}", j.id);
    println!("kind         {}", j.kind);
    println!("queue        {}", j.queue);
    println!("state        {}", output::state(j.state));
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

/// A job id as typed: a whole id, or a prefix or suffix of its 32 hex digits (dashes ignored).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobRef {
    /// A whole id.
    Id(JobId),
    /// At least [`JobRef::MIN_DIGITS`] lower-case hex digits, without dashes.
    Part(String),
}

impl JobRef {
    /// The fewest hex digits a prefix or suffix may have.
    pub const MIN_DIGITS: usize = 4;

    /// Candidates shown when a part matches several jobs.
    const SHOWN: usize = 5;

    /// The newest jobs a suffix is looked for among (a suffix has no index).
    const SUFFIX_SCAN: u32 = 100_000;
    /// Jobs read per page when looking for a suffix.
    const PAGE: u32 = 10_000;

    /// Checks what the user typed, before any store is opened.
    pub fn parse(s: &str) -> Result<JobRef, Error> {
        if let Ok(id) = JobId::parse(s) {
            return Ok(JobRef::Id(id));
        }
        let hex: String = s.trim().chars().filter(|c| *c != '-').collect();
        let hex = hex.to_ascii_lowercase();
        if hex.len() >= Self::MIN_DIGITS
            && hex.len() < 32
            && hex.chars().all(|c| c.is_ascii_hexdigit())
        {
            return Ok(JobRef::Part(hex));
        }
        Err(Error::invalid(
            "job id",
            format!(
                "{s:?} is not a job id: expected a UUID such as \
                 0190b6c8-8f3a-7c2e-9d1b-3f4a5b6c7d8e, or a unique prefix or suffix of one \
                 (at least {} hex digits, e.g. the {} that tables show)",
                Self::MIN_DIGITS,
                output::SHORT_ID_LEN
            ),
        ))
    }

    /// The job id meant: the whole id as is; a part is looked up as a prefix first (one read
    /// of the id range it covers), then as a suffix (a read of the whole job list, page by page).
    /// No match is `NotFound`, several are `InvalidInput` listing them.
    pub async fn resolve(&self, admin: &Admin) -> Result<JobId, Error> {
        let part = match self {
            JobRef::Id(id) => return Ok(*id),
            JobRef::Part(p) => p,
        };
        let hex = |id: &JobId| id.to_string().replace('-', "");
        // Newest first from just above the range `part` covers: the matches come first.
        let top = u128::from_str_radix(&format!("{part:f<32}"), 16).unwrap_or(u128::MAX);
        let before = top
            .checked_add(1)
            .map(|n| JobId::parse(&format!("{n:032x}")))
            .transpose()?;
        let near = admin
            .job_list(JobFilter {
                before,
                limit: Self::SHOWN as u32 + 1,
                ..JobFilter::default()
            })
            .await?;
        let mut found: Vec<JobId> = near
            .iter()
            .map(|j| j.id)
            .take_while(|id| hex(id).starts_with(part.as_str()))
            .collect();
        let mut more = found.len() > Self::SHOWN;
        let mut capped = false;
        if found.is_empty() {
            // A suffix has no index: read the newest jobs only, so a short id on a store of
            // millions costs a bounded number of pages (the ids tables show are recent).
            let mut before = None;
            let mut read = 0u32;
            loop {
                let page = admin
                    .job_list(JobFilter {
                        before,
                        limit: Self::PAGE,
                        ..JobFilter::default()
                    })
                    .await?;
                found.extend(
                    page.iter()
                        .map(|j| j.id)
                        .filter(|id| hex(id).ends_with(part.as_str())),
                );
                read += page.len() as u32;
                match page.last() {
                    Some(_) if read >= Self::SUFFIX_SCAN => {
                        capped = true;
                        break;
                    }
                    Some(last) if page.len() == Self::PAGE as usize => before = Some(last.id),
                    _ => break,
                }
            }
            more = found.len() > Self::SHOWN;
        }
        match found.as_slice() {
            [id] => Ok(*id),
            [] => Err(Error::not_found(
                "job id",
                format!(
                    "no job id starts or ends with {part}{}: expected a prefix or suffix of an \
                     existing job's id (see `anp jobs list`; it may have been pruned)",
                    if capped {
                        format!(
                            " among the newest {} jobs (give the whole id for an older one)",
                            Self::SUFFIX_SCAN
                        )
                    } else {
                        String::new()
                    }
                ),
            )),
            many => {
                let shown: Vec<String> = many
                    .iter()
                    .take(Self::SHOWN)
                    .map(|id| id.to_string())
                    .collect();
                Err(Error::invalid(
                    "job id",
                    format!(
                        "{part} matches {} jobs: {}{}: expected more digits to tell them apart",
                        if more {
                            format!("more than {}", Self::SHOWN)
                        } else {
                            many.len().to_string()
                        },
                        shown.join(", "),
                        if more { ", …" } else { "" }
                    ),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_refs_are_whole_ids_or_hex_parts() {
        let id = "0192f0c1-8f3a-7c2e-9d1b-3f4a5b6c7d8e";
        assert!(matches!(JobRef::parse(id), Ok(JobRef::Id(_))));
        assert_eq!(
            JobRef::parse("3F4A-5b6c7d8e").ok(),
            Some(JobRef::Part("3f4a5b6c7d8e".into()))
        );
        for bad in ["nope", "abc", "", "0192f0c1-8f3a-7c2e-9d1b-3f4a5b6c7d8e0"] {
            let e = JobRef::parse(bad)
                .err()
                .unwrap_or_else(|| panic!("{bad:?} accepted"));
            assert!(e.message().contains("is not a job id"), "{e}");
        }
    }
}
