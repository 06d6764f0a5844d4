//! `anp serve`: `/healthz`, `/metrics`, a read-only JSON API under `/api/`, and token-protected
//! actions, enqueue among them. Binds 127.0.0.1:7070 unless told otherwise; stops gracefully on
//! SIGTERM/SIGINT.
//!
//! Everything goes through the library's public API ([`alphanode::Admin`], [`alphanode::Client`])
//! on a store opened with [`alphanode::connect`]; nothing here knows which backend is behind it.
//!
//! # The boundary
//! Every route refuses a body over 64 KiB (413); actions check the token first (401/403), then
//! the body limit, then their input. Every 4xx/5xx answer, axum's own 404 and 405 included,
//! carries the one error form (`error.rs`).
//!
//! # Layout
//! - `mod.rs`: [`ServeArgs`], [`run`] (open, bind, serve, shut down), the router.
//! - `error.rs`: the error form ([`error::ApiError`]) and the net that puts axum's own answers
//!   into it.
//! - `input.rs`: the body limit, query-string, path-parameter and JSON-body checks.
//! - `auth.rs`: the bearer token that actions need (CSRF-proof), the security headers.
//! - `api.rs`: the read-only `/api/` endpoints.
//! - `actions.rs`: the token-protected action endpoints, enqueue (one job or a batch) among them.
//! - `metrics.rs`: `/metrics`, read from the store at scrape time, encoded by
//!   `prometheus-client` (OpenMetrics when the scraper asks for it, else Prometheus text 0.0.4);
//!   `metrics/collector.rs`: the metric families and how a scrape's snapshot fills them.
//! - `health.rs`: `/healthz`.
//! - `dashboard/`: the web dashboard (pages at `/`, login, CSRF-checked actions, live
//!   snapshot); docs/dashboard.md.
//!
//! Every action, API and dashboard, is recorded in the store's audit log (`Admin::audit_record`):
//! API actions by `auth::audited`, dashboard ones by `dashboard/actions.rs`.

mod actions;
mod api;
mod auth;
mod dashboard;
mod error;
mod health;
mod input;
mod metrics;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use alphanode::{Admin, Client, Error};
use axum::handler::Handler;
use axum::http::StatusCode;
use axum::middleware::{from_fn, from_fn_with_state, map_response};
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use clap::Args as ClapArgs;

use crate::cli::Ctx;
use crate::config::{ConfigFile, ConfigFrom};
use crate::wire::KindLimits;

/// Options of `anp serve`.
#[derive(ClapArgs, Debug)]
pub struct ServeArgs {
    /// Address to listen on. Anything but loopback exposes the API: set ANP_TOKEN and a firewall.
    #[arg(long, default_value = "127.0.0.1:7070")]
    pub bind: SocketAddr,
    /// Config whose `store` to serve and whose per-kind `max_attempts` jobs enqueued over HTTP
    /// get, as with `anp enqueue` [default: ANP_CONFIG, else ./anp.toml if it exists].
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Mount everything (dashboard, API, /healthz, /metrics) under this path, for a reverse
    /// proxy that forwards e.g. /anp/ to this server: links, forms, assets and the session
    /// cookie's Path use it. Starts with `/`, no trailing `/`.
    #[arg(long, value_name = "/PREFIX")]
    pub base_path: Option<String>,
    /// The dashboard's live figures are read from the store at most once per this interval,
    /// however many tabs are open (e.g. 2s, 500ms).
    #[arg(long, default_value = "2s", value_parser = live_interval)]
    pub live_interval: std::time::Duration,
}

/// Parses `--live-interval`.
fn live_interval(s: &str) -> Result<std::time::Duration, String> {
    crate::config::parse_duration("--live-interval", s).map_err(|e| e.to_string())
}

/// Checks `--base-path`: empty, or `/` then path segments without a trailing `/`.
fn base_path(p: Option<&str>) -> Result<String, Error> {
    let Some(p) = p.filter(|p| !p.is_empty() && *p != "/") else {
        return Ok(String::new());
    };
    let ok = p.starts_with('/')
        && !p.ends_with('/')
        && !p.contains("//")
        && p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/-_.~".contains(&b));
    if ok {
        Ok(p.to_owned())
    } else {
        Err(Error::invalid(
            "--base-path",
            format!("{p:?} is not a path prefix: expected / then letters, digits, - _ . ~ separated by /, without a trailing / (e.g. /anp)"),
        ))
    }
}

/// What every handler shares.
#[derive(Debug)]
struct App {
    /// The operator API on the store.
    admin: Admin,
    /// Enqueues jobs into the same store.
    client: Client,
    /// The config's per-kind `max_attempts`, applied to jobs enqueued over HTTP.
    limits: KindLimits,
    /// `ANP_TOKEN`; `None` disables every action.
    token: Option<String>,
    /// When this server started: `/metrics` counters count from its minute.
    started: jiff::Timestamp,
    /// `--base-path` ("" at the root).
    base_path: String,
    /// Dashboard sessions.
    sessions: dashboard::session::Sessions,
    /// The dashboard's shared live snapshot.
    live: dashboard::live::Live,
    /// The config's `[http_cache] rules` file, loaded at start (the cache page shows its rules
    /// and examples): `None` when the config names none, `Err` with why it cannot be used.
    http_rules: Option<Result<anp_http::rules::Rules, String>>,
}

/// The state handlers get.
type Shared = Arc<App>;

/// Runs `anp serve` until SIGTERM/SIGINT.
pub async fn run(ctx: &Ctx, a: ServeArgs) -> anyhow::Result<()> {
    let token = auth::token_from_env()?;
    let base = base_path(a.base_path.as_deref())?;
    // A config given with --config must check; one found on its own is used as `anp enqueue`
    // uses it (its limits skipped, with a warning, when it does not check).
    let file = match &a.config {
        Some(p) => Some(ConfigFile::read(p, ConfigFrom::Flag)),
        None => ConfigFile::discover(),
    };
    let limits = match &file {
        Some(f) if a.config.is_some() => KindLimits::of(&f.load()?),
        Some(f) => KindLimits::load(f),
        None => KindLimits::default(),
    };
    let backend = alphanode::connect(&ctx.url(file.as_ref())).await?;
    if !a.bind.ip().is_loopback() {
        tracing::warn!(bind = %a.bind, "serving on a non-loopback address: anyone who can reach it can read the API");
    }
    if token.is_none() {
        tracing::warn!("ANP_TOKEN is not set: action endpoints (enqueue, retry, cancel, pause, trigger, deploy mark) are refused");
    }
    let http_rules = file.as_ref().and_then(http_rules);
    let app = Arc::new(App {
        client: Client::new(backend.clone()),
        limits,
        admin: Admin::new(backend),
        token,
        started: jiff::Timestamp::now(),
        base_path: base.clone(),
        sessions: Default::default(),
        live: dashboard::live::Live::new(a.live_interval),
        http_rules,
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
    tracing::info!(addr = %a.bind, base_path = %base, "anp serve listening");
    axum::serve(listener, router(app))
        .with_graceful_shutdown(alphanode::process::wait_for_signal())
        .await?;
    Ok(())
}

/// The config's `[http_cache] rules` file, loaded; a file that cannot be used is logged and
/// reported on the cache page rather than stopping `anp serve`.
fn http_rules(file: &ConfigFile) -> Option<Result<anp_http::rules::Rules, String>> {
    let loaded = match file.http_cache_rules() {
        Ok(path) => path.map(|p| anp_http::rules::Rules::load(&p).map_err(|e| e.to_string())),
        Err(e) => Some(Err(e)),
    };
    if let Some(Err(e)) = &loaded {
        tracing::warn!(error = %e, "the HTTP cache rules file named in the config cannot be used; the dashboard's cache page says so");
    }
    loaded
}

/// Every route with its guards; around them the net that puts axum's own 404/405 answers into
/// the error form, and the security headers.
fn router(app: Shared) -> Router {
    let routes = Router::new()
        .route("/healthz", read(health::healthz))
        .route("/metrics", read(metrics::metrics))
        .route("/api/status", read(api::status))
        .route("/api/queues", read(api::queues))
        .route(
            "/api/jobs",
            read(api::jobs).merge(action(&app, actions::enqueue)),
        )
        .route("/api/jobs/bulk", action(&app, actions::enqueue_bulk))
        .route("/api/jobs/{id}", read(api::job))
        .route("/api/schedules", read(api::schedules))
        .route("/api/schedules/{name}", read(api::schedule))
        .route("/api/workers", read(api::workers))
        .route(
            "/api/deploys",
            read(api::deploys).merge(action(&app, actions::deploy_mark)),
        )
        .route("/api/jobs/{id}/retry", action(&app, actions::job_retry))
        .route("/api/jobs/{id}/cancel", action(&app, actions::job_cancel))
        .route(
            "/api/queues/{queue}/pause",
            action(&app, actions::queue_pause),
        )
        .route(
            "/api/queues/{queue}/resume",
            action(&app, actions::queue_resume),
        )
        .route(
            "/api/schedules/{name}/trigger",
            action(&app, actions::schedule_trigger),
        )
        .merge(dashboard::routes())
        .fallback(|req| input::refuse(StatusCode::NOT_FOUND, req))
        .method_not_allowed_fallback(|req| input::refuse(StatusCode::METHOD_NOT_ALLOWED, req))
        .with_state(app.clone());
    // Mounted under --base-path when given.
    let routes = if app.base_path.is_empty() {
        routes
    } else {
        let home = app.base_path.clone();
        Router::new()
            .route(
                &format!("{}/", app.base_path),
                get(move || async move { axum::response::Redirect::permanent(&home) }),
            )
            .nest(&app.base_path, routes)
    };
    // A router around the routes, so the net sees the answer as axum finishes it (`Allow`).
    Router::new()
        .fallback_service(routes)
        .layer(from_fn(error::json_errors))
        .layer(map_response(auth::security_headers))
}

/// A read-only endpoint: `GET` (and `HEAD`), the body limit.
fn read<H, T>(handler: H) -> MethodRouter<Shared>
where
    H: Handler<T, Shared>,
    T: 'static,
{
    get(handler).route_layer(from_fn(input::limit_body))
}

/// An action: `POST`, the token checked first (the outer layer), then the body limit.
fn action<H, T>(app: &Shared, handler: H) -> MethodRouter<Shared>
where
    H: Handler<T, Shared>,
    T: 'static,
{
    post(handler)
        .route_layer(from_fn(input::limit_body))
        .route_layer(from_fn_with_state(app.clone(), auth::audited))
        .route_layer(from_fn_with_state(app.clone(), auth::guard))
}
