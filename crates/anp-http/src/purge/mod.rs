//! Purging what CDNs cached: Varnish (PURGE by `xkey` tag or URL, BAN by path prefix) and the
//! Cloudflare purge API (by tag, prefix or URL), batched, with bounded retries.
//!
//! A purge is idempotent: purging a tag, URL or prefix twice leaves the CDN as purging it once
//! does, so every failure that may be transient (a connection error, a timeout, 429, 5xx) is
//! retried, here with exponential backoff and jitter ([`PurgeRetry`]), and beyond that by the
//! job machinery (`anp cache purge` enqueues one job per target). docs/cdn-purge.md has the
//! requests each target receives and the limits they respect.
//!
//! # Layout
//! - `mod.rs`: what to purge ([`PurgeRequest`]), where ([`CdnTarget`]), the client
//!   ([`PurgeClient`]), its report and its error;
//! - `retry.rs`: [`PurgeRetry`], backoff with jitter and `Retry-After`;
//! - `varnish.rs`: [`Varnish`], the header names shared with the exported VCL;
//! - `cloudflare.rs`: [`Cloudflare`], the documented per-request limit;
//! - `pace.rs`: [`CloudflarePlan`] and the token buckets that keep purges under its rate
//!   limits.

mod cloudflare;
mod pace;
mod retry;
mod varnish;

use std::fmt;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

pub use cloudflare::{Cloudflare, CLOUDFLARE_API_BASE, CLOUDFLARE_MAX_PER_REQUEST};
pub use pace::{CloudflarePlan, PlanLimits};
pub use retry::{parse_retry_after, PurgeRetry};
pub use varnish::{Varnish, BAN_PATH_HEADER, VARNISH_MAX_TAGS_PER_REQUEST, XKEY_PURGE_HEADER};

use retry::Verdict;

/// What a purge selects: entries carrying a tag, URLs starting with a prefix, or single URLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PurgeBy {
    /// Cache tags (Varnish `xkey`, Cloudflare `Cache-Tag`).
    Tag,
    /// URL prefixes (`https://www.example.com/blog/`).
    Prefix,
    /// Single URLs (`https://www.example.com/about`).
    Url,
}

impl PurgeBy {
    /// `tag`, `prefix` or `url`.
    pub fn as_str(self) -> &'static str {
        match self {
            PurgeBy::Tag => "tag",
            PurgeBy::Prefix => "prefix",
            PurgeBy::Url => "url",
        }
    }
}

impl fmt::Display for PurgeBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The most bytes a tag may have (Cloudflare's documented limit for one cache tag).
pub const MAX_TAG_BYTES: usize = 1024;

/// A checked purge: one [`PurgeBy`] and its values (at least one, duplicates dropped).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PurgeRequest {
    by: PurgeBy,
    values: Vec<String>,
}

impl PurgeRequest {
    /// Checks `values` for `by`: a tag is 1–1024 bytes without whitespace, commas or control
    /// characters (Varnish separates tags by spaces, Cloudflare's `Cache-Tag` by commas); a URL
    /// or prefix is an absolute `http://` or `https://` URL with a host (a prefix without a
    /// query). Duplicates are dropped, the order is kept.
    pub fn new(by: PurgeBy, values: Vec<String>) -> Result<PurgeRequest, PurgeError> {
        if values.is_empty() {
            return Err(PurgeError::invalid(format!(
                "no {by} given: expected at least one"
            )));
        }
        let mut checked: Vec<String> = Vec::with_capacity(values.len());
        for v in values {
            match by {
                PurgeBy::Tag => check_tag(&v)?,
                PurgeBy::Url | PurgeBy::Prefix => {
                    let u = parse_url(by, &v)?;
                    if by == PurgeBy::Prefix && u.query().is_some() {
                        return Err(PurgeError::invalid(format!(
                            "prefix {v:?} has a query: expected a scheme, host and path prefix \
                             such as https://www.example.com/blog/"
                        )));
                    }
                }
            }
            if !checked.contains(&v) {
                checked.push(v);
            }
        }
        Ok(PurgeRequest {
            by,
            values: checked,
        })
    }

    /// What the values select.
    pub fn by(&self) -> PurgeBy {
        self.by
    }

    /// The values, checked.
    pub fn values(&self) -> &[String] {
        &self.values
    }
}

fn check_tag(t: &str) -> Result<(), PurgeError> {
    let bad = t.is_empty()
        || t.len() > MAX_TAG_BYTES
        || t.chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == ',');
    if bad {
        return Err(PurgeError::invalid(format!(
            "tag {t:?} is invalid: expected 1-{MAX_TAG_BYTES} bytes without whitespace, commas \
             or control characters"
        )));
    }
    Ok(())
}

/// Parses an absolute http(s) URL with a host.
fn parse_url(by: PurgeBy, v: &str) -> Result<reqwest::Url, PurgeError> {
    let bad = || {
        PurgeError::invalid(format!(
            "{by} {v:?} is not an absolute URL: expected http:// or https://, a host and a path, \
             e.g. https://www.example.com/blog/"
        ))
    };
    let u = reqwest::Url::parse(v).map_err(|_| bad())?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
        return Err(bad());
    }
    Ok(u)
}

/// The key prefix, in the HTTP cache's namespace (`http`), shared by the stored responses
/// of every URL starting with the URL `prefix`: `GET|<host>|<path>`, the start of the cache
/// key the rules compute (host lowercased without port; `%` and `|` escaped as the key
/// escapes them).
pub fn store_key_prefix(prefix: &str) -> Result<String, PurgeError> {
    let u = parse_url(PurgeBy::Prefix, prefix)?;
    if u.query().is_some() {
        return Err(PurgeError::invalid(format!(
            "prefix {prefix:?} has a query: expected a scheme, host and path prefix such as \
             https://www.example.com/blog/"
        )));
    }
    let esc = |s: &str| s.replace('%', "%25").replace('|', "%7C");
    Ok(format!(
        "GET|{}|{}",
        esc(u.host_str().unwrap_or_default()),
        esc(u.path())
    ))
}

/// A configured CDN (an `[[cdn]]` of `anp.toml`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CdnTarget {
    /// A Varnish running the exported VCL.
    Varnish(Varnish),
    /// A Cloudflare zone.
    Cloudflare(Cloudflare),
}

impl CdnTarget {
    /// Its name (`varnish-eu`).
    pub fn name(&self) -> &str {
        match self {
            CdnTarget::Varnish(v) => v.name(),
            CdnTarget::Cloudflare(c) => c.name(),
        }
    }

    /// `varnish` or `cloudflare`.
    pub fn kind(&self) -> &'static str {
        match self {
            CdnTarget::Varnish(_) => "varnish",
            CdnTarget::Cloudflare(_) => "cloudflare",
        }
    }
}

/// What one purge did at one target (printed by `anp cache purge`, kept with its job).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PurgeReport {
    /// The target's name.
    pub target: String,
    /// `varnish` or `cloudflare`.
    pub kind: &'static str,
    /// What was purged.
    pub by: PurgeBy,
    /// The values purged.
    pub values: Vec<String>,
    /// HTTP requests that succeeded (one per batch).
    pub requests: u32,
    /// Attempts that failed and were retried (429, 5xx, connection errors).
    pub retries: u32,
    /// Milliseconds spent waiting for the plan's purge rate limit before sending (Cloudflare).
    pub paced_ms: u64,
    /// What the target answered, per request (Cloudflare's purge id, Varnish's status line).
    pub answers: Vec<String>,
}

/// A purge that failed: what failed, what was expected, whether retrying is safe and, after
/// a 429, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurgeError {
    target: Option<String>,
    message: String,
    retry_safe: bool,
    retry_after: Option<Duration>,
}

impl PurgeError {
    fn invalid(message: String) -> PurgeError {
        PurgeError {
            target: None,
            message,
            retry_safe: false,
            retry_after: None,
        }
    }

    fn at(target: &str, message: String, retry_safe: bool) -> PurgeError {
        PurgeError {
            target: Some(target.to_owned()),
            message,
            retry_safe,
            retry_after: None,
        }
    }

    /// The target it concerns (`None`: the request itself was invalid).
    pub fn target(&self) -> Option<&str> {
        self.target.as_deref()
    }

    /// The message without the prefix and the retry hint.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether the same purge may succeed later without changing anything (a transient
    /// failure: connection, timeout, 429, 5xx). Purges are idempotent, so retrying never harms.
    pub fn retry_safe(&self) -> bool {
        self.retry_safe
    }

    /// When the target asked to be called again (a `Retry-After` longer than
    /// [`PurgeRetry::max_retry_after`]).
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }
}

impl fmt::Display for PurgeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hint = if self.retry_safe {
            "retry safe"
        } else {
            "not retried"
        };
        match &self.target {
            Some(t) => write!(f, "cdn purge {t}: {}; {hint}", self.message),
            None => write!(f, "cdn purge: {}; {hint}", self.message),
        }
    }
}

impl std::error::Error for PurgeError {}

/// Sends purges to CDN targets. Cheap to clone: the clones share one connection pool and
/// the rate-limit buckets of the Cloudflare accounts they purge ([`CloudflarePlan`]).
#[derive(Debug, Clone)]
pub struct PurgeClient {
    http: reqwest::Client,
    retry: PurgeRetry,
    pacer: pace::Pacer,
}

/// A request to pace to a rate limit before each attempt: the account's key, its plan, and the
/// URLs it purges (for a purge by URL; else 0).
struct Paced<'a> {
    account: &'a str,
    plan: CloudflarePlan,
    urls: usize,
}

impl PurgeClient {
    /// A client retrying as `retry` says. Redirects are not followed: a purge endpoint that
    /// redirects is misconfigured, and a bearer token must not travel to another host.
    pub fn new(retry: PurgeRetry) -> Result<PurgeClient, PurgeError> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("alphanode-purge/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .timeout(retry.timeout)
            .build()
            .map_err(|e| {
                PurgeError::invalid(format!(
                    "cannot build the HTTP client ({e}): expected the TLS roots to load"
                ))
            })?;
        Ok(PurgeClient {
            http,
            retry,
            pacer: pace::Pacer::default(),
        })
    }

    /// Purges `req` at `target`: every batch, each retried as [`PurgeRetry`] says. On error,
    /// batches sent before the failure stay purged; purging them again is harmless.
    pub async fn purge(
        &self,
        target: &CdnTarget,
        req: &PurgeRequest,
    ) -> Result<PurgeReport, PurgeError> {
        let mut report = PurgeReport {
            target: target.name().to_owned(),
            kind: target.kind(),
            by: req.by,
            values: req.values.clone(),
            requests: 0,
            retries: 0,
            paced_ms: 0,
            answers: Vec::new(),
        };
        match target {
            CdnTarget::Varnish(v) => v.purge(self, req, &mut report).await?,
            CdnTarget::Cloudflare(c) => c.purge(self, req, &mut report).await?,
        }
        Ok(report)
    }

    /// Sends one request (built anew for each attempt by `build`) until `classify` says it is
    /// done or failed for good, or the attempts run out; records it in `report`. With `paced`,
    /// each attempt first waits until the account's buckets cover it (a wait longer than
    /// [`PurgeRetry::max_retry_after`] ends the purge with a retry-safe error carrying it, as
    /// a long `Retry-After` does), and a `429` empties the request bucket.
    async fn send<B, C>(
        &self,
        report: &mut PurgeReport,
        what: &str,
        paced: Option<Paced<'_>>,
        build: B,
        classify: C,
    ) -> Result<(), PurgeError>
    where
        B: Fn(&reqwest::Client) -> reqwest::RequestBuilder,
        C: Fn(reqwest::StatusCode, Option<Duration>, &str) -> Verdict,
    {
        let target = report.target.clone();
        let mut attempt = 1;
        loop {
            if let Some(p) = &paced {
                match self.pacer.reserve(
                    p.account,
                    p.plan,
                    p.urls,
                    Instant::now(),
                    self.retry.max_retry_after,
                ) {
                    Ok(wait) if wait.is_zero() => {}
                    Ok(wait) => {
                        tracing::info!(
                            target = %target,
                            plan = p.plan.as_str(),
                            wait_ms = wait.as_millis() as u64,
                            "cdn purge: waiting for the plan's purge rate limit"
                        );
                        report.paced_ms += wait.as_millis() as u64;
                        tokio::time::sleep(wait).await;
                    }
                    Err(wait) => {
                        let mut e = PurgeError::at(
                            &target,
                            format!(
                                "{what}: the {} plan's purge rate limit allows the next request \
                                 in {}s, longer than this process waits ({}s): expected to be \
                                 retried later (a purge job is)",
                                p.plan.as_str(),
                                wait.as_secs_f64().ceil(),
                                self.retry.max_retry_after.as_secs()
                            ),
                            true,
                        );
                        e.retry_after = Some(wait);
                        return Err(e);
                    }
                }
            }
            let verdict = match build(&self.http).send().await {
                Err(e) => Verdict::Retry {
                    after: None,
                    why: format!("{what} failed: {}", error_chain(&e)),
                },
                Ok(resp) => {
                    let status = resp.status();
                    if let (Some(p), reqwest::StatusCode::TOO_MANY_REQUESTS) = (&paced, status) {
                        self.pacer.refused(p.account, p.plan, Instant::now());
                    }
                    let retry_after = resp
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(retry::parse_retry_after);
                    let body = match resp.text().await {
                        Ok(b) => b,
                        Err(e) => format!("(body unreadable: {e})"),
                    };
                    classify(status, retry_after, &body)
                }
            };
            match verdict {
                Verdict::Done(answer) => {
                    report.requests += 1;
                    report.answers.push(answer);
                    return Ok(());
                }
                Verdict::Fail(why) => return Err(PurgeError::at(&target, why, false)),
                Verdict::Retry { after, why } => {
                    if attempt >= self.retry.attempts {
                        let mut e = PurgeError::at(
                            &target,
                            format!(
                                "{why}; gave up after {attempt} attempts: expected a 2xx answer"
                            ),
                            true,
                        );
                        e.retry_after = after;
                        return Err(e);
                    }
                    let delay = self.retry.delay(attempt, after);
                    if delay > self.retry.max_retry_after {
                        let mut e = PurgeError::at(
                            &target,
                            format!(
                                "{why}; the target asks to wait {}s, longer than this process \
                                 waits ({}s): expected to be retried later (a purge job is)",
                                delay.as_secs(),
                                self.retry.max_retry_after.as_secs()
                            ),
                            true,
                        );
                        e.retry_after = Some(delay);
                        return Err(e);
                    }
                    tracing::warn!(
                        target = %target,
                        attempt,
                        delay_ms = delay.as_millis() as u64,
                        reason = %why,
                        "cdn purge: retrying"
                    );
                    tokio::time::sleep(delay).await;
                    report.retries += 1;
                    attempt += 1;
                }
            }
        }
    }
}

/// An error and its sources on one line (reqwest's top-level message omits the cause).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(c) = source {
        s.push_str(": ");
        s.push_str(&c.to_string());
        source = c.source();
    }
    s
}

/// The first `max` characters of `s` on one line (for answers quoted in errors and reports).
fn snippet(s: &str, max: usize) -> String {
    let one_line: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &one_line[..i]),
        None => one_line,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_checked() {
        let r = PurgeRequest::new(
            PurgeBy::Tag,
            vec!["deploy".into(), "post:1".into(), "deploy".into()],
        )
        .unwrap();
        assert_eq!(r.values(), ["deploy", "post:1"]);
        let e = PurgeRequest::new(PurgeBy::Tag, vec!["a b".into()]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cdn purge: tag \"a b\" is invalid: expected 1-1024 bytes without whitespace, commas \
             or control characters; not retried"
        );
        assert!(!e.retry_safe());
        assert!(PurgeRequest::new(PurgeBy::Tag, vec![]).is_err());
        assert!(PurgeRequest::new(PurgeBy::Url, vec!["/about".into()]).is_err());
        assert!(PurgeRequest::new(PurgeBy::Url, vec!["ftp://x/a".into()]).is_err());
        assert!(PurgeRequest::new(PurgeBy::Url, vec!["https://x.test/a?b=1".into()]).is_ok());
        assert!(PurgeRequest::new(PurgeBy::Prefix, vec!["https://x.test/a?b=1".into()]).is_err());
        assert!(PurgeRequest::new(PurgeBy::Prefix, vec!["https://x.test/blog/".into()]).is_ok());
    }

    #[test]
    fn store_key_prefix_is_the_start_of_the_http_cache_key() {
        assert_eq!(
            store_key_prefix("https://WWW.Example.com:8443/blog/").unwrap(),
            "GET|www.example.com|/blog/"
        );
        assert!(store_key_prefix("/blog/").is_err());
    }

    #[test]
    fn snippets_are_one_line_and_bounded() {
        assert_eq!(snippet("a\n  b", 10), "a b");
        assert_eq!(snippet("abcdef", 3), "abc…");
    }
}
