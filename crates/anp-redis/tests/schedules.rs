//! Redis-specific schedule layout the conformance suite doesn't see: a schedule whose queue
//! changes moves to the new queue's key (slot) with its state. (That the state survives the
//! move on every backend is the suite case `schedule_moved_to_another_queue_keeps_its_state`.)
#![allow(clippy::unwrap_used)]

mod common;

use anp_conformance::schedule::def;
use anp_conformance::util::{plus, q};
use anp_core::schedule::{ScheduleSyncParams, TickClaimParams};
use common::RedisServer;
use jiff::Timestamp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schedule_moved_to_another_queue_moves_to_its_key() {
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
    let key = |queue: &str| format!("anp:{{{queue}}}:schedule:mover");
    assert_eq!(server.cli(&[], &["EXISTS", &key("default")]).trim(), "0");
    assert_eq!(server.cli(&[], &["EXISTS", &key("other")]).trim(), "1");
    let (info, _) = s.schedule_get(d.name.clone(), 10).await.unwrap();
    assert!(info.paused);
    assert_eq!(
        info.last_tick.map(|t| t.as_microsecond()),
        Some(plus(now, 60).as_microsecond())
    );
}
