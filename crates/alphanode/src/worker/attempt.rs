//! Running one attempt: the handler call with its panics caught, and the mapping of its
//! outcome (and the retry policy) to the acknowledgement the completer writes.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use anp_core::job::ts_add;
use anp_core::store::{AckOutcome, AckStats, JobAck, Lease};
use anp_core::{AttemptError, Job, Outcome};
use futures_util::FutureExt;
use tokio_util::sync::CancellationToken;

use super::unhandled::{Unhandled, SNOOZE};
use super::{Inner, WorkerEvent};
use crate::handler::JobContext;

/// Runs one attempt and turns its result into an acknowledgement.
pub(super) async fn run_attempt(
    inner: &Inner,
    job: Job,
    lease: Lease,
    cancel: CancellationToken,
) -> JobAck {
    let job = Arc::new(job);
    let id = job.id;
    let span = tracing::info_span!(
        "job", job.id = %job.id, job.kind = %job.kind, job.queue = %job.queue, job.attempt = job.attempt
    );
    let _ = inner.events.send(WorkerEvent::Started {
        id,
        attempt: job.attempt,
    });
    let handler = inner.handlers.get(&job.kind).cloned();
    let policy = handler
        .as_ref()
        .map(|h| h.retry_policy())
        .unwrap_or_default();
    // The job's own limit, capped by its kind's policy (a config can lower the attempts of
    // jobs enqueued elsewhere with the default). The handler sees the limit that applies.
    let max_attempts = job.max_attempts.min(policy.max_attempts.max(1));
    let job = if max_attempts < job.max_attempts {
        let mut capped = (*job).clone();
        capped.max_attempts = max_attempts;
        Arc::new(capped)
    } else {
        job
    };
    let result: std::result::Result<Outcome, String> = match handler {
        None => match inner.unhandled(&job.kind, &job.queue).await {
            Unhandled::Snooze { by } => {
                span.in_scope(|| {
                    tracing::info!(
                        serves = %inner.kinds_list(),
                        declared_by = %by.join(","),
                        snooze_s = SNOOZE.as_secs(),
                        "no handler for this kind here, but a live worker on this queue \
                         declares it: job put back (attempt not spent) for that worker; workers \
                         serving different kinds should use different queues"
                    )
                });
                Ok(Outcome::Snooze(SNOOZE))
            }
            Unhandled::Fail(message) => Err(message),
        },
        Some(h) => {
            let ctx = JobContext::new(job.clone(), cancel);
            match AssertUnwindSafe(h.call(ctx)).catch_unwind().await {
                Ok(r) => r,
                Err(panic) => Err(format!("handler panicked: {}", panic_message(&*panic))),
            }
        }
    };
    let now = inner.clock.now();
    let failed = |message: String, retry_safe: bool| AttemptError {
        attempt: job.attempt,
        at: now,
        message,
        retry_safe,
    };
    let retry = |after: Option<Duration>, message: String| {
        if job.attempt >= max_attempts {
            AckOutcome::Dead {
                error: failed(
                    format!(
                        "{message} (attempt {} of {max_attempts}: no attempts left)",
                        job.attempt
                    ),
                    true,
                ),
            }
        } else {
            let delay = after.unwrap_or_else(|| policy.delay(job.attempt));
            AckOutcome::Retry {
                at: ts_add(now, delay),
                error: failed(message, true),
            }
        }
    };
    let outcome = match result {
        Ok(Outcome::Complete) => AckOutcome::Complete,
        Ok(Outcome::Retry { after, reason }) => retry(after, reason),
        Ok(Outcome::Fail { reason }) => AckOutcome::Dead {
            error: failed(reason, false),
        },
        Ok(Outcome::Snooze(d)) => AckOutcome::Snooze { at: ts_add(now, d) },
        Ok(Outcome::Cancel { reason }) => AckOutcome::Cancel {
            error: failed(reason, false),
        },
        Err(message) => retry(None, message),
    };
    span.in_scope(|| match &outcome {
        AckOutcome::Complete => tracing::info!("job completed"),
        AckOutcome::Retry { at, error } => {
            tracing::warn!(error = %error.message, retry_at = %at, "job failed; will retry")
        }
        AckOutcome::Dead { error } => tracing::error!(error = %error.message, "job is dead"),
        AckOutcome::Snooze { at } => tracing::debug!(until = %at, "job snoozed"),
        AckOutcome::Cancel { error } => tracing::info!(reason = %error.message, "job cancelled"),
        AckOutcome::HandBack => {}
    });
    let fetched = job.attempted_at.unwrap_or(now);
    let stats = AckStats {
        kind: job.kind.clone(),
        wait: Duration::try_from(fetched.duration_since(job.run_at)).unwrap_or(Duration::ZERO),
        run: Duration::try_from(now.duration_since(fetched)).unwrap_or(Duration::ZERO),
    };
    JobAck {
        lease,
        outcome,
        stats: Some(stats),
    }
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}
