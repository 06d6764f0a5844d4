//! The read-only JSON API under `/api/` (no token needed). Each answer is the object `anp …
//! --json` prints for the same question (jobs, queues, schedules, workers, deploys, status).
//! Endpoints refuse query parameters they do not take.

use alphanode::admin::JobFilter;
use alphanode::{Clock, JobId, JobState, Kind, QueueName, ScheduleName, SystemClock};
use axum::extract::State;

use super::error::{ok, ApiResult};
use super::input::{NoQuery, PathText, QueryParams};
use super::Shared;
use crate::wire::views::{QueueView, ScheduleView};

/// Jobs `/api/jobs` returns when no `limit` is given…
const JOBS_DEFAULT: u32 = 50;
/// …and at most, as `anp jobs list --limit`.
const JOBS_MAX: u32 = 10_000;
/// Fire-log entries `/api/schedules/NAME` shows when no `log` is given.
const FIRE_LOG: u32 = 100;
/// Deploy markers `/api/deploys` shows when no `limit` is given.
const DEPLOYS: u32 = 50;
/// The most `log` or deploy `limit` asks for.
const LIST_MAX: u32 = 10_000;

/// `GET /api/status`: is it up, slow, failing, did the last deploy change anything.
pub(super) async fn status(State(app): State<Shared>, _: NoQuery) -> ApiResult {
    ok(app.admin.status().await?)
}

/// `GET /api/queues`: counts per queue and state, oldest available job and its age.
pub(super) async fn queues(State(app): State<Shared>, _: NoQuery) -> ApiResult {
    let list = app.admin.queue_list().await?;
    let now = SystemClock.now();
    ok(list
        .iter()
        .map(|q| QueueView::new(q, now))
        .collect::<Vec<_>>())
}

/// `GET /api/jobs?state=S[,S…]&queue=&kind=&before=ID&limit=1-10000`: newest first.
pub(super) async fn jobs(State(app): State<Shared>, q: QueryParams) -> ApiResult {
    let mut p = q.only(&["state", "queue", "kind", "before", "limit"])?;
    let filter = JobFilter {
        states: p
            .take("state")
            .map(|s| s.split(',').map(JobState::parse).collect::<Result<_, _>>())
            .transpose()?
            .unwrap_or_default(),
        queue: p
            .take("queue")
            .as_deref()
            .map(QueueName::parse)
            .transpose()?,
        kind: p.take("kind").as_deref().map(Kind::parse).transpose()?,
        before: p.take("before").as_deref().map(JobId::parse).transpose()?,
        limit: p.count("limit", JOBS_DEFAULT, JOBS_MAX)?,
    };
    ok(app.admin.job_list(filter).await?)
}

/// `GET /api/jobs/ID`: one job with its error history.
pub(super) async fn job(
    State(app): State<Shared>,
    PathText(id): PathText,
    _: NoQuery,
) -> ApiResult {
    ok(app.admin.job_get(JobId::parse(&id)?).await?)
}

/// `GET /api/schedules`: every schedule with its next run.
pub(super) async fn schedules(State(app): State<Shared>, _: NoQuery) -> ApiResult {
    let list = app.admin.schedule_list().await?;
    let now = SystemClock.now();
    ok(list
        .iter()
        .map(|i| ScheduleView::new(i, now))
        .collect::<Vec<_>>())
}

/// `GET /api/schedules/NAME?log=1-10000`: the schedule and its newest fire-log entries.
pub(super) async fn schedule(
    State(app): State<Shared>,
    PathText(name): PathText,
    q: QueryParams,
) -> ApiResult {
    let log = q.only(&["log"])?.count("log", FIRE_LOG, LIST_MAX)?;
    let name = ScheduleName::parse(&name)?;
    let detail = app.admin.schedule_get(&name, log).await?;
    let now = SystemClock.now();
    ok(ScheduleView::new(&detail.schedule, now).with_fire_log(&detail.fire_log))
}

/// `GET /api/workers`: live workers and schedulers.
pub(super) async fn workers(State(app): State<Shared>, _: NoQuery) -> ApiResult {
    ok(app.admin.process_list().await?)
}

/// `GET /api/deploys?limit=1-10000`: the newest deploy markers.
pub(super) async fn deploys(State(app): State<Shared>, q: QueryParams) -> ApiResult {
    let limit = q.only(&["limit"])?.count("limit", DEPLOYS, LIST_MAX)?;
    ok(app.admin.deploy_list(limit).await?)
}
