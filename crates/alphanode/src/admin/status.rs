//! [`Admin::status`]: the four questions an on-call person asks first — is it up, is it slow,
//! are jobs failing, did the last deploy change anything — answered from the store alone.

use std::collections::BTreeMap;
use std::time::Duration;

use anp_core::cache::{CacheCounts, RequestCounts};
use anp_core::job::{ts_add, ts_sub};
use anp_core::monitor::{minute_of, StatCounts, StatKey};
use anp_core::{JobState, Result};
use anp_cron::{CronExpr, Tz};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::health::millis;
use super::jobs::JobFilter;
use super::Admin;

/// The "recent" window.
const RECENT: Duration = Duration::from_secs(15 * 60);
/// The comparison window before it.
const BEFORE: Duration = Duration::from_secs(60 * 60);
/// Deploy verdict: a failure-rate change above this many percentage points…
const RATE_POINTS: f64 = 5.0;
/// …or a p95 run-time ratio above this…
const LATENCY_RATIO: f64 = 1.5;
/// …with at least this many attempts in each window.
const MIN_ATTEMPTS: u64 = 20;
/// Failure rate over the recent window above which `failing` is a problem…
const FAILING_RATE: f64 = 0.10;
/// …once the window holds at least this many attempts.
const FAILING_MIN_ATTEMPTS: u64 = 10;
/// A schedule whose next tick is this late has no scheduler firing it.
const OVERDUE: SignedDuration = SignedDuration::from_secs(120);
/// The newest jobs read to find the most frequent recent errors.
const TOP_ERRORS_SCAN: u32 = 1000;

/// The answer of [`Admin::status`]; `anp status --json` prints it.
#[derive(Clone, Debug, Serialize)]
pub struct Status {
    /// No problem found.
    pub ok: bool,
    /// What needs attention, one sentence each.
    pub problems: Vec<String>,
    /// Is it up.
    pub up: Up,
    /// Is it slow.
    pub slow: Slow,
    /// Are jobs failing.
    pub failing: Failing,
    /// Did the last deploy change anything.
    pub deploy: DeployVerdict,
    /// The application cache: hit ratio now and around the last deploy.
    pub cache: CacheStatus,
}

/// The cache line of [`Status`], summed over every namespace and process.
#[derive(Clone, Debug, Serialize)]
pub struct CacheStatus {
    /// Cache namespaces recorded in the store.
    pub namespaces: usize,
    /// Lookups in the last 15 minutes.
    pub lookups_15m: u64,
    /// Share served without computing in the last 15 minutes; `None` without lookups.
    pub hit_ratio_15m: Option<f64>,
    /// The same in the window before the last deploy marker (as wide as the deploy verdict's).
    pub hit_ratio_before_deploy: Option<f64>,
    /// The same in the window after it.
    pub hit_ratio_after_deploy: Option<f64>,
    /// The HTTP cache (`anp proxy`, the tower layer): `None` when no HTTP layer recorded a
    /// request in the last 15 minutes nor around the last deploy.
    pub http: Option<HttpCacheStatus>,
}

/// The HTTP cache part of [`CacheStatus`], summed over every process and namespace.
#[derive(Clone, Debug, Serialize)]
pub struct HttpCacheStatus {
    /// All rules together.
    pub total: HttpRuleStatus,
    /// Per rule that answered requests in either window, by name (`none`: no rule matched).
    pub rules: Vec<HttpRuleStatus>,
}

/// One rule's (or all rules') requests now and around the last deploy.
#[derive(Clone, Debug, Serialize)]
pub struct HttpRuleStatus {
    /// The rule (`*` for the total, `none` for requests no rule matched).
    pub rule: String,
    /// Requests answered in the last 15 minutes.
    pub requests_15m: u64,
    /// Of the requests the rules said to cache, the share served from the cache (fresh or
    /// stale) in the last 15 minutes ([`RequestCounts::hit_ratio`]).
    pub hit_ratio_15m: Option<f64>,
    /// Of all requests, the share passed through uncached in the last 15 minutes.
    pub bypass_rate_15m: Option<f64>,
    /// Upstream p99 (ms, bucket bound) in the last 15 minutes.
    pub upstream_p99_ms_15m: Option<f64>,
    /// Hit ratio in the window before the last deploy marker.
    pub hit_ratio_before_deploy: Option<f64>,
    /// Hit ratio in the window after it.
    pub hit_ratio_after_deploy: Option<f64>,
    /// Bypass rate before the last deploy marker.
    pub bypass_rate_before_deploy: Option<f64>,
    /// Bypass rate after it.
    pub bypass_rate_after_deploy: Option<f64>,
}

impl HttpRuleStatus {
    fn of(
        rule: &str,
        recent: Option<&RequestCounts>,
        around: Option<(Option<&RequestCounts>, Option<&RequestCounts>)>,
    ) -> HttpRuleStatus {
        let (before, after) = around.unwrap_or((None, None));
        HttpRuleStatus {
            rule: rule.to_owned(),
            requests_15m: recent.map_or(0, RequestCounts::requests),
            hit_ratio_15m: recent.and_then(RequestCounts::hit_ratio),
            bypass_rate_15m: recent.and_then(RequestCounts::bypass_rate),
            upstream_p99_ms_15m: recent.and_then(|c| c.upstream.quantile_ms(0.99)),
            hit_ratio_before_deploy: before.and_then(RequestCounts::hit_ratio),
            hit_ratio_after_deploy: after.and_then(RequestCounts::hit_ratio),
            bypass_rate_before_deploy: before.and_then(RequestCounts::bypass_rate),
            bypass_rate_after_deploy: after.and_then(RequestCounts::bypass_rate),
        }
    }
}

/// The HTTP part of the status from the counts of the last 15 minutes and (when there is a
/// deploy marker) the windows before and after it.
fn http_status(
    recent: &CacheCounts,
    around: Option<(&CacheCounts, &CacheCounts)>,
) -> Option<HttpCacheStatus> {
    let mut names: std::collections::BTreeSet<&String> = recent.requests.keys().collect();
    if let Some((b, a)) = around {
        names.extend(b.requests.keys());
        names.extend(a.requests.keys());
    }
    if names.is_empty() {
        return None;
    }
    let totals = (
        recent.requests_total(),
        around.map(|(b, a)| (b.requests_total(), a.requests_total())),
    );
    let total = HttpRuleStatus::of(
        "*",
        Some(&totals.0),
        totals.1.as_ref().map(|(b, a)| (Some(b), Some(a))),
    );
    let rules = names
        .into_iter()
        .map(|name| {
            HttpRuleStatus::of(
                name,
                recent.requests.get(name),
                around.map(|(b, a)| (b.requests.get(name), a.requests.get(name))),
            )
        })
        .collect();
    Some(HttpCacheStatus { total, rules })
}

/// Is it up: the store answers, and workers and schedulers heartbeat.
#[derive(Clone, Debug, Serialize)]
pub struct Up {
    /// The store's URL, password hidden.
    pub store: String,
    /// `sqlite`, `redis`.
    pub backend: String,
    /// The layout version the store holds.
    pub schema_version: u32,
    /// Round trip, milliseconds.
    pub round_trip_ms: f64,
    /// Live workers.
    pub workers: usize,
    /// Live schedulers.
    pub schedulers: usize,
    /// Every live process.
    pub processes: Vec<ProcessSeen>,
}

/// A live process and how long ago it heartbeated.
#[derive(Clone, Debug, Serialize)]
pub struct ProcessSeen {
    /// Its id.
    pub id: String,
    /// `worker` or `scheduler`.
    pub role: String,
    /// Its host.
    pub host: String,
    /// Seconds since its last heartbeat.
    pub heartbeat_age_s: f64,
}

/// Counts and latencies of finished attempts over a window.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Window {
    /// Attempts finished (completed + failed).
    pub attempts: u64,
    /// Completed.
    pub completed: u64,
    /// Failed (retried later or dead).
    pub failed: u64,
    /// Went dead.
    pub dead: u64,
    /// failed / attempts; `None` without attempts.
    pub failure_rate: Option<f64>,
    /// Median run time, as a histogram bucket's upper bound (ms); `null` above 5 minutes.
    pub run_p50_ms: Option<f64>,
    /// 95th percentile run time (ms).
    pub run_p95_ms: Option<f64>,
    /// Median wait from due to fetched (ms).
    pub wait_p50_ms: Option<f64>,
    /// 95th percentile wait (ms).
    pub wait_p95_ms: Option<f64>,
}

impl Window {
    /// The figures of summed per-minute counts.
    pub fn of(c: &StatCounts) -> Window {
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

/// What [`Admin::status_detail`] answers: the status and the store reads it was made from.
#[derive(Clone, Debug)]
pub struct StatusDetail {
    /// The four questions.
    pub status: Status,
    /// Every queue's counts, as [`Admin::queue_list`] gives them.
    pub queues: Vec<anp_core::store::QueueInfo>,
    /// Per-minute stats of the last 26 hours (by minute, queue and kind).
    pub stats: Vec<(StatKey, StatCounts)>,
}

/// Is it slow: latencies now and the hour before, and how long the oldest job has waited.
#[derive(Clone, Debug, Serialize)]
pub struct Slow {
    /// The last 15 minutes.
    pub last_15m: Window,
    /// The hour before them.
    pub hour_before: Window,
    /// Per queue, seconds the oldest available job has waited (`None`: none waiting).
    pub oldest_available_age_s: BTreeMap<String, Option<f64>>,
}

/// Are jobs failing.
#[derive(Clone, Debug, Serialize)]
pub struct Failing {
    /// Failure rate over the last 15 minutes.
    pub failure_rate_15m: Option<f64>,
    /// Failed attempts in the last 15 minutes.
    pub failed_15m: u64,
    /// Jobs gone dead in the last 15 minutes.
    pub dead_15m: u64,
    /// Dead jobs kept in the store.
    pub dead_total: u64,
    /// The most frequent errors of the last 15 minutes, by kind and message.
    pub top_errors: Vec<TopError>,
    /// Schedules whose last run failed or that no scheduler fires.
    pub schedules: Vec<ScheduleProblem>,
}

/// One frequent error.
#[derive(Clone, Debug, Serialize)]
pub struct TopError {
    /// The job kind.
    pub kind: String,
    /// The message (first 120 characters).
    pub message: String,
    /// How many recent failed jobs ended with it.
    pub count: u64,
}

/// A schedule that needs attention, with who owns it and how to stop it.
#[derive(Clone, Debug, Serialize)]
pub struct ScheduleProblem {
    /// The schedule.
    pub name: String,
    /// What is wrong.
    pub problem: String,
    /// Its owner.
    pub owner: Option<String>,
    /// How to undo or stop it.
    pub rollback: Option<String>,
}

/// Did the last deploy change anything.
#[derive(Clone, Debug, Serialize)]
pub struct DeployVerdict {
    /// The newest deploy marker.
    pub last: Option<LastDeploy>,
    /// Minutes compared on each side of the marker.
    pub window_minutes: Option<u64>,
    /// The window before the marker.
    pub before: Option<Window>,
    /// The window after it.
    pub after: Option<Window>,
    /// `worse`, `better`, `no change`, `not enough data` or `no deploy marker`.
    pub verdict: String,
    /// The figures behind the verdict.
    pub why: Option<String>,
    /// The rule the verdict follows.
    pub threshold: String,
}

/// The newest deploy marker.
#[derive(Clone, Debug, Serialize)]
pub struct LastDeploy {
    /// Version.
    pub version: String,
    /// When.
    pub at: Timestamp,
    /// Seconds ago.
    pub age_s: u64,
    /// Owner.
    pub owner: Option<String>,
    /// Rollback command.
    pub rollback: Option<String>,
    /// Note.
    pub note: Option<String>,
}

/// The before/after windows around a deploy, as [`DeployWindow::verdict`] compares them.
#[derive(Clone, Debug)]
pub struct DeployWindow {
    /// Before the marker.
    pub before: Window,
    /// After it.
    pub after: Window,
}

impl DeployWindow {
    /// `worse`, `better`, `no change` or `not enough data`, with the figures.
    pub fn verdict(&self) -> (&'static str, String) {
        let (before, after) = (&self.before, &self.after);
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
        let v = if ra - rb > RATE_POINTS || lat.is_some_and(|r| r > LATENCY_RATIO) {
            "worse"
        } else if rb - ra > RATE_POINTS || lat.is_some_and(|r| r < 1.0 / LATENCY_RATIO) {
            "better"
        } else {
            "no change"
        };
        (
            v,
            format!(
                "failure rate {rb:.1}% → {ra:.1}%, p95 run time ×{:.2}",
                lat.unwrap_or(1.0)
            ),
        )
    }
}

fn threshold() -> String {
    format!(
        "failure rate ±{RATE_POINTS} points or p95 run time ×{LATENCY_RATIO}, with \
         ≥{MIN_ATTEMPTS} attempts per window"
    )
}

fn sum(rows: &[(StatKey, StatCounts)], from: Timestamp, until: Timestamp) -> StatCounts {
    let mut total = StatCounts::default();
    for (_, c) in rows
        .iter()
        .filter(|(k, _)| k.minute >= from && k.minute < until)
    {
        total.merge(c);
    }
    total
}

fn secs_since(now: Timestamp, t: Timestamp) -> f64 {
    now.duration_since(t).as_secs_f64().max(0.0)
}

impl Admin {
    /// Answers the four questions. `ok` is false, with a sentence per problem, when no worker
    /// is live, more than 10 % of the last 15 minutes' attempts failed (with 10 or more), a job
    /// went dead in that time, a schedule's last run failed or it is overdue, or the newest
    /// deploy made the failure rate or p95 run time worse.
    pub async fn status(&self) -> Result<Status> {
        Ok(self.status_detail().await?.status)
    }

    /// [`Admin::status`] with what it read on the way — every queue's counts and the per-minute
    /// stats of the last 26 hours — for a caller that shows those too (the dashboard) without
    /// reading them from the store a second time.
    pub async fn status_detail(&self) -> Result<StatusDetail> {
        let now = self.now();
        let mut problems = Vec::new();
        let up = self.status_up(now, &mut problems).await?;

        let recent_from = ts_sub(now, RECENT);
        let next_minute = ts_add(now, Duration::from_secs(60));
        let rows = self
            .stats(ts_sub(now, Duration::from_secs(26 * 3600)), next_minute)
            .await?;
        let recent = sum(&rows, minute_of(recent_from), next_minute);
        let hour_before = sum(
            &rows,
            minute_of(ts_sub(recent_from, BEFORE)),
            minute_of(recent_from),
        );
        let queues = self.queue_list().await?;
        let slow = Slow {
            last_15m: Window::of(&recent),
            hour_before: Window::of(&hour_before),
            oldest_available_age_s: queues
                .iter()
                .map(|q| {
                    let age = q.oldest_available_at.map(|t| secs_since(now, t));
                    (q.queue.to_string(), age)
                })
                .collect(),
        };

        let recent_w = &slow.last_15m;
        if let Some(rate) = recent_w.failure_rate {
            if rate > FAILING_RATE && recent_w.attempts >= FAILING_MIN_ATTEMPTS {
                problems.push(format!(
                    "failure rate {:.1}% over the last 15 minutes",
                    rate * 100.0
                ));
            }
        }
        if recent.dead > 0 {
            problems.push(format!(
                "{} job(s) went dead in the last 15 minutes",
                recent.dead
            ));
        }
        let failing = Failing {
            failure_rate_15m: recent_w.failure_rate,
            failed_15m: recent.failed,
            dead_15m: recent.dead,
            dead_total: queues
                .iter()
                .map(|q| q.counts.get(&JobState::Dead).copied().unwrap_or(0))
                .sum(),
            top_errors: self.top_errors(recent_from).await?,
            schedules: self.schedule_problems(now, &mut problems).await?,
        };
        let deploy = self.deploy_verdict(now, &rows, &mut problems).await?;
        let cache = self.cache_status(now, &deploy).await?;
        Ok(StatusDetail {
            status: Status {
                ok: problems.is_empty(),
                problems,
                up,
                slow,
                failing,
                deploy,
                cache,
            },
            queues,
            stats: rows,
        })
    }

    async fn cache_status(&self, now: Timestamp, deploy: &DeployVerdict) -> Result<CacheStatus> {
        let total = |rows: Vec<(anp_core::cache::Namespace, anp_core::cache::CacheCounts)>| {
            let mut all = anp_core::cache::CacheCounts::default();
            for (_, c) in &rows {
                all.add(c);
            }
            all
        };
        let recent = total(
            self.cache_counts(ts_sub(now, RECENT), super::cache::through(now), None)
                .await?,
        );
        let mut around = None;
        if let (Some(m), Some(w)) = (&deploy.last, deploy.window_minutes) {
            let w = Duration::from_secs(w * 60);
            let before = total(self.cache_counts(ts_sub(m.at, w), m.at, None).await?);
            let after = total(self.cache_counts(m.at, ts_add(m.at, w), None).await?);
            around = Some((before, after));
        }
        Ok(CacheStatus {
            namespaces: self.cache_namespaces().await?.len(),
            lookups_15m: recent.lookups(),
            hit_ratio_15m: recent.hit_ratio(),
            hit_ratio_before_deploy: around.as_ref().and_then(|(b, _)| b.hit_ratio()),
            hit_ratio_after_deploy: around.as_ref().and_then(|(_, a)| a.hit_ratio()),
            http: http_status(&recent, around.as_ref().map(|(b, a)| (b, a))),
        })
    }

    async fn status_up(&self, now: Timestamp, problems: &mut Vec<String>) -> Result<Up> {
        let (info, rtt) = self.ping().await?;
        let procs = self.process_list().await?;
        let count = |role: &str| procs.iter().filter(|p| p.role == role).count();
        let workers = count("worker");
        if workers == 0 {
            problems.push("no live workers".to_owned());
        }
        Ok(Up {
            store: self.backend.url(),
            backend: info.backend,
            schema_version: info.schema_version,
            round_trip_ms: millis(rtt),
            workers,
            schedulers: count("scheduler"),
            processes: procs
                .iter()
                .map(|p| ProcessSeen {
                    id: p.id.clone(),
                    role: p.role.clone(),
                    host: p.host.clone(),
                    heartbeat_age_s: secs_since(now, p.last_seen),
                })
                .collect(),
        })
    }

    /// The most frequent (kind, message) among the newest jobs whose last error is recent,
    /// whatever their state now: a failed job may since have been retried (available,
    /// scheduled), run again (running) or succeeded, and its failure still happened.
    async fn top_errors(&self, since: Timestamp) -> Result<Vec<TopError>> {
        let failed = self
            .job_list(JobFilter {
                limit: TOP_ERRORS_SCAN,
                ..Default::default()
            })
            .await?;
        let mut top: BTreeMap<(String, String), u64> = BTreeMap::new();
        for j in &failed {
            if let Some(e) = j.errors.last().filter(|e| e.at >= since) {
                let msg: String = e.message.chars().take(120).collect();
                *top.entry((j.kind.to_string(), msg)).or_default() += 1;
            }
        }
        let mut top: Vec<_> = top.into_iter().collect();
        top.sort_by_key(|t| std::cmp::Reverse(t.1));
        Ok(top
            .into_iter()
            .take(10)
            .map(|((kind, message), count)| TopError {
                kind,
                message,
                count,
            })
            .collect())
    }

    async fn schedule_problems(
        &self,
        now: Timestamp,
        problems: &mut Vec<String>,
    ) -> Result<Vec<ScheduleProblem>> {
        let mut bad = Vec::new();
        for s in self.schedule_list().await? {
            let failed = matches!(
                s.last_job_state,
                Some(JobState::Dead) | Some(JobState::Retryable)
            );
            let overdue = match (
                CronExpr::parse(&s.def.cron),
                Tz::parse(&s.def.tz),
                s.last_tick,
            ) {
                (Ok(e), Ok(tz), Some(last)) if !s.paused => e
                    .next_timestamp_after(&tz, last)
                    .is_some_and(|next| now.duration_since(next) > OVERDUE),
                _ => false,
            };
            let why = if failed {
                "last run failed"
            } else if overdue {
                "overdue: no scheduler fired its last tick"
            } else {
                continue;
            };
            problems.push(format!("schedule {}: {why}", s.def.name));
            bad.push(ScheduleProblem {
                name: s.def.name.to_string(),
                problem: why.to_owned(),
                owner: s.def.owner,
                rollback: s.def.rollback,
            });
        }
        Ok(bad)
    }

    async fn deploy_verdict(
        &self,
        now: Timestamp,
        rows: &[(StatKey, StatCounts)],
        problems: &mut Vec<String>,
    ) -> Result<DeployVerdict> {
        let Some(m) = self.deploy_list(1).await?.pop() else {
            return Ok(DeployVerdict {
                last: None,
                window_minutes: None,
                before: None,
                after: None,
                verdict: "no deploy marker".to_owned(),
                why: None,
                threshold: threshold(),
            });
        };
        let since = Duration::try_from(now.duration_since(m.at)).unwrap_or(Duration::ZERO);
        let w = since.min(BEFORE).max(Duration::from_secs(60));
        let at = minute_of(m.at);
        let windows = DeployWindow {
            before: Window::of(&sum(rows, ts_sub(at, w), at)),
            after: Window::of(&sum(rows, at, ts_add(at, w))),
        };
        let (v, why) = windows.verdict();
        if v == "worse" {
            problems.push(format!(
                "deploy {} made things worse: {why}; rollback: {}",
                m.version,
                m.rollback.as_deref().unwrap_or("(none recorded)")
            ));
        }
        Ok(DeployVerdict {
            last: Some(LastDeploy {
                version: m.version,
                at: m.at,
                age_s: since.as_secs(),
                owner: m.owner,
                rollback: m.rollback,
                note: m.note,
            }),
            window_minutes: Some(w.as_secs() / 60),
            before: Some(windows.before),
            after: Some(windows.after),
            verdict: v.to_owned(),
            why: Some(why),
            threshold: threshold(),
        })
    }
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;
    use std::time::Duration;

    use anp_core::cache::{CacheCounts, CacheStatsRecord, Namespace, RequestCounts};
    use anp_core::clock::ManualClock;
    use jiff::Timestamp;

    use crate::admin::{Admin, DeployMark};

    /// Application hits and misses, and the HTTP rule `assets`'s hits, misses and bypasses.
    fn counts(hits: u64, misses: u64, (h, m, b): (u64, u64, u64)) -> CacheCounts {
        let http = RequestCounts {
            hits: h,
            misses: m,
            bypasses: b,
            ..Default::default()
        };
        CacheCounts {
            hits,
            misses,
            requests: BTreeMap::from([("assets".to_owned(), http)]),
            ..Default::default()
        }
    }

    /// `anp status`'s cache line compares the window before the last deploy marker with the
    /// window after it (as wide as the deploy verdict's): the application cache's hit ratio
    /// and, per HTTP rule and in total, the hit ratio and the bypass rate.
    #[tokio::test]
    async fn the_cache_line_compares_before_and_after_the_last_deploy() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let url = format!("sqlite://{}", dir.path().join("s.db").display());
        let backend = crate::connect(&url).await.unwrap_or_else(|e| panic!("{e}"));
        let t0: Timestamp = "2026-03-29T12:00:00Z"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        let clock = ManualClock::new(t0);
        let admin = Admin::with_clock(backend.clone(), Arc::new(clock.clone()));
        let cache = backend.store().cache();
        let ns = Namespace::parse("pages").unwrap_or_else(|e| panic!("{e}"));
        let record = |at: Timestamp, c: CacheCounts| CacheStatsRecord {
            at,
            process: "web-1".into(),
            ns: ns.clone(),
            counts: c,
        };
        let minutes = |m: u64| Duration::from_secs(60 * m);
        cache
            .cache_stats_record(record(t0 - minutes(5), counts(9, 1, (9, 1, 10))))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        admin
            .deploy_mark(DeployMark {
                version: "v2".into(),
                owner: None,
                rollback: None,
                note: None,
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        cache
            .cache_stats_record(record(t0 + minutes(5), counts(1, 1, (1, 3, 36))))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        clock.set(t0 + minutes(10));
        let status = admin.status().await.unwrap_or_else(|e| panic!("{e}"));
        let c = &status.cache;
        assert_eq!(c.hit_ratio_before_deploy, Some(0.9), "{c:?}");
        assert_eq!(c.hit_ratio_after_deploy, Some(0.5), "{c:?}");
        assert_eq!(c.lookups_15m, 12, "{c:?}");
        let http = c
            .http
            .as_ref()
            .unwrap_or_else(|| panic!("no HTTP line: {c:?}"));
        for r in [&http.total, &http.rules[0]] {
            assert_eq!(r.hit_ratio_before_deploy, Some(0.9), "{r:?}");
            assert_eq!(r.hit_ratio_after_deploy, Some(0.25), "{r:?}");
            assert_eq!(r.bypass_rate_before_deploy, Some(0.5), "{r:?}");
            assert_eq!(r.bypass_rate_after_deploy, Some(0.9), "{r:?}");
        }
        assert_eq!(http.rules[0].rule, "assets");
    }
}
