//! `anp schedules list|show|trigger|pause|resume|delete` and `anp scheduler`.

use alphanode::scheduler::{Schedule, Scheduler, SchedulerOptions};
use alphanode::{Clock, Error, FireDecision, ScheduleName, SystemClock};
use anp_cron::format_rfc3339_offset;
use clap::{Args as ClapArgs, Subcommand};

use super::Ctx;
use crate::config::Config;
use crate::output;
use crate::wire::views::{next_run, ScheduleView};

/// `anp schedules …`.
#[derive(Subcommand, Debug)]
pub enum SchedulesCommand {
    /// Every schedule: cron, zone, next run (in the zone and UTC), last run and its result, owner.
    List(output::ListArgs),
    /// One schedule with all its fields and its fire log.
    Show {
        /// Schedule name.
        name: String,
        /// Fire-log entries to show.
        #[arg(long, default_value_t = 20)]
        log: u32,
    },
    /// Enqueue the schedule's job now (recorded in the fire log as triggered).
    Trigger {
        /// Schedule name.
        name: String,
    },
    /// Record the schedule's ticks as skipped until resumed.
    Pause {
        /// Schedule name.
        name: String,
    },
    /// Fire the schedule's ticks again (missed ones are not backfilled).
    Resume {
        /// Schedule name.
        name: String,
    },
    /// Forget a schedule no longer in any config (its fire log goes too).
    Delete {
        /// Schedule name.
        name: String,
    },
}

/// Options of `anp scheduler`.
#[derive(ClapArgs, Debug)]
pub struct SchedulerArgs {
    #[command(flatten)]
    pub config: super::ConfigArg,
}

/// Runs `anp schedules …`.
pub async fn run(ctx: &Ctx, c: SchedulesCommand) -> anyhow::Result<()> {
    let now = SystemClock.now();
    match c {
        SchedulesCommand::List(l) => {
            let list = ctx.admin().await?.schedule_list().await?;
            if ctx.json {
                let views: Vec<_> = list.iter().map(|i| ScheduleView::new(i, now)).collect();
                return output::json(&views);
            }
            let mut t = output::table(&[
                "name",
                "paused",
                "cron",
                "tz",
                "next run (zone)",
                "next run (UTC)",
                "last run",
                "result",
                "owner",
            ]);
            t.state_column(7).when_empty(
                "no schedules: declare [[schedule]] in anp.toml and run `anp scheduler` or `anp work`",
            );
            for i in &list {
                let next = next_run(i, now);
                t.add_row(vec![
                    i.def.name.to_string(),
                    if i.paused {
                        "yes".into()
                    } else {
                        String::new()
                    },
                    i.def.cron.clone(),
                    i.def.tz.clone(),
                    next.as_ref()
                        .map(format_rfc3339_offset)
                        .unwrap_or_else(|| "never".into()),
                    next.as_ref()
                        .map(|z| output::ts(z.timestamp()))
                        .unwrap_or_default(),
                    // `last_tick` also moves at registration and on skipped ticks: a schedule
                    // that never enqueued a job never ran (a restored one included).
                    match (i.last_job, i.last_tick) {
                        (Some(_), Some(t)) => output::age(t, now),
                        _ => "never".into(),
                    },
                    i.last_job_state
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| "-".into()),
                    i.def.owner.clone().unwrap_or_default(),
                ]);
            }
            t.print(l.quiet)
        }
        SchedulesCommand::Show { name, log } => {
            let name = ScheduleName::parse(&name)?;
            let detail = ctx.admin().await?.schedule_get(&name, log).await?;
            let (info, entries) = (detail.schedule, detail.fire_log);
            if ctx.json {
                return ctx.json_object(&ScheduleView::new(&info, now).with_fire_log(&entries));
            }
            let d = &info.def;
            let next = next_run(&info, now);
            println!(
                "name          {}{}",
                d.name,
                if info.paused { " (paused)" } else { "" }
            );
            println!("cron          {}  ({})", d.cron, d.tz);
            println!(
                "next run      {}  ({})",
                next.as_ref()
                    .map(format_rfc3339_offset)
                    .unwrap_or_else(|| "never".into()),
                next.as_ref()
                    .map(|z| output::ts(z.timestamp()))
                    .unwrap_or_default()
            );
            println!(
                "job           {} on queue {} args {}",
                d.kind,
                d.queue,
                d.args.as_json()
            );
            println!("owner         {}", d.owner.as_deref().unwrap_or("-"));
            println!("expected      {}", d.expected.as_deref().unwrap_or("-"));
            println!("rollback      {}", d.rollback.as_deref().unwrap_or("-"));
            println!(
                "catch-up      {}{}",
                d.catch_up.as_str(),
                if d.catch_up == alphanode::CatchUp::All {
                    format!(" (at most {})", d.catch_up_max)
                } else {
                    String::new()
                }
            );
            println!(
                "overlap       {}",
                if d.skip_if_running {
                    "skip a tick while the previous run is unfinished"
                } else {
                    "allowed"
                }
            );
            println!(
                "last tick     {}",
                info.last_tick.map(output::ts).unwrap_or_else(|| "-".into())
            );
            if entries.is_empty() {
                println!("fire log      empty");
            } else {
                let mut t = output::table(&[
                    "tick",
                    "decided",
                    "decision",
                    "job",
                    "job state",
                    "reason",
                    "by",
                ]);
                t.job_id_column(3).state_column(4);
                for e in &entries {
                    t.add_row(vec![
                        output::ts(e.tick),
                        output::ts(e.decided_at),
                        match e.decision {
                            FireDecision::Enqueued => "enqueued",
                            FireDecision::Skipped => "skipped",
                            FireDecision::Triggered => "triggered",
                        }
                        .to_owned(),
                        e.job_id.map(|j| j.to_string()).unwrap_or_default(),
                        e.job_state.map(|s| s.to_string()).unwrap_or_else(|| {
                            if e.job_id.is_some() {
                                "pruned".into()
                            } else {
                                String::new()
                            }
                        }),
                        e.reason.clone().unwrap_or_default(),
                        e.scheduler.clone(),
                    ]);
                }
                println!("{t}");
            }
            Ok(())
        }
        SchedulesCommand::Trigger { name } => {
            let name = ScheduleName::parse(&name)?;
            let by = format!("anp-cli-{}", std::process::id());
            let res = ctx.admin().await?.schedule_trigger(&name, &by).await?;
            if ctx.json {
                ctx.json_object(&res)
            } else {
                println!("{}", res.id);
                Ok(())
            }
        }
        SchedulesCommand::Pause { name } => set_paused(ctx, &name, true).await,
        SchedulesCommand::Resume { name } => set_paused(ctx, &name, false).await,
        SchedulesCommand::Delete { name } => {
            let name = ScheduleName::parse(&name)?;
            ctx.admin().await?.schedule_delete(&name).await?;
            if ctx.json {
                ctx.json_object(&serde_json::json!({"schedule": name, "deleted": true}))
            } else {
                println!("schedule {name} deleted");
                Ok(())
            }
        }
    }
}

async fn set_paused(ctx: &Ctx, name: &str, paused: bool) -> anyhow::Result<()> {
    let name = ScheduleName::parse(name)?;
    let admin = ctx.admin().await?;
    if paused {
        admin.schedule_pause(&name).await?;
    } else {
        admin.schedule_resume(&name).await?;
    }
    if ctx.json {
        ctx.json_object(&serde_json::json!({"schedule": name, "paused": paused}))
    } else {
        println!(
            "schedule {name} {}",
            if paused { "paused" } else { "resumed" }
        );
        Ok(())
    }
}

/// Builds the scheduler for a config, or `None` when it declares no schedules.
pub fn scheduler_for(
    config: &Config,
    backend: alphanode::Backend,
) -> Result<Option<Scheduler>, Error> {
    if config.schedules.is_empty() {
        return Ok(None);
    }
    let schedules: Vec<Schedule> = config.schedules.clone();
    Scheduler::new(backend, schedules, SchedulerOptions::default()).map(Some)
}

/// Runs `anp scheduler`: fires the config's schedules until SIGTERM/SIGINT.
pub async fn run_scheduler(ctx: &Ctx, a: SchedulerArgs) -> anyhow::Result<()> {
    // Listen for signals first, so a SIGTERM during start-up is a clean stop too.
    let token = tokio_util::sync::CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        alphanode::process::wait_for_signal().await;
        t.cancel();
    });
    let file = a.config.file();
    let config = file.load()?;
    let store = ctx.open(Some(&file)).await?;
    let Some(scheduler) = scheduler_for(&config, store)? else {
        return Err(Error::invalid(
            "config",
            format!(
                "{}: no [[schedule]] declared: expected at least one schedule for `anp scheduler`",
                config.path.display()
            ),
        )
        .into());
    };
    scheduler.run(token).await?;
    Ok(())
}
