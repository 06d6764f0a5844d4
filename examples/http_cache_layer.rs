//! A small axum site behind `anp_http::CacheLayer`, with the rules of `examples/cache.toml`:
//! assets and public pages are served from the cache (and purged by tag), the account pages and
//! any request with a session cookie pass through untouched, and `/metrics` shows per-rule
//! counts.
//!
//! ```sh
//! cargo run -p anp-http --example http_cache_layer        # SQLite file http-cache-demo.db
//! ANP_STORE=redis://127.0.0.1:6380 cargo run -p anp-http --example http_cache_layer
//!
//! curl -si -H 'Host: www.example.com' localhost:3001/blog/hello | grep -iE 'x-cache|cache-status'
//! #   X-Cache: MISS, then HIT on the next request
//! curl -si -H 'Host: www.example.com' -H 'Cookie: session=abc' localhost:3001/blog/hello | grep -i x-cache
//! #   X-Cache: BYPASS (a session cookie: logged-in traffic is never cached)
//! anp --store sqlite://http-cache-demo.db cache purge --tag path:/blog/hello   # that page only,
//! #   in every process within about 100 ms: the next request is a MISS
//! curl -s localhost:3001/metrics | grep anp_http_cache_requests_total
//! ```

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use alphanode::cache::{CacheClient, CacheOptions, NamespaceOptions};
use anp_http::{CacheLayer, LayerMetrics, Rules};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

/// Every page of the site: says what it is and when it was rendered, so a cached copy shows.
async fn page(uri: axum::http::Uri) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        format!(
            "<h1>{}</h1><p>rendered at {}</p>\n",
            uri.path(),
            jiff::Timestamp::now()
        ),
    )
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("ANP_STORE").unwrap_or_else(|_| "sqlite://http-cache-demo.db".into());
    let rules_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/cache.toml");
    // A bad rules file stops here with its file, line and rule.
    let rules = Rules::load(&rules_path)?;
    let caches = CacheClient::new(
        alphanode::connect(&url).await?,
        CacheOptions {
            // Stored responses are the body (base64) plus headers: room for the layer's 8 MiB.
            max_value_bytes: 12 << 20,
            ..CacheOptions::default()
        },
    )
    .await?;
    let http = caches
        .namespace("http", NamespaceOptions::default())
        .await?;
    let layer = CacheLayer::new(Arc::new(rules), http);
    let metrics: LayerMetrics = layer.metrics();

    let site = Router::new().fallback(page).layer(layer);
    let app = Router::new()
        .route(
            "/metrics",
            get(move || {
                let metrics = metrics.clone();
                async move {
                    (
                        [(header::CONTENT_TYPE, LayerMetrics::PROMETHEUS_CONTENT_TYPE)],
                        metrics.render_prometheus(),
                    )
                }
            }),
        )
        .merge(site);
    let addr = SocketAddr::from(([127, 0, 0, 1], 3001));
    println!(
        "listening on http://{addr} (store {url}, rules {})",
        rules_path.display()
    );
    let listener = tokio::net::TcpListener::bind(addr).await?;
    axum::serve(listener, app).await?;
    caches.flush_stats().await?;
    Ok(())
}
