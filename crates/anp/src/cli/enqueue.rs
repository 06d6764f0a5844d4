//! `anp enqueue KIND [ARGS_JSON]`.

use alphanode::{Args, Client, EnqueueOptions, Kind};
use clap::Args as ClapArgs;

use super::Ctx;
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
    /// Attempts before the job goes dead.
    #[arg(long, default_value_t = 25)]
    pub max_attempts: u32,
}

/// Everything that can be checked before touching the store: the same checks as a job sent
/// to `POST /api/jobs` ([`EnqueueRequest::parse`]), errors naming the flags.
pub fn options(a: &EnqueueArgs) -> Result<(Kind, Args, EnqueueOptions), alphanode::Error> {
    EnqueueRequest {
        kind: a.kind.clone(),
        args: a.args.clone(),
        queue: Some(a.queue.clone()),
        priority: Some(a.priority),
        max_attempts: Some(a.max_attempts),
        unique: a.unique.clone(),
        unique_for: a.unique_for.clone(),
        run_at: a.at.clone(),
        run_in: a.run_in.clone(),
    }
    .parse(Spelling::FLAGS)
}

/// Runs `anp enqueue`.
pub async fn run(ctx: &Ctx, a: EnqueueArgs) -> anyhow::Result<()> {
    let (kind, args, opts) = options(&a)?;
    let client = Client::new(ctx.open(None).await?);
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
