//! `anp work`: run the command and HTTP job kinds declared in `anp.toml`, and the built-in
//! CDN purges (`anp.cdn_purge` on queue `anp-cdn`) when it declares `[[cdn]]` targets.

use std::time::Duration;

use alphanode::maintenance::{pruner::Retention, MaintenanceOptions};
use std::collections::BTreeMap;

use alphanode::admin::JobFilter;
use alphanode::{Admin, Error, JobState, Kind, QueueName, QueueOptions, Worker, WorkerOptions};
use clap::Args as ClapArgs;
use tokio_util::sync::CancellationToken;

use super::Ctx;
use crate::runners::{self, cdn_purge};

/// Options of `anp work`.
#[derive(ClapArgs, Debug)]
pub struct WorkArgs {
    #[command(flatten)]
    pub config: super::ConfigArg,
    /// Exit once the served queues hold no scheduled, available, running or retryable job.
    #[arg(long)]
    pub exit_when_drained: bool,
    /// Run no maintenance services (rescuer, promoter, pruner) in this process.
    #[arg(long)]
    pub no_maintenance: bool,
    /// Don't fire the config's [[schedule]]s in this process (run `anp scheduler` elsewhere).
    #[arg(long)]
    pub no_scheduler: bool,
    /// Threads of the worker's async runtime. 1 (the default) runs fetching, acks, timers and
    /// every job's await on one thread: the least CPU per job, because a job's own work runs in
    /// its command's process or behind its URL, not here (with 2, `anp work` spent ~40 % more
    /// CPU per job on handing work between threads; BENCHMARKS.md). More threads help only
    /// when many HTTPS jobs start at once (TLS handshakes cost CPU here).
    #[arg(
        long,
        env = "ANP_WORK_THREADS",
        default_value_t = 1,
        value_parser = clap::value_parser!(u16).range(1..=256),
        value_name = "N"
    )]
    pub threads: u16,
}

/// Runs `anp work`.
pub async fn run(ctx: &Ctx, a: WorkArgs) -> anyhow::Result<()> {
    let file = a.config.file();
    let config = file.load()?;
    let store = ctx.open(Some(&file)).await?;
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
    let mut queues: Vec<QueueName> = if config.queues.is_empty() {
        if !config.jobs.is_empty() {
            builder = builder.queue(QueueName::DEFAULT, 10);
        }
        if config.jobs.is_empty() {
            Vec::new()
        } else {
            vec![QueueName::default_queue()]
        }
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
    if config.jobs.is_empty() && config.cdn.is_empty() {
        return Err(Error::invalid(
            "config",
            format!(
                "{}: no [[job]] declared: expected at least one job kind with a `command` or \
                 `url` (or a [[cdn]] target, whose purges `anp work` runs)",
                config.path.display()
            ),
        )
        .into());
    }
    let http = reqwest::Client::builder()
        .user_agent(concat!("alphanode/", env!("CARGO_PKG_VERSION")))
        .build()?;
    let mut kinds: Vec<Kind> = config.jobs.keys().cloned().collect();
    for (kind, section) in &config.jobs {
        builder = builder.register_raw(kind.clone(), runners::handler(section, &http));
    }
    if !config.cdn.is_empty() {
        // The built-in CDN purges: their own queue (unless the config declares it, with its
        // own concurrency), so a backlog of application jobs never delays a purge.
        let kind = Kind::parse(cdn_purge::KIND)?;
        let queue = QueueName::parse(cdn_purge::QUEUE)?;
        if !queues.contains(&queue) {
            builder = builder.queue(cdn_purge::QUEUE, cdn_purge::CONCURRENCY);
            queues.push(queue);
        }
        let client = anp_http::PurgeClient::new(anp_http::PurgeRetry::default())?;
        builder = builder.register_raw(
            kind.clone(),
            std::sync::Arc::new(cdn_purge::CdnPurgeHandler::new(client, &config.cdn)),
        );
        kinds.push(kind);
    }
    let worker = builder.build()?;
    tracing::info!(
        worker = worker.id(),
        queues = %queues.iter().map(|q| q.as_str()).collect::<Vec<_>>().join(","),
        kinds = %kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(","),
        config = %config.path.display(),
        "worker starting: runs these kinds on these queues; jobs of other kinds are left for other workers"
    );
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
        tokio::spawn(exit_when_drained(Admin::new(&store), queues, kinds, token))
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

/// States of a job that is not finished.
const PENDING: [JobState; 4] = [
    JobState::Scheduled,
    JobState::Available,
    JobState::Running,
    JobState::Retryable,
];

/// Cancels `token` once the served queues hold no unfinished job of a kind this worker runs.
/// Jobs of other kinds do not keep it running (no handler here would ever finish them); they
/// are named when it stops.
async fn exit_when_drained(
    admin: Admin,
    queues: Vec<QueueName>,
    kinds: Vec<Kind>,
    token: CancellationToken,
) {
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        match pending_by_kind(&admin, &queues, &kinds).await {
            Ok(pending) if !pending.keys().any(|k| kinds.contains(k)) => {
                if pending.is_empty() {
                    tracing::info!("queues drained: shutting down");
                } else {
                    let left: Vec<String> =
                        pending.iter().map(|(k, n)| format!("{n} {k}")).collect();
                    tracing::warn!(
                        left = %left.join(", "),
                        "queues drained of the kinds this worker runs: shutting down; jobs of \
                         kinds no handler here runs are left in the queues"
                    );
                }
                token.cancel();
                return;
            }
            Ok(_) => {}
            Err(e) => tracing::debug!(error = %e, "drain check failed; retrying"),
        }
    }
}

/// Unfinished jobs of the served queues, counted by kind — cheap when the queues are empty (one
/// `queue_list`); otherwise the unfinished jobs are listed 1,000 at a time, stopping at the
/// first page that holds a kind of `ours` (then the counts are partial: not drained anyway).
async fn pending_by_kind(
    admin: &Admin,
    queues: &[QueueName],
    ours: &[Kind],
) -> alphanode::Result<BTreeMap<Kind, u64>> {
    let mut by_kind = BTreeMap::new();
    for q in admin.queue_list().await? {
        let n: u64 = PENDING
            .iter()
            .map(|s| q.counts.get(s).copied().unwrap_or(0))
            .sum();
        if n == 0 || !queues.contains(&q.queue) {
            continue;
        }
        let mut before = None;
        loop {
            let page = admin
                .job_list(JobFilter {
                    states: PENDING.to_vec(),
                    queue: Some(q.queue.clone()),
                    before,
                    limit: 1000,
                    ..JobFilter::default()
                })
                .await?;
            for j in &page {
                *by_kind.entry(j.kind.clone()).or_insert(0) += 1;
            }
            if by_kind.keys().any(|k| ours.contains(k)) {
                return Ok(by_kind);
            }
            match page.last() {
                Some(last) if page.len() == 1000 => before = Some(last.id),
                _ => break,
            }
        }
    }
    Ok(by_kind)
}
