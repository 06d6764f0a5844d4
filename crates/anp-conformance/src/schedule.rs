//! Cases on scheduled tasks: the atomic tick claim, overlap, pause, the fire log, and several
//! schedulers firing each tick once.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use alphanode::scheduler::{Schedule, Scheduler, SchedulerOptions};
use anp_core::schedule::{
    CatchUp, FireDecision, ScheduleDef, ScheduleName, ScheduleSyncParams, ScheduleTriggerParams,
    TickClaim, TickClaimParams,
};
use anp_core::store::JobListParams;
use anp_core::{Args, ErrorKind, JobState, Store};
use jiff::Timestamp;
use tokio_util::sync::CancellationToken;

use crate::util::{ack, fetch, k, plus, q, wait_for};
use crate::Harness;

/// A schedule definition for the tests.
pub fn def(name: &str, cron: &str) -> ScheduleDef {
    ScheduleDef {
        name: ScheduleName::parse(name).unwrap_or_else(|e| panic!("{e}")),
        cron: cron.into(),
        tz: "UTC".into(),
        kind: k("tick"),
        args: Args::empty_object(),
        queue: q("default"),
        priority: 5,
        max_attempts: 3,
        owner: Some("ops".into()),
        expected: Some("one job per tick".into()),
        rollback: Some("anp schedules pause it".into()),
        catch_up: CatchUp::Latest,
        catch_up_max: 100,
        skip_if_running: false,
    }
}

fn claim(d: &ScheduleDef, tick: Timestamp, now: Timestamp, log_max: u32) -> TickClaimParams {
    TickClaimParams {
        name: d.name.clone(),
        tick,
        job: Some(d.new_job()),
        skip_reason: None,
        passed_over: 0,
        scheduler: "test".into(),
        now,
        log_max,
    }
}

async fn sync(s: &dyn Store, defs: Vec<ScheduleDef>, now: Timestamp) {
    s.schedule_sync(ScheduleSyncParams { defs, now })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

/// Four handles race for the same tick: one enqueues, the rest are told it was claimed; an
/// older tick can never be claimed afterwards.
pub async fn schedule_tick_is_claimed_once<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = Timestamp::now();
    let d = def("race", "* * * * * *");
    sync(&*s, vec![d.clone()], now).await;
    let tick = plus(now, 1);
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (store, p) = (h.store().await, claim(&d, tick, plus(now, 1), 100));
        tasks.push(tokio::spawn(
            async move { store.schedule_claim_tick(p).await },
        ));
    }
    let mut won = 0;
    for t in tasks {
        match t
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|e| panic!("{e}"))
        {
            TickClaim::Claimed { job: Some(_), .. } => won += 1,
            TickClaim::AlreadyClaimed => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(won, 1);
    let jobs = s
        .job_list(JobListParams {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(jobs.len(), 1, "exactly one job for the tick");
    let r = s
        .schedule_claim_tick(claim(&d, now, plus(now, 2), 100))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        r,
        TickClaim::AlreadyClaimed,
        "an older tick is never claimed"
    );
    let (info, _) = s
        .schedule_get(d.name.clone(), 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        info.last_tick.map(|t| t.as_microsecond()),
        Some(tick.as_microsecond())
    );
    assert_eq!(info.last_job, Some(jobs[0].id));
}

/// With `skip_if_running`, a tick whose previous run is unfinished is skipped and logged.
pub async fn schedule_overlap_skips_while_previous_runs<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = Timestamp::now();
    let mut d = def("overlap", "* * * * *");
    d.skip_if_running = true;
    sync(&*s, vec![d.clone()], now).await;
    let first = match s
        .schedule_claim_tick(claim(&d, plus(now, 60), plus(now, 60), 100))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
    {
        TickClaim::Claimed { job: Some(e), .. } => e.id,
        other => panic!("unexpected {other:?}"),
    };
    let r = s
        .schedule_claim_tick(claim(&d, plus(now, 120), plus(now, 120), 100))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        r,
        TickClaim::Claimed {
            job: None,
            overlap_with: Some(first)
        }
    );
    let j = fetch(&*s, "default", 1, plus(now, 121)).await.remove(0);
    ack(
        &*s,
        &j,
        anp_core::store::AckOutcome::Complete,
        plus(now, 122),
    )
    .await;
    let r = s
        .schedule_claim_tick(claim(&d, plus(now, 180), plus(now, 180), 100))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        matches!(
            r,
            TickClaim::Claimed {
                job: Some(_),
                overlap_with: None
            }
        ),
        "{r:?}"
    );
    let (_, log) = s
        .schedule_get(d.name.clone(), 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let decisions: Vec<_> = log.iter().map(|e| e.decision).collect();
    assert_eq!(
        decisions,
        vec![
            FireDecision::Enqueued,
            FireDecision::Skipped,
            FireDecision::Enqueued
        ],
        "newest first"
    );
    assert!(
        log[1]
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("overlap"),
        "{:?}",
        log[1].reason
    );
    assert_eq!(log[2].job_state, Some(JobState::Completed));
}

/// Every decision is logged (skips with their reason, passed-over ticks, manual triggers) and
/// the log is bounded.
pub async fn schedule_fire_log_records_decisions_and_is_bounded<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = Timestamp::now();
    let d = def("logged", "* * * * *");
    sync(&*s, vec![d.clone()], now).await;
    let mut p = claim(&d, plus(now, 60), plus(now, 60), 100);
    p.job = None;
    p.skip_reason = Some("paused".into());
    s.schedule_claim_tick(p)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut p = claim(&d, plus(now, 300), plus(now, 300), 100);
    p.passed_over = 3;
    s.schedule_claim_tick(p)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let trig = s
        .schedule_trigger(ScheduleTriggerParams {
            name: d.name.clone(),
            now: plus(now, 301),
            by: "alice".into(),
            log_max: 100,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (info, log) = s
        .schedule_get(d.name.clone(), 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        info.last_tick.map(|t| t.as_microsecond()),
        Some(plus(now, 300).as_microsecond()),
        "a trigger does not move last_tick"
    );
    let seen: Vec<_> = log
        .iter()
        .map(|e| (e.decision, e.reason.clone().unwrap_or_default()))
        .collect();
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert_eq!(seen[0].0, FireDecision::Triggered);
    assert_eq!(log[0].job_id, Some(trig.id));
    assert_eq!(seen[1].0, FireDecision::Enqueued);
    assert_eq!(seen[2].0, FireDecision::Skipped);
    assert!(seen[2].1.contains("3 earlier missed tick"), "{}", seen[2].1);
    assert_eq!(seen[3], (FireDecision::Skipped, "paused".to_string()));
    // Bounded: with log_max 2 only the newest two remain.
    s.schedule_claim_tick(claim(&d, plus(now, 360), plus(now, 360), 2))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (_, log) = s
        .schedule_get(d.name.clone(), 100)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(log.len(), 2);
}

/// Syncing a changed definition keeps the schedule's state; pause, list, delete, not found.
pub async fn schedule_sync_pause_list_delete<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = Timestamp::now();
    let d = def("nightly", "30 2 * * *");
    sync(&*s, vec![d.clone(), def("other", "@hourly")], now).await;
    s.schedule_claim_tick(claim(&d, plus(now, 60), plus(now, 60), 100))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    s.schedule_set_paused(d.name.clone(), true, now)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut changed = d.clone();
    changed.cron = "45 2 * * *".into();
    changed.tz = "Europe/Berlin".into();
    sync(&*s, vec![changed], plus(now, 100)).await;
    let list = s.schedule_list().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        list.iter().map(|i| i.def.name.as_str()).collect::<Vec<_>>(),
        vec!["nightly", "other"]
    );
    let n = &list[0];
    assert_eq!(n.def.cron, "45 2 * * *");
    assert_eq!(n.def.tz, "Europe/Berlin");
    assert!(n.paused, "pause survives a sync");
    assert_eq!(
        n.last_tick.map(|t| t.as_microsecond()),
        Some(plus(now, 60).as_microsecond()),
        "state survives a sync"
    );
    assert_eq!(n.def.owner.as_deref(), Some("ops"));
    assert_eq!(n.last_job_state, Some(JobState::Available));
    let other = &list[1];
    assert_eq!(
        other.last_tick.map(|t| t.as_microsecond()),
        Some(now.as_microsecond()),
        "a new schedule starts at registration"
    );
    s.schedule_delete(d.name.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let e = s
        .schedule_get(d.name.clone(), 10)
        .await
        .err()
        .unwrap_or_else(|| panic!("deleted"));
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let e = s
        .schedule_set_paused(d.name.clone(), false, now)
        .await
        .err()
        .unwrap_or_else(|| panic!("deleted"));
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let e = s
        .schedule_claim_tick(claim(&d, plus(now, 999), now, 10))
        .await
        .err()
        .unwrap_or_else(|| panic!("deleted"));
    assert_eq!(e.kind(), ErrorKind::NotFound);
}

/// A schedule whose queue changes keeps its state (last tick, pause); the claimed tick stays
/// claimed and the next one enqueues into the new queue; it is still one schedule.
pub async fn schedule_moved_to_another_queue_keeps_its_state<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = Timestamp::now();
    let d = def("mover", "* * * * *");
    sync(&*s, vec![d.clone()], now).await;
    s.schedule_claim_tick(claim(&d, plus(now, 60), plus(now, 60), 10))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    s.schedule_set_paused(d.name.clone(), true, now)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut moved = d.clone();
    moved.queue = q("other");
    sync(&*s, vec![moved.clone()], plus(now, 61)).await;
    let (info, _) = s
        .schedule_get(d.name.clone(), 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(info.def.queue, q("other"));
    assert!(info.paused, "pause survives the move");
    assert_eq!(
        info.last_tick.map(|t| t.as_microsecond()),
        Some(plus(now, 60).as_microsecond()),
        "last tick survives the move"
    );
    assert_eq!(
        s.schedule_claim_tick(claim(&moved, plus(now, 60), plus(now, 60), 10))
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        TickClaim::AlreadyClaimed
    );
    let r = s
        .schedule_claim_tick(claim(&moved, plus(now, 120), plus(now, 120), 10))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let TickClaim::Claimed { job: Some(e), .. } = r else {
        panic!("{r:?}")
    };
    assert_eq!(
        s.job_get(e.id).await.map(|j| j.queue).ok(),
        Some(q("other"))
    );
    let list = s.schedule_list().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        list.iter().map(|i| i.def.name.as_str()).collect::<Vec<_>>(),
        vec!["mover"]
    );
}

/// Three in-process schedulers on separate handles run a per-second schedule until three ticks
/// fired: every tick between the first and the last fired exactly once.
pub async fn three_schedulers_fire_each_tick_once<H: Harness>(h: &H) {
    let d = def("per-second", "* * * * * *");
    let mut runs = Vec::new();
    let token = CancellationToken::new();
    for i in 0..3 {
        let sch = Scheduler::new(
            h.store().await,
            vec![Schedule::new(d.clone()).unwrap_or_else(|e| panic!("{e}"))],
            SchedulerOptions {
                id: format!("s{i}"),
                ..SchedulerOptions::default()
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let t = token.clone();
        runs.push(tokio::spawn(async move { sch.run(t).await }));
    }
    // Per-second ticks need real seconds: wait (with a deadline) until three have fired.
    let s: Arc<dyn Store> = h.store().await;
    wait_for("three ticks to fire", Duration::from_secs(30), || {
        let (s, name) = (s.clone(), d.name.clone());
        async move {
            let (_, log) = s.schedule_get(name, 1000).await.ok()?;
            let fired = log
                .iter()
                .filter(|e| e.decision == FireDecision::Enqueued)
                .count();
            (fired >= 3).then_some(())
        }
    })
    .await;
    token.cancel();
    for r in runs {
        r.await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let (_, log) = s
        .schedule_get(d.name.clone(), 1000)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    check_every_tick_once(&*s, &log, 3).await;
}

/// Checks a per-second schedule's log: jobs = enqueued entries, ticks distinct and consecutive
/// (passed-over ticks, if any, are accounted for by skip entries). Returns the number of ticks.
pub async fn check_every_tick_once(
    s: &dyn Store,
    log: &[anp_core::schedule::FireLogEntry],
    at_least: usize,
) -> usize {
    let mut ticks: Vec<i64> = log
        .iter()
        .filter(|e| e.decision == FireDecision::Enqueued)
        .map(|e| e.tick.as_microsecond())
        .collect();
    ticks.sort_unstable();
    let distinct: HashSet<_> = ticks.iter().copied().collect();
    assert_eq!(distinct.len(), ticks.len(), "a tick was enqueued twice");
    assert!(ticks.len() >= at_least, "only {} ticks fired", ticks.len());
    let jobs = s
        .job_list(JobListParams {
            kind: Some(k("tick")),
            limit: 100_000,
            ..Default::default()
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(jobs.len(), ticks.len(), "one job per enqueued tick");
    let passed: u64 = log
        .iter()
        .filter(|e| e.decision == FireDecision::Skipped)
        .filter_map(|e| e.reason.as_deref()?.split(' ').next()?.parse::<u64>().ok())
        .sum();
    let span = (ticks[ticks.len() - 1] - ticks[0]) / 1_000_000 + 1;
    assert_eq!(ticks.len() as u64 + passed, span as u64, "every second between the first and last tick is accounted for (fired: {}, passed over: {passed})", ticks.len());
    ticks.len()
}
