//! `job_ack_many`: one transaction for the batch, one conditional UPDATE per acknowledgement
//! (`id`, `state = 'running'` and the lease token must all match, else `LeaseLost`).

use anp_core::monitor::{minute_of, StatKey, StatsRecordParams};
use anp_core::store::{AckOutcome, AckResult, JobAckManyParams};
use anp_core::Result;
use rusqlite::{params, Connection};

use crate::conn::OpResult;
use crate::row::{attempt_error_json, micros};
use crate::SqliteStore;

/// Acknowledges the batch in one write transaction; waiters are woken when a job was handed back.
pub(crate) async fn run(s: &SqliteStore, p: JobAckManyParams) -> Result<Vec<AckResult>> {
    if p.acks.is_empty() {
        return Ok(Vec::new());
    }
    s.write_waking("job_ack_many", move |c| sql(c, &p)).await
}

/// Per acknowledgement whether it applied, and whether any job was handed back (available now).
fn sql(c: &Connection, p: &JobAckManyParams) -> OpResult<(Vec<AckResult>, bool)> {
    let now = micros(p.now);
    let mut out = Vec::with_capacity(p.acks.len());
    let mut handed_back = false;
    let mut stats = StatsRecordParams::default();
    for ack in &p.acks {
        let id = ack.lease.id.to_string();
        let token = ack.lease.token;
        // The history entry of a failed attempt, appended to job_errors once the UPDATE applied.
        let mut error = None;
        let changed = match &ack.outcome {
            AckOutcome::Complete => c
                .prepare_cached(include_str!("../../sql/job_ack_complete.sql"))?
                .execute(params![id, token, now])?,
            AckOutcome::Retry { at, error: e } => {
                error = Some(e);
                c.prepare_cached(include_str!("../../sql/job_ack_retry.sql"))?
                    .execute(params![id, token, micros(*at)])?
            }
            AckOutcome::Dead { error: e } => {
                error = Some(e);
                c.prepare_cached(include_str!("../../sql/job_ack_dead.sql"))?
                    .execute(params![id, token, now])?
            }
            AckOutcome::Snooze { at } => c
                .prepare_cached(include_str!("../../sql/job_ack_snooze.sql"))?
                .execute(params![id, token, micros(*at)])?,
            AckOutcome::Cancel { error: e } => {
                error = Some(e);
                c.prepare_cached(include_str!("../../sql/job_ack_cancel.sql"))?
                    .execute(params![id, token, now])?
            }
            AckOutcome::HandBack => {
                let n = c
                    .prepare_cached(include_str!("../../sql/job_ack_hand_back.sql"))?
                    .execute(params![id, token])?;
                handed_back |= n == 1;
                n
            }
        };
        if let (1, Some(e)) = (changed, error) {
            append_error(c, &id, &attempt_error_json(e)?)?;
        }
        if changed == 1 {
            if let Some(st) = &ack.stats {
                let key = StatKey {
                    minute: minute_of(p.now),
                    queue: ack.lease.queue.clone(),
                    kind: st.kind.clone(),
                };
                ack.outcome.count(st, stats.deltas.entry(key).or_default());
            }
            out.push(AckResult::Applied);
        } else {
            out.push(AckResult::LeaseLost);
        }
    }
    // The batch's stats, in the same transaction: one read and one write per (queue, kind).
    if !stats.deltas.is_empty() {
        super::stats_record::sql(c, &stats)?;
    }
    Ok((out, handed_back))
}

/// Appends `error` (JSON) to the history of job `id` in `job_errors` (migration 0006); called after
/// the job's UPDATE applied, in the same transaction.
pub(crate) fn append_error(c: &Connection, id: &str, error: &str) -> OpResult<()> {
    c.prepare_cached(include_str!("../../sql/job_errors_append.sql"))?
        .execute(params![id, error])?;
    Ok(())
}
