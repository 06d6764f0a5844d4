//! The schedule methods: `schedule_sync`, `schedule_list`, `schedule_get`,
//! `schedule_set_paused`, `schedule_claim_tick`, `schedule_trigger`, `schedule_delete`.
//!
//! A schedule lives in the slot of its queue: `anp:{<queue>}:schedule:<name>` (hash) and
//! `anp:{<queue>}:fires:<name>` (fire log, newest first); `anp:schedules` maps each name to
//! that queue. Claiming a tick and enqueueing its job is one `schedule_claim_tick.lua` call.

use anp_core::job::Enqueued;
use anp_core::schedule::{
    FireDecision, FireLogEntry, ScheduleDef, ScheduleInfo, ScheduleName, ScheduleSyncParams,
    ScheduleTriggerParams, TickClaim, TickClaimParams,
};
use anp_core::{Error, JobId, JobState, NewJob, QueueName, Result};
use jiff::Timestamp;
use redis::Value;
use serde::Deserialize;

use crate::conn::{Call, Redis};
use crate::keys::{self, Q, S};
use crate::ops::{anp_error, micros, ok, register_queues};
use crate::record::{bad_reply, int, items, text};
use crate::scripts::{SCHEDULE_CLAIM_TICK, SCHEDULE_SET_PAUSED, SCHEDULE_SYNC};

/// The fields of the schedule hash read back, in this order.
const FIELDS: [&str; 6] = [
    "def",
    "paused",
    "last_tick",
    "last_job",
    "created_at",
    "updated_at",
];

fn not_found(op: &str, name: &ScheduleName) -> Error {
    Error::not_found(
        op,
        format!("schedule {name} not found: expected the name of a schedule registered by `anp scheduler` or `anp work` (see `anp schedules list`)"),
    )
}

fn corrupt(op: &str, name: &ScheduleName, what: &str) -> Error {
    Error::internal(
        op,
        format!("schedule {name} has an unreadable {what}: expected the alphanode key layout"),
    )
}

fn hget_queue(name: &ScheduleName) -> Call {
    Call::global(
        redis::cmd("HGET")
            .arg(keys::SCHEDULES)
            .arg(name.as_str())
            .to_owned(),
    )
}

fn parse_queue(v: &Value) -> Option<QueueName> {
    text(v).and_then(|s| QueueName::parse(s).ok())
}

/// The queue holding schedule `name`, if it exists.
async fn queue_of(r: &Redis, op: &str, name: &ScheduleName) -> Result<Option<QueueName>> {
    let v = r.run_one(op, hget_queue(name)).await?;
    let v = ok(r, op, v)?;
    Ok(parse_queue(&v))
}

fn hmget(queue: &QueueName, name: &ScheduleName) -> Call {
    let mut cmd = redis::cmd("HMGET");
    cmd.arg(S::Schedule.key(queue, name));
    for f in FIELDS {
        cmd.arg(f);
    }
    Call::queue(queue, cmd)
}

fn ts(v: &Value) -> Option<Timestamp> {
    Timestamp::from_microsecond(int(v)?).ok()
}

/// The state of a job from its record (the first word), if the job exists.
fn state_of(v: &Value) -> Option<JobState> {
    text(v)
        .and_then(|s| s.split(' ').next())
        .and_then(|s| JobState::parse(s).ok())
}

fn job_state_call(queue: &QueueName, id: &str) -> Call {
    Call::queue(
        queue,
        redis::cmd("HGET")
            .arg(Q::Jobs.key(queue))
            .arg(id)
            .to_owned(),
    )
}

/// A schedule's hash fields (`FIELDS`) as info, without the last job's state; `None` when the
/// hash is absent.
fn info(op: &str, name: &ScheduleName, v: Value) -> Result<Option<ScheduleInfo>> {
    let f = items(v.clone()).ok_or_else(|| bad_reply(op, "the schedule's fields", &v))?;
    if f.len() != FIELDS.len() {
        return Err(bad_reply(op, "the schedule's fields", &v));
    }
    let Some(def) = text(&f[0]) else {
        return Ok(None);
    };
    let def: ScheduleDef =
        serde_json::from_str(def).map_err(|_| corrupt(op, name, "definition"))?;
    let last_job = match text(&f[3]) {
        Some(s) => Some(JobId::parse(s).map_err(|_| corrupt(op, name, "last job"))?),
        None => None,
    };
    Ok(Some(ScheduleInfo {
        def,
        paused: text(&f[1]) == Some("1"),
        last_tick: ts(&f[2]),
        last_job,
        last_job_state: None,
        created_at: ts(&f[4]).ok_or_else(|| corrupt(op, name, "created_at"))?,
        updated_at: ts(&f[5]).ok_or_else(|| corrupt(op, name, "updated_at"))?,
    }))
}

/// Fills in the state of each schedule's last job (one pipelined `HGET` per job).
async fn with_states(r: &Redis, op: &str, list: &mut [(QueueName, ScheduleInfo)]) -> Result<()> {
    let idx: Vec<usize> = (0..list.len())
        .filter(|&i| list[i].1.last_job.is_some())
        .collect();
    if idx.is_empty() {
        return Ok(());
    }
    let calls = idx
        .iter()
        .map(|&i| {
            let (q, info) = &list[i];
            let id = info.last_job.map(|j| j.to_string()).unwrap_or_default();
            job_state_call(q, &id)
        })
        .collect();
    for (&i, v) in idx.iter().zip(r.run(op, calls).await?) {
        list[i].1.last_job_state = state_of(&ok(r, op, v)?);
    }
    Ok(())
}

fn def_json(op: &str, def: &ScheduleDef) -> Result<String> {
    serde_json::to_string(def)
        .map_err(|e| Error::internal(op, format!("cannot encode the definition: {e}")))
}

/// `schedule_sync`: one `schedule_sync.lua` call per definition, then `HSET anp:schedules`.
/// A definition whose queue changed is re-created under the new queue with its state (pause
/// flag, last tick, last job, created_at), and the old queue's keys are deleted.
pub(crate) async fn sync(r: &Redis, p: ScheduleSyncParams) -> Result<()> {
    const OP: &str = "schedule_sync";
    if p.defs.is_empty() {
        return Ok(());
    }
    let now = micros(p.now);
    let calls = p.defs.iter().map(|d| hget_queue(&d.name)).collect();
    let olds: Vec<Option<QueueName>> = r
        .run(OP, calls)
        .await?
        .into_iter()
        .map(|v| ok(r, OP, v).map(|v| parse_queue(&v)))
        .collect::<Result<_>>()?;
    for (def, old) in p.defs.iter().zip(olds) {
        let json = def_json(OP, def)?;
        let mut call = r.schedule_script(&SCHEDULE_SYNC, &def.queue, &def.name);
        call.arg(json.as_str())
            .arg(now)
            .arg(if def.skip_if_running { "1" } else { "0" })
            .arg(def.catch_up.as_str())
            .arg(def.queue.as_str());
        let moved = old.as_ref().filter(|o| **o != def.queue);
        match moved {
            Some(oq) => {
                let v = ok(r, OP, r.run_one(OP, hmget(oq, &def.name)).await?)?;
                match info(OP, &def.name, v)? {
                    Some(prev) => {
                        call.arg("1")
                            .arg(if prev.paused { "1" } else { "0" })
                            .arg(
                                prev.last_tick
                                    .map(|t| micros(t).to_string())
                                    .unwrap_or_default(),
                            )
                            .arg(prev.last_job.map(|j| j.to_string()).unwrap_or_default())
                            .arg(micros(prev.created_at));
                    }
                    None => {
                        call.arg("").arg("").arg("").arg("").arg("");
                    }
                }
            }
            None => {
                call.arg("").arg("").arg("").arg("").arg("");
            }
        }
        ok(r, OP, r.run_one(OP, call).await?)?;
        let set = Call::global(
            redis::cmd("HSET")
                .arg(keys::SCHEDULES)
                .arg(def.name.as_str())
                .arg(def.queue.as_str())
                .to_owned(),
        );
        ok(r, OP, r.run_one(OP, set).await?)?;
        if let Some(oq) = moved {
            ok(r, OP, r.run_one(OP, del_keys(oq, &def.name)).await?)?;
        }
    }
    Ok(())
}

fn del_keys(queue: &QueueName, name: &ScheduleName) -> Call {
    Call::queue(
        queue,
        redis::cmd("DEL")
            .arg(S::Schedule.key(queue, name))
            .arg(S::Fires.key(queue, name))
            .to_owned(),
    )
}

/// `schedule_list`: `HGETALL anp:schedules`, one pipelined `HMGET` per schedule, then the
/// last jobs' states; by name.
pub(crate) async fn list(r: &Redis) -> Result<Vec<ScheduleInfo>> {
    const OP: &str = "schedule_list";
    let v = r
        .run_one(
            OP,
            Call::global(redis::cmd("HGETALL").arg(keys::SCHEDULES).to_owned()),
        )
        .await?;
    let v = ok(r, OP, v)?;
    let pairs: Vec<(ScheduleName, QueueName)> = match v {
        Value::Map(m) => m
            .iter()
            .filter_map(|(k, v)| Some((ScheduleName::parse(text(k)?).ok()?, parse_queue(v)?)))
            .collect(),
        v => {
            let f = items(v.clone()).ok_or_else(|| bad_reply(OP, "a hash", &v))?;
            f.chunks(2)
                .filter_map(|c| {
                    let name = ScheduleName::parse(text(c.first()?)?).ok()?;
                    Some((name, parse_queue(c.get(1)?)?))
                })
                .collect()
        }
    };
    if pairs.is_empty() {
        return Ok(Vec::new());
    }
    let calls = pairs.iter().map(|(n, q)| hmget(q, n)).collect();
    let mut found = Vec::with_capacity(pairs.len());
    for ((n, q), v) in pairs.iter().zip(r.run(OP, calls).await?) {
        if let Some(i) = info(OP, n, ok(r, OP, v)?)? {
            found.push((q.clone(), i));
        }
    }
    with_states(r, OP, &mut found).await?;
    let mut out: Vec<ScheduleInfo> = found.into_iter().map(|(_, i)| i).collect();
    out.sort_by(|a, b| a.def.name.cmp(&b.def.name));
    Ok(out)
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

/// `schedule_get`: the queue, then the hash and the newest fire-log entries in one pipeline,
/// then the jobs' states.
pub(crate) async fn get(
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
                job_state_call(&q, &id)
            })
            .collect();
        for (&i, v) in idx.iter().zip(r.run(OP, calls).await?) {
            log[i].job_state = state_of(&ok(r, OP, v)?);
        }
    }
    Ok((info, log))
}

/// `schedule_set_paused`: one `schedule_set_paused.lua` call.
pub(crate) async fn set_paused(
    r: &Redis,
    name: ScheduleName,
    paused: bool,
    now: Timestamp,
) -> Result<()> {
    const OP: &str = "schedule_set_paused";
    let Some(q) = queue_of(r, OP, &name).await? else {
        return Err(not_found(OP, &name));
    };
    let mut call = r.schedule_script(&SCHEDULE_SET_PAUSED, &q, &name);
    call.arg(if paused { "1" } else { "0" }).arg(micros(now));
    let v = r.run_one(OP, call).await?;
    if let Some(("ANP_NOT_FOUND", _)) = anp_error(&v) {
        return Err(not_found(OP, &name));
    }
    ok(r, OP, v)?;
    Ok(())
}

/// `schedule_delete`: `DEL` of the schedule's keys and `HDEL anp:schedules`.
pub(crate) async fn delete(r: &Redis, name: ScheduleName) -> Result<()> {
    const OP: &str = "schedule_delete";
    let Some(q) = queue_of(r, OP, &name).await? else {
        return Err(not_found(OP, &name));
    };
    ok(r, OP, r.run_one(OP, del_keys(&q, &name)).await?)?;
    let hdel = Call::global(
        redis::cmd("HDEL")
            .arg(keys::SCHEDULES)
            .arg(name.as_str())
            .to_owned(),
    );
    ok(r, OP, r.run_one(OP, hdel).await?)?;
    Ok(())
}

/// What the claim script answered: `None` for already claimed, else the job and overlap.
type Claimed = Option<(Option<Enqueued>, Option<JobId>)>;

#[allow(clippy::too_many_arguments)]
async fn claim_call(
    r: &Redis,
    op: &str,
    queue: &QueueName,
    name: &ScheduleName,
    mode: &str,
    tick: Timestamp,
    now: Timestamp,
    skip_reason: &str,
    passed_over: u32,
    who: &str,
    log_max: u32,
    job: Option<&NewJob>,
) -> Result<Claimed> {
    let mut call = r.schedule_script(&SCHEDULE_CLAIM_TICK, queue, name);
    call.arg(micros(now))
        .arg(micros(anp_core::monitor::minute_of(now)))
        .arg(mode)
        .arg(micros(tick))
        .arg(skip_reason)
        .arg(passed_over)
        .arg(who)
        .arg(log_max.max(1));
    match job {
        Some(j) => {
            j.validate()?;
            if j.queue != *queue {
                return Err(Error::invalid(
                    op,
                    format!(
                        "the job of schedule {name} is for queue {}: expected the schedule's queue {queue} (sync the definition first)",
                        j.queue
                    ),
                ));
            }
            call.arg("1");
            super::job_enqueue_many::job_args(&mut call, j, now);
        }
        None => {
            call.arg("0");
        }
    }
    let v = r
        .run(op, vec![register_queues([queue]), call])
        .await?
        .pop()
        .unwrap_or(Value::Nil);
    if let Some(("ANP_NOT_FOUND", _)) = anp_error(&v) {
        return Err(not_found(op, name));
    }
    if let Some((code, detail)) = anp_error(&v) {
        return Err(Error::incompatible(
            op,
            format!(
                "store {} refused the claim ({code} {detail}): expected the alphanode key layout",
                r.target()
            ),
        ));
    }
    let v = ok(r, op, v)?;
    let f = items(v.clone()).ok_or_else(|| bad_reply(op, "a claim reply", &v))?;
    match f.first().and_then(text) {
        Some("already") => return Ok(None),
        Some("claimed") if f.len() == 5 => {}
        _ => return Err(bad_reply(op, "a claim reply", &v)),
    }
    let job = match text(&f[1]) {
        Some("") | None => None,
        Some(id) => Some(Enqueued {
            id: JobId::parse(id).map_err(|_| bad_reply(op, "a job id", &f[1]))?,
            duplicate: int(&f[2]) == Some(1),
            state: text(&f[3])
                .and_then(|s| JobState::parse(s).ok())
                .ok_or_else(|| bad_reply(op, "a job state", &f[3]))?,
        }),
    };
    let overlap = match text(&f[4]) {
        Some("") | None => None,
        Some(id) => Some(JobId::parse(id).map_err(|_| bad_reply(op, "a job id", &f[4]))?),
    };
    Ok(Some((job, overlap)))
}

/// `schedule_claim_tick`: one `schedule_claim_tick.lua` call (claim and enqueue together).
pub(crate) async fn claim_tick(r: &Redis, p: TickClaimParams) -> Result<TickClaim> {
    const OP: &str = "schedule_claim_tick";
    let Some(q) = queue_of(r, OP, &p.name).await? else {
        return Err(not_found(OP, &p.name));
    };
    let res = claim_call(
        r,
        OP,
        &q,
        &p.name,
        "claim",
        p.tick,
        p.now,
        p.skip_reason.as_deref().unwrap_or(""),
        p.passed_over,
        &p.scheduler,
        p.log_max,
        p.job.as_ref(),
    )
    .await?;
    Ok(match res {
        None => TickClaim::AlreadyClaimed,
        Some((job, overlap_with)) => TickClaim::Claimed { job, overlap_with },
    })
}

/// `schedule_trigger`: reads the definition, then one `schedule_claim_tick.lua` call in
/// trigger mode.
pub(crate) async fn trigger(r: &Redis, p: ScheduleTriggerParams) -> Result<Enqueued> {
    const OP: &str = "schedule_trigger";
    let Some(q) = queue_of(r, OP, &p.name).await? else {
        return Err(not_found(OP, &p.name));
    };
    let v = ok(r, OP, r.run_one(OP, hmget(&q, &p.name)).await?)?;
    let Some(info) = info(OP, &p.name, v)? else {
        return Err(not_found(OP, &p.name));
    };
    let job = info.def.new_job();
    let res = claim_call(
        r,
        OP,
        &q,
        &p.name,
        "trigger",
        p.now,
        p.now,
        "",
        0,
        &p.by,
        p.log_max,
        Some(&job),
    )
    .await?;
    match res {
        Some((Some(e), _)) => Ok(e),
        _ => Err(Error::internal(
            OP,
            "the trigger enqueued nothing: expected the schedule's job",
        )),
    }
}
