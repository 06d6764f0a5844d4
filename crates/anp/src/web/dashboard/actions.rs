//! The dashboard's actions. Each is a form `POST`: refused (403, nothing changed) without a
//! live session and its CSRF token (`session::check`), then done through
//! [`alphanode::Admin`], recorded in the audit log as `dashboard session <short id>`, and
//! answered with a redirect to the page it came from (303, with `?done=` saying what
//! happened) or an error page.

use std::collections::HashMap;

use alphanode::admin::DeadFilter;
use alphanode::cache::{CacheClient, CacheOptions, NamespaceOptions};
use alphanode::{JobId, QueueName, ScheduleName};
use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::session::{check, frame, SignedIn};
use super::{count, enc, lib_error, render, see_other, Frame};
use crate::web::Shared;

/// Who schedule triggers from the dashboard are logged as in the fire log.
const TRIGGERED_BY: &str = "anp-serve dashboard";

/// The form of every action.
type Fields = Form<HashMap<String, String>>;

/// Records the action in the audit log (a failure to record is logged, not shown: the action
/// itself has happened).
async fn audit(app: &Shared, who: &SignedIn, action: &str, target: &str, result: &str) {
    if let Err(e) = app
        .admin
        .audit_record(&who.who(), action, target, result)
        .await
    {
        tracing::warn!(error = %e, action, target, "could not record a dashboard action in the audit log");
    }
}

/// Runs an action after the session and CSRF check, records it, and redirects to `back` with
/// a notice (or shows the error page).
async fn act<F, Fut>(
    app: Shared,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
    action: &str,
    target: &str,
    back: String,
    run: F,
) -> Response
where
    F: FnOnce(Shared) -> Fut,
    Fut: std::future::Future<Output = alphanode::Result<String>>,
{
    let who = match check(&app, headers, form) {
        Ok(w) => w,
        Err(refused) => return *refused,
    };
    let f = frame(&app, headers, action, "");
    match run(app.clone()).await {
        Ok(done) => {
            audit(&app, &who, action, target, &format!("ok: {done}")).await;
            let sep = if back.contains('?') { '&' } else { '?' };
            see_other(&format!(
                "{}{back}{sep}done={}",
                app.base_path,
                enc(&format!("{action} {target}: {done}"))
            ))
        }
        Err(e) => {
            audit(&app, &who, action, target, &format!("error: {e}")).await;
            lib_error(f, e)
        }
    }
}

/// `POST /ui/jobs/ID/retry`.
pub(super) async fn job_retry(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Fields,
) -> Response {
    let back = format!("/jobs/{}", enc(&id));
    act(
        app,
        &headers,
        &form,
        "job retry",
        &id.clone(),
        back,
        |app| async move {
            let j = app.admin.job_retry(JobId::parse(&id)?).await?;
            Ok(format!("now {}", j.state))
        },
    )
    .await
}

/// `POST /ui/jobs/ID/cancel`.
pub(super) async fn job_cancel(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Fields,
) -> Response {
    let back = format!("/jobs/{}", enc(&id));
    act(
        app,
        &headers,
        &form,
        "job cancel",
        &id.clone(),
        back,
        |app| async move {
            let j = app.admin.job_cancel(JobId::parse(&id)?).await?;
            Ok(format!("now {}", j.state))
        },
    )
    .await
}

/// `POST /ui/jobs/ID/delete`: back to the jobs list.
pub(super) async fn job_delete(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Fields,
) -> Response {
    act(
        app,
        &headers,
        &form,
        "job delete",
        &id.clone(),
        "/jobs".into(),
        |app| async move {
            app.admin.job_delete(JobId::parse(&id)?).await?;
            Ok("deleted".into())
        },
    )
    .await
}

/// The bulk-retry confirmation page.
#[derive(Template)]
#[template(path = "confirm_retry_dead.html")]
struct ConfirmRetryDead {
    f: Frame,
    queue: String,
    count: String,
    none: bool,
    one: bool,
}

/// `GET /ui/jobs/retry-dead?queue=`: states how many dead jobs a bulk retry touches and asks
/// to confirm (the count is the store's per-queue dead count; jobs that die meanwhile are
/// included).
pub(super) async fn retry_dead_confirm(
    State(app): State<Shared>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<HashMap<String, String>>,
) -> Response {
    let f = frame(&app, &headers, "Retry dead jobs", "jobs");
    let queue = q
        .get("queue")
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    let parsed = match queue.as_deref().map(QueueName::parse).transpose() {
        Ok(p) => p,
        Err(e) => return lib_error(f, e),
    };
    match app.admin.job_count_dead(parsed.as_ref()).await {
        Ok(n) => render(
            StatusCode::OK,
            &ConfirmRetryDead {
                f,
                queue: queue.unwrap_or_default(),
                count: count(n),
                none: n == 0,
                one: n == 1,
            },
        ),
        Err(e) => lib_error(f, e),
    }
}

/// `POST /ui/jobs/retry-dead` with `confirm=yes` (and `queue`): retries every dead job (of the
/// queue).
pub(super) async fn retry_dead(
    State(app): State<Shared>,
    headers: HeaderMap,
    Form(form): Fields,
) -> Response {
    let queue = form
        .get("queue")
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    let target = queue.clone().unwrap_or_else(|| "every queue".into());
    let confirmed = form.get("confirm").is_some_and(|c| c == "yes");
    act(app, &headers, &form, "retry dead jobs", &target, "/jobs?state=available".into(), |app| async move {
        if !confirmed {
            return Err(alphanode::Error::invalid(
                "retry dead jobs",
                "not confirmed: expected confirm=yes from the confirmation page; nothing was retried",
            ));
        }
        let filter = DeadFilter {
            queue: queue.as_deref().map(QueueName::parse).transpose()?,
            kind: None,
        };
        let n = app.admin.job_retry_dead(filter, |_| {}).await?;
        Ok(format!(
            "{} {} made available",
            count(n),
            if n == 1 { "job" } else { "jobs" }
        ))
    })
    .await
}

/// `POST /ui/queues/Q/pause`.
pub(super) async fn queue_pause(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path(q): Path<String>,
    Form(form): Fields,
) -> Response {
    act(
        app,
        &headers,
        &form,
        "queue pause",
        &q.clone(),
        "/queues".into(),
        |app| async move {
            app.admin.queue_pause(&QueueName::parse(&q)?).await?;
            Ok("paused".into())
        },
    )
    .await
}

/// `POST /ui/queues/Q/resume`.
pub(super) async fn queue_resume(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path(q): Path<String>,
    Form(form): Fields,
) -> Response {
    act(
        app,
        &headers,
        &form,
        "queue resume",
        &q.clone(),
        "/queues".into(),
        |app| async move {
            app.admin.queue_resume(&QueueName::parse(&q)?).await?;
            Ok("resumed".into())
        },
    )
    .await
}

/// `POST /ui/schedules/NAME/trigger`.
pub(super) async fn schedule_trigger(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path(n): Path<String>,
    Form(form): Fields,
) -> Response {
    let back = format!("/schedules/{}", enc(&n));
    act(
        app,
        &headers,
        &form,
        "schedule trigger",
        &n.clone(),
        back,
        |app| async move {
            let e = app
                .admin
                .schedule_trigger(&ScheduleName::parse(&n)?, TRIGGERED_BY)
                .await?;
            Ok(format!("job {} enqueued", e.id))
        },
    )
    .await
}

/// `POST /ui/schedules/NAME/pause`.
pub(super) async fn schedule_pause(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path(n): Path<String>,
    Form(form): Fields,
) -> Response {
    let back = format!("/schedules/{}", enc(&n));
    act(
        app,
        &headers,
        &form,
        "schedule pause",
        &n.clone(),
        back,
        |app| async move {
            app.admin.schedule_pause(&ScheduleName::parse(&n)?).await?;
            Ok("paused".into())
        },
    )
    .await
}

/// `POST /ui/schedules/NAME/resume`.
pub(super) async fn schedule_resume(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path(n): Path<String>,
    Form(form): Fields,
) -> Response {
    let back = format!("/schedules/{}", enc(&n));
    act(
        app,
        &headers,
        &form,
        "schedule resume",
        &n.clone(),
        back,
        |app| async move {
            app.admin.schedule_resume(&ScheduleName::parse(&n)?).await?;
            Ok("resumed".into())
        },
    )
    .await
}

/// `POST /ui/cache/purge` with `namespace` and `tag` or `key`: an O(1) tag purge or one key's
/// delete in that namespace (CDN purges stay with `anp cache purge`).
pub(super) async fn cache_purge(
    State(app): State<Shared>,
    headers: HeaderMap,
    Form(form): Fields,
) -> Response {
    let get = |k: &str| {
        form.get(k)
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    };
    let (ns, tag, key) = (get("namespace"), get("tag"), get("key"));
    let target = format!(
        "{} {}",
        ns.as_deref().unwrap_or("?"),
        tag.as_deref()
            .map(|t| format!("tag {t}"))
            .or(key.as_deref().map(|k| format!("key {k}")))
            .unwrap_or_default()
    );
    act(
        app,
        &headers,
        &form,
        "cache purge",
        &target,
        "/cache".into(),
        |app| async move {
            const OP: &str = "cache purge";
            let ns = ns.ok_or_else(|| {
                alphanode::Error::invalid(OP, "no namespace: expected one from the list")
            })?;
            let n = app.admin.cache_namespace(&ns).await?;
            let client = CacheClient::new(
                app.admin.backend().clone(),
                CacheOptions {
                    l1_max_bytes: 0,
                    stats_interval: std::time::Duration::from_secs(3600),
                    ..Default::default()
                },
            )
            .await?;
            let cache = client
                .namespace(
                    n.ns.as_str(),
                    NamespaceOptions {
                        deploy_sensitive: n.deploy_sensitive,
                        ..Default::default()
                    },
                )
                .await?;
            match (tag, key) {
                (Some(t), None) => {
                    cache.purge_tag(&t).await?;
                    Ok("tag purged".into())
                }
                (None, Some(k)) => {
                    let existed = cache.delete(&k).await?;
                    Ok(if existed {
                        "key deleted"
                    } else {
                        "key was not stored"
                    }
                    .into())
                }
                _ => Err(alphanode::Error::invalid(
                    OP,
                    "expected exactly one of tag or key; nothing was purged",
                )),
            }
        },
    )
    .await
}
