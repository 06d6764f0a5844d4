//! The one shared snapshot of the store behind the overview and `/ui/live.json`: the status
//! (the four questions, live processes among them), the queues, the deploy markers and the
//! per-minute stats bucketed for the charts. It is read from the store at most
//! once per `--live-interval` whatever the number of open tabs: the first request after the
//! interval reads it while holding the lock, every request meanwhile (concurrent or not) gets
//! the copy in hand. [`Live::reads`] counts the store reads, and `/ui/live.json` shows the
//! count, so a test can check the bound without timing anything.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use alphanode::admin::Status;
use alphanode::{Admin, DeployMarker, JobState, QueueInfo, StatCounts};
use axum::extract::State;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::Json;
use jiff::SignedDuration;
use serde::Serialize;
use tokio::sync::Mutex;

use super::chart::{self, Range};
use crate::web::Shared;

/// Deploy markers a snapshot holds (the charts draw those in their range).
const DEPLOYS: u32 = 50;

/// What one store read gathers.
#[derive(Debug)]
pub(super) struct Snapshot {
    /// When it was read.
    pub(super) at: jiff::Timestamp,
    /// The four questions.
    pub(super) status: Status,
    /// Every queue's counts.
    pub(super) queues: Vec<QueueInfo>,
    /// The newest deploy markers.
    pub(super) deploys: Vec<DeployMarker>,
    /// The last hour by minute.
    pub(super) hour: (Range, Vec<StatCounts>),
    /// The last day by 15 minutes.
    pub(super) day: (Range, Vec<StatCounts>),
    /// Attempts finished per queue in the last 15 minutes.
    pub(super) finished_15m: BTreeMap<String, u64>,
}

/// The shared snapshot and how often it may be read.
#[derive(Debug)]
pub(in crate::web) struct Live {
    /// The newest snapshot and when it was read.
    held: Mutex<Option<(Instant, Arc<Snapshot>)>>,
    /// The least time between two store reads.
    interval: Duration,
    /// Store reads so far.
    reads: AtomicU64,
}

impl Live {
    /// A snapshot read at most once per `interval`.
    pub(in crate::web) fn new(interval: Duration) -> Live {
        Live {
            held: Mutex::new(None),
            interval,
            reads: AtomicU64::new(0),
        }
    }

    /// How many times the store has been read for a snapshot.
    pub(super) fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    /// The snapshot, read from the store when the held one is older than the interval.
    pub(super) async fn get(&self, admin: &Admin) -> alphanode::Result<Arc<Snapshot>> {
        let mut held = self.held.lock().await;
        if let Some((at, snap)) = held.as_ref() {
            if at.elapsed() < self.interval {
                return Ok(snap.clone());
            }
        }
        self.reads.fetch_add(1, Ordering::Relaxed);
        // One status read; its queue counts and stats rows serve the page and the charts too.
        let detail = admin.status_detail().await?;
        let deploys = admin.deploy_list(DEPLOYS).await?;
        let now = jiff::Timestamp::now();
        // The start of the next minute: the current minute's counts are in the last bar.
        let end =
            jiff::Timestamp::from_second(now.as_second() - now.as_second().rem_euclid(60) + 60)
                .unwrap_or(now);
        let hour = Range {
            end,
            step: SignedDuration::from_secs(60),
            n: 60,
        };
        let day = Range {
            end,
            step: SignedDuration::from_secs(15 * 60),
            n: 96,
        };
        let rows = &detail.stats;
        let since = now
            .checked_sub(SignedDuration::from_secs(15 * 60))
            .unwrap_or(now);
        let mut finished_15m = BTreeMap::new();
        for (k, c) in rows.iter().filter(|(k, _)| k.minute >= since) {
            *finished_15m.entry(k.queue.to_string()).or_insert(0) += c.completed + c.failed;
        }
        let snap = Arc::new(Snapshot {
            finished_15m,
            at: now,
            hour: (hour, chart::buckets(rows, hour)),
            day: (day, chart::buckets(rows, day)),
            status: detail.status,
            queues: detail.queues,
            deploys,
        });
        *held = Some((Instant::now(), snap.clone()));
        Ok(snap)
    }
}

/// `/ui/live.json`: the figures the script writes into `[data-live]` elements, by name.
#[derive(Debug, Serialize)]
struct LiveJson {
    /// When the snapshot was read (RFC 3339).
    at: String,
    /// Store reads for snapshots since this server started.
    store_reads: u64,
    /// The poll interval the script should use (ms).
    interval_ms: u64,
    /// Element name → text.
    values: BTreeMap<String, String>,
}

/// The `[data-live]` values of a snapshot: the overview's answers and every queue's counts.
pub(super) fn values(s: &Snapshot) -> BTreeMap<String, String> {
    let mut v = BTreeMap::new();
    let st = &s.status;
    v.insert("ok".into(), if st.ok { "OK" } else { "PROBLEMS" }.into());
    v.insert(
        "up".into(),
        format!(
            "{} store, {} workers, {} schedulers, round trip {}",
            st.up.backend,
            st.up.workers,
            st.up.schedulers,
            super::ms(Some(st.up.round_trip_ms))
        ),
    );
    v.insert(
        "slow".into(),
        format!(
            "run p95 {} (hour before {}), wait p95 {}",
            super::ms(st.slow.last_15m.run_p95_ms),
            super::ms(st.slow.hour_before.run_p95_ms),
            super::ms(st.slow.last_15m.wait_p95_ms)
        ),
    );
    v.insert(
        "failing".into(),
        format!(
            "failure rate {} in the last 15 min, {} dead jobs",
            super::pct(st.slow.last_15m.failure_rate),
            super::count(st.failing.dead_total)
        ),
    );
    v.insert("deploy".into(), deploy_line(st));
    v.insert("snapshot-at".into(), super::utc(s.at));
    for q in &s.queues {
        for state in JobState::ALL {
            let n = q.counts.get(&state).copied().unwrap_or(0);
            v.insert(format!("q-{}-{}", q.queue, state), super::count(n));
        }
    }
    v
}

/// The overview's answer to "did the last deploy change anything".
pub(super) fn deploy_line(st: &Status) -> String {
    match &st.deploy.last {
        None => "no deploy marker".to_owned(),
        Some(d) => format!(
            "{}: {} ({} ago){}",
            d.version,
            st.deploy.verdict,
            crate::output::span(i64::try_from(d.age_s).unwrap_or(i64::MAX)),
            st.deploy
                .why
                .as_ref()
                .map(|w| format!(" — {w}"))
                .unwrap_or_default()
        ),
    }
}

/// `GET /ui/live.json`.
pub(super) async fn live_json(State(app): State<Shared>) -> Response {
    match app.live.get(&app.admin).await {
        Ok(s) => {
            let body = LiveJson {
                at: crate::output::ts(s.at),
                store_reads: app.live.reads(),
                interval_ms: u64::try_from(app.live.interval.as_millis()).unwrap_or(u64::MAX),
                values: values(&s),
            };
            let mut r = Json(body).into_response();
            r.headers_mut().insert(
                "content-security-policy",
                HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
            );
            r
        }
        Err(e) => crate::web::error::ApiError::from(e).into_response(),
    }
}
