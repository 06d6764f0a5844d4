//! Monitoring: ping, per-minute stats, process registry and deploy markers.

use std::time::Duration;

use anp_core::store::{AckOutcome, AckResult};

use crate::util::{ack, enqueue_n, err, fetch, now, plus, q};
use crate::Harness;

/// `store_ping` answers with the backend name and a schema version.
pub async fn ping_reports_backend<H: Harness>(h: &H) {
    let s = h.store().await;
    let info = s.store_ping().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(info.backend, s.backend());
    assert!(info.schema_version >= 1);
    assert!(!s.redacted_url().is_empty());
}

/// The stats of the minutes from `now`'s to two minutes on, summed; every row is queue
/// `default`, kind `a` (what `enqueue_n` enqueues).
async fn stats_total(
    s: &dyn anp_core::store::Store,
    now: jiff::Timestamp,
) -> anp_core::monitor::StatCounts {
    use anp_core::monitor::{minute_of, StatsQueryParams};
    let rows = s
        .stats_query(StatsQueryParams {
            from: minute_of(plus(now, 0)),
            until: plus(now, 120),
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut total = anp_core::monitor::StatCounts::default();
    for (k, c) in &rows {
        assert_eq!((k.queue.as_str(), k.kind.as_str()), ("default", "a"));
        total.merge(c);
    }
    total
}

/// Per-minute stats count enqueues (in the enqueue call) and attempt outcomes (in the ack call,
/// only for acks that applied), with run and wait histograms.
pub async fn stats_count_enqueues_and_outcomes<H: Harness>(h: &H) {
    let s = h.store().await;
    let now = now();
    enqueue_n(&*s, "default", 3, now).await;
    let jobs = fetch(&*s, "default", 3, now).await;
    ack(&*s, &jobs[0], AckOutcome::Complete, now).await;
    ack(
        &*s,
        &jobs[1],
        AckOutcome::Retry {
            at: plus(now, 60),
            error: err(1, now, "x", true),
        },
        now,
    )
    .await;
    ack(
        &*s,
        &jobs[2],
        AckOutcome::Dead {
            error: err(1, now, "y", false),
        },
        now,
    )
    .await;
    assert_eq!(
        ack(&*s, &jobs[0], AckOutcome::Complete, now).await,
        AckResult::LeaseLost
    );
    let total = stats_total(&*s, now).await;
    assert_eq!(
        (total.enqueued, total.completed, total.failed, total.dead),
        (3, 1, 2, 1)
    );
    assert_eq!(total.run.count(), 3, "a rejected ack is not counted");
    assert_eq!(total.wait.count(), 3);
    assert_eq!(
        total.run.quantile_ms(0.5),
        Some(50.0),
        "40 ms falls in the 50 ms bucket"
    );
}

/// One ack call of several acks, one of them in the middle with a lost lease: the stats count
/// each applied ack by its own run and wait, and leave out exactly the lost one's.
pub async fn stats_leave_out_the_lost_ack_of_a_batch<H: Harness>(h: &H) {
    use anp_core::store::{AckStats, JobAck, JobAckManyParams};
    let s = h.store().await;
    let now = now();
    enqueue_n(&*s, "default", 3, now).await;
    let jobs = fetch(&*s, "default", 3, now).await;
    let lease = |i: usize| {
        jobs[i]
            .lease()
            .unwrap_or_else(|| panic!("job {} has no lease", jobs[i].id))
    };
    let stats = |i: usize, run_ms: u64| {
        Some(AckStats {
            kind: jobs[i].kind.clone(),
            wait: Duration::from_millis(3),
            run: Duration::from_millis(run_ms),
        })
    };
    let mut stale = lease(1);
    stale.token += 1_000;
    let results = s
        .job_ack_many(JobAckManyParams {
            acks: vec![
                JobAck {
                    lease: lease(0),
                    outcome: AckOutcome::Complete,
                    stats: stats(0, 40),
                },
                // lost: a token the store never issued for this job; a run of 5 s that must
                // not be counted
                JobAck {
                    lease: stale,
                    outcome: AckOutcome::Complete,
                    stats: stats(1, 5_000),
                },
                JobAck {
                    lease: lease(2),
                    outcome: AckOutcome::Retry {
                        at: plus(now, 60),
                        error: err(1, now, "x", true),
                    },
                    stats: stats(2, 40),
                },
            ],
            now,
        })
        .await
        .unwrap_or_else(|e| panic!("ack: {e}"));
    assert_eq!(
        results,
        [AckResult::Applied, AckResult::LeaseLost, AckResult::Applied]
    );
    let total = stats_total(&*s, now).await;
    assert_eq!((total.enqueued, total.completed, total.failed), (3, 1, 1));
    assert_eq!(total.run.count(), 2, "the lost ack is not counted");
    assert_eq!(
        total.run.quantile_ms(1.0),
        Some(50.0),
        "only the two 40 ms runs are counted, not the lost ack's 5 s"
    );
}

/// Processes register, heartbeat, go stale and are removed; a worker's queues and kinds (empty
/// for a scheduler) read back as registered.
pub async fn processes_register_and_go_stale<H: Harness>(h: &H) {
    use anp_core::monitor::{ProcessInfo, ProcessListParams};
    let s = h.store().await;
    let now = now();
    let kinds = vec![crate::util::k("email.send"), crate::util::k("report.build")];
    let p = |id: &str, seen: jiff::Timestamp| ProcessInfo {
        id: id.into(),
        role: "worker".into(),
        host: "h".into(),
        pid: 42,
        version: "0.1.0".into(),
        queues: vec![q("default")],
        kinds: kinds.clone(),
        started_at: now,
        last_seen: seen,
    };
    s.process_heartbeat(p("alive", now))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    s.process_heartbeat(p("stale", crate::util::minus(now, 100)))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    s.process_heartbeat(ProcessInfo {
        role: "scheduler".into(),
        queues: Vec::new(),
        kinds: Vec::new(),
        ..p("sched", now)
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let live = |at| {
        let s = s.clone();
        async move {
            s.process_list(ProcessListParams {
                now: at,
                stale_after: Duration::from_secs(60),
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"))
        }
    };
    let mut list = live(now).await;
    list.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(
        list.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        vec!["alive", "sched"]
    );
    assert_eq!(
        list[0],
        p("alive", now),
        "a worker reads back as registered"
    );
    assert_eq!(list[0].kinds, kinds);
    assert!(
        list[1].kinds.is_empty() && list[1].queues.is_empty(),
        "{list:?}"
    );
    // A heartbeat carries the kinds too: a worker that gained a handler says so.
    let mut more = kinds.clone();
    more.push(crate::util::k("thumbnail"));
    s.process_heartbeat(ProcessInfo {
        kinds: more.clone(),
        ..p("alive", plus(now, 5))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let list = live(plus(now, 5)).await;
    let alive = list
        .iter()
        .find(|p| p.id == "alive")
        .unwrap_or_else(|| panic!("alive is listed: {list:?}"));
    assert_eq!(
        alive.last_seen.as_microsecond(),
        plus(now, 5).as_microsecond()
    );
    assert_eq!(alive.kinds, more);
    for id in ["alive", "sched"] {
        s.process_remove(id.into())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    assert!(live(now).await.is_empty());
}

/// Deploy markers keep version, owner, rollback and note; newest first.
pub async fn deploy_markers_newest_first<H: Harness>(h: &H) {
    use anp_core::monitor::DeployMarker;
    let s = h.store().await;
    let now = now();
    for (i, v) in ["v1", "v2", "v3"].iter().enumerate() {
        s.deploy_mark(DeployMarker {
            at: plus(now, i as u64),
            version: (*v).into(),
            owner: Some("web-team".into()),
            rollback: Some(format!("deploy {v}~1")),
            note: None,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    }
    let list = s.deploy_list(2).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        list.iter().map(|m| m.version.as_str()).collect::<Vec<_>>(),
        vec!["v3", "v2"]
    );
    assert_eq!(list[0].rollback.as_deref(), Some("deploy v3~1"));
    assert_eq!(list[0].owner.as_deref(), Some("web-team"));
}

/// Audit entries keep who, what, target and result; newest first; `limit` is honoured and 0
/// lists nothing.
pub async fn audit_entries_newest_first<H: Harness>(h: &H) {
    use anp_core::monitor::AuditEntry;
    let s = h.store().await;
    assert!(s
        .audit_list(10)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .is_empty());
    let now = now();
    let entry = |i: u64, action: &str| AuditEntry {
        at: plus(now, i),
        who: "dashboard session 3fa2c1d0".into(),
        action: action.into(),
        target: format!("target-{i}"),
        result: if i == 2 {
            "error: job not found".into()
        } else {
            "ok".into()
        },
    };
    let want = [
        entry(0, "job retry"),
        entry(1, "queue pause"),
        entry(2, "job cancel"),
    ];
    for e in &want {
        s.audit_record(e.clone())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let list = s.audit_list(2).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(list, vec![want[2].clone(), want[1].clone()]);
    let all = s.audit_list(100).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(all.len(), 3);
    assert_eq!(all[2], want[0]);
    assert!(s
        .audit_list(0)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .is_empty());
}
