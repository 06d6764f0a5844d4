//! `job_ack_many`: one transaction for the batch. The completed attempts go first, all in one
//! UPDATE (`job_ack_complete_many.sql`); then one conditional UPDATE per other acknowledgement.
//! Each applies only while the job still holds the acknowledged lease token, else `LeaseLost`;
//! a failed attempt's history entry is appended in the same UPDATE.
//!
//! The batch's stats are added in a second, short transaction right after, committed without
//! waiting for the WAL flush (`synchronous_commit = off`): every acknowledgement updates the
//! same per-minute row, so holding its lock through the acknowledgement's durable commit would
//! serialize all workers' commits on it. A server crash can lose the last fraction of a
//! second of stats, never an acknowledgement; a failure there is logged, not returned (the
//! acknowledgements did apply).

use std::collections::HashSet;

use anp_core::monitor::{minute_of, StatKey, StatsRecordParams};
use anp_core::store::{AckOutcome, AckResult, JobAckManyParams};
use anp_core::Result;

use crate::conn::{Conn, OpResult};
use crate::ops::notify;
use crate::row::{micros, to_json};
use crate::store::in_tx;
use crate::PostgresStore;

/// Acknowledges the batch in one transaction.
pub(crate) async fn run(s: &PostgresStore, p: JobAckManyParams) -> Result<Vec<AckResult>> {
    if p.acks.is_empty() {
        return Ok(Vec::new());
    }
    let (out, stats, handed_back) = in_tx!(s, "job_ack_many", |tx| sql(tx, &p))?;
    if handed_back {
        s.made_available();
    }
    crate::vacuum::changed(
        s,
        out.iter().filter(|r| **r == AckResult::Applied).count() as u64,
    );
    if !stats.deltas.is_empty() {
        if let Err(e) = in_tx!(s, "job_ack_many", |tx| super::stats_record::sql_lazy(
            tx, &stats
        )) {
            tracing::warn!(error = %e, "job_ack_many: the batch's stats were not recorded");
        }
    }
    Ok(out)
}

/// The results, the stats to add, and whether a job was handed back (made available).
async fn sql(
    c: &dyn Conn,
    p: &JobAckManyParams,
) -> OpResult<(Vec<AckResult>, StatsRecordParams, bool)> {
    let now = micros(p.now);
    let mut out = Vec::with_capacity(p.acks.len());
    let mut handed_back = false;
    let mut stats = StatsRecordParams::default();
    let mut completed = complete_all(c, p, now).await?;
    for ack in &p.acks {
        let id = ack.lease.id.to_string();
        let token = ack.lease.token;
        let changed = match &ack.outcome {
            // The UPDATE changed each (id, token) once: a second acknowledgement of the same
            // lease in the batch finds the job completed already.
            AckOutcome::Complete => u64::from(completed.remove(&(id, token))),
            AckOutcome::Retry { at, error } => {
                c.execute(
                    include_str!("../../sql/job_ack_retry.sql"),
                    &[&id, &token, &micros(*at), &to_json(error, "job_ack_many")?],
                )
                .await?
            }
            AckOutcome::Dead { error } => {
                let e = Some(to_json(error, "job_ack_many")?);
                c.execute(
                    include_str!("../../sql/job_ack_dead.sql"),
                    &[&id, &token, &now, &e],
                )
                .await?
            }
            AckOutcome::Snooze { at } => {
                c.execute(
                    include_str!("../../sql/job_ack_snooze.sql"),
                    &[&id, &token, &micros(*at)],
                )
                .await?
            }
            AckOutcome::Cancel { error } => {
                let e = Some(to_json(error, "job_ack_many")?);
                c.execute(
                    include_str!("../../sql/job_ack_cancel.sql"),
                    &[&id, &token, &now, &e],
                )
                .await?
            }
            AckOutcome::HandBack => {
                let n = c
                    .execute(
                        include_str!("../../sql/job_ack_hand_back.sql"),
                        &[&id, &token],
                    )
                    .await?;
                handed_back |= n == 1;
                n
            }
        };
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
    if handed_back {
        notify(c).await?;
    }
    Ok((out, stats, handed_back))
}

/// Completes every `Complete` acknowledgement of the batch in one statement; the (id, token)
/// pairs it changed.
async fn complete_all(
    c: &dyn Conn,
    p: &JobAckManyParams,
    now: i64,
) -> OpResult<HashSet<(String, i64)>> {
    let (ids, tokens): (Vec<String>, Vec<i64>) = p
        .acks
        .iter()
        .filter(|a| matches!(a.outcome, AckOutcome::Complete))
        .map(|a| (a.lease.id.to_string(), a.lease.token))
        .unzip();
    if ids.is_empty() {
        return Ok(HashSet::new());
    }
    let rows = c
        .query(
            include_str!("../../sql/job_ack_complete_many.sql"),
            &[&ids, &tokens, &now],
        )
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}
