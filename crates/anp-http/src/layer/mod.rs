//! The HTTP cache as a tower layer: [`CacheLayer`] asks a [`Decide`] (the rules file, or your
//! own) about every request and enforces the answer with the application cache
//! ([`alphanode::cache::Cache`]), so stored responses are tagged, shared by every process on
//! the store, purgeable with `anp cache purge --tag`, and served from the in-process L1 when
//! hot. `anp proxy` puts the same layer in front of any web app. Guide: docs/http-proxy.md.
//!
//! ```no_run
//! # async fn run(rules: std::sync::Arc<dyn anp_http::Decide>) -> Result<(), Box<dyn std::error::Error>> {
//! use alphanode::cache::{CacheClient, NamespaceOptions};
//! use anp_http::layer::CacheLayer;
//!
//! let caches = CacheClient::new(alphanode::connect("sqlite://anp.db").await?, Default::default()).await?;
//! let http = caches.namespace("http", NamespaceOptions::default()).await?;
//! let layer = CacheLayer::new(rules, http);
//! let metrics = layer.metrics(); // render_prometheus() for your /metrics
//! // axum: Router::new().route(…).layer(layer)
//! # let _ = (layer, metrics); Ok(()) }
//! ```
//!
//! Per request:
//!
//! - **Bypass** (the decision, or any method but GET and HEAD): the request goes upstream
//!   untouched and the response streams back; `X-Cache: BYPASS`,
//!   `Cache-Status: alphanode; fwd=bypass; detail="<reason>"`.
//! - **Cache**: the decision's key is looked up. A fresh entry is served (`X-Cache: HIT`,
//!   `Cache-Status: alphanode; hit; ttl=<s>`, `Age`). A missing one is fetched from the upstream
//!   once however many requests ask at once — in this process (request coalescing) and across
//!   processes (the cache's compute lease) — stored, and served (`MISS`). Within the rule's
//!   stale-while-revalidate window the stale entry is served (`STALE`) while one refresh runs in
//!   the background; after it, within stale-if-error, the upstream is asked and the stale
//!   entry is served when it fails (a 5xx, a failed call or a failed body).
//! - **Never stored**: a response with `Set-Cookie`, `Cache-Control: private`, `no-store` or
//!   `no-cache`, `Vary: *`, a status the rule does not list, any 5xx, or a body larger than
//!   [`CacheLayer::max_body_bytes`]. It goes to the client that caused it only (`MISS`,
//!   `Cache-Status: …; stored=?0; detail="<why>"`), streamed; requests that waited for it go
//!   upstream themselves, and the next request does too.
//! - **Vary**: the first response under a key that varies stores a marker with its `Vary`
//!   header names under the key, and itself under a variant key (the key, the names, and a
//!   SHA-256 of the request's values of those headers). A request with other values is a miss
//!   of its own variant, never another variant's body.
//! - **Conditional requests and HEAD**: a stored response keeps the upstream's `ETag` (or gets a
//!   strong one, a SHA-256 of the body) and `Last-Modified`; a matching `If-None-Match` (or,
//!   without one, a satisfied `If-Modified-Since`) on a 2xx entry gets a 304 without body. HEAD
//!   is decided and keyed as GET; a HEAD miss fetches the GET upstream (so the entry is
//!   complete) and answers its headers without the body. The request that fills the cache is
//!   always a GET without `If-*` and `Range` headers; `Range` is not served from the cache (the
//!   full 200 is).
//! - **Headers on every response**: `X-Cache`, `Cache-Status` (RFC 9211, appended after any
//!   upstream member) and `Server-Timing: cache;dur=<ms>, upstream;dur=<ms>` (upstream only
//!   when this request called it). A response served from the cache gets `Cache-Control:
//!   public, max-age=<browser TTL>`: the upstream's `Cache-Control` (`s-maxage`,
//!   `stale-while-revalidate` … included) and `Expires` are replaced, since the rule decides
//!   how long the response lives. Responses passed through keep the upstream's headers.
//! - **Stored**: status, headers (without hop-by-hop headers, `Set-Cookie` and `Age`) and the
//!   body (base64 in the cache's JSON). Trailers are not stored.
//!
//! Requirements: the inner service is `Clone + Send` and its response body is an
//! [`http_body::Body`] of [`bytes::Bytes`]; the request body type implements `Default`
//! (axum's `Body` does; for hyper's `Incoming`, map it first), because requests the layer sends
//! to fill the cache carry no body. Fetches run as their own tasks (a client that hangs up
//! does not cancel the fetch others wait for), so the layer needs a Tokio runtime.
//!
//! # Layout
//! - `service.rs`: [`CacheService`], the path of one request.
//! - `coalesce.rs`: one lookup per key at a time in this process.
//! - `stored.rs`: the stored value (response or Vary marker) and variant keys.
//! - `headers.rs`: storability, hop-by-hop headers, `Cache-Status`, conditionals.
//! - `body.rs`: [`CacheBody`] and reading an upstream body up to the size limit.
//! - `metrics.rs`: [`LayerMetrics`].

mod body;
mod coalesce;
mod headers;
mod metrics;
mod service;
mod stored;

use std::sync::Arc;
use std::time::Duration;

use alphanode::cache::{Cache, NamespaceOptions};

pub use body::{BoxError, CacheBody};
pub use headers::strip_hop_by_hop;
pub use metrics::LayerMetrics;
pub use service::CacheService;

use crate::decision::Decide;
use coalesce::Flights;

/// The tower [`Layer`](tower::Layer) of the HTTP cache. Cheap to clone: every service it makes
/// shares its flights (request coalescing) and its [`LayerMetrics`].
#[derive(Clone)]
pub struct CacheLayer {
    shared: Arc<Shared>,
}

/// What every service of one layer shares.
#[derive(Clone)]
pub(crate) struct Shared {
    pub(crate) decide: Arc<dyn Decide>,
    pub(crate) cache: Cache,
    pub(crate) metrics: LayerMetrics,
    pub(crate) max_body_bytes: usize,
    pub(crate) max_lifetime: Duration,
    pub(crate) flights: Arc<Flights>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheLayer")
            .field("namespace", self.cache.namespace())
            .field("max_body_bytes", &self.max_body_bytes)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for CacheLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.shared.fmt(f)
    }
}

impl CacheLayer {
    /// Largest body stored by default: 8 MiB. A larger one streams through, not stored.
    pub const DEFAULT_MAX_BODY_BYTES: usize = 8 << 20;

    /// A layer enforcing `decide`'s answers with `cache` (one namespace, e.g. `http`, opened by
    /// the caller with [`alphanode::cache::CacheClient::namespace`]).
    pub fn new(decide: Arc<dyn Decide>, cache: Cache) -> CacheLayer {
        CacheLayer {
            shared: Arc::new(Shared {
                decide,
                metrics: LayerMetrics::recording_to(cache.clone()),
                cache,
                max_body_bytes: Self::DEFAULT_MAX_BODY_BYTES,
                max_lifetime: NamespaceOptions::default().max_lifetime,
                flights: Arc::default(),
            }),
        }
    }

    /// Largest response body stored, in bytes ([`CacheLayer::DEFAULT_MAX_BODY_BYTES`] by
    /// default); a larger one streams to its client, not stored. The cache's own bound
    /// ([`alphanode::cache::CacheOptions::max_value_bytes`], 1 MiB by default) applies too, to
    /// the stored form (base64 body, a third larger, plus headers): raise it with this one, or
    /// larger bodies are served but not stored (the cache logs a warning).
    pub fn max_body_bytes(mut self, bytes: usize) -> CacheLayer {
        Arc::make_mut(&mut self.shared).max_body_bytes = bytes;
        self
    }

    /// The namespace's [`NamespaceOptions::max_lifetime`] (default 1 day, the default of the
    /// namespace too). A rule's windows are cut to fit in it — edge TTL first, then
    /// stale-while-revalidate, then stale-if-error — so a 30-day asset rule stores for a day:
    /// a purged tag's version is kept only that long, and an entry must not outlive it. `anp
    /// cache purge` opens namespaces with the default, so keep the default unless every purge
    /// goes through your own handle.
    pub fn max_lifetime(mut self, lifetime: Duration) -> CacheLayer {
        Arc::make_mut(&mut self.shared).max_lifetime = lifetime;
        self
    }

    /// The layer's counters (shared: a clone sees every count).
    pub fn metrics(&self) -> LayerMetrics {
        self.shared.metrics.clone()
    }
}

impl<S> tower::Layer<S> for CacheLayer {
    type Service = CacheService<S>;

    fn layer(&self, inner: S) -> CacheService<S> {
        CacheService {
            inner,
            shared: self.shared.clone(),
        }
    }
}
