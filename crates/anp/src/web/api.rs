//! The read-only JSON API under `/api/` (no token needed), and the error form every endpoint
//! answers with: `{"error": {"op", "kind", "message", "retry_safe"}}` with the status of its
//! kind.

use alphanode::admin::JobFilter;
use alphanode::{Error, ErrorKind, JobId, JobState, Kind, QueueName, ScheduleName};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::Shared;

/// Jobs `/api/jobs` returns when no `limit` is given…
const JOBS_DEFAULT: u32 = 50;
/// …and at most.
const JOBS_MAX: u32 = 1000;
/// Fire-log entries `/api/schedules/NAME` shows.
const FIRE_LOG: u32 = 100;
/// Deploy markers `/api/deploys` shows.
const DEPLOYS: u32 = 50;

/// An error as an HTTP response: the status from its kind, the body in the project's form.
#[derive(Debug)]
pub(super) struct ApiError(Error);

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

/// What every endpoint returns.
pub(super) type ApiResult = Result<Response, ApiError>;

/// `v` as a 200 JSON response.
pub(super) fn ok<T: serde::Serialize>(v: T) -> ApiResult {
    Ok(Json(v).into_response())
}

/// `GET /api/status`: is it up, slow, failing, did the last deploy change anything.
pub(super) async fn status(State(app): State<Shared>) -> ApiResult {
    ok(app.admin.status().await?)
}

/// `GET /api/queues`: counts per queue and state.
pub(super) async fn queues(State(app): State<Shared>) -> ApiResult {
    ok(app.admin.queue_list().await?)
}

/// The query of `/api/jobs`: `state` is a comma-separated list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct JobsQuery {
    state: Option<String>,
    queue: Option<String>,
    kind: Option<String>,
    before: Option<String>,
    limit: Option<u32>,
}

impl JobsQuery {
    /// The checked filter.
    fn filter(&self) -> Result<JobFilter, Error> {
        Ok(JobFilter {
            states: self
                .state
                .as_deref()
                .map(|s| s.split(',').map(JobState::parse).collect::<Result<_, _>>())
                .transpose()?
                .unwrap_or_default(),
            queue: self.queue.as_deref().map(QueueName::parse).transpose()?,
            kind: self.kind.as_deref().map(Kind::parse).transpose()?,
            before: self.before.as_deref().map(JobId::parse).transpose()?,
            limit: self.limit.unwrap_or(JOBS_DEFAULT).clamp(1, JOBS_MAX),
        })
    }
}

/// `GET /api/jobs?state=&queue=&kind=&before=&limit=`: newest first.
pub(super) async fn jobs(State(app): State<Shared>, Query(q): Query<JobsQuery>) -> ApiResult {
    ok(app.admin.job_list(q.filter()?).await?)
}

/// `GET /api/jobs/ID`: one job with its error history.
pub(super) async fn job(State(app): State<Shared>, Path(id): Path<String>) -> ApiResult {
    ok(app.admin.job_get(JobId::parse(&id)?).await?)
}

/// `GET /api/schedules`.
pub(super) async fn schedules(State(app): State<Shared>) -> ApiResult {
    ok(app.admin.schedule_list().await?)
}

/// `GET /api/schedules/NAME`: the schedule and its newest fire-log entries.
pub(super) async fn schedule(State(app): State<Shared>, Path(name): Path<String>) -> ApiResult {
    let name = ScheduleName::parse(&name)?;
    ok(app.admin.schedule_get(&name, FIRE_LOG).await?)
}

/// `GET /api/workers`: live workers and schedulers.
pub(super) async fn workers(State(app): State<Shared>) -> ApiResult {
    ok(app.admin.process_list().await?)
}

/// `GET /api/deploys`: the newest deploy markers.
pub(super) async fn deploys(State(app): State<Shared>) -> ApiResult {
    ok(app.admin.deploy_list(DEPLOYS).await?)
}
