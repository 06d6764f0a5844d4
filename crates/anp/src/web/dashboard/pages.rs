//! The read-only pages. Each reads through [`alphanode::Admin`] (the overview from the shared
//! snapshot, `live.rs`), turns what it read into display rows (times with their zone, numbers
//! with their units) and renders its template. None counts jobs by scanning them: counts come
//! from the queue counts the store keeps; lists are pages of a bounded size.

use std::collections::HashMap;

use alphanode::admin::{JobFilter, Window, SEARCH_SCAN_MAX};
use alphanode::{Job, JobId, JobState, Kind, QueueName, ScheduleName, StatCounts};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::session::frame;
use super::{chart, count, enc, lib_error, ms, pct, render, utc, Frame};
use crate::web::Shared;
use crate::wire::views::next_run;

/// Jobs per page.
const PAGE: u32 = 50;
/// Jobs one text search reads per request before offering to continue.
const SCAN: u32 = 2_000;
/// Deploy markers on the deploys page.
const DEPLOYS: u32 = 20;
/// Audit entries shown.
const AUDIT: u32 = 200;
/// Fire-log entries on a schedule's page.
const FIRE_LOG: u32 = 50;

/// The `?done=` notice an action's redirect carries.
fn with_notice(mut f: Frame, q: &HashMap<String, String>) -> Frame {
    f.notice = q.get("done").cloned();
    f
}

/// The overview.
#[derive(Template)]
#[template(path = "overview.html")]
struct Overview {
    f: Frame,
    ok: bool,
    problems: Vec<String>,
    live: Vec<(String, String, String)>,
    last_deploy: Option<Vec<(String, String)>>,
    charts: Vec<(String, String)>,
    snapshot_at: String,
}

/// `GET /`: the four questions and the charts, from the shared snapshot.
pub(super) async fn overview(
    State(app): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let f = with_notice(frame(&app, &headers, "Overview", "overview"), &q);
    let s = match app.live.get(&app.admin).await {
        Ok(s) => s,
        Err(e) => return lib_error(f, e),
    };
    let v = super::live::values(&s);
    let get = |k: &str| v.get(k).cloned().unwrap_or_default();
    let live = vec![
        ("Is it up?".into(), "up".into(), get("up")),
        ("Is it slow?".into(), "slow".into(), get("slow")),
        ("Is it failing?".into(), "failing".into(), get("failing")),
        (
            "Did the last deploy change anything?".into(),
            "deploy".into(),
            get("deploy"),
        ),
    ];
    let last_deploy = s.status.deploy.last.as_ref().map(|d| {
        vec![
            ("version".into(), d.version.clone()),
            ("at".into(), utc(d.at)),
            (
                "owner".into(),
                d.owner.clone().unwrap_or_else(|| "–".into()),
            ),
            (
                "rollback".into(),
                d.rollback.clone().unwrap_or_else(|| "–".into()),
            ),
            (
                "failure rate before → after".into(),
                format!(
                    "{} → {}",
                    pct(s.status.deploy.before.as_ref().and_then(|w| w.failure_rate)),
                    pct(s.status.deploy.after.as_ref().and_then(|w| w.failure_rate))
                ),
            ),
        ]
    });
    let (hr, hb) = &s.hour;
    let (dr, db) = &s.day;
    let charts = vec![
        (
            "Throughput, last hour (attempts per minute; green completed, red failed)".into(),
            chart::throughput(hb, *hr, &s.deploys, "throughput over the last hour"),
        ),
        (
            "Failure rate, last hour (% of attempts, per minute)".into(),
            chart::failure_rate(hb, *hr, &s.deploys, "failure rate over the last hour"),
        ),
        (
            "Throughput, last day (attempts per minute, 15-minute bars)".into(),
            chart::throughput(db, *dr, &s.deploys, "throughput over the last day"),
        ),
        (
            "Failure rate, last day (% of attempts, 15-minute bars)".into(),
            chart::failure_rate(db, *dr, &s.deploys, "failure rate over the last day"),
        ),
    ];
    render(
        StatusCode::OK,
        &Overview {
            f,
            ok: s.status.ok,
            problems: s.status.problems.clone(),
            live,
            last_deploy,
            charts,
            snapshot_at: utc(s.at),
        },
    )
}

/// One queue's row.
struct QueueRow {
    name: String,
    href: String,
    paused: bool,
    counts: Vec<(String, String)>,
    oldest: String,
    throughput: String,
}

/// The queues page.
#[derive(Template)]
#[template(path = "queues.html")]
struct Queues {
    f: Frame,
    states: Vec<String>,
    rows: Vec<QueueRow>,
    snapshot_at: String,
}

/// `GET /queues`: depth per state, oldest available age, throughput over 15 minutes — from the
/// shared snapshot (`live.rs`), so the page costs the store at most one read per live interval.
pub(super) async fn queues(
    State(app): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let f = with_notice(frame(&app, &headers, "Queues", "queues"), &q);
    let snap = match app.live.get(&app.admin).await {
        Ok(s) => s,
        Err(e) => return lib_error(f, e),
    };
    let now = snap.at;
    let rows = snap
        .queues
        .iter()
        .map(|i| {
            let done = snap
                .finished_15m
                .get(i.queue.as_str())
                .copied()
                .unwrap_or(0);
            QueueRow {
                name: i.queue.to_string(),
                href: enc(i.queue.as_str()),
                paused: i.paused,
                counts: JobState::ALL
                    .iter()
                    .map(|s| {
                        (
                            format!("q-{}-{}", i.queue, s),
                            count(i.counts.get(s).copied().unwrap_or(0)),
                        )
                    })
                    .collect(),
                oldest: i
                    .oldest_available_at
                    .map(|t| crate::output::age(t, now))
                    .unwrap_or_else(|| "–".into()),
                throughput: format!("{} /min", crate::output::ms(done as f64 / 15.0)),
            }
        })
        .collect();
    render(
        StatusCode::OK,
        &Queues {
            f,
            states: JobState::ALL.iter().map(ToString::to_string).collect(),
            rows,
            snapshot_at: utc(now),
        },
    )
}

/// One job in a list.
struct JobRow {
    id: String,
    kind: String,
    queue: String,
    state: String,
    attempts: String,
    created: String,
    created_iso: String,
    error: String,
}

impl JobRow {
    fn of(j: &Job) -> JobRow {
        JobRow {
            id: j.id.to_string(),
            kind: j.kind.to_string(),
            queue: j.queue.to_string(),
            state: j.state.to_string(),
            attempts: format!("{} of {}", j.attempt, j.max_attempts),
            created: utc(j.created_at),
            created_iso: crate::output::ts(j.created_at),
            error: j
                .errors
                .last()
                .map(|e| e.message.chars().take(120).collect())
                .unwrap_or_default(),
        }
    }
}

/// The jobs page.
#[derive(Template)]
#[template(path = "jobs.html")]
struct Jobs {
    f: Frame,
    states: Vec<String>,
    state: String,
    queue: String,
    kind: String,
    text: String,
    rows: Vec<JobRow>,
    next: Option<String>,
    search_note: Option<String>,
}

/// Reads an optional query field, refusing a value its type does not take.
fn field<T>(
    q: &HashMap<String, String>,
    name: &str,
    parse: impl Fn(&str) -> alphanode::Result<T>,
) -> alphanode::Result<Option<T>> {
    q.get(name)
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .map(parse)
        .transpose()
}

/// `GET /jobs?state=&queue=&kind=&q=&before=`: newest first, a page at a time; `q` searches
/// args and errors (bounded scan, see [`alphanode::Admin::job_search`]).
pub(super) async fn jobs(
    State(app): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let f = with_notice(frame(&app, &headers, "Jobs", "jobs"), &q);
    let filter = (|| -> alphanode::Result<JobFilter> {
        Ok(JobFilter {
            states: field(&q, "state", JobState::parse)?.into_iter().collect(),
            queue: field(&q, "queue", QueueName::parse)?,
            kind: field(&q, "kind", Kind::parse)?,
            before: field(&q, "before", JobId::parse)?,
            limit: PAGE,
        })
    })();
    let filter = match filter {
        Ok(f) => f,
        Err(e) => return lib_error(f, e),
    };
    let text = q.get("q").map(|t| t.trim().to_owned()).unwrap_or_default();
    let (jobs, next, search_note) = if text.is_empty() {
        match app.admin.job_list(filter.clone()).await {
            Ok(jobs) => {
                let next = (jobs.len() == PAGE as usize)
                    .then(|| jobs.last().map(|j| j.id.to_string()))
                    .flatten();
                (jobs, next, None)
            }
            Err(e) => return lib_error(f, e),
        }
    } else {
        match app
            .admin
            .job_search(filter.clone(), &text, SCAN.min(SEARCH_SCAN_MAX))
            .await
        {
            Ok(p) => {
                let note = match (&p.next, p.jobs.is_empty()) {
                    (Some(_), true) => format!(
                        "scanned {} jobs, no matches yet — continue to scan older ones",
                        count(p.scanned)
                    ),
                    (Some(_), false) => format!(
                        "scanned {} jobs for these matches — continue for more",
                        count(p.scanned)
                    ),
                    (None, _) => format!(
                        "scanned {} jobs: every job matching the filter was searched",
                        count(p.scanned)
                    ),
                };
                (p.jobs, p.next.map(|n| n.to_string()), Some(note))
            }
            Err(e) => return lib_error(f, e),
        }
    };
    render(
        StatusCode::OK,
        &Jobs {
            f,
            states: JobState::ALL.iter().map(ToString::to_string).collect(),
            state: filter
                .states
                .first()
                .map(ToString::to_string)
                .unwrap_or_default(),
            queue: filter.queue.map(|x| x.to_string()).unwrap_or_default(),
            kind: filter.kind.map(|x| x.to_string()).unwrap_or_default(),
            text,
            rows: jobs.iter().map(JobRow::of).collect(),
            next,
            search_note,
        },
    )
}

/// A job's page.
#[derive(Template)]
#[template(path = "job.html")]
struct JobPage {
    f: Frame,
    id: String,
    state: String,
    fields: Vec<(String, String)>,
    args: String,
    errors: Vec<(String, String, String, String)>,
    can_cancel: bool,
    can_retry: bool,
    can_delete: bool,
}

/// `GET /jobs/ID`: fields, args, attempts and the whole error history, with its actions.
pub(super) async fn job(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let f = with_notice(frame(&app, &headers, &format!("Job {id}"), "jobs"), &q);
    let j = match JobId::parse(&id) {
        Ok(id) => match app.admin.job_get(id).await {
            Ok(j) => j,
            Err(e) => return lib_error(f, e),
        },
        Err(e) => return lib_error(f, e),
    };
    let opt = |t: Option<jiff::Timestamp>| t.map(utc).unwrap_or_else(|| "–".into());
    let fields = vec![
        ("kind".into(), j.kind.to_string()),
        ("queue".into(), j.queue.to_string()),
        ("state".into(), j.state.to_string()),
        ("priority".into(), j.priority.to_string()),
        (
            "attempts".into(),
            format!("{} of {}", j.attempt, j.max_attempts),
        ),
        ("run at".into(), utc(j.run_at)),
        ("created".into(), utc(j.created_at)),
        ("last attempted".into(), opt(j.attempted_at)),
        ("finished".into(), opt(j.finalized_at)),
        (
            "unique key".into(),
            j.unique_key.clone().unwrap_or_else(|| "–".into()),
        ),
        (
            "lease".into(),
            match (&j.lease_owner, j.lease_expires_at) {
                (Some(o), Some(t)) => format!("{o} until {}", utc(t)),
                _ => "–".into(),
            },
        ),
    ];
    let args = serde_json::from_str::<serde_json::Value>(j.args.as_json())
        .and_then(|v| serde_json::to_string_pretty(&v))
        .unwrap_or_else(|_| j.args.as_json().to_owned());
    let errors = j
        .errors
        .iter()
        .map(|e| {
            (
                e.attempt.to_string(),
                utc(e.at),
                if e.retry_safe { "yes" } else { "no" }.to_owned(),
                e.message.clone(),
            )
        })
        .collect();
    let running = j.state == JobState::Running;
    let finished = matches!(
        j.state,
        JobState::Completed | JobState::Dead | JobState::Cancelled
    );
    render(
        StatusCode::OK,
        &JobPage {
            f,
            id: j.id.to_string(),
            state: j.state.to_string(),
            fields,
            args,
            errors,
            can_cancel: !finished,
            can_retry: !running && j.state != JobState::Available,
            can_delete: !running,
        },
    )
}

/// One schedule's row.
struct ScheduleRow {
    name: String,
    href: String,
    cron: String,
    tz: String,
    next_zone: String,
    next_utc: String,
    next_iso: String,
    last: String,
    last_state: String,
    owner: String,
    expected: String,
    rollback: String,
    paused: bool,
}

impl ScheduleRow {
    fn of(i: &alphanode::ScheduleInfo, now: jiff::Timestamp) -> ScheduleRow {
        let next = next_run(i, now);
        ScheduleRow {
            name: i.def.name.to_string(),
            href: enc(i.def.name.as_str()),
            cron: i.def.cron.clone(),
            tz: i.def.tz.clone(),
            next_zone: next
                .as_ref()
                .map(|z| z.strftime("%Y-%m-%d %H:%M:%S %Z").to_string())
                .unwrap_or_else(|| "–".into()),
            next_utc: next
                .as_ref()
                .map(|z| utc(z.timestamp()))
                .unwrap_or_else(|| "–".into()),
            next_iso: next
                .as_ref()
                .map(|z| crate::output::ts(z.timestamp()))
                .unwrap_or_default(),
            last: i.last_tick.map(utc).unwrap_or_else(|| "never".into()),
            last_state: i
                .last_job_state
                .map(|s| s.to_string())
                .unwrap_or_else(|| "–".into()),
            owner: i.def.owner.clone().unwrap_or_else(|| "–".into()),
            expected: i.def.expected.clone().unwrap_or_else(|| "–".into()),
            rollback: i.def.rollback.clone().unwrap_or_else(|| "–".into()),
            paused: i.paused,
        }
    }
}

/// The schedules page.
#[derive(Template)]
#[template(path = "schedules.html")]
struct Schedules {
    f: Frame,
    rows: Vec<ScheduleRow>,
}

/// `GET /schedules`.
pub(super) async fn schedules(
    State(app): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let f = with_notice(frame(&app, &headers, "Schedules", "schedules"), &q);
    let now = jiff::Timestamp::now();
    match app.admin.schedule_list().await {
        Ok(l) => render(
            StatusCode::OK,
            &Schedules {
                f,
                rows: l.iter().map(|i| ScheduleRow::of(i, now)).collect(),
            },
        ),
        Err(e) => lib_error(f, e),
    }
}

/// A schedule's page.
#[derive(Template)]
#[template(path = "schedule.html")]
struct SchedulePage {
    f: Frame,
    s: ScheduleRow,
    kind: String,
    queue: String,
    log: Vec<(String, String, String, String, String, String)>,
}

/// `GET /schedules/NAME`: the schedule and its fire log.
pub(super) async fn schedule(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let f = with_notice(
        frame(&app, &headers, &format!("Schedule {name}"), "schedules"),
        &q,
    );
    let d = match ScheduleName::parse(&name) {
        Ok(n) => match app.admin.schedule_get(&n, FIRE_LOG).await {
            Ok(d) => d,
            Err(e) => return lib_error(f, e),
        },
        Err(e) => return lib_error(f, e),
    };
    let now = jiff::Timestamp::now();
    let log = d
        .fire_log
        .iter()
        .map(|e| {
            (
                utc(e.tick),
                format!("{:?}", e.decision).to_lowercase(),
                e.job_id.map(|j| j.to_string()).unwrap_or_default(),
                e.job_state
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "–".into()),
                e.reason.clone().unwrap_or_default(),
                e.scheduler.clone(),
            )
        })
        .collect();
    render(
        StatusCode::OK,
        &SchedulePage {
            f,
            kind: d.schedule.def.kind.to_string(),
            queue: d.schedule.def.queue.to_string(),
            s: ScheduleRow::of(&d.schedule, now),
            log,
        },
    )
}

/// The workers page.
#[derive(Template)]
#[template(path = "workers.html")]
struct Workers {
    f: Frame,
    rows: Vec<Vec<String>>,
}

/// `GET /workers`: live workers and schedulers with their heartbeat age.
pub(super) async fn workers(State(app): State<Shared>, headers: HeaderMap) -> Response {
    let f = frame(&app, &headers, "Workers", "workers");
    let now = jiff::Timestamp::now();
    match app.admin.process_list().await {
        Ok(l) => render(
            StatusCode::OK,
            &Workers {
                f,
                rows: l
                    .iter()
                    .map(|p| {
                        vec![
                            p.id.clone(),
                            p.role.to_string(),
                            p.host.clone(),
                            p.pid.to_string(),
                            p.version.clone(),
                            p.queues
                                .iter()
                                .map(ToString::to_string)
                                .collect::<Vec<_>>()
                                .join(", "),
                            utc(p.started_at),
                            crate::output::age(p.last_seen, now),
                        ]
                    })
                    .collect(),
            },
        ),
        Err(e) => lib_error(f, e),
    }
}

/// One deploy's row with its before/after figures.
struct DeployRow {
    version: String,
    at: String,
    owner: String,
    rollback: String,
    note: String,
    figures: Vec<(String, String, String)>,
}

/// The deploys page.
#[derive(Template)]
#[template(path = "deploys.html")]
struct Deploys {
    f: Frame,
    rows: Vec<DeployRow>,
}

/// `GET /deploys`: each marker with throughput, failure rate, latency and cache hit ratio in
/// the hour before and the hour after (or until now).
pub(super) async fn deploys(State(app): State<Shared>, headers: HeaderMap) -> Response {
    let f = frame(&app, &headers, "Deploys", "deploys");
    let now = jiff::Timestamp::now();
    let hour = jiff::SignedDuration::from_secs(3600);
    let list = match app.admin.deploy_list(DEPLOYS).await {
        Ok(l) => l,
        Err(e) => return lib_error(f, e),
    };
    let from = list
        .iter()
        .map(|m| m.at)
        .min()
        .and_then(|t| t.checked_sub(hour).ok())
        .unwrap_or(now);
    let rows = match app
        .admin
        .stats(from, now.checked_add(hour).unwrap_or(now))
        .await
    {
        Ok(r) => r,
        Err(e) => return lib_error(f, e),
    };
    let sum = |a: jiff::Timestamp, b: jiff::Timestamp| {
        let mut c = StatCounts::default();
        for (k, v) in &rows {
            if k.minute >= a && k.minute < b {
                c.merge(v);
            }
        }
        c
    };
    let mut out = Vec::new();
    for m in &list {
        let before_from = m.at.checked_sub(hour).unwrap_or(m.at);
        let after_to = m.at.checked_add(hour).unwrap_or(now).min(now);
        let minutes = |a: jiff::Timestamp, b: jiff::Timestamp| {
            (b.duration_since(a).as_secs_f64() / 60.0).max(1.0)
        };
        let (b, a) = (sum(before_from, m.at), sum(m.at, after_to));
        let (wb, wa) = (Window::of(&b), Window::of(&a));
        let hit = |x: jiff::Timestamp, y: jiff::Timestamp| {
            let app = app.clone();
            async move {
                app.admin.cache_counts(x, y, None).await.ok().and_then(|c| {
                    let mut t = alphanode::cache::CacheCounts::default();
                    for (_, v) in &c {
                        t.add(v);
                    }
                    t.hit_ratio()
                })
            }
        };
        let (hb, ha) = (hit(before_from, m.at).await, hit(m.at, after_to).await);
        out.push(DeployRow {
            version: m.version.clone(),
            at: utc(m.at),
            owner: m.owner.clone().unwrap_or_else(|| "–".into()),
            rollback: m.rollback.clone().unwrap_or_else(|| "–".into()),
            note: m.note.clone().unwrap_or_default(),
            figures: vec![
                (
                    "throughput".into(),
                    format!(
                        "{} /min",
                        crate::output::ms(wb.attempts as f64 / minutes(before_from, m.at))
                    ),
                    format!(
                        "{} /min",
                        crate::output::ms(wa.attempts as f64 / minutes(m.at, after_to))
                    ),
                ),
                (
                    "failure rate".into(),
                    pct(wb.failure_rate),
                    pct(wa.failure_rate),
                ),
                ("run p95".into(), ms(wb.run_p95_ms), ms(wa.run_p95_ms)),
                ("wait p95".into(), ms(wb.wait_p95_ms), ms(wa.wait_p95_ms)),
                ("cache hit ratio".into(), pct(hb), pct(ha)),
            ],
        });
    }
    render(StatusCode::OK, &Deploys { f, rows: out })
}

/// The cache page.
#[derive(Template)]
#[template(path = "cache.html")]
struct Cache {
    f: Frame,
    rows: Vec<Vec<String>>,
    misses: Vec<(String, String, String)>,
    rules: Vec<Vec<String>>,
    /// The rules file: its name and rules, or why it cannot be used; `None` when the config
    /// names none.
    rules_file: Option<Result<RulesFile, String>>,
}

/// The config's HTTP cache rules file as the cache page shows it.
struct RulesFile {
    /// The file's name.
    name: String,
    /// Every rule, in file order.
    rules: Vec<RuleRow>,
}

/// One rule of the rules file, with its examples checked.
struct RuleRow {
    name: String,
    /// `cache: edge 1h, browser 5m, tags …` or `bypass: <reason>`.
    action: String,
    owner: String,
    expected: String,
    rollback: String,
    /// Each example: `(must, line, holds)`, `must` being `cache` or `bypass`.
    examples: Vec<(&'static str, String, bool)>,
}

/// The rules with their examples checked against the whole file (as `anp cache rules check`).
fn rules_file(rules: &anp_http::rules::Rules) -> RulesFile {
    use anp_http::rules::RuleAction;
    let failures = rules.check();
    let fails = |rule: &str, example: &str| {
        failures
            .iter()
            .any(|f| f.rule == rule && f.example == example)
    };
    let secs = crate::output::span_of;
    let rows = rules
        .rules()
        .iter()
        .map(|r| {
            let action = match &r.action {
                RuleAction::Cache(c) => {
                    let mut a = format!(
                        "cache: edge {}, browser {}",
                        secs(c.edge_ttl),
                        secs(c.browser_ttl)
                    );
                    if !c.stale_while_revalidate.is_zero() {
                        a.push_str(&format!(", swr {}", secs(c.stale_while_revalidate)));
                    }
                    if !c.tags.is_empty() {
                        a.push_str(&format!(", tags {}", c.tags.join(" ")));
                    }
                    a
                }
                RuleAction::Bypass { reason } => format!("bypass: {reason}"),
            };
            let examples = r
                .should_cache
                .iter()
                .map(|e| ("cache", e))
                .chain(r.should_bypass.iter().map(|e| ("bypass", e)))
                .map(|(must, e)| (must, e.text.clone(), !fails(&r.name, &e.text)))
                .collect();
            RuleRow {
                name: r.name.clone(),
                action,
                owner: r.owner.clone(),
                expected: r.expected.clone(),
                rollback: r.rollback.clone(),
                examples,
            }
        })
        .collect();
    RulesFile {
        name: rules.file().to_owned(),
        rules: rows,
    }
}

/// `GET /cache`: namespaces with hit/miss/stale ratios over 15 minutes, top missed keys, the
/// HTTP cache rules' figures (when `anp proxy` or the cache layer reports them), purge.
pub(super) async fn cache(
    State(app): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let f = with_notice(frame(&app, &headers, "Cache", "cache"), &q);
    let stats = match app
        .admin
        .cache_stats(std::time::Duration::from_secs(15 * 60), None, false)
        .await
    {
        Ok(s) => s,
        Err(e) => return lib_error(f, e),
    };
    let mut misses = Vec::new();
    let rows = stats
        .iter()
        .map(|s| {
            let c = &s.counts;
            let lookups = c.hits + c.l1_hits + c.misses + c.stale;
            let ratio = |n: u64| pct((lookups > 0).then(|| n as f64 / lookups as f64));
            for (k, n) in c.top_misses.iter().take(10) {
                misses.push((s.namespace.to_string(), k.clone(), count(*n)));
            }
            vec![
                s.namespace.to_string(),
                s.generation.to_string(),
                if s.deploy_sensitive { "yes" } else { "no" }.into(),
                count(lookups),
                pct(s.hit_ratio),
                ratio(c.misses),
                ratio(c.stale),
                ms(s.compute_p99_ms),
            ]
        })
        .collect();
    let rules = match app.live.get(&app.admin).await {
        Ok(snap) => snap
            .status
            .cache
            .http
            .as_ref()
            .map(|h| {
                h.rules
                    .iter()
                    .map(|r| {
                        vec![
                            r.rule.clone(),
                            count(r.requests_15m),
                            pct(r.hit_ratio_15m),
                            pct(r.bypass_rate_15m),
                            ms(r.upstream_p99_ms_15m),
                        ]
                    })
                    .collect()
            })
            .unwrap_or_default(),
        Err(e) => return lib_error(f, e),
    };
    let rules_file = app
        .http_rules
        .as_ref()
        .map(|r| r.as_ref().map(rules_file).map_err(String::clone));
    render(
        StatusCode::OK,
        &Cache {
            f,
            rows,
            misses,
            rules,
            rules_file,
        },
    )
}

/// The audit page.
#[derive(Template)]
#[template(path = "audit.html")]
struct Audit {
    f: Frame,
    rows: Vec<Vec<String>>,
}

/// `GET /audit`: the newest actions, API and dashboard.
pub(super) async fn audit(State(app): State<Shared>, headers: HeaderMap) -> Response {
    let f = frame(&app, &headers, "Audit", "audit");
    match app.admin.audit_list(AUDIT).await {
        Ok(l) => render(
            StatusCode::OK,
            &Audit {
                f,
                rows: l
                    .iter()
                    .map(|e| {
                        vec![
                            utc(e.at),
                            e.who.clone(),
                            e.action.clone(),
                            e.target.clone(),
                            e.result.clone(),
                        ]
                    })
                    .collect(),
            },
        ),
        Err(e) => lib_error(f, e),
    }
}
