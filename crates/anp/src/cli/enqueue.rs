//! `anp enqueue KIND [ARGS_JSON]`.

use std::path::PathBuf;

use alphanode::{Admin, Args, Client, EnqueueOptions, Kind};
use clap::Args as ClapArgs;

use super::Ctx;
use crate::config::Config;
use crate::output;
use crate::wire::{EnqueueRequest, Spelling};

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

/// The config every command finds (`ANP_CONFIG`, else `./anp.toml`) and the `max_attempts`
/// it declares for `kind` (`None`: the kind is not declared there); `None` without a config.
fn declared_attempts(kind: &Kind) -> Option<(PathBuf, Option<u32>)> {
    let path = crate::config::discovered_path()?;
    match Config::load(&path) {
        Ok(c) => {
            let attempts = c.jobs.get(kind).map(|j| j.retry.max_attempts);
            Some((path, attempts))
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the config; enqueueing with the defaults");
            Some((path, None))
        }
    }
}

/// A job no worker will run sits until one does: say so (it is still enqueued). With a
/// config, `anp work` runs only the kinds it declares; without one, only a live worker (a Rust
/// service, or `anp work` elsewhere) may know the kind.
async fn warn_undeclared(admin: &Admin, kind: &Kind, config: Option<PathBuf>) {
    match config {
        Some(path) => eprintln!(
            "anp: warning: kind {kind} is not declared in {}: `anp work` with that config will not \
             run it (a Rust worker that registers {kind} will)",
            path.display()
        ),
        None => {
            let live = admin
                .process_list()
                .await
                .map(|p| p.iter().any(|p| p.role == "worker"))
                .unwrap_or(true);
            if !live {
                eprintln!(
                    "anp: warning: no anp.toml declares kind {kind} and no worker is running: the \
                     job waits until a worker that handles {kind} starts"
                );
            }
        }
    }
}

/// Runs `anp enqueue`.
pub async fn run(ctx: &Ctx, a: EnqueueArgs) -> anyhow::Result<()> {
    let (kind, args, mut opts) = options(&a)?;
    let backend = ctx.open(None).await?;
    let declared = declared_attempts(&kind);
    if opts.max_attempts.is_none() {
        opts.max_attempts = declared.as_ref().and_then(|(_, m)| *m);
    }
    if declared.as_ref().is_none_or(|(_, m)| m.is_none()) {
        warn_undeclared(
            &Admin::new(backend.clone()),
            &kind,
            declared.map(|(p, _)| p),
        )
        .await;
    }
    let client = Client::new(backend);
    // Validate fully before the store sees anything.
    let job = client.new_raw_job(kind, args, opts)?;
    let res = client
        .insert_many(vec![job])
        .await?
        .pop()
        .ok_or_else(|| anyhow::anyhow!("the store returned no result"))?;
    if ctx.json {
        output::json(&res)?;
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
