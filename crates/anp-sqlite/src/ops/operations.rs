//! The operator methods: `process_heartbeat`, `process_remove`, `process_list`,
//! `stats_record`, `stats_query`, `deploy_mark`, `deploy_list`. Each statement is its own
//! `sql/<op>*.sql`.

use anp_core::job::ts_sub;
use anp_core::monitor::{
    DeployMarker, Histogram, ProcessInfo, ProcessListParams, StatCounts, StatKey, StatsQueryParams,
    StatsRecordParams,
};
use anp_core::{Error, QueueName};
use rusqlite::{params, Connection, OptionalExtension};

use crate::conn::{Failure, OpResult};
use crate::row::{self, damaged, micros};

fn to_json<T: serde::Serialize>(v: &T, what: &str) -> OpResult<String> {
    serde_json::to_string(v).map_err(|e| {
        Failure::Anp(Error::internal(
            what.to_owned(),
            format!("cannot encode: {e}"),
        ))
    })
}

fn hist(text: &str, column: &str) -> OpResult<Histogram> {
    serde_json::from_str(text).map_err(|e| damaged(column, e))
}

/// `process_heartbeat`.
pub(crate) fn heartbeat(c: &Connection, p: &ProcessInfo) -> OpResult<()> {
    c.prepare_cached(include_str!("../../sql/process_heartbeat.sql"))?
        .execute(params![
            p.id,
            p.role,
            p.host,
            p.pid,
            p.version,
            to_json(&p.queues, "process_heartbeat")?,
            micros(p.started_at),
            micros(p.last_seen)
        ])?;
    Ok(())
}

/// `process_remove`.
pub(crate) fn remove(c: &Connection, id: &str) -> OpResult<()> {
    c.prepare_cached(include_str!("../../sql/process_remove.sql"))?
        .execute([id])?;
    Ok(())
}

/// `process_list`.
pub(crate) fn list(c: &Connection, p: &ProcessListParams) -> OpResult<Vec<ProcessInfo>> {
    c.prepare_cached(include_str!("../../sql/process_list_prune.sql"))?
        .execute([micros(ts_sub(p.now, p.stale_after))])?;
    let mut stmt = c.prepare_cached(include_str!("../../sql/process_list.sql"))?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let queues: Vec<QueueName> =
            serde_json::from_str(row::text(r, 5, "queues")?).map_err(|e| damaged("queues", e))?;
        out.push(ProcessInfo {
            id: row::text(r, 0, "id")?.to_owned(),
            role: row::text(r, 1, "role")?.to_owned(),
            host: row::text(r, 2, "host")?.to_owned(),
            pid: row::uint(r, 3, "pid")?,
            version: row::text(r, 4, "version")?.to_owned(),
            queues,
            started_at: row::ts(r, 6, "started_at")?,
            last_seen: row::ts(r, 7, "last_seen")?,
        });
    }
    Ok(out)
}

/// `stats_record`.
pub(crate) fn stats_record(c: &Connection, p: &StatsRecordParams) -> OpResult<()> {
    let mut read = c.prepare_cached(include_str!("../../sql/stats_record_read.sql"))?;
    let mut write = c.prepare_cached(include_str!("../../sql/stats_record.sql"))?;
    let mut dead = c.prepare_cached(include_str!("../../sql/stats_record_dead.sql"))?;
    for (k, d) in &p.deltas {
        let key = params![micros(k.minute), k.queue.as_str(), k.kind.as_str()];
        let existing = read
            .query_row(key, |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .optional()?;
        let (mut run, mut wait) = match existing {
            Some((r, w)) => (hist(&r, "run")?, hist(&w, "wait")?),
            None => (Histogram::default(), Histogram::default()),
        };
        run.merge(&d.run);
        wait.merge(&d.wait);
        write.execute(params![
            micros(k.minute),
            k.queue.as_str(),
            k.kind.as_str(),
            row::count_param(d.enqueued),
            row::count_param(d.completed),
            row::count_param(d.failed),
            to_json(&run, "stats_record")?,
            to_json(&wait, "stats_record")?
        ])?;
        if d.dead > 0 {
            dead.execute(params![
                micros(k.minute),
                k.queue.as_str(),
                k.kind.as_str(),
                row::count_param(d.dead)
            ])?;
        }
    }
    if let Some(before) = p.prune_before {
        c.prepare_cached(include_str!("../../sql/stats_prune.sql"))?
            .execute([micros(before)])?;
    }
    Ok(())
}

/// `stats_query`.
pub(crate) fn stats_query(
    c: &Connection,
    p: &StatsQueryParams,
) -> OpResult<Vec<(StatKey, StatCounts)>> {
    let mut stmt = c.prepare_cached(include_str!("../../sql/stats_query.sql"))?;
    let mut rows = stmt.query(params![micros(p.from), micros(p.until)])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let n = |i: usize, col: &str| -> OpResult<u64> {
            Ok(u64::try_from(row::int(r, i, col)?).unwrap_or(0))
        };
        out.push((
            StatKey {
                minute: row::ts(r, 0, "minute")?,
                queue: row::queue(r, 1)?,
                kind: row::kind(r, 2)?,
            },
            StatCounts {
                enqueued: n(3, "enqueued")?,
                completed: n(4, "completed")?,
                failed: n(5, "failed")?,
                dead: n(6, "dead")?,
                run: hist(row::text(r, 7, "run")?, "run")?,
                wait: hist(row::text(r, 8, "wait")?, "wait")?,
            },
        ));
    }
    Ok(out)
}

/// `deploy_mark`.
pub(crate) fn deploy_mark(c: &Connection, m: &DeployMarker) -> OpResult<()> {
    c.prepare_cached(include_str!("../../sql/deploy_mark.sql"))?
        .execute(params![
            micros(m.at),
            m.version,
            m.owner,
            m.rollback,
            m.note
        ])?;
    Ok(())
}

/// `deploy_list`.
pub(crate) fn deploy_list(c: &Connection, limit: u32) -> OpResult<Vec<DeployMarker>> {
    let mut stmt = c.prepare_cached(include_str!("../../sql/deploy_list.sql"))?;
    let mut rows = stmt.query([limit])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(DeployMarker {
            at: row::ts(r, 0, "at")?,
            version: row::text(r, 1, "version")?.to_owned(),
            owner: row::opt_text(r, 2, "owner")?.map(str::to_owned),
            rollback: row::opt_text(r, 3, "rollback")?.map(str::to_owned),
            note: row::opt_text(r, 4, "note")?.map(str::to_owned),
        });
    }
    Ok(out)
}
