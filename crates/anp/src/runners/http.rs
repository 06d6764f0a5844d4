//! HTTP jobs: the args are POSTed as JSON.
//!
//! | response | outcome |
//! |---|---|
//! | 2xx | completed |
//! | 429, 5xx | retry; `Retry-After` (seconds or HTTP date) sets the delay, else backoff |
//! | other 4xx | failed permanently (not retry-safe) |
//! | connection error, timeout | failed attempt, retried with backoff |
//!
//! Headers `X-Anp-Job-Id`, `X-Anp-Job-Kind`, `X-Anp-Attempt` identify the attempt (the job id
//! makes a good idempotency key).

use std::collections::BTreeMap;
use std::time::Duration;

use alphanode::handler::HandlerFuture;
use alphanode::{JobContext, Outcome, RawHandler, RetryPolicy};
use anp_http::parse_retry_after;

use super::tail;

/// Runs a job as an HTTP POST.
#[derive(Debug, Clone)]
pub struct HttpHandler {
    /// Shared client (connection pool).
    pub client: reqwest::Client,
    /// Endpoint.
    pub url: String,
    /// Extra headers.
    pub headers: BTreeMap<String, String>,
    /// Request timeout.
    pub timeout: Duration,
    /// Retries.
    pub retry: RetryPolicy,
}

impl RawHandler for HttpHandler {
    fn call(&self, ctx: JobContext) -> HandlerFuture {
        let this = self.clone();
        Box::pin(async move { this.run(ctx).await })
    }

    fn retry_policy(&self) -> RetryPolicy {
        self.retry.clone()
    }
}

impl HttpHandler {
    async fn run(self, ctx: JobContext) -> Result<Outcome, String> {
        let job = ctx.job();
        let mut req = self
            .client
            .post(&self.url)
            .timeout(self.timeout)
            .header("content-type", "application/json")
            .header("x-anp-job-id", job.id.to_string())
            .header("x-anp-job-kind", job.kind.as_str())
            .header("x-anp-attempt", job.attempt.to_string())
            .body(job.args.as_json().to_owned());
        for (k, v) in &self.headers {
            req = req.header(k, v);
        }
        let resp = tokio::select! {
            r = req.send() => r,
            _ = ctx.cancelled() => return Err("stopped: worker shutting down or lease lost".to_owned()),
        };
        let resp = resp.map_err(|e| format!("POST {} failed: {e}", self.url))?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let body = resp.bytes().await.unwrap_or_default();
        let describe = || {
            format!(
                "POST {} returned {status}: {:?}",
                self.url,
                tail(&body, 1024)
            )
        };
        if status.is_success() {
            Ok(Outcome::Complete)
        } else if status.as_u16() == 429 || status.is_server_error() {
            Ok(Outcome::Retry {
                after: retry_after,
                reason: describe(),
            })
        } else if status.is_client_error() {
            Ok(Outcome::fail(describe()))
        } else {
            Err(describe())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("120"), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("soon"), None);
    }
}
