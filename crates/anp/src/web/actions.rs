//! The action endpoints. The router puts each behind the bearer token (checked before
//! anything else is read) and the body limit (`mod.rs`, `action`); each answers `anp …
//! --json`'s object for the same command.

use alphanode::admin::DeployMark;
use alphanode::{Error, JobId, NewJob, QueueName, ScheduleName};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use super::error::{ok, with_status, ApiResult};
use super::input::{json_body, PathText};
use super::{App, Shared};
use crate::wire::{EnqueueRequest, Spelling};

/// Who schedule triggers are logged as.
const TRIGGERED_BY: &str = "anp-serve";

/// The most jobs one `POST /api/jobs/bulk` takes.
const BULK_MAX: usize = 1000;

/// One job as `POST /api/jobs` and `POST /api/jobs/bulk` take it, for error messages.
const JOB_FORM: &str =
    "{\"kind\": \"email.send\", \"args\"?: {...}, \"queue\"?, \"priority\"?: 0-9, \
     \"max_attempts\"?, \"unique\"?, \"unique_for\"?, \"run_at\"? or \"in\"?}";

/// `POST /api/jobs/ID/retry`: makes a finished or waiting job available now.
pub(super) async fn job_retry(State(app): State<Shared>, PathText(id): PathText) -> ApiResult {
    ok(app.admin.job_retry(JobId::parse(&id)?).await?)
}

/// `POST /api/jobs/ID/cancel`: cancels a job that is not finished.
pub(super) async fn job_cancel(State(app): State<Shared>, PathText(id): PathText) -> ApiResult {
    ok(app.admin.job_cancel(JobId::parse(&id)?).await?)
}

/// `POST /api/queues/Q/pause`: workers stop fetching the queue.
pub(super) async fn queue_pause(app: State<Shared>, q: PathText) -> ApiResult {
    set_paused(app, q, true).await
}

/// `POST /api/queues/Q/resume`: workers fetch the queue again.
pub(super) async fn queue_resume(app: State<Shared>, q: PathText) -> ApiResult {
    set_paused(app, q, false).await
}

/// Pauses or resumes a queue; answers `{"queue", "paused"}`.
async fn set_paused(
    State(app): State<Shared>,
    PathText(queue): PathText,
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
    State(app): State<Shared>,
    PathText(name): PathText,
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
pub(super) async fn deploy_mark(State(app): State<Shared>, body: Bytes) -> ApiResult {
    let b: MarkBody = json_body(
        "deploy mark",
        &body,
        "{\"version\": \"v1.2.3\", \"owner\"?, \"rollback\"?, \"note\"?}",
    )?;
    let marker = app
        .admin
        .deploy_mark(DeployMark {
            version: b.version,
            owner: b.owner,
            rollback: b.rollback,
            note: b.note,
        })
        .await?;
    with_status(StatusCode::CREATED, marker)
}

/// A checked job, as `anp enqueue` checks it, with the config's per-kind `max_attempts`.
fn new_job(app: &App, req: &EnqueueRequest) -> Result<NewJob, Error> {
    let (kind, args, opts) = req.parse(Spelling::FIELDS)?;
    app.limits.job(&app.client, kind, args, opts)
}

/// `POST /api/jobs` with one job (`anp enqueue`'s options as JSON fields): 201 with `{"id",
/// "duplicate": false, "state"}`, or 200 with the existing job and `"duplicate": true` when its
/// unique key matched one.
pub(super) async fn enqueue(State(app): State<Shared>, body: Bytes) -> ApiResult {
    let req: EnqueueRequest = json_body("enqueue", &body, JOB_FORM)?;
    let job = new_job(&app, &req)?;
    let res = app
        .client
        .insert_many(vec![job])
        .await?
        .pop()
        .ok_or_else(|| Error::internal("enqueue", "the store returned no result"))?;
    let status = if res.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    with_status(status, res)
}

/// The body of `POST /api/jobs/bulk`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BulkBody {
    /// At most [`BULK_MAX`] jobs, each as `POST /api/jobs` takes one.
    jobs: Vec<EnqueueRequest>,
}

/// `POST /api/jobs/bulk` with `{"jobs": [...]}` (at most 1,000): every job is checked first
/// (one bad job enqueues nothing), then all go in one atomic batch. Answers `{"enqueued",
/// "duplicates", "jobs": [{"id", "duplicate", "state"}, ...]}` in input order; 201 when any
/// job was added, 200 when all were duplicates.
pub(super) async fn enqueue_bulk(State(app): State<Shared>, body: Bytes) -> ApiResult {
    const OP: &str = "enqueue bulk";
    let b: BulkBody = json_body(OP, &body, &format!("{{\"jobs\": [{JOB_FORM}, ...]}}"))?;
    if b.jobs.len() > BULK_MAX {
        return Err(Error::invalid(
            OP,
            format!(
                "{} jobs given: expected at most {BULK_MAX} per request; nothing was enqueued",
                b.jobs.len()
            ),
        )
        .into());
    }
    let jobs = b
        .jobs
        .iter()
        .enumerate()
        .map(|(i, req)| {
            new_job(&app, req).map_err(|e| {
                Error::invalid(
                    OP,
                    format!(
                        "jobs[{i}]: {}: {}; nothing was enqueued",
                        e.op(),
                        e.message()
                    ),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let results = app.client.insert_many(jobs).await?;
    let duplicates = results.iter().filter(|r| r.duplicate).count();
    let enqueued = results.len() - duplicates;
    let status = if enqueued > 0 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    with_status(
        status,
        serde_json::json!({"enqueued": enqueued, "duplicates": duplicates, "jobs": results}),
    )
}
