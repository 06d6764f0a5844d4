//! `anp enqueue KIND [ARGS_JSON]`.

use std::collections::BTreeSet;

use alphanode::{Admin, Args, Client, EnqueueOptions, Kind, QueueName};
use clap::Args as ClapArgs;

use super::Ctx;
use crate::config::ConfigFile;
use crate::wire::{EnqueueRequest, KindLimits, Spelling};

/// Options of `anp enqueue`.
#[derive(ClapArgs, Debug)]
pub struct EnqueueArgs {
    /// Job kind (handler name), e.g. email.send.
    pub kind: String,
    /// Arguments as JSON; default `{}`.
    pub args: Option<String>,
    /// Queue.
    #[arg(long, short, default_value = "default")]
    pub queue: String,
    /// Unique key: while a job with this key is unfinished in the queue, return it instead.
    #[arg(long)]
    pub unique: Option<String>,
    /// With --unique: also treat finished jobs created within this period as duplicates.
    #[arg(long, requires = "unique", value_name = "DURATION")]
    pub unique_for: Option<String>,
    /// Run after this delay (30s, 5m, 1h30m, 2d).
    #[arg(long = "in", value_name = "DURATION", conflicts_with = "at")]
    pub run_in: Option<String>,
    /// Run at this instant (RFC 3339, e.g. 2026-11-25T18:00:00Z).
    #[arg(long, value_name = "RFC3339")]
    pub at: Option<String>,
    /// Priority 0 (runs first) to 9 (runs last).
    #[arg(long, default_value_t = 5)]
    pub priority: u8,
    /// Attempts before the job goes dead [default: the kind's `max_attempts` in anp.toml, else
    /// 25].
    #[arg(long)]
    pub max_attempts: Option<u32>,
}

/// Everything that can be checked before touching the store: the same checks as a job sent
/// to `POST /api/jobs` ([`EnqueueRequest::parse`]), errors naming the flags.
pub fn options(a: &EnqueueArgs) -> Result<(Kind, Args, EnqueueOptions), alphanode::Error> {
    EnqueueRequest {
        kind: a.kind.clone(),
        args: a.args.clone(),
        queue: Some(a.queue.clone()),
        priority: Some(a.priority),
        max_attempts: a.max_attempts,
        unique: a.unique.clone(),
        unique_for: a.unique_for.clone(),
        run_at: a.at.clone(),
        run_in: a.run_in.clone(),
    }
    .parse(Spelling::FLAGS)
}

/// A job no worker will run sits until one does: say so (it is still enqueued) for each kind
/// and queue of `jobs` whose kind the config does not declare (`anp work` with it runs exactly
/// its `[[job]]` kinds) and no live worker serves on that queue (a Rust service, or `anp work`
/// elsewhere, registers its kinds and queues). Live workers are read only when the config
/// leaves a kind undeclared; when they cannot be read, nothing is said (nothing is known).
pub async fn warn_undeclared<'a>(
    admin: &Admin,
    limits: &KindLimits,
    jobs: impl IntoIterator<Item = (&'a Kind, &'a QueueName)>,
) {
    let undeclared: BTreeSet<(&Kind, &QueueName)> = jobs
        .into_iter()
        .filter(|(k, _)| !limits.declares(k))
        .collect();
    if undeclared.is_empty() {
        return;
    }
    let live = match admin.process_list().await {
        Ok(list) => list,
        Err(e) => {
            tracing::debug!(error = %e, "cannot list live workers; not warning about kinds");
            return;
        }
    };
    for (kind, queue) in undeclared {
        let declaring: Vec<_> = live.iter().filter(|p| p.kinds.contains(kind)).collect();
        if declaring.iter().any(|p| p.queues.contains(queue)) {
            continue;
        }
        let config = match &limits.path {
            Some(path) => format!(
                "kind {kind} is not declared in {} (so `anp work` with it will not run it)",
                path.display()
            ),
            None => format!("no anp.toml declares kind {kind}"),
        };
        let elsewhere: BTreeSet<&str> = declaring
            .iter()
            .flat_map(|p| p.queues.iter().map(|q| q.as_str()))
            .collect();
        let live = if elsewhere.is_empty() {
            "no live worker serves it".to_owned()
        } else {
            format!(
                "the live workers that serve it do not serve queue {queue} (they serve {})",
                elsewhere.into_iter().collect::<Vec<_>>().join(", ")
            )
        };
        eprintln!(
            "anp: warning: {config} and {live}: the job waits until a worker that serves \
             {kind} on queue {queue} starts (`anp workers` lists the queues and kinds live \
             workers serve)"
        );
    }
}

/// Runs `anp enqueue`.
pub async fn run(ctx: &Ctx, a: EnqueueArgs) -> anyhow::Result<()> {
    let (kind, args, opts) = options(&a)?;
    // The config is read once, for its store and its kinds' limits.
    let config = ConfigFile::discover();
    let backend = ctx.open(config.as_ref()).await?;
    let limits = config.as_ref().map(KindLimits::load).unwrap_or_default();
    let client = Client::new(backend.clone());
    // Validate fully before the store sees anything.
    let job = limits.job(&client, kind, args, opts)?;
    warn_undeclared(&Admin::new(backend), &limits, [(&job.kind, &job.queue)]).await;
    let res = client
        .insert_many(vec![job])
        .await?
        .pop()
        .ok_or_else(|| anyhow::anyhow!("the store returned no result"))?;
    if ctx.json {
        ctx.json_object(&res)?;
    } else {
        println!("{}", res.id);
        if res.duplicate {
            eprintln!(
                "anp: duplicate: a job with unique key {:?} already exists ({}); nothing added",
                a.unique.unwrap_or_default(),
                res.state
            );
        }
    }
    Ok(())
}
