//! The online migration of a store's key layout from 1 to 2 (docs/redis-keys.md, "Migration
//! 1 → 2"), run by [`run`] from `open` when `anp:schema` says 1, or says 2 while the marker
//! `anp:migration` is still present (an interrupted migration: it is resumed).
//!
//! In order: the marker `anp:migration` = `1->2` is set, then `anp:schema` = 2 (from then on a
//! release-1 process's `open` refuses the store); every queue of `anp:queues` goes through
//! `lua/store_migrate_queue.lua` (one atomic, idempotent script per queue: the pause flag moves
//! to `pause` and `paused` is left at `1` so release-1 workers still running fetch nothing; the
//! `running` zset becomes the `leases` hash); the marker is deleted. One process does this,
//! holding the lock `anp:migrate_lock` (`SET NX PX`, renewed before each queue and released
//! by the cache's compare-the-token lease scripts); every other opener waits for the marker to go (polling every 200 ms,
//! for at most 2 minutes), or takes over when the lock expired (its holder died).
//!
//! The global keys live in other Cluster slots than the queues': each is sent as a command of
//! its own, in order (a command is sent only after the one before it answered), and only the
//! per-queue script touches a queue's keys.

use std::time::{Duration, Instant};

use anp_core::{Error, QueueName, Result};
use redis::Value;

use crate::conn::{Call, Redis};
use crate::keys;
use crate::ops::{anp_error, known_queues, ok};
use crate::record::{int, items, text};
use crate::scripts::{CACHE_LEASE_RELEASE, CACHE_LEASE_RENEW, STORE_MIGRATE_QUEUE};

const OP: &str = "store open";

/// The value of the marker `anp:migration` while a migration from layout 1 to 2 runs.
const MARKER_VALUE: &str = "1->2";

/// How long the lock holds without renewal (ms): a holder that dies blocks the others this
/// long at most.
const LOCK_MS: u64 = 30_000;

/// How often a waiting opener looks again.
const POLL: Duration = Duration::from_millis(200);

/// How long an opener waits for another process's migration before giving up.
const WAIT_MAX: Duration = Duration::from_secs(120);

/// Where the store's layout stands, as read by [`state`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Layout 2 and no migration under way: nothing to do.
    Current,
    /// `anp:schema` says 1: not migrated yet.
    Layout1,
    /// `anp:schema` says 2 but the marker is present: a migration is under way, or was
    /// interrupted.
    Migrating,
}

/// Brings the store to layout 2 when it is not there yet (`schema`: the `anp:schema` that
/// `open` read): migrates it, resumes an interrupted migration, or waits for the process that
/// is migrating it. Returns once the store is at layout 2 with no migration under way.
pub(crate) async fn run(r: &Redis, schema: i64) -> Result<()> {
    // The common case, one EXISTS: a store already at layout 2 (read by open just before)
    // without a marker.
    if schema == 2 && !marker(r).await? {
        return Ok(());
    }
    let token = format!("{}-{:016x}", std::process::id(), rand::random::<u64>());
    let started = Instant::now();
    let mut waiting_logged = false;
    loop {
        if lock(r, &token).await? {
            let done = migrate_locked(r, &token).await;
            release(r, &token).await;
            if done? {
                return Ok(());
            }
            // The lock was lost half way (it expired and another process took it): that
            // process finishes; wait for it below like any other opener.
        }
        if state(r).await? == State::Current {
            return Ok(());
        }
        if started.elapsed() >= WAIT_MAX {
            return Err(Error::unavailable(
                OP,
                format!(
                    "store {} is being migrated from key layout 1 to 2 by another process (marker {} present, lock {} held) and it did not finish within {}s: expected the migration to end; when no process is migrating (one was killed), opening again resumes it once the lock expires ({}s): the migration is idempotent, so opening again is safe",
                    r.target(),
                    keys::MIGRATION,
                    keys::MIGRATE_LOCK,
                    WAIT_MAX.as_secs(),
                    LOCK_MS / 1000
                ),
            ));
        }
        if !waiting_logged {
            tracing::info!(
                store = %r.target(),
                "another process is migrating the store's key layout from 1 to 2; waiting for it"
            );
            waiting_logged = true;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Reads `anp:schema`, then the marker (in this order: the migration sets the marker before
/// the schema, so a 2 read first and then no marker means the migration ended).
async fn state(r: &Redis) -> Result<State> {
    let schema = global(r, redis::cmd("GET").arg(keys::SCHEMA).to_owned()).await?;
    match int(&schema) {
        Some(1) => return Ok(State::Layout1),
        Some(2) => {}
        _ => {
            return Err(Error::incompatible(
                OP,
                format!(
                    "store {} holds key layout version {:?} in {} during the migration from 1 to 2: expected 1 or 2; another release changed it meanwhile",
                    r.target(),
                    text(&schema).unwrap_or("(not text)"),
                    keys::SCHEMA
                ),
            ))
        }
    }
    Ok(if marker(r).await? {
        State::Migrating
    } else {
        State::Current
    })
}

/// Whether the marker `anp:migration` exists.
async fn marker(r: &Redis) -> Result<bool> {
    let v = global(r, redis::cmd("EXISTS").arg(keys::MIGRATION).to_owned()).await?;
    Ok(int(&v) == Some(1))
}

/// Migrates while holding the lock: `Ok(true)` once done (or found done), `Ok(false)` when the
/// lock was lost before the end.
async fn migrate_locked(r: &Redis, token: &str) -> Result<bool> {
    match state(r).await? {
        State::Current => return Ok(true),
        State::Layout1 => {
            // The marker first, so that whoever reads schema 2 also finds the marker.
            global(
                r,
                redis::cmd("SET")
                    .arg(keys::MIGRATION)
                    .arg(MARKER_VALUE)
                    .to_owned(),
            )
            .await?;
            global(
                r,
                redis::cmd("SET")
                    .arg(keys::SCHEMA)
                    .arg(crate::SCHEMA_VERSION)
                    .to_owned(),
            )
            .await?;
        }
        State::Migrating => {
            tracing::info!(store = %r.target(), "resuming an interrupted migration of the key layout from 1 to 2");
        }
    }
    let started = Instant::now();
    let queues = known_queues(r, OP).await?;
    let (mut migrated, mut moved, mut dropped) = (0u64, 0u64, 0u64);
    for queue in &queues {
        if !renew(r, token).await? {
            tracing::warn!(store = %r.target(), queue = %queue, "lost the migration lock; waiting for the process that holds it now");
            return Ok(false);
        }
        let (did, m, d) = migrate_queue(r, queue).await?;
        migrated += u64::from(did);
        moved += m;
        dropped += d;
    }
    if !renew(r, token).await? {
        tracing::warn!(store = %r.target(), "lost the migration lock; waiting for the process that holds it now");
        return Ok(false);
    }
    global(r, redis::cmd("DEL").arg(keys::MIGRATION).to_owned()).await?;
    tracing::info!(
        store = %r.target(),
        queues = queues.len(),
        queues_migrated = migrated,
        jobs_moved_to_leases = moved,
        stale_running_entries_dropped = dropped,
        elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        "migrated the key layout from 1 to 2"
    );
    Ok(true)
}

/// `store_migrate_queue.lua` on one queue: (migrated by this call, jobs moved to leases,
/// running entries dropped).
async fn migrate_queue(r: &Redis, queue: &QueueName) -> Result<(bool, u64, u64)> {
    let v = r
        .run(OP, vec![r.script(&STORE_MIGRATE_QUEUE, queue)])
        .await?
        .pop()
        .unwrap_or(Value::Nil);
    if let Some((code, detail)) = anp_error(&v) {
        // Redis appends " script: <sha>, on @user_script:<line>." to a script's error.
        let detail = detail.split(" script: ").next().unwrap_or(detail);
        return Err(Error::incompatible(
            OP,
            format!(
                "store {}: queue {queue} cannot be migrated from key layout 1 to 2: {code} {detail}: expected every running job's record and lease fields in anp:{{{queue}}}:jobs to be readable (docs/redis-keys.md); repair or delete that job's fields, then open again (the migration resumes: marker {})",
                r.target(),
                keys::MIGRATION
            ),
        ));
    }
    let v = ok(r, OP, v)?;
    let bad = |v: &Value| {
        crate::record::bad_reply(
            OP,
            "{migrated 0|1, jobs moved, entries dropped} from store_migrate_queue",
            v,
        )
    };
    let n: Vec<i64> = items(v.clone())
        .ok_or_else(|| bad(&v))?
        .iter()
        .map(int)
        .collect::<Option<_>>()
        .ok_or_else(|| bad(&v))?;
    match n.as_slice() {
        &[did, m, d] => Ok((
            did == 1,
            u64::try_from(m).unwrap_or(0),
            u64::try_from(d).unwrap_or(0),
        )),
        _ => Err(bad(&v)),
    }
}

/// `SET anp:migrate_lock <token> NX PX`: whether this process now holds the lock.
async fn lock(r: &Redis, token: &str) -> Result<bool> {
    let v = r
        .run_one(
            OP,
            Call::keyed(
                keys::MIGRATE_LOCK,
                redis::cmd("SET")
                    .arg(keys::MIGRATE_LOCK)
                    .arg(token)
                    .arg("NX")
                    .arg("PX")
                    .arg(LOCK_MS)
                    .to_owned(),
            ),
        )
        .await?;
    // `OK` when set (redis-rs: `Okay`), nil when another process holds the lock.
    Ok(matches!(v, Value::Okay) || text(&v) == Some("OK"))
}

/// Extends the lock if this process still holds it; whether it does. The lock is a token
/// lease like the cache's compute leases, so the same compare-the-token script renews it.
async fn renew(r: &Redis, token: &str) -> Result<bool> {
    let mut call = r.cache_script(&CACHE_LEASE_RENEW, &[keys::MIGRATE_LOCK.to_owned()]);
    call.arg(token).arg(LOCK_MS);
    let v = r.run_one(OP, call).await?;
    Ok(int(&v) == Some(1))
}

/// Deletes the lock if this process still holds it (the cache's compare-the-token release
/// script). A failure is only logged: the lock then expires by itself.
async fn release(r: &Redis, token: &str) {
    let mut call = r.cache_script(&CACHE_LEASE_RELEASE, &[keys::MIGRATE_LOCK.to_owned()]);
    call.arg(token);
    if let Err(e) = r.run_one(OP, call).await {
        tracing::warn!(store = %r.target(), error = %e, "could not release the migration lock; it expires in {}s", LOCK_MS / 1000);
    }
}

/// One command on a global key, on its own.
async fn global(r: &Redis, cmd: redis::Cmd) -> Result<Value> {
    r.run_one(OP, Call::global(cmd)).await
}
