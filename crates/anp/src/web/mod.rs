//! `anp serve`: `/healthz`, `/metrics`, a read-only JSON API under `/api/`, and token-protected
//! actions. Binds 127.0.0.1:7070 unless told otherwise; stops gracefully on SIGTERM/SIGINT.
//!
//! Everything goes through the library's operator API ([`alphanode::Admin`]) on a store opened
//! with [`alphanode::connect`]; nothing here knows which backend is behind it.
//!
//! # Layout
//! - `mod.rs`: [`ServeArgs`], [`run`] (open, bind, serve, shut down), the router.
//! - `auth.rs`: the bearer token that actions need (CSRF-proof), the security headers.
//! - `api.rs`: the read-only `/api/` endpoints and the house JSON error form.
//! - `actions.rs`: the token-protected action endpoints.
//! - `metrics.rs`: `/metrics`, read from the store at scrape time, encoded by
//!   `prometheus-client` (OpenMetrics when the scraper asks for it, else Prometheus text 0.0.4);
//!   `metrics/collector.rs`: the metric families and how a scrape's snapshot fills them.
//! - `health.rs`: `/healthz`.

mod actions;
mod api;
mod auth;
mod health;
mod metrics;

use std::net::SocketAddr;
use std::sync::Arc;

use alphanode::{Admin, Error};
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use clap::Args as ClapArgs;

use crate::cli::Ctx;

/// Options of `anp serve`.
#[derive(ClapArgs, Debug)]
pub struct ServeArgs {
    /// Address to listen on. Anything but loopback exposes the API: set ANP_TOKEN and a firewall.
    #[arg(long, default_value = "127.0.0.1:7070")]
    pub bind: SocketAddr,
}

/// Request bodies above this are refused (413).
const BODY_LIMIT: usize = 64 * 1024;

/// What every handler shares.
#[derive(Debug)]
struct App {
    /// The operator API on the store.
    admin: Admin,
    /// `ANP_TOKEN`; `None` disables every action.
    token: Option<String>,
    /// When this server started: `/metrics` counters count from its minute.
    started: jiff::Timestamp,
}

/// The state handlers get.
type Shared = Arc<App>;

/// Runs `anp serve` until SIGTERM/SIGINT.
pub async fn run(ctx: &Ctx, a: ServeArgs) -> anyhow::Result<()> {
    let token = auth::token_from_env()?;
    let backend = alphanode::connect(&ctx.url(None)).await?;
    if !a.bind.ip().is_loopback() {
        tracing::warn!(bind = %a.bind, "serving on a non-loopback address: anyone who can reach it can read the API");
    }
    if token.is_none() {
        tracing::warn!("ANP_TOKEN is not set: action endpoints (retry, cancel, pause, trigger, deploy mark) are refused");
    }
    let app = Arc::new(App {
        admin: Admin::new(backend),
        token,
        started: jiff::Timestamp::now(),
    });
    let listener = tokio::net::TcpListener::bind(a.bind).await.map_err(|e| {
        Error::invalid(
            "--bind",
            format!(
                "cannot listen on {}: {e}: expected a free local address such as 127.0.0.1:7070",
                a.bind
            ),
        )
    })?;
    tracing::info!(addr = %a.bind, "anp serve listening");
    axum::serve(listener, router(app))
        .with_graceful_shutdown(alphanode::process::wait_for_signal())
        .await?;
    Ok(())
}

/// Every route, the body limit and the security headers.
fn router(app: Shared) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(metrics::metrics))
        .route("/api/status", get(api::status))
        .route("/api/queues", get(api::queues))
        .route("/api/jobs", get(api::jobs))
        .route("/api/jobs/{id}", get(api::job))
        .route("/api/schedules", get(api::schedules))
        .route("/api/schedules/{name}", get(api::schedule))
        .route("/api/workers", get(api::workers))
        .route("/api/deploys", get(api::deploys).post(actions::deploy_mark))
        .route("/api/jobs/{id}/retry", post(actions::job_retry))
        .route("/api/jobs/{id}/cancel", post(actions::job_cancel))
        .route("/api/queues/{queue}/pause", post(actions::queue_pause))
        .route("/api/queues/{queue}/resume", post(actions::queue_resume))
        .route(
            "/api/schedules/{name}/trigger",
            post(actions::schedule_trigger),
        )
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::map_response(auth::security_headers))
        .with_state(app)
}
