//! `job_ack_many`: one transaction for the batch, one conditional UPDATE per acknowledgement
//! (`id`, `state = 'running'` and the lease token must all match, else `LeaseLost`).

use anp_core::store::{AckOutcome, AckResult, JobAckManyParams};
use rusqlite::{params, Connection};

use crate::conn::OpResult;
use crate::row::{attempt_error_json, micros};

/// Per acknowledgement whether it applied, and whether any job was handed back (available now).
pub(crate) fn run(c: &Connection, p: &JobAckManyParams) -> OpResult<(Vec<AckResult>, bool)> {
    let now = micros(p.now);
    let mut out = Vec::with_capacity(p.acks.len());
    let mut handed_back = false;
    for ack in &p.acks {
        let id = ack.lease.id.to_string();
        let token = ack.lease.token;
        let changed = match &ack.outcome {
            AckOutcome::Complete => c
                .prepare_cached(include_str!("../../sql/job_ack_complete.sql"))?
                .execute(params![id, token, now])?,
            AckOutcome::Retry { at, error } => c
                .prepare_cached(include_str!("../../sql/job_ack_retry.sql"))?
                .execute(params![id, token, micros(*at), attempt_error_json(error)?])?,
            AckOutcome::Dead { error } => c
                .prepare_cached(include_str!("../../sql/job_ack_dead.sql"))?
                .execute(params![id, token, now, attempt_error_json(error)?])?,
            AckOutcome::Snooze { at } => c
                .prepare_cached(include_str!("../../sql/job_ack_snooze.sql"))?
                .execute(params![id, token, micros(*at)])?,
            AckOutcome::Cancel { error } => c
                .prepare_cached(include_str!("../../sql/job_ack_cancel.sql"))?
                .execute(params![id, token, now, attempt_error_json(error)?])?,
            AckOutcome::HandBack => {
                let n = c
                    .prepare_cached(include_str!("../../sql/job_ack_hand_back.sql"))?
                    .execute(params![id, token])?;
                handed_back |= n == 1;
                n
            }
        };
        out.push(if changed == 1 {
            AckResult::Applied
        } else {
            AckResult::LeaseLost
        });
    }
    Ok((out, handed_back))
}
