//! The action endpoints: each takes [`Authorized`] first, so a request without the bearer
//! token is refused (401, or 403 when no token is configured) before its path or body is read.

use alphanode::admin::DeployMark;
use alphanode::{Error, JobId, QueueName, ScheduleName};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;

use super::api::{ok, ApiResult};
use super::auth::Authorized;
use super::Shared;

/// Who schedule triggers are logged as.
const TRIGGERED_BY: &str = "anp-serve";

/// `POST /api/jobs/ID/retry`: makes a finished or waiting job available now.
pub(super) async fn job_retry(_: Authorized, app: State<Shared>, id: Path<String>) -> ApiResult {
    ok(app.admin.job_retry(JobId::parse(&id)?).await?)
}

/// `POST /api/jobs/ID/cancel`: cancels a job that is not finished.
pub(super) async fn job_cancel(_: Authorized, app: State<Shared>, id: Path<String>) -> ApiResult {
    ok(app.admin.job_cancel(JobId::parse(&id)?).await?)
}

/// `POST /api/queues/Q/pause`: workers stop fetching the queue.
pub(super) async fn queue_pause(a: Authorized, app: State<Shared>, q: Path<String>) -> ApiResult {
    set_paused(a, app, q, true).await
}

/// `POST /api/queues/Q/resume`: workers fetch the queue again.
pub(super) async fn queue_resume(a: Authorized, app: State<Shared>, q: Path<String>) -> ApiResult {
    set_paused(a, app, q, false).await
}

/// Pauses or resumes a queue; answers `{"queue", "paused"}`.
async fn set_paused(
    _: Authorized,
    State(app): State<Shared>,
    Path(queue): Path<String>,
    paused: bool,
) -> ApiResult {
    let queue = QueueName::parse(&queue)?;
    if paused {
        app.admin.queue_pause(&queue).await?;
    } else {
        app.admin.queue_resume(&queue).await?;
    }
    ok(serde_json::json!({"queue": queue, "paused": paused}))
}

/// `POST /api/schedules/NAME/trigger`: enqueues the schedule's job now.
pub(super) async fn schedule_trigger(
    _: Authorized,
    State(app): State<Shared>,
    Path(name): Path<String>,
) -> ApiResult {
    let name = ScheduleName::parse(&name)?;
    ok(app.admin.schedule_trigger(&name, TRIGGERED_BY).await?)
}

/// The body of `POST /api/deploys`; unknown fields are refused.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MarkBody {
    version: String,
    owner: Option<String>,
    rollback: Option<String>,
    note: Option<String>,
}

/// `POST /api/deploys` with `{"version", "owner"?, "rollback"?, "note"?}`: marks a deploy
/// (201 with the marker).
pub(super) async fn deploy_mark(
    _: Authorized,
    State(app): State<Shared>,
    body: Bytes,
) -> ApiResult {
    let b: MarkBody = serde_json::from_slice(&body).map_err(|e| {
        Error::invalid(
            "deploy mark",
            format!(
                "{e}: expected {{\"version\": \"v1.2.3\", \"owner\"?, \"rollback\"?, \"note\"?}}"
            ),
        )
    })?;
    let marker = app
        .admin
        .deploy_mark(DeployMark {
            version: b.version,
            owner: b.owner,
            rollback: b.rollback,
            note: b.note,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(marker)).into_response())
}
