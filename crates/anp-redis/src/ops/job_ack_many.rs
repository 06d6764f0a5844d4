//! `job_ack_many`: acks grouped by queue, one `job_ack_many.lua` call per queue, pipelined.

use anp_core::ops::minute_of;
use anp_core::store::{AckOutcome, AckResult, JobAckManyParams};
use anp_core::{Error, Result};

use crate::conn::Redis;
use crate::ops::{by_queue, micros, ok};
use crate::record::{bad_reply, int, items};
use crate::scripts::JOB_ACK_MANY;

const OP: &str = "job_ack_many";

fn error_json(e: &anp_core::AttemptError) -> Result<String> {
    serde_json::to_string(e)
        .map_err(|err| Error::internal(OP, format!("cannot encode an attempt error: {err}")))
}

/// One result per ack, in input order.
pub(crate) async fn run(r: &Redis, p: JobAckManyParams) -> Result<Vec<AckResult>> {
    if p.acks.is_empty() {
        return Ok(Vec::new());
    }
    let groups = by_queue(&p.acks, |a| &a.lease.queue);
    let mut calls = Vec::with_capacity(groups.len());
    for (queue, idx) in &groups {
        let mut call = r.script(&JOB_ACK_MANY, queue);
        call.arg(micros(p.now))
            .arg(micros(minute_of(p.now)))
            .arg(idx.len());
        for &i in idx {
            let a = &p.acks[i];
            let (outcome, at, err) = match &a.outcome {
                AckOutcome::Complete => ("complete", String::new(), String::new()),
                AckOutcome::Retry { at, error } => {
                    ("retry", micros(*at).to_string(), error_json(error)?)
                }
                AckOutcome::Dead { error } => ("dead", String::new(), error_json(error)?),
                AckOutcome::Snooze { at } => ("snooze", micros(*at).to_string(), String::new()),
                AckOutcome::Cancel { error } => ("cancel", String::new(), error_json(error)?),
                AckOutcome::HandBack => ("hand_back", String::new(), String::new()),
            };
            call.arg(a.lease.id.to_string())
                .arg(a.lease.token)
                .arg(outcome)
                .arg(at)
                .arg(err);
            match &a.stats {
                Some(st) => call
                    .arg(st.kind.as_str())
                    .arg(crate::ops::stats::bucket(st.run))
                    .arg(crate::ops::stats::us(st.run))
                    .arg(crate::ops::stats::bucket(st.wait))
                    .arg(crate::ops::stats::us(st.wait)),
                None => call.arg("").arg("").arg("").arg("").arg(""),
            };
        }
        calls.push(call);
    }
    let replies = r.run(OP, calls).await?;
    let mut out = vec![AckResult::LeaseLost; p.acks.len()];
    for ((_, idx), v) in groups.iter().zip(replies) {
        let v = ok(r, OP, v)?;
        let f = items(v.clone()).ok_or_else(|| bad_reply(OP, "one integer per ack", &v))?;
        if f.len() != idx.len() {
            return Err(bad_reply(OP, "one integer per ack", &v));
        }
        for (&i, res) in idx.iter().zip(&f) {
            if int(res) == Some(1) {
                out[i] = AckResult::Applied;
            }
        }
    }
    Ok(out)
}
