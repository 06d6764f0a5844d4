//! What the cache rules decide for one request, and the seam that enforcers call.

use std::time::Duration;

use http::{HeaderMap, Method, Uri};

/// The verdict for one request: store and serve it from the cache, or pass it through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// A `cache` rule matched and no bypass condition holds.
    Cache(CacheAction),
    /// A bypass condition or `bypass` rule matched, or no rule matched at all.
    Bypass(BypassAction),
}

impl Decision {
    /// The name of the rule that decided, `None` when no rule matched.
    pub fn rule(&self) -> Option<&str> {
        match self {
            Decision::Cache(c) => Some(&c.rule),
            Decision::Bypass(b) => b.rule.as_deref(),
        }
    }
}

/// How a cached response is stored and served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheAction {
    /// The rule's name.
    pub rule: String,
    /// How long the shared cache (alphanode, the CDN) serves the response as fresh.
    pub edge_ttl: Duration,
    /// `Cache-Control: max-age` sent to browsers.
    pub browser_ttl: Duration,
    /// After `edge_ttl`, how long the stale response is served while one refresh runs.
    pub stale_while_revalidate: Duration,
    /// After that, how long the stale response is served when the upstream fails (5xx or
    /// unreachable).
    pub stale_if_error: Duration,
    /// The cache key: the rule's key parts resolved for this request (method, host, path,
    /// the query as the rule says, named headers; a cookie value only when the rule names it).
    pub key: String,
    /// Tags stored with the response (placeholders resolved), purgeable with
    /// `anp cache purge --tag`.
    pub tags: Vec<String>,
    /// Response statuses that may be stored (e.g. 200, 203, 301, 404).
    pub statuses: Vec<u16>,
}

/// Why a request is passed through untouched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BypassAction {
    /// The rule or built-in bypass condition that decided (`None`: no rule matched).
    pub rule: Option<String>,
    /// Why, in words an operator reads in `explain` and logs (e.g. "cookie `session` is
    /// present").
    pub reason: String,
}

/// Decides per request; implemented by the rules file, called by the tower layer and
/// `anp proxy` before anything is read from or written to the cache.
pub trait Decide: Send + Sync + 'static {
    /// The decision for a request with this method, URI (path and query; scheme and
    /// authority when the client sent an absolute form) and headers (`Host` among them).
    fn decide(&self, method: &Method, uri: &Uri, headers: &HeaderMap) -> Decision;
}
