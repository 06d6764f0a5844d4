//! `anp serve`: `/healthz`, `/metrics` (Prometheus text format), a read-only JSON API under
//! `/api/`, and token-protected actions. Binds 127.0.0.1:7070 unless told otherwise.
//!
//! Security: actions need `Authorization: Bearer $ANP_TOKEN` (refused when no token is
//! configured). A bearer header is never sent by a browser on its own, so cross-site requests
//! cannot forge an action (CSRF). Every response carries `X-Content-Type-Options: nosniff`,
//! `X-Frame-Options: DENY`, `Cache-Control: no-store` and a `Content-Security-Policy` that
//! allows nothing; request bodies are limited to 64 KiB.
//!
//! `/metrics` is rendered from the store at scrape time (queue depths, per-minute stats since the
//! server started, schedules, live processes), so any number of workers on any hosts are covered
//! by one `anp serve`. The exposition format is written here rather than through a metrics
//! client crate because the values are snapshots of the store (cumulative bucket counts, gauges
//! read back) that those crates' record-an-observation APIs cannot set.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use alphanode::SystemClock;
use anp_core::monitor::{
    minute_of, DeployMarker, Histogram, ProcessListParams, StatCounts, StatsQueryParams,
};
use anp_core::schedule::{ScheduleName, ScheduleTriggerParams};
use anp_core::store::JobListParams;
use anp_core::{Clock, Error, ErrorKind, JobId, JobState, Kind, QueueName, Store};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use clap::Args as ClapArgs;
use serde::Deserialize;

use super::Ctx;
use alphanode::admin::STALE_AFTER;

/// Options of `anp serve`.
#[derive(ClapArgs, Debug)]
pub struct ServeArgs {
    /// Address to listen on. Anything but loopback exposes the API: set ANP_TOKEN and a firewall.
    #[arg(long, default_value = "127.0.0.1:7070")]
    pub bind: SocketAddr,
}

struct App {
    store: Arc<dyn Store>,
    token: Option<String>,
    started: jiff::Timestamp,
}

type Shared = Arc<App>;

/// An error as an HTTP response: the status from its kind, the body in the project's form.
struct ApiError(Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match self.0.kind() {
            ErrorKind::InvalidInput => StatusCode::BAD_REQUEST,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Conflict | ErrorKind::LeaseLost => StatusCode::CONFLICT,
            ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let body = serde_json::json!({"error": {
            "op": self.0.op(), "kind": self.0.kind().as_str(), "message": self.0.message(),
            "retry_safe": self.0.retry_safe(),
        }});
        (status, Json(body)).into_response()
    }
}

type ApiResult = Result<Response, ApiError>;

fn ok<T: serde::Serialize>(v: T) -> ApiResult {
    Ok(Json(v).into_response())
}

/// Runs `anp serve` until SIGTERM/SIGINT.
pub async fn run(ctx: &Ctx, a: ServeArgs) -> anyhow::Result<()> {
    let store = ctx.open(None).await?;
    let token = std::env::var("ANP_TOKEN").ok().filter(|t| !t.is_empty());
    if token.as_ref().is_some_and(|t| t.len() < 16) {
        return Err(
            Error::invalid("ANP_TOKEN", "is too short: expected at least 16 characters").into(),
        );
    }
    if !a.bind.ip().is_loopback() {
        tracing::warn!(bind = %a.bind, "serving on a non-loopback address: anyone who can reach it can read the API");
    }
    if token.is_none() {
        tracing::warn!("ANP_TOKEN is not set: action endpoints (retry, cancel, pause, trigger, deploy mark) are refused");
    }
    let app = Arc::new(App {
        store: store.store().clone(),
        token,
        started: SystemClock.now(),
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

fn router(app: Shared) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/api/status", get(api_status))
        .route("/api/queues", get(api_queues))
        .route("/api/jobs", get(api_jobs))
        .route("/api/jobs/{id}", get(api_job))
        .route("/api/schedules", get(api_schedules))
        .route("/api/schedules/{name}", get(api_schedule))
        .route("/api/workers", get(api_workers))
        .route("/api/deploys", get(api_deploys).post(act_deploy_mark))
        .route("/api/jobs/{id}/retry", post(act_job_retry))
        .route("/api/jobs/{id}/cancel", post(act_job_cancel))
        .route("/api/queues/{queue}/pause", post(act_queue_pause))
        .route("/api/queues/{queue}/resume", post(act_queue_resume))
        .route("/api/schedules/{name}/trigger", post(act_schedule_trigger))
        .layer(DefaultBodyLimit::max(64 * 1024))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(app)
}

async fn security_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        "content-security-policy",
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    );
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    r
}

/// Constant-time comparison, so response timing says nothing about the token.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `Some(refusal)` unless the request carries the token.
fn refuse(app: &App, headers: &HeaderMap) -> Option<Response> {
    let deny = |status: StatusCode, msg: &str| {
        (status, Json(serde_json::json!({"error": {"kind": "unauthorized", "message": msg, "retry_safe": false}}))).into_response()
    };
    let Some(token) = &app.token else {
        return Some(deny(
            StatusCode::FORBIDDEN,
            "actions are disabled: start anp serve with ANP_TOKEN set",
        ));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        Some(g) if same(g.as_bytes(), token.as_bytes()) => None,
        _ => Some(deny(
            StatusCode::UNAUTHORIZED,
            "missing or wrong bearer token: expected Authorization: Bearer $ANP_TOKEN",
        )),
    }
}

async fn healthz(State(app): State<Shared>) -> Response {
    let t = Instant::now();
    match app.store.store_ping().await {
        Ok(info) => {
            let expected = expected_schema(app.store.backend());
            if expected.is_some_and(|v| v != info.schema_version) {
                let reason = format!(
                    "schema version {} is not the {} this anp expects",
                    info.schema_version,
                    expected.unwrap_or(0)
                );
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    Json(serde_json::json!({"status": "unavailable", "reason": reason})),
                )
                    .into_response();
            }
            Json(serde_json::json!({
                "status": "ok", "backend": info.backend, "schema_version": info.schema_version,
                "round_trip_ms": t.elapsed().as_secs_f64() * 1000.0,
            }))
            .into_response()
        }
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"status": "unavailable", "reason": e.to_string()})),
        )
            .into_response(),
    }
}

fn expected_schema(backend: &str) -> Option<u32> {
    (backend == "sqlite").then_some(anp_sqlite::SCHEMA_VERSION)
}

async fn api_status(State(app): State<Shared>) -> ApiResult {
    ok(alphanode::Admin::new(app.store.clone()).status().await?)
}

async fn api_queues(State(app): State<Shared>) -> ApiResult {
    ok(app.store.queue_list().await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JobsQuery {
    state: Option<String>,
    queue: Option<String>,
    kind: Option<String>,
    before: Option<String>,
    limit: Option<u32>,
}

async fn api_jobs(State(app): State<Shared>, Query(q): Query<JobsQuery>) -> ApiResult {
    let p = JobListParams {
        states: q
            .state
            .as_deref()
            .map(|s| s.split(',').map(JobState::parse).collect::<Result<_, _>>())
            .transpose()?
            .unwrap_or_default(),
        queue: q.queue.as_deref().map(QueueName::parse).transpose()?,
        kind: q.kind.as_deref().map(Kind::parse).transpose()?,
        before: q.before.as_deref().map(JobId::parse).transpose()?,
        limit: q.limit.unwrap_or(50).clamp(1, 1000),
    };
    ok(app.store.job_list(p).await?)
}

async fn api_job(State(app): State<Shared>, Path(id): Path<String>) -> ApiResult {
    ok(app.store.job_get(JobId::parse(&id)?).await?)
}

async fn api_schedules(State(app): State<Shared>) -> ApiResult {
    ok(app.store.schedule_list().await?)
}

async fn api_schedule(State(app): State<Shared>, Path(name): Path<String>) -> ApiResult {
    let (info, log) = app
        .store
        .schedule_get(ScheduleName::parse(&name)?, 100)
        .await?;
    ok(serde_json::json!({"schedule": info, "fire_log": log}))
}

async fn api_workers(State(app): State<Shared>) -> ApiResult {
    ok(app
        .store
        .process_list(ProcessListParams {
            now: SystemClock.now(),
            stale_after: STALE_AFTER,
        })
        .await?)
}

async fn api_deploys(State(app): State<Shared>) -> ApiResult {
    ok(app.store.deploy_list(50).await?)
}

async fn act_job_retry(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult {
    if let Some(r) = refuse(&app, &headers) {
        return Ok(r);
    }
    ok(app
        .store
        .job_retry(JobId::parse(&id)?, SystemClock.now())
        .await?)
}

async fn act_job_cancel(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult {
    if let Some(r) = refuse(&app, &headers) {
        return Ok(r);
    }
    ok(app
        .store
        .job_cancel(JobId::parse(&id)?, SystemClock.now())
        .await?)
}

async fn set_paused(app: &App, headers: &HeaderMap, queue: &str, paused: bool) -> ApiResult {
    if let Some(r) = refuse(app, headers) {
        return Ok(r);
    }
    let q = QueueName::parse(queue)?;
    app.store
        .queue_set_paused(q.clone(), paused, SystemClock.now())
        .await?;
    ok(serde_json::json!({"queue": q, "paused": paused}))
}

async fn act_queue_pause(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path(queue): Path<String>,
) -> ApiResult {
    set_paused(&app, &headers, &queue, true).await
}

async fn act_queue_resume(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path(queue): Path<String>,
) -> ApiResult {
    set_paused(&app, &headers, &queue, false).await
}

async fn act_schedule_trigger(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> ApiResult {
    if let Some(r) = refuse(&app, &headers) {
        return Ok(r);
    }
    let p = ScheduleTriggerParams {
        name: ScheduleName::parse(&name)?,
        now: SystemClock.now(),
        by: "anp-serve".into(),
        log_max: 1000,
    };
    ok(app.store.schedule_trigger(p).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MarkBody {
    version: String,
    owner: Option<String>,
    rollback: Option<String>,
    note: Option<String>,
}

async fn act_deploy_mark(
    State(app): State<Shared>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult {
    if let Some(r) = refuse(&app, &headers) {
        return Ok(r);
    }
    let b: MarkBody = serde_json::from_slice(&body).map_err(|e| {
        Error::invalid(
            "deploy mark",
            format!(
                "{e}: expected {{\"version\": \"v1.2.3\", \"owner\"?, \"rollback\"?, \"note\"?}}"
            ),
        )
    })?;
    if b.version.trim().is_empty() || b.version.len() > 200 {
        return Err(Error::invalid("deploy mark", "version: expected 1-200 characters").into());
    }
    let m = DeployMarker {
        at: SystemClock.now(),
        version: b.version,
        owner: b.owner,
        rollback: b.rollback,
        note: b.note,
    };
    app.store.deploy_mark(m.clone()).await?;
    Ok((StatusCode::CREATED, Json(m)).into_response())
}

/// Escapes a label value for the Prometheus text format.
fn esc(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn histogram(out: &mut String, name: &str, labels: &str, h: &Histogram) {
    let mut cum = 0;
    for (i, bound) in Histogram::BOUNDS_MS.iter().enumerate() {
        cum += h.counts.get(i).copied().unwrap_or(0);
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels},le=\"{}\"}} {cum}",
            bound / 1000.0
        );
    }
    let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", h.count());
    let _ = writeln!(out, "{name}_sum{{{labels}}} {}", h.sum_us as f64 / 1e6);
    let _ = writeln!(out, "{name}_count{{{labels}}} {}", h.count());
}

async fn metrics(State(app): State<Shared>) -> ApiResult {
    let now = SystemClock.now();
    let mut out = String::new();
    let mut op_seconds: Vec<(&str, f64)> = Vec::new();
    macro_rules! timed {
        ($op:literal, $e:expr) => {{
            let t = Instant::now();
            let r = $e.await?;
            op_seconds.push(($op, t.elapsed().as_secs_f64()));
            r
        }};
    }
    let queues = timed!("queue_list", app.store.queue_list());
    out.push_str("# HELP anp_jobs Jobs in the store by queue and state.\n# TYPE anp_jobs gauge\n");
    for q in &queues {
        for (state, n) in &q.counts {
            let _ = writeln!(
                out,
                "anp_jobs{{queue=\"{}\",state=\"{}\"}} {n}",
                esc(q.queue.as_str()),
                state.as_str()
            );
        }
    }
    out.push_str(
        "# HELP anp_queue_depth Available jobs waiting in a queue.\n# TYPE anp_queue_depth gauge\n",
    );
    for q in &queues {
        let _ = writeln!(
            out,
            "anp_queue_depth{{queue=\"{}\"}} {}",
            esc(q.queue.as_str()),
            q.counts.get(&JobState::Available).copied().unwrap_or(0)
        );
    }
    out.push_str("# HELP anp_queue_oldest_available_age_seconds Age of the oldest available job.\n# TYPE anp_queue_oldest_available_age_seconds gauge\n");
    for q in &queues {
        let age = q
            .oldest_available_at
            .map(|t| now.duration_since(t).as_secs_f64().max(0.0))
            .unwrap_or(0.0);
        let _ = writeln!(
            out,
            "anp_queue_oldest_available_age_seconds{{queue=\"{}\"}} {age}",
            esc(q.queue.as_str())
        );
    }
    out.push_str(
        "# HELP anp_queue_paused 1 when the queue is paused.\n# TYPE anp_queue_paused gauge\n",
    );
    for q in &queues {
        let _ = writeln!(
            out,
            "anp_queue_paused{{queue=\"{}\"}} {}",
            esc(q.queue.as_str()),
            u8::from(q.paused)
        );
    }

    // Counters and histograms: per-minute stats since this server started (monotonic for its
    // lifetime; a restart is a counter reset, which Prometheus handles).
    let rows = timed!(
        "stats_query",
        app.store.stats_query(StatsQueryParams {
            from: minute_of(app.started),
            until: anp_core::job::ts_add(now, std::time::Duration::from_secs(60))
        })
    );
    let mut by: BTreeMap<(String, String), StatCounts> = BTreeMap::new();
    for (k, c) in &rows {
        by.entry((k.queue.to_string(), k.kind.to_string()))
            .or_default()
            .merge(c);
    }
    for (name, help, get) in [
        (
            "anp_jobs_enqueued_total",
            "Jobs enqueued.",
            (|c: &StatCounts| c.enqueued) as fn(&StatCounts) -> u64,
        ),
        ("anp_jobs_completed_total", "Attempts completed.", |c| {
            c.completed
        }),
        ("anp_jobs_failed_total", "Attempts failed.", |c| c.failed),
        ("anp_jobs_dead_total", "Jobs that went dead.", |c| c.dead),
    ] {
        let _ = writeln!(
            out,
            "# HELP {name} {help} Since this anp serve started.\n# TYPE {name} counter"
        );
        for ((q, k), c) in &by {
            let _ = writeln!(
                out,
                "{name}{{queue=\"{}\",kind=\"{}\"}} {}",
                esc(q),
                esc(k),
                get(c)
            );
        }
    }
    for (name, help, pick) in [
        (
            "anp_job_run_seconds",
            "Run time of finished attempts.",
            (|c: &StatCounts| &c.run) as fn(&StatCounts) -> &Histogram,
        ),
        ("anp_job_wait_seconds", "Wait from due to fetched.", |c| {
            &c.wait
        }),
    ] {
        let _ = writeln!(
            out,
            "# HELP {name} {help} Since this anp serve started.\n# TYPE {name} histogram"
        );
        for ((q, k), c) in &by {
            histogram(
                &mut out,
                name,
                &format!("queue=\"{}\",kind=\"{}\"", esc(q), esc(k)),
                pick(c),
            );
        }
    }

    let schedules = timed!("schedule_list", app.store.schedule_list());
    out.push_str("# HELP anp_schedule_last_tick_timestamp_seconds The latest tick decided.\n# TYPE anp_schedule_last_tick_timestamp_seconds gauge\n");
    for s in &schedules {
        if let Some(t) = s.last_tick {
            let _ = writeln!(
                out,
                "anp_schedule_last_tick_timestamp_seconds{{schedule=\"{}\"}} {}",
                esc(s.def.name.as_str()),
                t.as_millisecond() as f64 / 1000.0
            );
        }
    }
    out.push_str("# HELP anp_schedule_lag_seconds How late the schedule is: now minus its next due tick after the last decided one (0 when on time).\n# TYPE anp_schedule_lag_seconds gauge\n");
    for s in &schedules {
        let next = match (
            anp_cron::CronExpr::parse(&s.def.cron),
            anp_cron::Tz::parse(&s.def.tz),
            s.last_tick,
        ) {
            (Ok(e), Ok(tz), Some(last)) => e.next_timestamp_after(&tz, last),
            _ => None,
        };
        let lag = next
            .map(|n| now.duration_since(n).as_secs_f64().max(0.0))
            .unwrap_or(0.0);
        let _ = writeln!(
            out,
            "anp_schedule_lag_seconds{{schedule=\"{}\"}} {lag}",
            esc(s.def.name.as_str())
        );
    }
    let procs = timed!(
        "process_list",
        app.store.process_list(ProcessListParams {
            now,
            stale_after: STALE_AFTER
        })
    );
    out.push_str("# HELP anp_processes Live workers and schedulers.\n# TYPE anp_processes gauge\n");
    for role in ["worker", "scheduler"] {
        let _ = writeln!(
            out,
            "anp_processes{{role=\"{role}\"}} {}",
            procs.iter().filter(|p| p.role == role).count()
        );
    }
    out.push_str("# HELP anp_store_operation_seconds Duration of the store operations this scrape made.\n# TYPE anp_store_operation_seconds gauge\n");
    for (op, secs) in op_seconds {
        let _ = writeln!(out, "anp_store_operation_seconds{{op=\"{op}\"}} {secs}");
    }
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response())
}
