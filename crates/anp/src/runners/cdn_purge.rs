//! The built-in `anp.cdn_purge` jobs: one CDN purge (one `[[cdn]]` target, by tag, prefix or
//! URL), enqueued by `anp cache purge` and `anp deploy mark --purge-…` on queue `anp-cdn`, run
//! by `anp work` whenever its config declares `[[cdn]]` targets.
//!
//! | purge | outcome |
//! |---|---|
//! | done (after in-process retries of 429/5xx/connection errors) | completed |
//! | still failing transiently, or a `Retry-After` beyond a minute | retry (after the `Retry-After`, else this kind's backoff) |
//! | refused (bad token, unknown zone, ACL, bad values), target not in the config | failed permanently: the job goes dead with the reason |
//!
//! A purge is idempotent, so a retried job (or a job run twice after a lost lease) is harmless.

use std::collections::BTreeMap;
use std::sync::Arc;

use alphanode::handler::HandlerFuture;
use alphanode::{
    Client, EnqueueOptions, Enqueued, Error, JobContext, Kind, Outcome, QueueName, RawHandler,
    RetryPolicy,
};
use anp_http::{CdnTarget, PurgeBy, PurgeClient, PurgeError, PurgeReport, PurgeRequest};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The job kind.
pub const KIND: &str = "anp.cdn_purge";
/// The queue its jobs go to, served by `anp work` when `[[cdn]]` targets are configured.
pub const QUEUE: &str = "anp-cdn";
/// Concurrency of that queue in `anp work`: purges are few and rate-limited by the CDNs.
pub const CONCURRENCY: usize = 2;

/// A purge job's args (`{target, by, values, requested_by, requested_at}`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CdnPurgeArgs {
    /// The `[[cdn]]` name.
    pub target: String,
    /// `tag`, `prefix` or `url`.
    pub by: PurgeBy,
    /// What to purge.
    pub values: Vec<String>,
    /// Who asked (`--by`, default `$USER@hostname`).
    pub requested_by: String,
    /// When.
    pub requested_at: Timestamp,
}

/// The retries of the job (beyond the in-process ones of [`PurgeClient`]): a minute, then
/// growing with the cube of the attempt, at most an hour apart, 12 attempts (about a day).
pub fn retry_policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 12,
        base_secs: 60.0,
        exponent: 3.0,
        max_delay_secs: 3600.0,
        jitter: 0.2,
    }
}

/// Runs one purge: the same code for a job and for `--now`, logged with who asked.
pub async fn run(
    client: &PurgeClient,
    target: &CdnTarget,
    args: &CdnPurgeArgs,
) -> Result<PurgeReport, PurgeError> {
    let req = PurgeRequest::new(args.by, args.values.clone())?;
    let r = client.purge(target, &req).await;
    match &r {
        Ok(rep) => tracing::info!(
            target = %args.target,
            by = %args.by,
            values = %args.values.join(" "),
            requested_by = %args.requested_by,
            requested_at = %args.requested_at,
            requests = rep.requests,
            retries = rep.retries,
            paced_ms = rep.paced_ms,
            "cdn purge done"
        ),
        Err(e) => tracing::warn!(
            target = %args.target,
            by = %args.by,
            values = %args.values.join(" "),
            requested_by = %args.requested_by,
            error = %e,
            "cdn purge failed"
        ),
    }
    r
}

/// Enqueues one job per target; returns (target, job) in order.
pub async fn enqueue(
    client: &Client,
    targets: &[CdnTarget],
    by: PurgeBy,
    values: &[String],
    requested_by: &str,
) -> Result<Vec<(String, Enqueued)>, Error> {
    let kind = Kind::parse(KIND)?;
    let queue = QueueName::parse(QUEUE)?;
    let now = Timestamp::now();
    let mut jobs = Vec::new();
    for t in targets {
        let args = CdnPurgeArgs {
            target: t.name().to_owned(),
            by,
            values: values.to_vec(),
            requested_by: requested_by.to_owned(),
            requested_at: now,
        };
        let e = client
            .enqueue_raw(
                kind.clone(),
                alphanode::Args::from_serialize(&args)?,
                EnqueueOptions {
                    queue: Some(queue.clone()),
                    max_attempts: Some(retry_policy().max_attempts),
                    ..EnqueueOptions::default()
                },
            )
            .await?;
        jobs.push((t.name().to_owned(), e));
    }
    Ok(jobs)
}

/// The handler `anp work` registers for [`KIND`].
#[derive(Debug, Clone)]
pub struct CdnPurgeHandler {
    client: PurgeClient,
    targets: Arc<BTreeMap<String, CdnTarget>>,
}

impl CdnPurgeHandler {
    /// For the config's targets.
    pub fn new(client: PurgeClient, targets: &[CdnTarget]) -> CdnPurgeHandler {
        CdnPurgeHandler {
            client,
            targets: Arc::new(
                targets
                    .iter()
                    .map(|t| (t.name().to_owned(), t.clone()))
                    .collect(),
            ),
        }
    }

    async fn call_inner(self, ctx: JobContext) -> Result<Outcome, String> {
        let args: CdnPurgeArgs = match serde_json::from_str(ctx.job().args.as_json()) {
            Ok(a) => a,
            Err(e) => {
                return Ok(Outcome::fail(format!(
                    "args are not a CDN purge ({e}): expected {{target, by, values, \
                     requested_by, requested_at}}"
                )))
            }
        };
        let Some(target) = self.targets.get(&args.target) else {
            let known: Vec<&str> = self.targets.keys().map(String::as_str).collect();
            return Ok(Outcome::fail(format!(
                "cdn target {:?} is not in this worker's config: expected one of {}",
                args.target,
                known.join(", ")
            )));
        };
        let done = tokio::select! {
            r = run(&self.client, target, &args) => r,
            _ = ctx.cancelled() => return Err("stopped: worker shutting down or lease lost".to_owned()),
        };
        Ok(match done {
            Ok(_) => Outcome::Complete,
            Err(e) if e.retry_safe() => Outcome::Retry {
                after: e.retry_after(),
                reason: e.to_string(),
            },
            Err(e) => Outcome::fail(e.to_string()),
        })
    }
}

impl RawHandler for CdnPurgeHandler {
    fn call(&self, ctx: JobContext) -> HandlerFuture {
        let this = self.clone();
        Box::pin(async move { this.call_inner(ctx).await })
    }

    fn retry_policy(&self) -> RetryPolicy {
        retry_policy()
    }
}

/// What became of one target's purge (`cdn` in `anp cache purge --json`).
#[derive(Debug, Clone, Serialize)]
pub struct CdnOutcome {
    /// The `[[cdn]]` name.
    pub target: String,
    /// `varnish` or `cloudflare`.
    pub kind: &'static str,
    /// What happened.
    #[serde(flatten)]
    pub result: CdnResult,
}

/// Enqueued as a job, purged now, or failed now.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum CdnResult {
    /// A job for `anp work` (queue `anp-cdn`).
    Enqueued {
        /// The job's id.
        job: String,
        /// Its queue.
        queue: &'static str,
    },
    /// Purged in this process (`--now`).
    Purged {
        /// Requests sent (one per batch).
        requests: u32,
        /// Attempts retried.
        retries: u32,
        /// Milliseconds waited for the plan's purge rate limit (Cloudflare).
        paced_ms: u64,
        /// What the target answered.
        answers: Vec<String>,
    },
    /// Failed in this process (`--now`), after the in-process retries.
    Failed {
        /// What failed, what was expected, whether retrying is safe.
        error: String,
        /// Whether running the same purge again may succeed.
        retry_safe: bool,
    },
}

/// How a fan-out runs the purges.
#[derive(Debug)]
pub enum FanOut<'a> {
    /// One `anp.cdn_purge` job per target, in this store, for `anp work`.
    Jobs(&'a alphanode::Backend),
    /// In this process, now, one target after another.
    Now,
}

/// Purges `req` at every target, as `how` says.
pub async fn fan_out(
    how: FanOut<'_>,
    targets: &[CdnTarget],
    req: &PurgeRequest,
    requested_by: &str,
) -> anyhow::Result<Vec<CdnOutcome>> {
    if let FanOut::Jobs(store) = how {
        let jobs = enqueue(
            &Client::new(store.clone()),
            targets,
            req.by(),
            req.values(),
            requested_by,
        )
        .await?;
        return Ok(targets
            .iter()
            .zip(jobs)
            .map(|(t, (_, e))| CdnOutcome {
                target: t.name().to_owned(),
                kind: t.kind(),
                result: CdnResult::Enqueued {
                    job: e.id.to_string(),
                    queue: QUEUE,
                },
            })
            .collect());
    }
    let client = PurgeClient::new(anp_http::PurgeRetry::default())?;
    let mut out = Vec::new();
    for t in targets {
        let args = CdnPurgeArgs {
            target: t.name().to_owned(),
            by: req.by(),
            values: req.values().to_vec(),
            requested_by: requested_by.to_owned(),
            requested_at: Timestamp::now(),
        };
        let result = match run(&client, t, &args).await {
            Ok(r) => CdnResult::Purged {
                requests: r.requests,
                retries: r.retries,
                paced_ms: r.paced_ms,
                answers: r.answers,
            },
            Err(e) => CdnResult::Failed {
                error: e.to_string(),
                retry_safe: e.retry_safe(),
            },
        };
        out.push(CdnOutcome {
            target: t.name().to_owned(),
            kind: t.kind(),
            result,
        });
    }
    Ok(out)
}

/// The outcomes for people, one line per target.
pub fn describe(req: &PurgeRequest, outcomes: &[CdnOutcome]) -> String {
    let what = format!("{} {}", req.by(), req.values().join(" "));
    let mut s = String::new();
    for o in outcomes {
        let line = match &o.result {
            CdnResult::Enqueued { job, queue } => format!(
                "cdn {} ({}): purge of {what} enqueued as job {job} on queue {queue} (run by \
                 `anp work`; retried until it succeeds)",
                o.target, o.kind
            ),
            CdnResult::Purged {
                requests,
                retries,
                paced_ms,
                answers,
            } => format!(
                "cdn {} ({}): purged {what} in {requests} request{}{}{}{}",
                o.target,
                o.kind,
                if *requests == 1 { "" } else { "s" },
                match retries {
                    0 => String::new(),
                    1 => " after 1 retry".to_owned(),
                    n => format!(" after {n} retries"),
                },
                match paced_ms {
                    0 => String::new(),
                    ms => format!(
                        ", {:.1} s spent waiting for the plan's purge rate limit",
                        *ms as f64 / 1000.0
                    ),
                },
                if answers.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", answers.join("; "))
                }
            ),
            CdnResult::Failed { error, .. } => {
                format!("cdn {} ({}): FAILED: {error}", o.target, o.kind)
            }
        };
        s.push_str(&line);
        s.push('\n');
    }
    s
}

/// When some target failed: the error to exit with (code 3 when every failure may pass on a
/// retry, else 2: a token, zone, ACL or value to fix first).
pub fn failure(outcomes: &[CdnOutcome]) -> Option<crate::output::Reported> {
    let failed: Vec<(&str, bool)> = outcomes
        .iter()
        .filter_map(|o| match &o.result {
            CdnResult::Failed { retry_safe, .. } => Some((o.target.as_str(), *retry_safe)),
            _ => None,
        })
        .collect();
    if failed.is_empty() {
        return None;
    }
    let all_retry_safe = failed.iter().all(|(_, r)| *r);
    let names: Vec<&str> = failed.iter().map(|(n, _)| *n).collect();
    Some(crate::output::Reported {
        code: if all_retry_safe { 3 } else { 2 },
        message: format!(
            "cdn purge failed at {} of {} targets ({}): expected every target to purge (see \
             above); {}",
            failed.len(),
            outcomes.len(),
            names.join(", "),
            if all_retry_safe {
                "retry safe (a purge is idempotent)"
            } else {
                "not retried"
            }
        ),
    })
}

/// `$USER@hostname`, for `--by`'s default.
pub fn default_requester() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".to_owned());
    let host = nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "localhost".to_owned());
    format!("{user}@{host}")
}
