//! `schedule_get`: one schedule and the newest entries of its fire log, with their jobs'
//! states.

use anp_core::schedule::{FireDecision, FireLogEntry, ScheduleInfo, ScheduleName};
use anp_core::{JobId, Result};
use jiff::Timestamp;
use redis::Value;
use serde::Deserialize;

use crate::conn::{Call, Redis};
use crate::keys::S;
use crate::ops::schedule_hash::{corrupt, hmget, info, not_found, queue_of, state_of, with_states};
use crate::ops::{job_get_call, ok};
use crate::record::{bad_reply, items, text};

/// `schedule_get`: the queue, then the hash and the newest fire-log entries in one pipeline,
/// then the jobs' states.
pub(crate) async fn run(
    r: &Redis,
    name: ScheduleName,
    log_limit: u32,
) -> Result<(ScheduleInfo, Vec<FireLogEntry>)> {
    const OP: &str = "schedule_get";
    let Some(q) = queue_of(r, OP, &name).await? else {
        return Err(not_found(OP, &name));
    };
    let mut calls = vec![hmget(&q, &name)];
    if log_limit > 0 {
        calls.push(Call::queue(
            &q,
            redis::cmd("LRANGE")
                .arg(S::Fires.key(&q, &name))
                .arg(0)
                .arg(i64::from(log_limit) - 1)
                .to_owned(),
        ));
    }
    let mut replies = r.run(OP, calls).await?.into_iter();
    let v = ok(r, OP, replies.next().unwrap_or(Value::Nil))?;
    let Some(info) = info(OP, &name, v)? else {
        return Err(not_found(OP, &name));
    };
    let mut log = Vec::new();
    if let Some(v) = replies.next() {
        for e in items(ok(r, OP, v)?).unwrap_or_default() {
            let s = text(&e).ok_or_else(|| bad_reply(OP, "a fire-log entry", &e))?;
            log.push(fire(OP, &name, s)?);
        }
    }
    let mut one = [(q.clone(), info)];
    with_states(r, OP, &mut one).await?;
    let [(_, info)] = one;
    let idx: Vec<usize> = (0..log.len())
        .filter(|&i| log[i].job_id.is_some())
        .collect();
    if !idx.is_empty() {
        let calls = idx
            .iter()
            .map(|&i| {
                let id = log[i].job_id.map(|j| j.to_string()).unwrap_or_default();
                job_get_call(r, &q, &id)
            })
            .collect();
        for (&i, v) in idx.iter().zip(r.run(OP, calls).await?) {
            log[i].job_state = state_of(&ok(r, OP, v)?);
        }
    }
    Ok((info, log))
}

/// One fire-log entry as `schedule_claim_tick.lua` writes it (all text).
#[derive(Deserialize)]
struct Fire {
    t: String,
    d: String,
    k: String,
    j: Option<String>,
    r: Option<String>,
    s: String,
}

fn fire(op: &str, name: &ScheduleName, s: &str) -> Result<FireLogEntry> {
    let bad = || corrupt(op, name, "fire-log entry");
    let f: Fire = serde_json::from_str(s).map_err(|_| bad())?;
    let t = |s: &str| {
        s.parse::<i64>()
            .ok()
            .and_then(|n| Timestamp::from_microsecond(n).ok())
            .ok_or_else(bad)
    };
    let decision = match f.k.as_str() {
        "enqueued" => FireDecision::Enqueued,
        "skipped" => FireDecision::Skipped,
        "triggered" => FireDecision::Triggered,
        _ => return Err(bad()),
    };
    Ok(FireLogEntry {
        tick: t(&f.t)?,
        decided_at: t(&f.d)?,
        decision,
        job_id: match f.j {
            Some(j) => Some(JobId::parse(&j).map_err(|_| bad())?),
            None => None,
        },
        job_state: None,
        reason: f.r,
        scheduler: f.s,
    })
}
