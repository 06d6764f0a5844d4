//! `anp status` (the four questions), `anp workers` and `anp deploy mark|list`.
//!
//! `anp status` answers, from the store alone: is it up, is it slow, are jobs failing, and did
//! the last deploy change anything. Exit code 0 when all is well, 8 when something needs
//! attention (the `problems` list says what), 3 when the store is unreachable.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use alphanode::SystemClock;
use anp_core::job::{ts_add, ts_sub};
use anp_core::monitor::{DeployMarker, ProcessListParams, StatCounts, StatsQueryParams};
use anp_core::store::JobListParams;
use anp_core::{Clock, Error, JobState};
use anp_cron::{CronExpr, Tz};
use clap::Subcommand;
use jiff::Timestamp;
use serde::Serialize;

use super::Ctx;
use crate::output;

/// Processes not seen for this long are gone.
pub const STALE_AFTER: Duration = Duration::from_secs(60);
/// The "recent" window of `anp status`.
const RECENT: Duration = Duration::from_secs(15 * 60);
/// The comparison window before it.
const BEFORE: Duration = Duration::from_secs(60 * 60);
/// Deploy verdict: a failure-rate change above this many percentage points…
const RATE_POINTS: f64 = 5.0;
/// …or a p95 run-time ratio above this…
const LATENCY_RATIO: f64 = 1.5;
/// …with at least this many attempts in each window.
const MIN_ATTEMPTS: u64 = 20;
/// Failure rate over the recent window above which `failing` is a problem.
const FAILING_RATE: f64 = 0.10;
/// Exit code when something needs attention.
pub const EXIT_ATTENTION: u8 = 8;

/// `anp deploy …`.
#[derive(Subcommand, Debug)]
pub enum DeployCommand {
    /// Record that a version went out (with its owner and how to roll it back).
    Mark {
        /// Version deployed.
        #[arg(long)]
        version: String,
        /// Who owns it.
        #[arg(long)]
        owner: Option<String>,
        /// The command that rolls it back.
        #[arg(long)]
        rollback: Option<String>,
        /// Free text.
        #[arg(long)]
        note: Option<String>,
    },
    /// The newest deploy markers.
    List {
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
}

/// Runs `anp deploy …`.
pub async fn deploy(ctx: &Ctx, c: DeployCommand) -> anyhow::Result<()> {
    match c {
        DeployCommand::Mark {
            version,
            owner,
            rollback,
            note,
        } => {
            if version.trim().is_empty() || version.len() > 200 {
                return Err(Error::invalid(
                    "--version",
                    format!("{version:?} is invalid: expected 1-200 characters"),
                )
                .into());
            }
            let m = DeployMarker {
                at: SystemClock.now(),
                version,
                owner,
                rollback,
                note,
            };
            ctx.open(None).await?.deploy_mark(m.clone()).await?;
            if ctx.json {
                output::json(&m)
            } else {
                println!("deploy {} marked at {}", m.version, output::ts(m.at));
                Ok(())
            }
        }
        DeployCommand::List { limit } => {
            let list = ctx.open(None).await?.deploy_list(limit).await?;
            if ctx.json {
                return output::json(&list);
            }
            let now = SystemClock.now();
            let mut t = output::table(&["at", "age", "version", "owner", "rollback", "note"]);
            for m in &list {
                t.add_row(vec![
                    output::ts(m.at),
                    output::age(m.at, now),
                    m.version.clone(),
                    m.owner.clone().unwrap_or_default(),
                    m.rollback.clone().unwrap_or_default(),
                    m.note.clone().unwrap_or_default(),
                ]);
            }
            println!("{t}");
            Ok(())
        }
    }
}

/// Runs `anp workers`: live workers and schedulers.
pub async fn workers(ctx: &Ctx) -> anyhow::Result<()> {
    let store = ctx.open(None).await?;
    let now = SystemClock.now();
    let list = store
        .process_list(ProcessListParams {
            now,
            stale_after: STALE_AFTER,
        })
        .await?;
    if ctx.json {
        return output::json(&list);
    }
    if list.is_empty() {
        println!(
            "no live workers or schedulers (none heartbeated in the last {}s)",
            STALE_AFTER.as_secs()
        );
        return Ok(());
    }
    let mut t = output::table(&[
        "id",
        "role",
        "host",
        "pid",
        "version",
        "queues",
        "started",
        "last heartbeat",
    ]);
    for p in &list {
        t.add_row(vec![
            p.id.clone(),
            p.role.clone(),
            p.host.clone(),
            p.pid.to_string(),
            p.version.clone(),
            p.queues
                .iter()
                .map(|q| q.as_str())
                .collect::<Vec<_>>()
                .join(","),
            output::age(p.started_at, now),
            output::age(p.last_seen, now),
        ]);
    }
    println!("{t}");
    Ok(())
}

#[derive(Serialize, Debug, Default)]
struct Window {
    attempts: u64,
    completed: u64,
    failed: u64,
    dead: u64,
    failure_rate: Option<f64>,
    run_p50_ms: Option<f64>,
    run_p95_ms: Option<f64>,
    wait_p50_ms: Option<f64>,
    wait_p95_ms: Option<f64>,
}

impl Window {
    fn of(c: &StatCounts) -> Window {
        let attempts = c.completed + c.failed;
        Window {
            attempts,
            completed: c.completed,
            failed: c.failed,
            dead: c.dead,
            failure_rate: (attempts > 0).then(|| c.failed as f64 / attempts as f64),
            run_p50_ms: c.run.quantile_ms(0.5),
            run_p95_ms: c.run.quantile_ms(0.95),
            wait_p50_ms: c.wait.quantile_ms(0.5),
            wait_p95_ms: c.wait.quantile_ms(0.95),
        }
    }
}

fn sum(
    rows: &[(anp_core::monitor::StatKey, StatCounts)],
    from: Timestamp,
    until: Timestamp,
) -> StatCounts {
    let mut total = StatCounts::default();
    for (k, c) in rows {
        if k.minute >= from && k.minute < until {
            total.merge(c);
        }
    }
    total
}

/// The report `anp status --json` prints.
#[derive(Serialize, Debug)]
pub struct Status {
    /// No problem found.
    pub ok: bool,
    /// What needs attention.
    pub problems: Vec<String>,
    /// Is it up.
    pub up: serde_json::Value,
    /// Is it slow.
    pub slow: serde_json::Value,
    /// Are jobs failing.
    pub failing: serde_json::Value,
    /// Did the last deploy change anything.
    pub deploy: serde_json::Value,
}

fn verdict(before: &Window, after: &Window) -> (&'static str, String) {
    if before.attempts < MIN_ATTEMPTS || after.attempts < MIN_ATTEMPTS {
        return (
            "not enough data",
            format!("fewer than {MIN_ATTEMPTS} attempts in a window"),
        );
    }
    let rb = before.failure_rate.unwrap_or(0.0) * 100.0;
    let ra = after.failure_rate.unwrap_or(0.0) * 100.0;
    let lat = match (before.run_p95_ms, after.run_p95_ms) {
        (Some(b), Some(a)) if b > 0.0 => Some(a / b),
        _ => None,
    };
    if ra - rb > RATE_POINTS || lat.is_some_and(|r| r > LATENCY_RATIO) {
        (
            "worse",
            format!(
                "failure rate {rb:.1}% → {ra:.1}%, p95 run time ×{:.2}",
                lat.unwrap_or(1.0)
            ),
        )
    } else if rb - ra > RATE_POINTS || lat.is_some_and(|r| r < 1.0 / LATENCY_RATIO) {
        (
            "better",
            format!(
                "failure rate {rb:.1}% → {ra:.1}%, p95 run time ×{:.2}",
                lat.unwrap_or(1.0)
            ),
        )
    } else {
        (
            "no change",
            format!(
                "failure rate {rb:.1}% → {ra:.1}%, p95 run time ×{:.2}",
                lat.unwrap_or(1.0)
            ),
        )
    }
}

/// Runs `anp status`; returns the exit code.
pub async fn status(ctx: &Ctx) -> anyhow::Result<u8> {
    let store = ctx.open(None).await?;
    let report = build(&*store).await?;
    if ctx.json {
        output::json(&report)?;
    } else {
        print_status(&report);
    }
    Ok(if report.ok { 0 } else { EXIT_ATTENTION })
}

/// Answers the four questions from the store.
pub async fn build(store: &dyn anp_core::Store) -> anyhow::Result<Status> {
    let now = SystemClock.now();
    let mut problems = Vec::new();

    // Up.
    let t0 = Instant::now();
    let info = store.store_ping().await?;
    let rtt_ms = t0.elapsed().as_secs_f64() * 1000.0;
    let procs = store
        .process_list(ProcessListParams {
            now,
            stale_after: STALE_AFTER,
        })
        .await?;
    let workers: Vec<_> = procs.iter().filter(|p| p.role == "worker").collect();
    let schedulers: Vec<_> = procs.iter().filter(|p| p.role == "scheduler").collect();
    if workers.is_empty() {
        problems.push("no live workers".to_owned());
    }
    let up = serde_json::json!({
        "store": store.redacted_url(),
        "backend": info.backend,
        "schema_version": info.schema_version,
        "round_trip_ms": rtt_ms,
        "workers": workers.len(),
        "schedulers": schedulers.len(),
        "processes": procs.iter().map(|p| serde_json::json!({
            "id": p.id, "role": p.role, "host": p.host,
            "heartbeat_age_s": now.duration_since(p.last_seen).as_secs_f64().max(0.0),
        })).collect::<Vec<_>>(),
    });

    // Slow.
    let recent_from = ts_sub(now, RECENT);
    let before_from = ts_sub(recent_from, BEFORE);
    let rows = store
        .stats_query(StatsQueryParams {
            from: ts_sub(now, Duration::from_secs(26 * 3600)),
            until: ts_add(now, Duration::from_secs(60)),
        })
        .await?;
    let recent = sum(
        &rows,
        anp_core::monitor::minute_of(recent_from),
        ts_add(now, Duration::from_secs(60)),
    );
    let hour_before = sum(
        &rows,
        anp_core::monitor::minute_of(before_from),
        anp_core::monitor::minute_of(recent_from),
    );
    let queues = store.queue_list().await?;
    let oldest: BTreeMap<String, Option<f64>> = queues
        .iter()
        .map(|q| {
            (
                q.queue.to_string(),
                q.oldest_available_at
                    .map(|t| now.duration_since(t).as_secs_f64().max(0.0)),
            )
        })
        .collect();
    let slow = serde_json::json!({
        "last_15m": Window::of(&recent),
        "hour_before": Window::of(&hour_before),
        "oldest_available_age_s": oldest,
    });

    // Failing.
    let recent_w = Window::of(&recent);
    if recent_w.failure_rate.is_some_and(|r| r > FAILING_RATE) && recent_w.attempts >= 10 {
        problems.push(format!(
            "failure rate {:.1}% over the last 15 minutes",
            recent_w.failure_rate.unwrap_or(0.0) * 100.0
        ));
    }
    if recent.dead > 0 {
        problems.push(format!(
            "{} job(s) went dead in the last 15 minutes",
            recent.dead
        ));
    }
    let failed_jobs = store
        .job_list(JobListParams {
            states: vec![JobState::Retryable, JobState::Dead],
            limit: 500,
            ..Default::default()
        })
        .await?;
    let mut top: BTreeMap<(String, String), u64> = BTreeMap::new();
    for j in &failed_jobs {
        if let Some(e) = j.errors.last() {
            if e.at >= recent_from {
                let msg: String = e.message.chars().take(120).collect();
                *top.entry((j.kind.to_string(), msg)).or_default() += 1;
            }
        }
    }
    let mut top: Vec<_> = top.into_iter().collect();
    top.sort_by_key(|t| std::cmp::Reverse(t.1));
    let mut schedules_bad = Vec::new();
    for s in store.schedule_list().await? {
        let failed = matches!(
            s.last_job_state,
            Some(JobState::Dead) | Some(JobState::Retryable)
        );
        let overdue = match (
            CronExpr::parse(&s.def.cron),
            Tz::parse(&s.def.tz),
            s.last_tick,
        ) {
            (Ok(e), Ok(tz), Some(last)) if !s.paused => {
                e.next_timestamp_after(&tz, last).is_some_and(|next| {
                    now.duration_since(next) > jiff::SignedDuration::from_secs(120)
                })
            }
            _ => false,
        };
        if failed || overdue {
            let why = if failed {
                "last run failed"
            } else {
                "overdue: no scheduler fired its last tick"
            };
            problems.push(format!("schedule {}: {why}", s.def.name));
            schedules_bad.push(serde_json::json!({"name": s.def.name, "problem": why, "owner": s.def.owner, "rollback": s.def.rollback}));
        }
    }
    let failing = serde_json::json!({
        "failure_rate_15m": recent_w.failure_rate,
        "failed_15m": recent.failed,
        "dead_15m": recent.dead,
        "dead_total": queues.iter().map(|q| q.counts.get(&JobState::Dead).copied().unwrap_or(0)).sum::<u64>(),
        "top_errors": top.iter().take(10).map(|((kind, msg), n)| serde_json::json!({"kind": kind, "message": msg, "count": n})).collect::<Vec<_>>(),
        "schedules": schedules_bad,
    });

    // Deploy.
    let deploy = match store.deploy_list(1).await?.pop() {
        None => {
            serde_json::json!({"last": null, "verdict": "no deploy marker", "threshold": threshold()})
        }
        Some(m) => {
            let since = Duration::try_from(now.duration_since(m.at)).unwrap_or(Duration::ZERO);
            let w = since.min(BEFORE).max(Duration::from_secs(60));
            let at = anp_core::monitor::minute_of(m.at);
            let before = Window::of(&sum(&rows, ts_sub(at, w), at));
            let after = Window::of(&sum(&rows, at, ts_add(at, w)));
            let (v, why) = verdict(&before, &after);
            if v == "worse" {
                problems.push(format!(
                    "deploy {} made things worse: {why}; rollback: {}",
                    m.version,
                    m.rollback.as_deref().unwrap_or("(none recorded)")
                ));
            }
            serde_json::json!({
                "last": {"version": m.version, "at": m.at, "age_s": since.as_secs(), "owner": m.owner, "rollback": m.rollback, "note": m.note},
                "window_minutes": w.as_secs() / 60,
                "before": before,
                "after": after,
                "verdict": v,
                "why": why,
                "threshold": threshold(),
            })
        }
    };
    Ok(Status {
        ok: problems.is_empty(),
        problems,
        up,
        slow,
        failing,
        deploy,
    })
}

fn threshold() -> String {
    format!("failure rate ±{RATE_POINTS} points or p95 run time ×{LATENCY_RATIO}, with ≥{MIN_ATTEMPTS} attempts per window")
}

fn ms(v: &serde_json::Value) -> String {
    v.as_f64()
        .map(|x| {
            if x.is_finite() {
                format!("≤{x}ms")
            } else {
                ">5min".into()
            }
        })
        .unwrap_or_else(|| "-".into())
}

fn print_status(s: &Status) {
    let u = &s.up;
    println!(
        "UP       store {} ({}), round trip {:.1} ms; {} worker(s), {} scheduler(s)",
        u["store"].as_str().unwrap_or(""),
        u["backend"].as_str().unwrap_or(""),
        u["round_trip_ms"].as_f64().unwrap_or(0.0),
        u["workers"],
        u["schedulers"]
    );
    let r = &s.slow["last_15m"];
    let b = &s.slow["hour_before"];
    println!("SLOW     wait p50/p95 {} / {} (hour before {} / {}); run p50/p95 {} / {} (hour before {} / {})", ms(&r["wait_p50_ms"]), ms(&r["wait_p95_ms"]), ms(&b["wait_p50_ms"]), ms(&b["wait_p95_ms"]), ms(&r["run_p50_ms"]), ms(&r["run_p95_ms"]), ms(&b["run_p50_ms"]), ms(&b["run_p95_ms"]));
    if let Some(o) = s.slow["oldest_available_age_s"].as_object() {
        for (q, age) in o {
            if let Some(a) = age.as_f64() {
                println!("         queue {q}: oldest available job waited {a:.1}s");
            }
        }
    }
    let f = &s.failing;
    println!(
        "FAILING  {} failed, {} dead in the last 15 min (rate {}); {} dead in total",
        f["failed_15m"],
        f["dead_15m"],
        f["failure_rate_15m"]
            .as_f64()
            .map(|r| format!("{:.1}%", r * 100.0))
            .unwrap_or_else(|| "-".into()),
        f["dead_total"]
    );
    for e in f["top_errors"].as_array().into_iter().flatten() {
        println!(
            "         {}× {}: {}",
            e["count"],
            e["kind"].as_str().unwrap_or(""),
            e["message"].as_str().unwrap_or("")
        );
    }
    let d = &s.deploy;
    match d["last"].as_object() {
        None => println!("DEPLOY   no deploy marker (anp deploy mark --version V)"),
        Some(m) => println!(
            "DEPLOY   {} ({}s ago, owner {}), verdict: {} — {}; rollback: {}",
            m["version"].as_str().unwrap_or(""),
            m["age_s"],
            m["owner"].as_str().unwrap_or("-"),
            d["verdict"].as_str().unwrap_or(""),
            d["why"].as_str().unwrap_or(""),
            m["rollback"].as_str().unwrap_or("-")
        ),
    }
    if s.ok {
        println!("\nall well");
    } else {
        println!("\nneeds attention:");
        for p in &s.problems {
            println!("  - {p}");
        }
    }
}
