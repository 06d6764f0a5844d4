//! Redis-specific schedule behaviour the conformance suite doesn't cover: a schedule whose
//! queue changes moves to the new queue's slot with its state.
#![allow(clippy::unwrap_used)]

mod common;

use anp_conformance::schedule::def;
use anp_conformance::util::{plus, q};
use anp_core::schedule::{ScheduleSyncParams, TickClaim, TickClaimParams};
use common::RedisServer;
use jiff::Timestamp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schedule_moved_to_another_queue_keeps_its_state() {
    let server = RedisServer::start();
    let s = common::open(&server.url()).await;
    let now = Timestamp::now();
    let d = def("mover", "* * * * *");
    let sync = |defs, now| s.schedule_sync(ScheduleSyncParams { defs, now });
    sync(vec![d.clone()], now).await.unwrap();
    let claim = |d: &anp_core::schedule::ScheduleDef, tick| TickClaimParams {
        name: d.name.clone(),
        tick,
        job: Some(d.new_job()),
        skip_reason: None,
        passed_over: 0,
        scheduler: "t".into(),
        now: tick,
        log_max: 10,
    };
    s.schedule_claim_tick(claim(&d, plus(now, 60)))
        .await
        .unwrap();
    s.schedule_set_paused(d.name.clone(), true, now)
        .await
        .unwrap();

    let mut moved = d.clone();
    moved.queue = q("other");
    sync(vec![moved.clone()], plus(now, 61)).await.unwrap();
    let (info, _) = s.schedule_get(d.name.clone(), 10).await.unwrap();
    assert_eq!(info.def.queue, q("other"));
    assert!(info.paused);
    assert_eq!(
        info.last_tick.map(|t| t.as_microsecond()),
        Some(plus(now, 60).as_microsecond())
    );
    assert_eq!(
        server
            .cli(&[], &["EXISTS", "anp:{default}:schedule:mover"])
            .trim(),
        "0"
    );
    // The old tick stays claimed; the next one enqueues into the new queue.
    assert_eq!(
        s.schedule_claim_tick(claim(&moved, plus(now, 60)))
            .await
            .unwrap(),
        TickClaim::AlreadyClaimed
    );
    let r = s
        .schedule_claim_tick(claim(&moved, plus(now, 120)))
        .await
        .unwrap();
    let TickClaim::Claimed { job: Some(e), .. } = r else {
        panic!("{r:?}")
    };
    assert_eq!(s.job_get(e.id).await.unwrap().queue, q("other"));
    let list = s.schedule_list().await.unwrap();
    assert_eq!(list.len(), 1);
}
