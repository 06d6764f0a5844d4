//! `anp work`: run the command and HTTP job kinds declared in `anp.toml`.

use std::path::PathBuf;
use std::time::Duration;

use alphanode::maintenance::{pruner::Retention, MaintenanceOptions};
use alphanode::{Admin, Error, JobState, QueueName, QueueOptions, Worker, WorkerOptions};
use clap::Args as ClapArgs;
use tokio_util::sync::CancellationToken;

use super::Ctx;
use crate::config::Config;
use crate::runners;

/// Options of `anp work`.
#[derive(ClapArgs, Debug)]
pub struct WorkArgs {
    /// Config file declaring queues and job kinds.
    #[arg(long, short, default_value = "anp.toml", env = "ANP_CONFIG")]
    pub config: PathBuf,
    /// Exit once the served queues hold no scheduled, available, running or retryable job.
    #[arg(long)]
    pub exit_when_drained: bool,
    /// Run no maintenance services (rescuer, promoter, pruner) in this process.
    #[arg(long)]
    pub no_maintenance: bool,
    /// Don't fire the config's [[schedule]]s in this process (run `anp scheduler` elsewhere).
    #[arg(long)]
    pub no_scheduler: bool,
}

/// Runs `anp work`.
pub async fn run(ctx: &Ctx, a: WorkArgs) -> anyhow::Result<()> {
    let config = Config::load(&a.config)?;
    let store = ctx.open(config.store.as_deref()).await?;
    let w = &config.worker;
    let options = WorkerOptions {
        lease: w.lease,
        grace: w.grace,
        max_concurrency: w.max_concurrency,
        strict_order: w.strict_order,
        maintenance: (!a.no_maintenance).then(|| MaintenanceOptions {
            retention: Retention {
                finished_max_age: w.finished_max_age,
                finished_max_count: w.finished_max_count,
                dead_max_age: w.dead_max_age,
                dead_max_count: w.dead_max_count,
                ..Retention::default()
            },
            ..MaintenanceOptions::default()
        }),
        ..WorkerOptions::default()
    };
    let mut builder = Worker::builder(store.clone()).options(options);
    let queues: Vec<QueueName> = if config.queues.is_empty() {
        builder = builder.queue(QueueName::DEFAULT, 10);
        vec![QueueName::default_queue()]
    } else {
        for q in &config.queues {
            builder = builder.queue_with(QueueOptions {
                name: q.name.clone(),
                concurrency: q.concurrency,
                weight: q.weight,
            });
        }
        config.queues.iter().map(|q| q.name.clone()).collect()
    };
    if config.jobs.is_empty() {
        return Err(Error::invalid(
            "config",
            format!(
                "{}: no [[job]] declared: expected at least one job kind with a `command` or `url`",
                config.path.display()
            ),
        )
        .into());
    }
    let http = reqwest::Client::builder()
        .user_agent(concat!("alphanode/", env!("CARGO_PKG_VERSION")))
        .build()?;
    for (kind, section) in &config.jobs {
        builder = builder.register_raw(kind.clone(), runners::handler(section, &http));
    }
    let worker = builder.build()?;
    let scheduler = if a.no_scheduler {
        None
    } else {
        super::schedules::scheduler_for(&config, store.clone())?
    };
    let scheduler_task = scheduler.map(|s| {
        let token = worker.shutdown_token();
        tokio::spawn(async move {
            if let Err(e) = s.run(token).await {
                tracing::error!(error = %e, "scheduler stopped with an error");
            }
        })
    });
    let drained_watch = a.exit_when_drained.then(|| {
        let token = worker.shutdown_token();
        tokio::spawn(exit_when_drained(Admin::new(&store), queues, token))
    });
    let r = worker.run_until_signal().await;
    if let Some(h) = drained_watch {
        h.abort();
    }
    if let Some(h) = scheduler_task {
        let _ = h.await;
    }
    r?;
    Ok(())
}

async fn exit_when_drained(admin: Admin, queues: Vec<QueueName>, token: CancellationToken) {
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let Ok(list) = admin.queue_list().await else {
            continue;
        };
        let pending: u64 = list
            .iter()
            .filter(|q| queues.contains(&q.queue))
            .flat_map(|q| {
                [
                    JobState::Scheduled,
                    JobState::Available,
                    JobState::Running,
                    JobState::Retryable,
                ]
                .map(|s| q.counts.get(&s).copied().unwrap_or(0))
            })
            .sum();
        if pending == 0 {
            tracing::info!("queues drained: shutting down");
            token.cancel();
            return;
        }
    }
}
