//! `anp proxy`: the HTTP cache layer ([`anp_http::CacheLayer`]) in front of any web app. A
//! hyper server (through axum) takes the requests, the layer decides and serves from the
//! application cache, and a hyper client streams everything else to the upstream and back.
//! Guide: docs/http-proxy.md.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use alphanode::cache::{CacheClient, CacheOptions, NamespaceOptions};
use alphanode::Error;
use anp_http::layer::strip_hop_by_hop;
use anp_http::{BypassAction, CacheLayer, Decide, Decision, LayerMetrics, Rules, RulesError};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::uri::{Authority, Scheme};
use axum::http::{Method, Request, Response, StatusCode, Uri, Version};
use axum::Router;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio_util::sync::CancellationToken;
use tower::Layer;

use super::Ctx;
use crate::config::ConfigFile;

/// Options of `anp proxy`.
#[derive(clap::Args, Debug)]
pub struct ProxyArgs {
    /// The web app to put the cache in front of: http://HOST:PORT (plain HTTP; run the proxy
    /// next to the app).
    #[arg(long, value_name = "URL")]
    pub upstream: String,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// The cache rules file [default: `[http_cache] rules` of ANP_CONFIG or ./anp.toml, else
    /// ./cache.toml if it exists; without one every request passes through].
    #[arg(long, value_name = "PATH")]
    pub rules: Option<PathBuf>,
    /// Serve /metrics (Prometheus text: per-rule hit, miss, stale, bypass counts and upstream
    /// time) on this address; off when not given.
    #[arg(long, value_name = "ADDR")]
    pub metrics_bind: Option<SocketAddr>,
    /// Send the client's Host header upstream (default: the upstream's host and port, the
    /// client's in X-Forwarded-Host).
    #[arg(long)]
    pub preserve_host: bool,
    /// The cache namespace responses are stored in (`anp cache purge -n NS --tag T`).
    #[arg(long, default_value = "http", value_name = "NS")]
    pub namespace: String,
    /// Largest response body stored, in bytes; larger ones stream through, not stored.
    #[arg(long, default_value_t = CacheLayer::DEFAULT_MAX_BODY_BYTES, value_name = "BYTES")]
    pub max_body_bytes: usize,
    /// Memory for the in-process copy of hot responses (L1), in bytes; 0 turns it off, so
    /// every hit is read from the store.
    #[arg(long, default_value_t = 64 << 20, value_name = "BYTES")]
    pub l1_bytes: u64,
}

/// Where requests go.
#[derive(Debug)]
struct Upstream {
    scheme: Scheme,
    authority: Authority,
}

impl Upstream {
    fn parse(url: &str) -> Result<Upstream, Error> {
        let bad = |why: &str| {
            Error::invalid(
                "--upstream",
                format!(
                    "{url:?} {why}: expected http://HOST:PORT of the web app (plain HTTP, no \
                     path); not retried"
                ),
            )
        };
        let uri: Uri = url.trim().parse().map_err(|_| bad("is not a URL"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => return Err(bad(
                "is HTTPS, which anp proxy does not speak to upstreams (run it next to the app)",
            )),
            _ => return Err(bad("has no http:// scheme")),
        }
        let Some(authority) = uri.authority().cloned() else {
            return Err(bad("has no host"));
        };
        if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
            return Err(bad("has a path or query"));
        }
        Ok(Upstream {
            scheme: Scheme::HTTP,
            authority,
        })
    }
}

/// The rules file to enforce: `--rules`, else the config's `[http_cache] rules`, else
/// `./cache.toml` when it exists; `None` when there is none.
fn rules_path(flag: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = flag {
        return Some(p.to_owned());
    }
    if let Some(file) = ConfigFile::discover() {
        match file.http_cache_rules() {
            Ok(Some(p)) => return Some(p),
            Ok(None) => {}
            Err(e) => tracing::warn!(
                config = %file.path.display(),
                error = %e,
                "cannot read the config; its [http_cache] rules is ignored"
            ),
        }
    }
    let default = PathBuf::from("cache.toml");
    default.exists().then_some(default)
}

/// A rules file that cannot be used: not found (exit 4) or invalid (exit 2), as `anp cache
/// rules` reports it.
fn rules_error(e: &RulesError) -> Error {
    match e.io {
        Some(std::io::ErrorKind::NotFound) => Error::not_found("cache rules", e.to_string()),
        _ => Error::invalid("cache rules", e.to_string()),
    }
}

/// Without a rules file every request passes through (and is counted as a bypass).
#[derive(Debug)]
struct NoRules;

impl Decide for NoRules {
    fn decide(&self, _: &Method, _: &Uri, _: &HeaderMap) -> Decision {
        Decision::Bypass(BypassAction {
            rule: None,
            reason: "anp proxy runs without a rules file".to_owned(),
        })
    }
}

/// Sends requests upstream and streams the answers back.
#[derive(Clone, Debug)]
struct Forwarder {
    client: Client<HttpConnector, Body>,
    upstream: Arc<Upstream>,
    preserve_host: bool,
}

impl Forwarder {
    /// The upstream's answer to `req`, or a 502 naming the upstream when it cannot be reached.
    async fn send(self, mut req: Request<Body>) -> Response<Body> {
        let peer = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let path = req
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        let uri = Uri::builder()
            .scheme(self.upstream.scheme.clone())
            .authority(self.upstream.authority.clone())
            .path_and_query(path.as_str())
            .build();
        let uri = match uri {
            Ok(u) => u,
            Err(e) => {
                return plain(
                    StatusCode::BAD_REQUEST,
                    format!("anp proxy: bad request target {path:?}: {e}\n"),
                )
            }
        };
        *req.uri_mut() = uri;
        *req.version_mut() = Version::HTTP_11;
        let headers = req.headers_mut();
        strip_hop_by_hop(headers);
        forwarded_headers(headers, peer);
        if !self.preserve_host {
            if let Ok(v) = HeaderValue::from_str(self.upstream.authority.as_str()) {
                headers.insert(header::HOST, v);
            }
        }
        match self.client.request(req).await {
            Ok(res) => {
                let (mut parts, body) = res.into_parts();
                strip_hop_by_hop(&mut parts.headers);
                Response::from_parts(parts, Body::new(body))
            }
            Err(e) => {
                tracing::warn!(upstream = %self.upstream.authority, error = %e, "anp proxy: the upstream did not answer");
                plain(
                    StatusCode::BAD_GATEWAY,
                    format!(
                        "anp proxy: the upstream {} did not answer: {e}; retry when it is up\n",
                        self.upstream.authority
                    ),
                )
            }
        }
    }
}

/// `X-Forwarded-For` (the client's address appended), `X-Forwarded-Host` (the client's
/// `Host`) and `X-Forwarded-Proto` (`http`), each kept as the client sent it where an outer
/// proxy (a TLS terminator) already set it.
fn forwarded_headers(headers: &mut HeaderMap, peer: Option<IpAddr>) {
    if let Some(ip) = peer {
        let chain = match headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
            Some(prior) if !prior.trim().is_empty() => format!("{prior}, {ip}"),
            _ => ip.to_string(),
        };
        if let Ok(v) = HeaderValue::from_str(&chain) {
            headers.insert("x-forwarded-for", v);
        }
    }
    if !headers.contains_key("x-forwarded-host") {
        if let Some(host) = headers.get(header::HOST).cloned() {
            headers.insert("x-forwarded-host", host);
        }
    }
    if !headers.contains_key("x-forwarded-proto") {
        headers.insert("x-forwarded-proto", HeaderValue::from_static("http"));
    }
}

fn plain(status: StatusCode, text: String) -> Response<Body> {
    let mut res = Response::new(Body::from(text));
    *res.status_mut() = status;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    res
}

/// Binds `addr` for `what`, with an error that says what to do.
async fn listen(addr: SocketAddr, what: &str) -> Result<tokio::net::TcpListener, Error> {
    tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        Error::invalid(
            what,
            format!("cannot listen on {addr}: {e}: expected a free local address such as 127.0.0.1:8080"),
        )
    })
}

/// Runs `anp proxy` until SIGTERM/SIGINT.
pub async fn run(ctx: &Ctx, a: ProxyArgs) -> anyhow::Result<()> {
    let upstream = Arc::new(Upstream::parse(&a.upstream)?);
    let decide: Arc<dyn Decide> = match rules_path(a.rules.as_deref()) {
        Some(path) => {
            let rules = Rules::load(&path).map_err(|e| rules_error(&e))?;
            tracing::info!(rules = %path.display(), count = rules.rules().len(), "anp proxy: cache rules loaded");
            Arc::new(rules)
        }
        None => {
            tracing::warn!("anp proxy: no rules file (--rules, [http_cache] rules, ./cache.toml): every request passes through");
            Arc::new(NoRules)
        }
    };
    let backend = ctx.open(None).await?;
    // Stored values are the base64 body plus headers: leave room over the body limit.
    let options = CacheOptions {
        max_value_bytes: a.max_body_bytes.saturating_mul(4) / 3 + (64 << 10),
        l1_max_bytes: a.l1_bytes,
        ..CacheOptions::default()
    };
    let caches = CacheClient::new(backend, options).await?;
    let cache = caches
        .namespace(&a.namespace, NamespaceOptions::default())
        .await?;
    let layer = CacheLayer::new(decide, cache).max_body_bytes(a.max_body_bytes);
    let metrics = layer.metrics();
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(Duration::from_secs(5)));
    connector.set_nodelay(true);
    let forwarder = Forwarder {
        client: Client::builder(TokioExecutor::new()).build(connector),
        upstream: upstream.clone(),
        preserve_host: a.preserve_host,
    };
    let forward = tower::service_fn(move |req: Request<Body>| {
        let f = forwarder.clone();
        async move { Ok::<_, Infallible>(f.send(req).await) }
    });
    // The layer serves every path: it is the service itself, not a Router fallback (a Router
    // would match the path and build URL params per request for nothing).
    let app = tower::ServiceExt::map_response(layer.layer(forward), |r| r.map(Body::new));
    if !a.bind.ip().is_loopback() {
        tracing::warn!(bind = %a.bind, "anp proxy listens on a non-loopback address");
    }
    let listener = listen(a.bind, "--bind").await?;
    let metrics_listener = match a.metrics_bind {
        Some(addr) => Some(listen(addr, "--metrics-bind").await?),
        None => None,
    };
    let stop = CancellationToken::new();
    tokio::spawn({
        let stop = stop.clone();
        async move {
            alphanode::process::wait_for_signal().await;
            stop.cancel();
        }
    });
    let metrics_task = metrics_listener.map(|l| {
        let stop = stop.clone();
        let router = metrics_router(metrics);
        tokio::spawn(async move {
            axum::serve(l, router)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await
        })
    });
    tracing::info!(addr = %a.bind, upstream = %upstream.authority, "anp proxy listening");
    axum::serve(
        listener,
        axum::ServiceExt::<Request<Body>>::into_make_service_with_connect_info::<SocketAddr>(app),
    )
    .with_graceful_shutdown(stop.clone().cancelled_owned())
    .await?;
    stop.cancel();
    if let Some(t) = metrics_task {
        t.await??;
    }
    if let Err(e) = caches.flush_stats().await {
        tracing::warn!(error = %e, "anp proxy: cache counts not written at exit");
    }
    Ok(())
}

/// `/metrics` and `/healthz` on the metrics address.
fn metrics_router(metrics: LayerMetrics) -> Router {
    let render = move |headers: HeaderMap| {
        let metrics = metrics.clone();
        async move {
            let openmetrics = headers
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("application/openmetrics-text"));
            let (body, content_type) = if openmetrics {
                (
                    metrics.render_openmetrics(),
                    LayerMetrics::OPENMETRICS_CONTENT_TYPE,
                )
            } else {
                (
                    metrics.render_prometheus(),
                    LayerMetrics::PROMETHEUS_CONTENT_TYPE,
                )
            };
            ([(header::CONTENT_TYPE, content_type)], body)
        }
    };
    Router::new()
        .route("/metrics", axum::routing::get(render))
        .route("/healthz", axum::routing::get(|| async { "ok\n" }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_urls() {
        assert!(Upstream::parse("http://127.0.0.1:3000").is_ok());
        assert!(Upstream::parse("http://app.internal/").is_ok());
        for bad in [
            "https://x",
            "127.0.0.1:3000",
            "http://x/app",
            "http://x/?a=1",
            "ftp://x",
        ] {
            let e = Upstream::parse(bad)
                .err()
                .unwrap_or_else(|| panic!("{bad} accepted"));
            assert!(e.to_string().contains("expected http://HOST:PORT"), "{e}");
        }
    }

    #[test]
    fn forwarded_headers_append_and_keep() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("www.example.com"));
        h.insert("x-forwarded-for", HeaderValue::from_static("203.0.113.7"));
        h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        forwarded_headers(
            &mut h,
            Some("127.0.0.1".parse().unwrap_or_else(|e| panic!("{e}"))),
        );
        assert_eq!(h["x-forwarded-for"], "203.0.113.7, 127.0.0.1");
        assert_eq!(h["x-forwarded-host"], "www.example.com");
        assert_eq!(h["x-forwarded-proto"], "https");
    }
}
